//! The PROXY protocol header (HAProxy's, v1 and v2), which a load balancer sends first on
//! each connection to say whom it is relaying: a sans-I/O parser over the bytes read so
//! far. [`parse`] answers `Partial` (read more), `Done` (the header's length and the
//! addresses) or `Invalid` (close the connection). Every prefix of a valid header is
//! `Partial`; anything that cannot begin one is `Invalid` at once.
//!
//! - v1: one text line, at most 107 bytes with its CRLF: `PROXY TCP4 SRC DST SPORT DPORT`,
//!   `PROXY TCP6 ...`, or `PROXY UNKNOWN` (anything may follow until the CRLF; the
//!   connection's own addresses stand).
//! - v2: the 12-byte signature, version 2 with command LOCAL (a health check of the
//!   balancer itself: the connection's own addresses stand) or PROXY, a family (UNSPEC,
//!   INET, INET6, UNIX) and a length; the addresses, then TLVs, which are checked to fit
//!   and skipped.
//!
//! Standard library only: the fuzz target (host/fuzz) builds this file on its own.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The v2 signature.
pub const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";
/// The v1 prefix.
const V1_PREFIX: &[u8] = b"PROXY ";
/// The longest v1 line, CRLF included.
pub const V1_MAX: usize = 107;
/// The fixed part of a v2 header.
const V2_FIXED: usize = 16;
/// The longest v2 header (its length field is 16 bits): the caller bounds what it reads
/// before a header is `Done`, and may refuse less (`Partial` past its own limit).
pub const V2_MAX: usize = V2_FIXED + u16::MAX as usize;

/// What the bytes read so far hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed {
    /// A header may still come: read more.
    Partial,
    /// A whole header of `consumed` bytes; the request starts after it.
    Done {
        /// The header's length.
        consumed: usize,
        /// The client, when the header names one (not for v1 UNKNOWN, v2 LOCAL, UNSPEC
        /// or UNIX): the connection's peer otherwise.
        source: Option<SocketAddr>,
        /// The address the client connected to, under the same conditions.
        destination: Option<SocketAddr>,
    },
    /// Not a valid header, and no more bytes can make it one.
    Invalid(&'static str),
}

/// Parses the start of a connection's bytes.
pub fn parse(buf: &[u8]) -> Parsed {
    let n = buf.len().min(V2_SIGNATURE.len());
    if buf[..n] == V2_SIGNATURE[..n] {
        return if n < V2_SIGNATURE.len() {
            Parsed::Partial
        } else {
            v2(buf)
        };
    }
    let n = buf.len().min(V1_PREFIX.len());
    if buf[..n] == V1_PREFIX[..n] {
        return if n < V1_PREFIX.len() {
            Parsed::Partial
        } else {
            v1(buf)
        };
    }
    Parsed::Invalid("not a PROXY protocol header")
}

fn v1(buf: &[u8]) -> Parsed {
    let window = &buf[..buf.len().min(V1_MAX)];
    let Some(lf) = window.iter().position(|&b| b == b'\n') else {
        if let Some(bad) = window.iter().position(|&b| !is_v1_byte(b)) {
            // A CR may only be the last byte read so far (its LF still to come).
            if !(window[bad] == b'\r' && bad + 1 == window.len()) {
                return Parsed::Invalid("v1 header holds a byte that cannot be in it");
            }
        }
        return if buf.len() >= V1_MAX {
            Parsed::Invalid("v1 header longer than 107 bytes")
        } else {
            Parsed::Partial
        };
    };
    if lf == 0 || window[lf - 1] != b'\r' {
        return Parsed::Invalid("v1 header line does not end with CRLF");
    }
    let line = &window[V1_PREFIX.len()..lf - 1];
    if line.iter().any(|&b| !is_v1_byte(b)) {
        return Parsed::Invalid("v1 header holds a byte that cannot be in it");
    }
    let consumed = lf + 1;
    if line == b"UNKNOWN" || line.starts_with(b"UNKNOWN ") {
        return Parsed::Done {
            consumed,
            source: None,
            destination: None,
        };
    }
    let Ok(line) = std::str::from_utf8(line) else {
        return Parsed::Invalid("v1 header is not ASCII");
    };
    let fields: Vec<&str> = line.split(' ').collect();
    let [family, src, dst, sport, dport] = fields[..] else {
        return Parsed::Invalid("v1 header needs a family, two addresses and two ports");
    };
    let (src, dst): (IpAddr, IpAddr) = match family {
        "TCP4" => match (src.parse::<Ipv4Addr>(), dst.parse::<Ipv4Addr>()) {
            (Ok(s), Ok(d)) => (s.into(), d.into()),
            _ => return Parsed::Invalid("v1 TCP4 header with a bad IPv4 address"),
        },
        "TCP6" => match (src.parse::<Ipv6Addr>(), dst.parse::<Ipv6Addr>()) {
            (Ok(s), Ok(d)) => (s.into(), d.into()),
            _ => return Parsed::Invalid("v1 TCP6 header with a bad IPv6 address"),
        },
        _ => return Parsed::Invalid("v1 header with a family other than TCP4, TCP6, UNKNOWN"),
    };
    let (Some(sport), Some(dport)) = (v1_port(sport), v1_port(dport)) else {
        return Parsed::Invalid("v1 header with a bad port");
    };
    Parsed::Done {
        consumed,
        source: Some(SocketAddr::new(src, sport)),
        destination: Some(SocketAddr::new(dst, dport)),
    }
}

