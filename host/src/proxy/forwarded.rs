//! What a request really is behind trusted proxies: the client's address, the scheme, host
//! and port it used, from `X-Forwarded-For` / `-Proto` / `-Host` / `-Port` or RFC 7239's
//! `Forwarded`. Pure: the caller hands over the peer address and the header pairs.
//!
//! Rules:
//! - From a peer that is not a trusted proxy ([`TrustedProxies`]) nothing changes,
//!   whatever its headers say.
//! - One family of headers per request: `X-Forwarded-*` when any of them is present (the
//!   headers nginx, HAProxy and most load balancers set), else `Forwarded`. A proxy must
//!   set (or remove) the headers rsgi reads: a header it passes through unchanged is the
//!   client's word.
//! - The chain (`X-Forwarded-For: client, proxy1, proxy2`, or `Forwarded`'s elements) is
//!   walked from the right: each proxy appends the address it received from, so hops that
//!   are trusted proxies are skipped and the nearest one that is not is the client (the
//!   leftmost if all are trusted). An obfuscated identifier (`_hidden`) or `unknown`
//!   cannot be trusted: it is the client, kept as written.
//! - Scheme, host and port come from the same hop: `Forwarded`'s client element
//!   (`proto=`, `host=`, whose port is the port), or the `X-Forwarded-Proto` / `-Host` /
//!   `-Port` entry at the client's place counted from the right (the rightmost when a
//!   proxy sets rather than appends: a single value is that value).
//! - A malformed value is ignored with a reason (for a debug line); a malformed chain
//!   changes nothing (the client stays the peer). Nothing here panics on any input.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use super::trusted::TrustedProxies;

/// Who sent the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Client {
    /// An address, with its port when known.
    Addr {
        /// The address (an IPv4 address seen as IPv6 is given as IPv4).
        ip: IpAddr,
        /// The client's port, when the peer or the header gave it.
        port: Option<u16>,
    },
    /// An obfuscated identifier (`_hidden`) or `unknown`, as a proxy wrote it (RFC 7239 §6).
    Hidden(String),
}

/// The scheme the client used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `http`.
    Http,
    /// `https`.
    Https,
}

/// The request as the client made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The client (`REMOTE_ADDR`, `REMOTE_PORT`): the peer unless trusted headers say.
    pub client: Client,
    /// The scheme (`wsgi.url_scheme`); `None`: the connection's own.
    pub scheme: Option<Scheme>,
    /// The host (`HTTP_HOST`, `SERVER_NAME`), as `name` or `name:port`; `None`: the request's.
    pub host: Option<String>,
    /// The port the client connected to (`SERVER_PORT`); `None`: the listener's.
    pub port: Option<u16>,
    /// Values that were ignored, and why (for a debug line).
    pub ignored: Vec<String>,
}

impl Resolved {
    fn peer(peer: SocketAddr) -> Resolved {
        Resolved {
            client: Client::Addr {
                ip: peer.ip().to_canonical(),
                port: Some(peer.port()),
            },
            scheme: None,
            host: None,
            port: None,
            ignored: Vec::new(),
        }
    }
}

/// The headers this module reads, their values in order (a repeated header's lines are
/// one list, as if joined with commas).
#[derive(Default)]
struct Found<'h> {
    forwarded: Vec<&'h [u8]>,
    for_: Vec<&'h [u8]>,
    proto: Vec<&'h [u8]>,
    host: Vec<&'h [u8]>,
    port: Vec<&'h [u8]>,
}

impl<'h> Found<'h> {
    fn gather(headers: impl IntoIterator<Item = (&'h [u8], &'h [u8])>) -> Found<'h> {
        let mut found = Found::default();
        for (name, value) in headers {
            let list = match name {
                n if n.eq_ignore_ascii_case(b"forwarded") => &mut found.forwarded,
                n if n.eq_ignore_ascii_case(b"x-forwarded-for") => &mut found.for_,
                n if n.eq_ignore_ascii_case(b"x-forwarded-proto") => &mut found.proto,
                n if n.eq_ignore_ascii_case(b"x-forwarded-host") => &mut found.host,
                n if n.eq_ignore_ascii_case(b"x-forwarded-port") => &mut found.port,
                _ => continue,
            };
            list.push(value);
        }
        found
    }

    fn any_x_forwarded(&self) -> bool {
        [&self.for_, &self.proto, &self.host, &self.port]
            .iter()
            .any(|list| !list.is_empty())
    }
}

