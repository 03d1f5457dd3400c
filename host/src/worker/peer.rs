//! A connection's peer address as text (`REMOTE_ADDR`), kept inline: formatting it is on
//! the path of every accepted connection, so it allocates nothing, and IPv4 (the common
//! case) skips the formatting machinery. The same holds the client a PROXY protocol
//! header or a trusted proxy's headers named (host/src/proxy).

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The longest text of an IPv6 address (`ffff:...:255.255.255.255` is 45 bytes).
const CAPACITY: usize = 46;

/// The peer's IP address as text and its port; empty text and port 0 for a Unix socket.
#[derive(Clone, Copy)]
pub struct Peer {
    text: [u8; CAPACITY],
    len: u8,
    /// The peer's port (0 for a Unix socket, or a client whose port is not known).
    pub port: u16,
    /// The address, when the peer has one (not for a Unix socket, nor an obfuscated
    /// client identifier).
    ip: Option<IpAddr>,
}

impl Peer {
    /// The peer of an accepted connection (`None`: not an IP socket).
    pub fn new(addr: Option<SocketAddr>) -> Peer {
        let mut peer = Peer {
            text: [0; CAPACITY],
            len: 0,
            port: 0,
            ip: None,
        };
        let Some(addr) = addr else { return peer };
        peer.port = addr.port();
        peer.ip = Some(addr.ip());
        peer.len = match addr.ip() {
            IpAddr::V4(ip) => write_ipv4(ip, &mut peer.text),
            IpAddr::V6(ip) => {
                let mut cursor = &mut peer.text[..];
                // Cannot fail: the longest IPv6 text fits.
                let _ = write!(cursor, "{ip}");
                let left = cursor.len();
                (CAPACITY - left) as u8
            }
        };
        peer
    }

    /// A client known by a name rather than an address (RFC 7239's obfuscated identifiers,
    /// `_hidden`, or `unknown`), with no port; `None` when longer than an address's text.
    pub fn named(name: &str) -> Option<Peer> {
        let bytes = name.as_bytes();
        if bytes.len() > CAPACITY || !bytes.iter().all(u8::is_ascii_graphic) {
            return None;
        }
        let mut text = [0; CAPACITY];
        text[..bytes.len()].copy_from_slice(bytes);
        Some(Peer {
            text,
            len: bytes.len() as u8,
            port: 0,
            ip: None,
        })
    }

    /// The address, when the peer has one.
    pub fn ip(&self) -> Option<IpAddr> {
        self.ip
    }

    /// The address as text, like `127.0.0.1` or `::1`.
    pub fn addr(&self) -> &str {
        // Only ASCII digits, dots, colons and hex letters are ever written.
        std::str::from_utf8(&self.text[..self.len as usize]).unwrap_or("")
    }
}

/// Writes `ip` in dotted decimal into `out`; returns the length.
fn write_ipv4(ip: Ipv4Addr, out: &mut [u8; CAPACITY]) -> u8 {
    let mut n = 0;
    for (i, octet) in ip.octets().into_iter().enumerate() {
        if i > 0 {
            out[n] = b'.';
            n += 1;
        }
        if octet >= 100 {
            out[n] = b'0' + octet / 100;
            n += 1;
        }
        if octet >= 10 {
            out[n] = b'0' + octet / 10 % 10;
            n += 1;
        }
        out[n] = b'0' + octet % 10;
        n += 1;
    }
    n as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_text_matches_the_standard_formatting() {
        for ip in [
            [127, 0, 0, 1],
            [0, 0, 0, 0],
            [255, 255, 255, 255],
            [10, 99, 100, 9],
            [192, 168, 1, 200],
        ] {
            let addr = SocketAddr::from((ip, 8080));
            let peer = Peer::new(Some(addr));
            assert_eq!(peer.addr(), addr.ip().to_string());
            assert_eq!(peer.port, 8080);
        }
    }

    #[test]
    fn ipv6_text_matches_the_standard_formatting() {
        for text in [
            "::1",
            "2001:db8::8a2e:370:7334",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "::ffff:255.255.255.255",
        ] {
            let ip: std::net::Ipv6Addr = text.parse().unwrap();
            let peer = Peer::new(Some(SocketAddr::from((ip, 1))));
            assert_eq!(peer.addr(), ip.to_string());
        }
    }

    #[test]
    fn unix_peers_have_no_address() {
        let peer = Peer::new(None);
        assert_eq!(peer.addr(), "");
        assert_eq!(peer.port, 0);
        assert_eq!(peer.ip(), None);
    }

    #[test]
    fn ip_peers_keep_their_address() {
        let addr: SocketAddr = "[2001:db8::1]:443".parse().unwrap();
        assert_eq!(Peer::new(Some(addr)).ip(), Some(addr.ip()));
    }

    #[test]
    fn named_clients_fit_or_are_refused() {
        let peer = Peer::named("_hidden").unwrap();
        assert_eq!((peer.addr(), peer.port, peer.ip()), ("_hidden", 0, None));
        assert!(Peer::named(&"_".repeat(CAPACITY)).is_some());
        assert!(Peer::named(&"_".repeat(CAPACITY + 1)).is_none());
        assert!(Peer::named("a b").is_none());
    }
}
