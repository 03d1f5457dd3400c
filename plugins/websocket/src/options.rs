//! The plugin's options: message size, compression, and the host's clocks (ping interval,
//! pong timeout), read once in `init`.
//!
//! Decisions: the defaults are uvicorn's (`--ws-max-size` 16 MiB, `--ws-ping-interval`
//! 20 s, `--ws-ping-timeout` 20 s, permessage-deflate on), so an app moved from uvicorn
//! keeps its behaviour; 0 turns pings (or the pong timeout) off.

use abi_stable::std_types::RStr;
use rsgi_plugin_api::upgrade::UpgradeSettings;
use rsgi_plugin_api::{options, OptionKind, OptionSpec, OptionValue};

use crate::config::Config;

/// After our close, how long the peer has to answer with its own.
pub const CLOSE_TIMEOUT_MS: u64 = 10_000;

/// What `init` made of the options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// The codec's limits and compression.
    pub config: Config,
    /// The host's clocks.
    pub clocks: UpgradeSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            config: Config::DEFAULT,
            clocks: UpgradeSettings {
                ping_interval_ms: 20_000,
                pong_timeout_ms: 20_000,
                close_timeout_ms: CLOSE_TIMEOUT_MS,
            },
        }
    }
}

/// The options this plugin declares.
pub fn specs() -> Vec<OptionSpec> {
    let spec = |name: &'static str,
                aliases: &'static str,
                value_name: &'static str,
                help: &'static str| OptionSpec {
        name: RStr::from_str(name),
        aliases: RStr::from_str(aliases),
        value_name: RStr::from_str(value_name),
        help: RStr::from_str(help),
        kind: OptionKind::Value,
    };
    vec![
        spec(
            "websocket-max-size",
            "ws-max-size",
            "BYTES",
            "largest WebSocket message accepted (after decompression), k/m suffixes allowed; larger closes with 1009 (default 16m)",
        ),
        spec(
            "websocket-ping-interval",
            "ws-ping-interval",
            "SECONDS",
            "send a WebSocket ping after this many seconds without one; 0 sends none (default 20)",
        ),
        spec(
            "websocket-ping-timeout",
            "ws-ping-timeout",
            "SECONDS",
            "close a WebSocket peer whose pong has not come this many seconds after a ping (1011); 0 waits for ever (default 20)",
        ),
        spec(
            "websocket-per-message-deflate",
            "ws-per-message-deflate",
            "BOOL",
            "accept a client's permessage-deflate offer (RFC 7692 compression): true or false (default true)",
        ),
    ]
}

/// Reads the user's option values; the error names the option and says what is accepted.
pub fn from_options(values: &[OptionValue]) -> Result<Settings, String> {
    let mut s = Settings::default();
    if let Some(v) = options::find(values, "websocket-max-size") {
        s.config.max_message_size = size("websocket-max-size", v)?;
    }
    if let Some(v) = options::find(values, "websocket-ping-interval") {
        s.clocks.ping_interval_ms = millis("websocket-ping-interval", v)?;
    }
    if let Some(v) = options::find(values, "websocket-ping-timeout") {
        s.clocks.pong_timeout_ms = millis("websocket-ping-timeout", v)?;
    }
    if let Some(v) = options::find(values, "websocket-per-message-deflate") {
        s.config.permessage_deflate = match v.trim() {
            "true" | "1" | "yes" | "on" => true,
            "false" | "0" | "no" | "off" => false,
            _ => {
                return Err(format!(
                "invalid value {v:?} for --websocket-per-message-deflate: expected true or false"
            ))
            }
        };
    }
    Ok(s)
}

/// Bytes, with an optional `k` or `m` suffix, from 1 to 1 GiB.
fn size(name: &str, value: &str) -> Result<usize, String> {
    let v = value.trim();
    let (digits, unit) = match v.as_bytes().last() {
        Some(b'k' | b'K') => (&v[..v.len() - 1], 1 << 10),
        Some(b'm' | b'M') => (&v[..v.len() - 1], 1 << 20),
        _ => (v, 1),
    };
    digits
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .filter(|n| (1..=1 << 30).contains(n))
        .ok_or_else(|| {
            format!("invalid value {value:?} for --{name}: expected a size in bytes from 1 to 1g (suffix k or m allowed)")
        })
}

/// Seconds (a decimal fraction allowed), as milliseconds; at most a day.
fn millis(name: &str, value: &str) -> Result<u64, String> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && (0.0..=86_400.0).contains(s))
        .map(|s| (s * 1000.0).round() as u64)
        .ok_or_else(|| {
            format!("invalid value {value:?} for --{name}: expected seconds from 0 to 86400")
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi_stable::std_types::{RString, RVec};

    fn opt(name: &str, value: &str) -> OptionValue {
        OptionValue {
            name: RString::from(name),
            values: RVec::from(vec![RString::from(value)]),
        }
    }

    #[test]
    fn defaults_are_uvicorns() {
        let s = from_options(&[]).unwrap();
        assert_eq!(s.config.max_message_size, 16 << 20);
        assert!(s.config.permessage_deflate);
        assert_eq!(
            (s.clocks.ping_interval_ms, s.clocks.pong_timeout_ms),
            (20_000, 20_000)
        );
    }

    #[test]
    fn values_are_read_and_bad_ones_named() {
        let s = from_options(&[
            opt("websocket-max-size", "64k"),
            opt("websocket-ping-interval", "0.5"),
            opt("websocket-ping-timeout", "0"),
            opt("websocket-per-message-deflate", "false"),
        ])
        .unwrap();
        assert_eq!(s.config.max_message_size, 65536);
        assert_eq!(
            (s.clocks.ping_interval_ms, s.clocks.pong_timeout_ms),
            (500, 0)
        );
        assert!(!s.config.permessage_deflate);
        for (name, bad) in [
            ("websocket-max-size", "0"),
            ("websocket-max-size", "lots"),
            ("websocket-ping-interval", "-1"),
            ("websocket-per-message-deflate", "maybe"),
        ] {
            let e = from_options(&[opt(name, bad)]).unwrap_err();
            assert!(e.contains(name), "{e}");
        }
    }
}