/// Whether any of the header `names` is one [`resolve`] reads (`Forwarded`,
/// `X-Forwarded-*`): the cheap test made before resolving, so that a request without them
/// costs no allocation.
pub fn any_forwarding_header<'h>(names: impl IntoIterator<Item = &'h [u8]>) -> bool {
    const X: &[u8] = b"x-forwarded-";
    names.into_iter().any(|n| {
        n.eq_ignore_ascii_case(b"forwarded")
            || (n.len() > X.len() && n[..X.len()].eq_ignore_ascii_case(X))
    })
}

/// Resolves the request that came from `peer` with `headers` (name, value pairs).
pub fn resolve<'h>(
    peer: SocketAddr,
    trusted: &TrustedProxies,
    headers: impl IntoIterator<Item = (&'h [u8], &'h [u8])>,
) -> Resolved {
    let mut out = Resolved::peer(peer);
    if !trusted.contains(peer.ip()) {
        return out;
    }
    let found = Found::gather(headers);
    if found.any_x_forwarded() {
        x_forwarded(&found, trusted, &mut out);
    } else if !found.forwarded.is_empty() {
        if let Err(why) = forwarded(&found.forwarded, trusted, &mut out) {
            out.ignored.push(format!("Forwarded ignored: {why}"));
        }
    }
    out
}

/// `X-Forwarded-For` and its companions.
fn x_forwarded(found: &Found, trusted: &TrustedProxies, out: &mut Resolved) {
    // The client's place counted from the right (0: the peer's direct client).
    let mut place = 0;
    if !found.for_.is_empty() {
        match walk_x_forwarded_for(&found.for_, trusted) {
            Ok((client, from_right)) => {
                out.client = client;
                place = from_right;
            }
            Err(why) => {
                out.ignored.push(format!("X-Forwarded-For ignored: {why}"));
                return;
            }
        }
    }
    if let Some(v) = pick(&found.proto, place) {
        match scheme(v) {
            Some(s) => out.scheme = Some(s),
            None => out.ignored.push(format!(
                "X-Forwarded-Proto '{}' ignored: not http or https",
                show(v)
            )),
        }
    }
    if let Some(v) = pick(&found.host, place) {
        match host(v) {
            Some((h, port)) => {
                out.host = Some(h);
                out.port = port.or(out.port);
            }
            None => out.ignored.push(format!(
                "X-Forwarded-Host '{}' ignored: not a host",
                show(v)
            )),
        }
    }
    if let Some(v) = pick(&found.port, place) {
        match port(v) {
            Some(p) => out.port = Some(p),
            None => out.ignored.push(format!(
                "X-Forwarded-Port '{}' ignored: not a port",
                show(v)
            )),
        }
    }
}

/// The entries of comma-separated header lines, trimmed, in order.
fn entries<'h>(lines: &[&'h [u8]]) -> Vec<&'h [u8]> {
    lines
        .iter()
        .flat_map(|line| line.split(|&b| b == b','))
        .map(|e| e.trim_ascii())
        .collect()
}

/// The entry at `place` from the right, or the leftmost when there are fewer.
fn pick<'h>(lines: &[&'h [u8]], place: usize) -> Option<&'h [u8]> {
    let all = entries(lines);
    let n = all.len();
    (n > 0).then(|| all[n - 1 - place.min(n - 1)])
}

/// Walks `X-Forwarded-For` from the right: the client, and its place from the right.
fn walk_x_forwarded_for(
    lines: &[&[u8]],
    trusted: &TrustedProxies,
) -> Result<(Client, usize), String> {
    let all = entries(lines);
    for (from_right, entry) in all.iter().rev().enumerate() {
        let client = node(entry).ok_or_else(|| format!("'{}' is not an address", show(entry)))?;
        let last = from_right + 1 == all.len();
        match &client {
            Client::Addr { ip, .. } if trusted.contains(*ip) && !last => continue,
            _ => return Ok((client, from_right)),
        }
    }
    Err("empty".into())
}