/// Bytes a v1 line may hold before its CRLF: printable ASCII and spaces.
fn is_v1_byte(b: u8) -> bool {
    (b' '..=b'~').contains(&b)
}

/// A port: 0 to 65535 in digits, no leading zero.
fn v1_port(s: &str) -> Option<u16> {
    let ok = !s.is_empty()
        && s.len() <= 5
        && s.bytes().all(|b| b.is_ascii_digit())
        && (s == "0" || !s.starts_with('0'));
    ok.then(|| s.parse().ok()).flatten()
}

fn v2(buf: &[u8]) -> Parsed {
    // Each field is checked as soon as it arrives, so garbage is refused early.
    let Some(&ver_cmd) = buf.get(12) else {
        return Parsed::Partial;
    };
    if ver_cmd >> 4 != 2 {
        return Parsed::Invalid("v2 header with a version other than 2");
    }
    let local = match ver_cmd & 0x0f {
        0 => true,
        1 => false,
        _ => return Parsed::Invalid("v2 header with a command other than LOCAL or PROXY"),
    };
    let Some(&fam) = buf.get(13) else {
        return Parsed::Partial;
    };
    // LOCAL: the family and block are discarded, whatever they say.
    let need = match fam >> 4 {
        _ if local => 0,
        0 => 0,
        1 => 12,
        2 => 36,
        3 => 216,
        _ => return Parsed::Invalid("v2 header with an unknown address family"),
    };
    match fam & 0x0f {
        _ if local => {}
        0 | 1 => {}
        2 => return Parsed::Invalid("v2 header for a datagram connection"),
        _ => return Parsed::Invalid("v2 header with an unknown transport"),
    }
    if buf.len() < V2_FIXED {
        return Parsed::Partial;
    }
    let len = u16::from_be_bytes([buf[14], buf[15]]) as usize;
    if len < need {
        return Parsed::Invalid("v2 header length shorter than its addresses");
    }
    let consumed = V2_FIXED + len;
    if buf.len() < consumed {
        return Parsed::Partial;
    }
    let body = &buf[V2_FIXED..consumed];
    if local {
        // The balancer speaking for itself: whatever the block holds is not an address.
        return Parsed::Done {
            consumed,
            source: None,
            destination: None,
        };
    }
    if let Err(reason) = check_tlvs(&body[need..]) {
        return Parsed::Invalid(reason);
    }
    let (source, destination) = match fam >> 4 {
        1 => {
            let ip = |at: usize| IpAddr::from([body[at], body[at + 1], body[at + 2], body[at + 3]]);
            let port = |at: usize| u16::from_be_bytes([body[at], body[at + 1]]);
            (
                Some(SocketAddr::new(ip(0), port(8))),
                Some(SocketAddr::new(ip(4), port(10))),
            )
        }
        2 => {
            let ip = |at: usize| {
                let mut octets = [0u8; 16];
                octets.copy_from_slice(&body[at..at + 16]);
                IpAddr::from(octets)
            };
            let port = |at: usize| u16::from_be_bytes([body[at], body[at + 1]]);
            (
                Some(SocketAddr::new(ip(0), port(32))),
                Some(SocketAddr::new(ip(16), port(34))),
            )
        }
        // UNSPEC and UNIX: no IP addresses; the connection's own stand.
        _ => (None, None),
    };
    Parsed::Done {
        consumed,
        source,
        destination,
    }
}

