//! The plugin's options (`buffer-size`, `max-vars`), validated once in `init`.

use abi_stable::std_types::{RStr, RVec};
use rsgi_plugin_api::{
    options::{self, OptionKind, OptionSpec, OptionValue},
    ErrorKind, PluginError,
};

/// The largest vars block the protocol can describe (datasize is a u16).
pub const PROTOCOL_MAX: usize = u16::MAX as usize;

/// The host's `headers` and `vars` arrays hold this many entries each.
pub const HOST_TABLE_LEN: usize = 256;

/// Limits applied to every request packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Largest vars block accepted, in bytes (the header's `datasize`, as uWSGI counts it).
    /// Values above [`PROTOCOL_MAX`] allow everything the protocol can carry.
    pub buffer_size: usize,
    /// Most vars accepted in one packet (`HTTP_*` ones included).
    pub max_vars: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            buffer_size: PROTOCOL_MAX,
            max_vars: 128,
        }
    }
}

impl Config {
    /// Builds the configuration from the options the user set; unset ones keep their
    /// defaults. An unusable value is a [`ErrorKind::Config`] error naming the option.
    pub fn from_options(values: &[OptionValue]) -> Result<Config, PluginError> {
        let mut config = Config::default();
        if let Some(value) = options::find(values, "buffer-size") {
            config.buffer_size = parse_number("buffer-size", value, 1, usize::MAX)?;
        }
        if let Some(value) = options::find(values, "max-vars") {
            config.max_vars = parse_number("max-vars", value, 1, HOST_TABLE_LEN)?;
        }
        Ok(config)
    }
}

fn parse_number(name: &str, value: &str, min: usize, max: usize) -> Result<usize, PluginError> {
    match value.trim().parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ if max == usize::MAX => Err(PluginError::new(
            ErrorKind::Config,
            format!("uwsgi: --{name} must be a whole number of at least {min}, not {value:?}"),
        )),
        _ => Err(PluginError::new(
            ErrorKind::Config,
            format!("uwsgi: --{name} must be a whole number from {min} to {max}, not {value:?}"),
        )),
    }
}

/// The options this plugin declares.
pub fn specs() -> RVec<OptionSpec> {
    RVec::from(vec![
        OptionSpec {
            name: RStr::from_str("buffer-size"),
            aliases: RStr::from_str(""),
            value_name: RStr::from_str("BYTES"),
            help: RStr::from_str(
                "largest uwsgi vars block accepted (default 65535, the protocol's maximum; \
                 bigger packets are logged and the connection closed)",
            ),
            kind: OptionKind::Value,
        },
        OptionSpec {
            name: RStr::from_str("max-vars"),
            aliases: RStr::from_str(""),
            value_name: RStr::from_str("N"),
            help: RStr::from_str("most vars accepted in one uwsgi packet, headers included (default 128, at most 256)"),
            kind: OptionKind::Value,
        },
    ])
}

#[cfg(test)]
mod tests {
    use abi_stable::std_types::RString;

    use super::*;

    fn option(name: &str, value: &str) -> OptionValue {
        OptionValue {
            name: RString::from(name),
            values: RVec::from(vec![RString::from(value)]),
        }
    }

    #[test]
    fn defaults_allow_the_protocol_maximum() {
        let config = Config::from_options(&[]).unwrap();
        assert_eq!(config.buffer_size, 65535);
        assert_eq!(config.max_vars, 128);
    }

    #[test]
    fn reads_both_options() {
        let config =
            Config::from_options(&[option("buffer-size", "4096"), option("max-vars", "256")])
                .unwrap();
        assert_eq!(
            config,
            Config {
                buffer_size: 4096,
                max_vars: 256
            }
        );
    }

    #[test]
    fn accepts_buffer_sizes_past_the_protocol_maximum() {
        let config = Config::from_options(&[option("buffer-size", "65536")]).unwrap();
        assert_eq!(config.buffer_size, 65536);
    }

    #[test]
    fn rejects_max_vars_beyond_the_host_tables() {
        let err = Config::from_options(&[option("max-vars", "257")]).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Config);
        assert!(
            err.message.contains("max-vars") && err.message.contains("256"),
            "{err}"
        );
    }

    #[test]
    fn rejects_zero_and_garbage() {
        for (name, value) in [
            ("buffer-size", "0"),
            ("buffer-size", "4k"),
            ("max-vars", "0"),
            ("max-vars", "-1"),
        ] {
            let err = Config::from_options(&[option(name, value)]).unwrap_err();
            assert_eq!(err.kind, ErrorKind::Config);
            assert!(
                err.message.contains(name) && err.message.contains(value),
                "{err}"
            );
        }
    }

    #[test]
    fn declares_both_options() {
        let names: Vec<_> = specs()
            .iter()
            .map(|s| s.name.as_str().to_string())
            .collect();
        assert_eq!(names, ["buffer-size", "max-vars"]);
    }
}