/// RFC 7239 `Forwarded`: the client's element, walked from the right.
fn forwarded(lines: &[&[u8]], trusted: &TrustedProxies, out: &mut Resolved) -> Result<(), String> {
    let mut elements = Vec::new();
    for line in lines {
        elements.extend(split_quoted(line, b',')?);
    }
    let n = elements.len();
    for (from_right, element) in elements.iter().rev().enumerate() {
        let params = Params::parse(element)?;
        let for_ = params
            .for_
            .ok_or_else(|| format!("element '{}' has no for=", show(element)))?;
        let client = node(&for_).ok_or_else(|| format!("for={} is not a node", show(&for_)))?;
        if let Client::Addr { ip, .. } = &client {
            if trusted.contains(*ip) && from_right + 1 < n {
                continue;
            }
        }
        out.client = client;
        if let Some(v) = params.proto {
            match scheme(&v) {
                Some(s) => out.scheme = Some(s),
                None => out.ignored.push(format!(
                    "Forwarded proto={} ignored: not http or https",
                    show(&v)
                )),
            }
        }
        if let Some(v) = params.host {
            match host(&v) {
                Some((h, port)) => {
                    out.host = Some(h);
                    out.port = port;
                }
                None => out
                    .ignored
                    .push(format!("Forwarded host={} ignored: not a host", show(&v))),
            }
        }
        return Ok(());
    }
    Err("empty".into())
}

/// The parameters of one `Forwarded` element that matter here (values unquoted).
#[derive(Default)]
struct Params {
    for_: Option<Vec<u8>>,
    proto: Option<Vec<u8>>,
    host: Option<Vec<u8>>,
}

impl Params {
    fn parse(element: &[u8]) -> Result<Params, String> {
        let mut p = Params::default();
        for pair in split_quoted(element, b';')? {
            let eq = pair
                .iter()
                .position(|&b| b == b'=')
                .ok_or_else(|| format!("'{}' is not name=value", show(pair)))?;
            let (name, value) = (&pair[..eq], unquote(&pair[eq + 1..])?);
            if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
                return Err(format!("'{}' is not a parameter name", show(name)));
            }
            let slot = match name {
                n if n.eq_ignore_ascii_case(b"for") => &mut p.for_,
                n if n.eq_ignore_ascii_case(b"proto") => &mut p.proto,
                n if n.eq_ignore_ascii_case(b"host") => &mut p.host,
                _ => continue,
            };
            if slot.replace(value).is_some() {
                return Err(format!("{} given twice in one element", show(name)));
            }
        }
        Ok(p)
    }
}

/// Splits at `sep` outside quoted strings; parts trimmed; an unterminated quote or an
/// empty part is an error.
fn split_quoted(s: &[u8], sep: u8) -> Result<Vec<&[u8]>, String> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, &b) in s.iter().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            _ if b == sep && !quoted => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if quoted {
        return Err(format!("unterminated quote in '{}'", show(s)));
    }
    parts.push(&s[start..]);
    let parts: Vec<&[u8]> = parts.into_iter().map(|p| p.trim_ascii()).collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(format!("an empty entry in '{}'", show(s)));
    }
    Ok(parts)
}

/// A token, or a quoted-string with its escapes removed.
fn unquote(v: &[u8]) -> Result<Vec<u8>, String> {
    match v {
        [b'"', inner @ .., b'"'] => {
            let mut out = Vec::with_capacity(inner.len());
            let mut escaped = false;
            for &b in inner {
                match b {
                    _ if escaped => {
                        out.push(b);
                        escaped = false;
                    }
                    b'\\' => escaped = true,
                    b'"' => return Err(format!("stray quote in {}", show(v))),
                    _ => out.push(b),
                }
            }
            Ok(out)
        }
        _ if !v.is_empty() && v.iter().all(|&b| is_tchar(b)) => Ok(v.to_vec()),
        _ => Err(format!(
            "'{}' is neither a token nor a quoted string",
            show(v)
        )),
    }
}

/// RFC 9110 token characters.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A node (RFC 7239 §6; also `X-Forwarded-For`'s entries): `1.2.3.4`, `1.2.3.4:80`,
/// `[2001:db8::1]`, `[2001:db8::1]:80`, a bare `2001:db8::1`, `unknown` or `_hidden`
/// (an obfuscated port, `:_p`, is dropped).
fn node(v: &[u8]) -> Option<Client> {
    let s = std::str::from_utf8(v).ok()?;
    if s.eq_ignore_ascii_case("unknown") || is_obfuscated(s) {
        return Some(Client::Hidden(s.to_string()));
    }
    if let Ok(ip) = s.parse::<Ipv6Addr>() {
        return Some(addr(IpAddr::V6(ip), None));
    }
    let (ip, port_text) = match s.strip_prefix('[') {
        Some(rest) => {
            let (ip, after) = rest.split_once(']')?;
            (IpAddr::V6(ip.parse().ok()?), after_bracket(after)?)
        }
        None => match s.split_once(':') {
            Some((ip, p)) => (IpAddr::V4(ip.parse().ok()?), Some(p)),
            None => (IpAddr::V4(s.parse().ok()?), None),
        },
    };
    let port = match port_text {
        None => None,
        Some(p) if is_obfuscated(p) => None,
        Some(p) => Some(port(p.as_bytes())?),
    };
    Some(addr(ip, port))
}

