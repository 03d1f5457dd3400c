//! What a trusted proxy's word ([`Resolved`]) changes in the request an app sees, as
//! Werkzeug's `ProxyFix` does it for WSGI apps:
//!
//! - the client (`REMOTE_ADDR`, `REMOTE_PORT`, the ASGI scope's `client`), when the headers
//!   named one other than the peer (a client without a port has none: `REMOTE_PORT` is left
//!   out, the scope says 0);
//! - the scheme (`wsgi.url_scheme`, the scope's `scheme`);
//! - a forwarded host replaces the `Host` header (`HTTP_HOST`, the scope's `host` header),
//!   with the forwarded port when there is one (and not the scheme's default), and gives
//!   `SERVER_NAME` (the host without its port) and `SERVER_PORT` (the forwarded port, else
//!   the scheme's default: the client connected to the proxy, not to this listener);
//! - a forwarded port alone (`X-Forwarded-Port`) replaces the `Host` header's port and
//!   gives `SERVER_NAME` and `SERVER_PORT` the same way.
//!
//! Everything else stays as the connection has it; the `X-Forwarded-*` and `Forwarded`
//! headers themselves stay in the request. Pure, like the rest of the module.

use std::net::SocketAddr;

use super::forwarded::{self, Client, Resolved, Scheme};

/// The changes to make to a request's view.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rewrite {
    /// The client, when the headers named one other than the peer.
    pub client: Option<Client>,
    /// The scheme, when the headers gave one.
    pub scheme: Option<&'static str>,
    /// The `Host` header's new value.
    pub host: Option<String>,
    /// `SERVER_NAME`: the first `name_len` bytes of `host`.
    name_len: usize,
    /// `SERVER_PORT`.
    pub server_port: Option<u16>,
}

impl Rewrite {
    /// `SERVER_NAME`, when it changes: the host without its port (`[...]` kept for IPv6).
    pub fn server_name(&self) -> Option<&str> {
        self.host.as_deref().map(|h| &h[..self.name_len])
    }

    /// True when nothing changes.
    pub fn is_empty(&self) -> bool {
        *self == Rewrite::default()
    }
}

/// The changes `resolved` makes to a request that came from `peer` on a connection whose
/// scheme is `connection_scheme`, with `request_host` its `Host` header (if any).
pub fn rewrite(
    resolved: Resolved,
    peer: SocketAddr,
    connection_scheme: &'static str,
    request_host: Option<&[u8]>,
) -> Rewrite {
    let peer_client = Client::Addr {
        ip: peer.ip().to_canonical(),
        port: Some(peer.port()),
    };
    let scheme = resolved.scheme.map(|s| match s {
        Scheme::Http => "http",
        Scheme::Https => "https",
    });
    let default_port = match scheme.unwrap_or(connection_scheme) {
        "https" => 443,
        _ => 80,
    };
    let mut out = Rewrite {
        client: Some(resolved.client).filter(|c| *c != peer_client),
        scheme,
        ..Rewrite::default()
    };
    // The host's name, and the port the client used.
    let (name, port) = match (resolved.host, resolved.port) {
        (Some(host), port) => (Some(name_of(&host).to_string()), port),
        (None, Some(port)) => {
            // The request's own Host, with the forwarded port in place of its own.
            let name = request_host
                .and_then(forwarded::host)
                .map(|(h, _)| name_of(&h).to_string());
            (name, Some(port))
        }
        (None, None) => return out,
    };
    out.server_port = Some(port.unwrap_or(default_port));
    if let Some(mut host) = name {
        out.name_len = host.len();
        if let Some(p) = port.filter(|&p| p != default_port) {
            host.push(':');
            host.push_str(&p.to_string());
        }
        out.host = Some(host);
    }
    out
}

/// `name` of `name:port`, `[v6]` of `[v6]:port`.
fn name_of(host: &str) -> &str {
    match host.find(']') {
        Some(end) if host.starts_with('[') => &host[..=end],
        _ => host.split(':').next().unwrap_or(host),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::TrustedProxies;

    const PEER: &str = "127.0.0.1:41000";

    fn run(headers: &[(&str, &str)], host: Option<&str>) -> Rewrite {
        let peer = PEER.parse().unwrap();
        let resolved = forwarded::resolve(
            peer,
            &TrustedProxies::default(),
            headers.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())),
        );
        rewrite(resolved, peer, "http", host.map(str::as_bytes))
    }

    #[test]
    fn nothing_forwarded_changes_nothing() {
        assert!(run(&[], Some("a.example")).is_empty());
        assert!(run(&[("Forwarded", "for=\"bad")], None).is_empty());
    }

    #[test]
    fn the_client_and_scheme_alone_leave_host_and_port() {
        let r = run(
            &[
                ("X-Forwarded-For", "198.51.100.7"),
                ("X-Forwarded-Proto", "https"),
            ],
            Some("a.example:8000"),
        );
        assert_eq!(
            r.client,
            Some(Client::Addr {
                ip: "198.51.100.7".parse().unwrap(),
                port: None
            })
        );
        assert_eq!(r.scheme, Some("https"));
        assert_eq!((r.host, r.server_port), (None, None));
    }

    #[test]
    fn a_forwarded_host_gives_host_server_name_and_port() {
        let r = run(
            &[
                ("X-Forwarded-Host", "shop.example"),
                ("X-Forwarded-Proto", "https"),
            ],
            Some("internal:8000"),
        );
        assert_eq!(r.host.as_deref(), Some("shop.example"));
        assert_eq!(r.server_name(), Some("shop.example"));
        assert_eq!(r.server_port, Some(443));
        let r = run(&[("X-Forwarded-Host", "shop.example:8443")], None);
        assert_eq!(r.host.as_deref(), Some("shop.example:8443"));
        assert_eq!(r.server_name(), Some("shop.example"));
        assert_eq!(r.server_port, Some(8443));
        let r = run(
            &[("Forwarded", "for=1.2.3.4;host=\"[2001:db8::1]:81\"")],
            None,
        );
        assert_eq!(r.host.as_deref(), Some("[2001:db8::1]:81"));
        assert_eq!(r.server_name(), Some("[2001:db8::1]"));
        assert_eq!(r.server_port, Some(81));
    }

    #[test]
    fn a_port_that_is_the_schemes_default_is_left_out_of_host() {
        let r = run(
            &[
                ("X-Forwarded-Host", "shop.example"),
                ("X-Forwarded-Port", "443"),
                ("X-Forwarded-Proto", "https"),
            ],
            None,
        );
        assert_eq!(r.host.as_deref(), Some("shop.example"));
        assert_eq!(r.server_port, Some(443));
    }

    #[test]
    fn a_forwarded_port_alone_replaces_the_hosts_port() {
        let r = run(&[("X-Forwarded-Port", "8443")], Some("a.example:8000"));
        assert_eq!(r.host.as_deref(), Some("a.example:8443"));
        assert_eq!(r.server_name(), Some("a.example"));
        assert_eq!(r.server_port, Some(8443));
        // No Host to rewrite (or a bad one): the port alone.
        for host in [None, Some("bad host")] {
            let r = run(&[("X-Forwarded-Port", "8443")], host);
            assert_eq!((r.host, r.server_port), (None, Some(8443)), "{host:?}");
        }
    }
}