/// TLVs (type, 16-bit length, value) must exactly fill what follows the addresses.
fn check_tlvs(mut rest: &[u8]) -> Result<(), &'static str> {
    while !rest.is_empty() {
        if rest.len() < 3 {
            return Err("v2 TLV cut short");
        }
        let len = u16::from_be_bytes([rest[1], rest[2]]) as usize;
        let Some(next) = rest.get(3 + len..) else {
            return Err("v2 TLV runs past the header");
        };
        rest = next;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(consumed: usize, source: &str, destination: &str) -> Parsed {
        Parsed::Done {
            consumed,
            source: Some(source.parse().unwrap()),
            destination: Some(destination.parse().unwrap()),
        }
    }

    /// A v2 header: command, family byte, address block, TLVs.
    fn v2_header(cmd: u8, fam: u8, addresses: &[u8], tlvs: &[u8]) -> Vec<u8> {
        let mut h = V2_SIGNATURE.to_vec();
        h.push(0x20 | cmd);
        h.push(fam);
        h.extend(((addresses.len() + tlvs.len()) as u16).to_be_bytes());
        h.extend(addresses);
        h.extend(tlvs);
        h
    }

    fn inet(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
        let mut a = src.to_vec();
        a.extend(dst);
        a.extend(sport.to_be_bytes());
        a.extend(dport.to_be_bytes());
        a
    }

    /// Every strict prefix is Partial, the whole is `want`, and bytes after it (the
    /// request) change nothing.
    fn check_splits(header: &[u8], want: Parsed) {
        for end in 0..header.len() {
            assert_eq!(
                parse(&header[..end]),
                Parsed::Partial,
                "prefix of {end} bytes"
            );
        }
        assert_eq!(parse(header), want);
        let mut more = header.to_vec();
        more.extend(b"GET / HTTP/1.1\r\n\r\n");
        assert_eq!(parse(&more), want);
    }

    #[test]
    fn v1_tcp4_and_tcp6_in_every_split() {
        let h = b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n";
        check_splits(h, done(h.len(), "192.0.2.1:56324", "198.51.100.2:443"));
        let h = b"PROXY TCP6 2001:db8::1 2001:db8::2 4711 80\r\n";
        check_splits(h, done(h.len(), "[2001:db8::1]:4711", "[2001:db8::2]:80"));
    }

    #[test]
    fn v1_unknown_keeps_the_connection_addresses() {
        let want = |n| Parsed::Done {
            consumed: n,
            source: None,
            destination: None,
        };
        check_splits(b"PROXY UNKNOWN\r\n", want(15));
        let h = b"PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n";
        check_splits(h, want(h.len()));
    }

    #[test]
    fn v1_longest_line_is_accepted_and_one_byte_more_is_invalid() {
        let mut h = b"PROXY UNKNOWN ".to_vec();
        h.resize(V1_MAX - 2, b'x');
        h.extend(b"\r\n");
        assert_eq!(h.len(), 107);
        check_splits(
            &h,
            Parsed::Done {
                consumed: 107,
                source: None,
                destination: None,
            },
        );
        let mut long = b"PROXY UNKNOWN ".to_vec();
        long.resize(V1_MAX - 1, b'x');
        long.extend(b"\r\n");
        assert_eq!(
            parse(&long),
            Parsed::Invalid("v1 header longer than 107 bytes")
        );
        assert_eq!(
            parse(&long[..V1_MAX]),
            Parsed::Invalid("v1 header longer than 107 bytes")
        );
    }

    #[test]
    fn v1_malformed_lines_are_invalid() {
        for bad in [
            &b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\n"[..],
            b"PROXY TCP4 192.0.2.1 198.51.100.2 56324\r\n",
            b"PROXY TCP4 192.0.2.1  198.51.100.2 1 2\r\n",
            b"PROXY TCP4 2001:db8::1 198.51.100.2 1 2\r\n",
            b"PROXY TCP6 192.0.2.1 2001:db8::2 1 2\r\n",
            b"PROXY TCP4 192.0.2.1 198.51.100.2 65536 2\r\n",
            b"PROXY TCP4 192.0.2.1 198.51.100.2 01 2\r\n",
            b"PROXY TCP4 192.0.2.1 198.51.100.2 -1 2\r\n",
            b"PROXY UDP4 192.0.2.1 198.51.100.2 1 2\r\n",
            b"PROXY TCP4 192.0.2.1\x00 198.51.100.2 1 2\r\n",
            b"PROXY \r\n",
            b"PROXY TCP4\r\r\n",
        ] {
            assert!(
                matches!(parse(bad), Parsed::Invalid(_)),
                "{}: {:?}",
                bad.escape_ascii(),
                parse(bad)
            );
        }
    }

    #[test]
    fn anything_else_is_invalid_at_once() {
        assert_eq!(parse(b"G"), Parsed::Invalid("not a PROXY protocol header"));
        assert_eq!(
            parse(b"GET / HTTP/1.1\r\n"),
            Parsed::Invalid("not a PROXY protocol header")
        );
        assert_eq!(
            parse(b"PROXX"),
            Parsed::Invalid("not a PROXY protocol header")
        );
        assert_eq!(
            parse(b"\r\n\r\n\0\r\nQUIX"),
            Parsed::Invalid("not a PROXY protocol header")
        );
        assert_eq!(parse(b""), Parsed::Partial);
    }

    #[test]
    fn v2_proxy_inet_and_inet6_in_every_split() {
        let h = v2_header(
            1,
            0x11,
            &inet([192, 0, 2, 1], [198, 51, 100, 2], 56324, 443),
            &[],
        );
        check_splits(&h, done(28, "192.0.2.1:56324", "198.51.100.2:443"));
        let mut a = "2001:db8::1".parse::<Ipv6Addr>().unwrap().octets().to_vec();
        a.extend("2001:db8::2".parse::<Ipv6Addr>().unwrap().octets());
        a.extend(4711u16.to_be_bytes());
        a.extend(80u16.to_be_bytes());
        let h = v2_header(1, 0x21, &a, &[]);
        check_splits(&h, done(52, "[2001:db8::1]:4711", "[2001:db8::2]:80"));
    }

    #[test]
    fn v2_tlvs_are_skipped() {
        // ALPN "h2", an authority, then a NOOP with an empty value.
        let tlvs = [
            &[0x01, 0, 2, b'h', b'2'][..],
            &[0x02, 0, 4, b'a', b'.', b'b', b'c'],
            &[0x04, 0, 0],
        ]
        .concat();
        let h = v2_header(1, 0x11, &inet([10, 0, 0, 1], [10, 0, 0, 2], 1, 2), &tlvs);
        check_splits(&h, done(h.len(), "10.0.0.1:1", "10.0.0.2:2"));
    }

    #[test]
    fn v2_local_and_unspec_keep_the_connection_addresses() {
        let none = |n| Parsed::Done {
            consumed: n,
            source: None,
            destination: None,
        };
        check_splits(&v2_header(0, 0x00, &[], &[]), none(16));
        // LOCAL may carry a block; it is skipped, whatever it holds.
        check_splits(&v2_header(0, 0x11, &[1, 2, 3], &[]), none(19));
        check_splits(&v2_header(1, 0x00, &[], &[]), none(16));
        check_splits(&v2_header(1, 0x31, &[0; 216], &[]), none(232));
        // LOCAL with a family it does not know: discarded all the same.
        check_splits(&v2_header(0, 0xff, &[], &[]), none(16));
    }

    #[test]
    fn v2_bad_lengths_and_fields_are_invalid() {
        let short = v2_header(1, 0x11, &[0; 11], &[]);
        assert_eq!(
            parse(&short),
            Parsed::Invalid("v2 header length shorter than its addresses")
        );
        // Refused as soon as the length is read, before the block arrives.
        assert_eq!(
            parse(&short[..16]),
            Parsed::Invalid("v2 header length shorter than its addresses")
        );
        let short6 = v2_header(1, 0x21, &[0; 35], &[]);
        assert!(matches!(parse(&short6), Parsed::Invalid(_)));
        let cut_tlv = v2_header(1, 0x11, &inet([1, 1, 1, 1], [2, 2, 2, 2], 1, 2), &[0x01, 0]);
        assert_eq!(parse(&cut_tlv), Parsed::Invalid("v2 TLV cut short"));
        let long_tlv = v2_header(
            1,
            0x11,
            &inet([1, 1, 1, 1], [2, 2, 2, 2], 1, 2),
            &[0x01, 0, 9, b'x'],
        );
        assert_eq!(
            parse(&long_tlv),
            Parsed::Invalid("v2 TLV runs past the header")
        );
        // The longest length field: Partial until every byte is there.
        let mut big = v2_header(1, 0x11, &inet([1, 1, 1, 1], [2, 2, 2, 2], 1, 2), &[]);
        big[14..16].copy_from_slice(&u16::MAX.to_be_bytes());
        big.extend([0x04, 0xff, 0xf0]);
        big.resize(V2_MAX - 1, 0);
        assert_eq!(parse(&big), Parsed::Partial);
        big.push(0);
        assert!(matches!(
            parse(&big),
            Parsed::Done {
                consumed: V2_MAX,
                ..
            }
        ));
        let mut version1 = v2_header(1, 0x11, &[0; 12], &[]);
        version1[12] = 0x11;
        assert!(matches!(parse(&version1[..13]), Parsed::Invalid(_)));
        for (cmd, fam) in [(2, 0x11), (1, 0x41), (1, 0x13), (1, 0x12)] {
            let h = v2_header(cmd, fam, &[0; 12], &[]);
            assert!(
                matches!(parse(&h[..14]), Parsed::Invalid(_)),
                "{cmd} {fam:#x}"
            );
        }
    }
}