/// What follows `[v6]`: nothing (`Some(None)`), or `:port` (`Some(Some(port))`); anything
/// else is malformed (`None`).
fn after_bracket(after: &str) -> Option<Option<&str>> {
    match after {
        "" => Some(None),
        _ => after.strip_prefix(':').map(Some),
    }
}

fn addr(ip: IpAddr, port: Option<u16>) -> Client {
    Client::Addr {
        ip: ip.to_canonical(),
        port,
    }
}

/// `_` followed by ALPHA / DIGIT / `.` / `_` / `-` (RFC 7239 §6.3).
fn is_obfuscated(s: &str) -> bool {
    s.len() > 1
        && s.starts_with('_')
        && s[1..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

fn scheme(v: &[u8]) -> Option<Scheme> {
    match v {
        v if v.eq_ignore_ascii_case(b"http") => Some(Scheme::Http),
        v if v.eq_ignore_ascii_case(b"https") => Some(Scheme::Https),
        _ => None,
    }
}

/// A port, 1 to 65535, in digits.
fn port(v: &[u8]) -> Option<u16> {
    if v.is_empty() || v.len() > 5 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(v).ok()?.parse().ok().filter(|&p| p > 0)
}

/// `name`, `name:port`, `[v6]` or `[v6]:port`: the host as given, and its port.
pub(super) fn host(v: &[u8]) -> Option<(String, Option<u16>)> {
    let s = std::str::from_utf8(v).ok()?;
    if s.is_empty() || s.len() > 255 {
        return None;
    }
    let (name, port_text) = match s.strip_prefix('[') {
        Some(rest) => {
            let (ip, after) = rest.split_once(']')?;
            ip.parse::<Ipv6Addr>().ok()?;
            (&s[..ip.len() + 2], after_bracket(after)?)
        }
        None => match s.split_once(':') {
            Some((name, p)) => (name, Some(p)),
            None => (s, None),
        },
    };
    let name_ok = name.starts_with('[')
        || (!name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b)));
    if !name_ok {
        return None;
    }
    let port = match port_text {
        None => None,
        Some(p) => Some(port(p.as_bytes())?),
    };
    Some((s.to_string(), port))
}

