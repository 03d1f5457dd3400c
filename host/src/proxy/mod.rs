//! Requests relayed by proxies and load balancers: who the client really is.
//!
//! - [`trusted`]: `--forwarded-allow-ips`, the peers whose word is taken;
//! - [`forwarded`]: client address, scheme, host and port from `X-Forwarded-*` or RFC
//!   7239's `Forwarded`, when the peer is trusted;
//! - [`rewrite`]: what that resolution changes in the request an app sees;
//! - [`proxy_protocol`]: the PROXY protocol header (v1, v2) a balancer sends first on a
//!   connection (`--enable-proxy-protocol`).
//!
//! All are pure (no I/O, no global state); the worker's connection code
//! (host/src/worker/conn) reads the PROXY header before a connection's first request and
//! applies the headers per request, on HTTP listeners (`--http`, `--http-socket`). Behind
//! the uwsgi protocol (`--socket`) neither applies: the front server speaks for the client
//! with its own variables (`REMOTE_ADDR`, `HTTPS`...), which the app sees as they are.

pub mod forwarded;
pub mod proxy_protocol;
pub mod rewrite;
pub mod trusted;

use crate::config::sources::Values;
use crate::error::HostError;
pub use trusted::TrustedProxies;

/// `--forwarded-allow-ips` (repeatable, each comma-separated); the loopback addresses
/// when not given. A bad entry is a usage error naming it.
pub fn forwarded_allow_ips(values: &Values) -> Result<TrustedProxies, HostError> {
    match values.get("forwarded-allow-ips") {
        None => Ok(TrustedProxies::default()),
        Some(lists) => TrustedProxies::parse(lists.iter().map(String::as_str))
            .map_err(|e| HostError::Usage(format!("invalid value for --forwarded-allow-ips: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::catalog::Catalog;
    use crate::config::Config;
    use std::net::IpAddr;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, HostError> {
        let mut values = Values::new();
        for (k, v) in pairs {
            values.entry(k.to_string()).or_default().push(v.to_string());
        }
        Config::from_values(&values, &Catalog::host())
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_allow_ips_defaults_to_loopback_and_takes_lists() {
        let c = config(&[]).unwrap();
        assert_eq!(c.forwarded_allow_ips, TrustedProxies::default());
        let c = config(&[
            ("forwarded-allow-ips", "10.0.0.0/8, 2001:db8::/32"),
            ("forwarded-allow-ips", "192.0.2.1"),
        ])
        .unwrap();
        for trusted in ["10.9.9.9", "2001:db8::1", "192.0.2.1"] {
            assert!(c.forwarded_allow_ips.contains(ip(trusted)), "{trusted}");
        }
        assert!(!c.forwarded_allow_ips.contains(ip("127.0.0.1")));
        let c = config(&[("forwarded-allow-ips", "*")]).unwrap();
        assert!(c.forwarded_allow_ips.trusts_everyone());
    }

    #[test]
    fn a_bad_forwarded_allow_ips_entry_is_a_usage_error_naming_it() {
        let err = config(&[("forwarded-allow-ips", "10.0.0.0/8,proxy.local")]).unwrap_err();
        assert!(matches!(err, HostError::Usage(_)));
        assert!(
            err.to_string().starts_with(
                "invalid value for --forwarded-allow-ips: 'proxy.local' is not an address"
            ),
            "{err}"
        );
    }

    #[test]
    fn enable_proxy_protocol_is_a_flag() {
        assert!(
            config(&[("enable-proxy-protocol", "true")])
                .unwrap()
                .proxy_protocol
        );
        assert!(
            !config(&[("enable-proxy-protocol", "false")])
                .unwrap()
                .proxy_protocol
        );
        assert!(!config(&[]).unwrap().proxy_protocol);
    }
}