/// A value for a log line: printable ASCII kept, the rest escaped, at most 100 bytes.
fn show(v: &[u8]) -> String {
    let cut = &v[..v.len().min(100)];
    let mut s: String = cut.escape_ascii().to_string();
    if v.len() > cut.len() {
        s.push_str("...");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const LB: &str = "10.0.0.2:41000";

    fn trusted() -> TrustedProxies {
        TrustedProxies::parse(["10.0.0.0/8", "fd00::/8"]).unwrap()
    }

    fn run(peer: &str, headers: &[(&str, &str)]) -> Resolved {
        resolve(
            peer.parse().unwrap(),
            &trusted(),
            headers.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())),
        )
    }

    fn ip(s: &str, port: Option<u16>) -> Client {
        Client::Addr {
            ip: s.parse().unwrap(),
            port,
        }
    }

    #[test]
    fn forwarding_headers_are_spotted_by_name_alone() {
        let any = |names: &[&str]| any_forwarding_header(names.iter().map(|n| n.as_bytes()));
        assert!(any(&["Host", "FORWARDED"]));
        assert!(any(&["x-forwarded-for"]));
        assert!(any(&["X-Forwarded-Whatever"]));
        assert!(!any(&[]));
        assert!(!any(&[
            "Host",
            "X-Forwarded-",
            "Forwarded-For",
            "X-Real-IP"
        ]));
    }

    #[test]
    fn an_untrusted_peer_changes_nothing_whatever_it_sends() {
        let r = run(
            "203.0.113.5:5000",
            &[
                ("X-Forwarded-For", "1.2.3.4"),
                ("X-Forwarded-Proto", "https"),
                ("X-Forwarded-Host", "bank.example"),
                ("X-Forwarded-Port", "443"),
                ("Forwarded", "for=1.2.3.4;proto=https"),
            ],
        );
        assert_eq!(r, Resolved::peer("203.0.113.5:5000".parse().unwrap()));
    }

    #[test]
    fn a_trusted_proxy_gives_the_client_scheme_host_and_port() {
        let r = run(
            LB,
            &[
                ("x-forwarded-for", "198.51.100.7"),
                ("X-FORWARDED-PROTO", "HTTPS"),
                ("X-Forwarded-Host", "shop.example"),
                ("X-Forwarded-Port", "8443"),
            ],
        );
        assert_eq!(r.client, ip("198.51.100.7", None));
        assert_eq!(r.scheme, Some(Scheme::Https));
        assert_eq!(r.host.as_deref(), Some("shop.example"));
        assert_eq!(r.port, Some(8443));
        assert!(r.ignored.is_empty(), "{:?}", r.ignored);
    }

    #[test]
    fn a_spoofed_entry_left_of_the_client_is_not_believed() {
        // The client sent `X-Forwarded-For: 1.1.1.1`; the proxy appended what it saw.
        let r = run(LB, &[("X-Forwarded-For", "1.1.1.1, 198.51.100.7")]);
        assert_eq!(r.client, ip("198.51.100.7", None));
    }

    #[test]
    fn a_chain_through_two_trusted_proxies_skips_both() {
        let r = run(
            LB,
            &[
                ("X-Forwarded-For", "1.1.1.1, 198.51.100.7, 10.0.0.9"),
                ("X-Forwarded-Proto", "http, https, http"),
            ],
        );
        assert_eq!(r.client, ip("198.51.100.7", None));
        // The proto the outer proxy saw from the client: same place from the right.
        assert_eq!(r.scheme, Some(Scheme::Https));
        // Split over two header lines, the same.
        let r = run(
            LB,
            &[
                ("X-Forwarded-For", "1.1.1.1, 198.51.100.7"),
                ("X-Forwarded-For", "10.0.0.9"),
            ],
        );
        assert_eq!(r.client, ip("198.51.100.7", None));
    }

    #[test]
    fn when_every_hop_is_trusted_the_leftmost_is_the_client() {
        let r = run(LB, &[("X-Forwarded-For", "10.1.1.1, 10.0.0.9")]);
        assert_eq!(r.client, ip("10.1.1.1", None));
    }

    #[test]
    fn one_proto_set_by_a_proxy_applies_whatever_the_chain() {
        let r = run(
            LB,
            &[
                ("X-Forwarded-For", "198.51.100.7, 10.0.0.9"),
                ("X-Forwarded-Proto", "https"),
            ],
        );
        assert_eq!(r.scheme, Some(Scheme::Https));
    }

    #[test]
    fn ipv6_clients_and_proxies_with_and_without_brackets_and_ports() {
        let r = run(
            "[fd00::2]:41000",
            &[("X-Forwarded-For", "2001:db8::7, [fd00::9]:80")],
        );
        assert_eq!(r.client, ip("2001:db8::7", None));
        let r = run(LB, &[("X-Forwarded-For", "[2001:db8::7]:4711")]);
        assert_eq!(r.client, ip("2001:db8::7", Some(4711)));
        let r = run(LB, &[("X-Forwarded-For", "198.51.100.7:4711")]);
        assert_eq!(r.client, ip("198.51.100.7", Some(4711)));
        // A trusted peer seen through a dual-stack socket.
        let r = run(
            "[::ffff:10.0.0.2]:1",
            &[("X-Forwarded-For", "198.51.100.7")],
        );
        assert_eq!(r.client, ip("198.51.100.7", None));
    }

    #[test]
    fn rfc_7239_forwarded_with_quotes_ipv6_and_obfuscation() {
        let r = run(
            LB,
            &[(
                "Forwarded",
                "for=1.1.1.1, for=\"[2001:db8:cafe::17]:4711\";proto=https;host=\"shop.example:8443\", for=10.0.0.9;by=_lb",
            )],
        );
        assert_eq!(r.client, ip("2001:db8:cafe::17", Some(4711)));
        assert_eq!(r.scheme, Some(Scheme::Https));
        assert_eq!(r.host.as_deref(), Some("shop.example:8443"));
        assert_eq!(r.port, Some(8443));
        let r = run(LB, &[("Forwarded", "For=_hidden;Proto=http")]);
        assert_eq!(r.client, Client::Hidden("_hidden".into()));
        assert_eq!(r.scheme, Some(Scheme::Http));
        let r = run(LB, &[("Forwarded", "for=\"198.51.100.7:_port\"")]);
        assert_eq!(r.client, ip("198.51.100.7", None));
    }

    #[test]
    fn an_obfuscated_or_unknown_hop_stops_the_walk() {
        let r = run(
            LB,
            &[("X-Forwarded-For", "198.51.100.7, unknown, 10.0.0.9")],
        );
        assert_eq!(r.client, Client::Hidden("unknown".into()));
        let r = run(
            LB,
            &[("Forwarded", "for=198.51.100.7, for=_x1, for=10.0.0.9")],
        );
        assert_eq!(r.client, Client::Hidden("_x1".into()));
    }

    #[test]
    fn x_forwarded_headers_win_over_forwarded() {
        let r = run(
            LB,
            &[
                ("Forwarded", "for=1.1.1.1;proto=https"),
                ("X-Forwarded-For", "198.51.100.7"),
            ],
        );
        assert_eq!(r.client, ip("198.51.100.7", None));
        assert_eq!(r.scheme, None);
    }

    #[test]
    fn a_malformed_chain_changes_nothing_and_says_why() {
        let peer = ip("10.0.0.2", Some(41000));
        for headers in [
            &[("X-Forwarded-For", "198.51.100.7, not-an-ip")][..],
            &[("X-Forwarded-For", "198.51.100.7,,10.0.0.9")][..],
            &[("X-Forwarded-For", "")][..],
            &[("X-Forwarded-For", "[2001:db8::1")][..],
            &[("X-Forwarded-For", "1.2.3.4:99999")][..],
            &[("Forwarded", "for=\"1.2.3.4")][..],
            &[("Forwarded", "proto=https")][..],
            &[("Forwarded", "for=1.2.3.4;for=5.6.7.8")][..],
            &[("Forwarded", "for=2001:db8::1")][..],
            &[("Forwarded", "for")][..],
            &[("Forwarded", "for=1.2.3.4,")][..],
        ] {
            let r = run(LB, headers);
            assert_eq!(r.client, peer, "{headers:?}");
            assert_eq!(r.ignored.len(), 1, "{headers:?}: {:?}", r.ignored);
        }
    }

    #[test]
    fn malformed_scheme_host_or_port_is_ignored_alone() {
        let r = run(
            LB,
            &[
                ("X-Forwarded-For", "198.51.100.7"),
                ("X-Forwarded-Proto", "gopher"),
                ("X-Forwarded-Host", "evil.example\r\nX: y"),
                ("X-Forwarded-Port", "0"),
            ],
        );
        assert_eq!(r.client, ip("198.51.100.7", None));
        assert_eq!((r.scheme, r.host, r.port), (None, None, None));
        assert_eq!(r.ignored.len(), 3, "{:?}", r.ignored);
        assert!(
            r.ignored[1].contains("evil.example\\r\\nX: y"),
            "{:?}",
            r.ignored
        );
    }

    #[test]
    fn hosts_with_ports_and_ipv6_literals() {
        assert_eq!(host(b"a.example"), Some(("a.example".into(), None)));
        assert_eq!(
            host(b"a.example:81"),
            Some(("a.example:81".into(), Some(81)))
        );
        assert_eq!(host(b"[::1]:81"), Some(("[::1]:81".into(), Some(81))));
        assert_eq!(host(b"[::1]"), Some(("[::1]".into(), None)));
        for bad in [
            &b""[..],
            b"a b",
            b"a:",
            b"a:x",
            b"[::1",
            b"[nope]",
            b"[::1]x",
            b"a/b",
        ] {
            assert_eq!(host(bad), None, "{}", show(bad));
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let samples: [&[u8]; 8] = [
            b"\xff\xfe",
            b"\"",
            b"for=\"\\",
            b"for=\"[\"",
            b"[]:",
            b"_",
            b";;;,,,",
            b"for=\"\\\"\"",
        ];
        for v in samples {
            for name in [
                "Forwarded",
                "X-Forwarded-For",
                "X-Forwarded-Host",
                "X-Forwarded-Port",
            ] {
                let _ = resolve(LB.parse().unwrap(), &trusted(), [(name.as_bytes(), v)]);
            }
        }
    }
}
