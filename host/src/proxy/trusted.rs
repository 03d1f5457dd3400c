//! The proxies trusted to say who the client is (`--forwarded-allow-ips`): addresses and
//! CIDR blocks, IPv4 and IPv6, or `*` for any peer. Default `127.0.0.1` and `::1`, as
//! gunicorn's: a proxy on the same machine.

use std::net::IpAddr;

/// One entry of the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    /// `*`: every peer.
    Any,
    /// An address block: the first `prefix` bits of `addr` (a single address has all).
    Block { addr: IpAddr, prefix: u8 },
}

/// A parsed `--forwarded-allow-ips`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedProxies {
    entries: Vec<Entry>,
}

impl Default for TrustedProxies {
    /// `127.0.0.1` and `::1`.
    fn default() -> Self {
        TrustedProxies {
            entries: vec![
                Entry::Block {
                    addr: IpAddr::from([127, 0, 0, 1]),
                    prefix: 32,
                },
                Entry::Block {
                    addr: IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]),
                    prefix: 128,
                },
            ],
        }
    }
}

impl TrustedProxies {
    /// Parses entries, each a comma-separated list (`10.0.0.0/8, 127.0.0.1`, `::1`,
    /// `2001:db8::/32`, `*`); blanks around entries are ignored, and no entry at all (an
    /// empty string) trusts nobody. A bad entry is an error naming it.
    pub fn parse<'a>(lists: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let mut entries = Vec::new();
        for entry in lists.into_iter().flat_map(|l| l.split(',')).map(str::trim) {
            if !entry.is_empty() {
                entries.push(parse_entry(entry)?);
            }
        }
        Ok(TrustedProxies { entries })
    }

    /// Whether a peer at `ip` is trusted. An IPv4 address seen as IPv6 (`::ffff:10.0.0.1`,
    /// from a dual-stack socket) is taken as the IPv4 address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.entries.iter().any(|e| match *e {
            Entry::Any => true,
            Entry::Block { addr, prefix } => in_block(ip, addr, prefix),
        })
    }

    /// Whether every peer is trusted (`*`).
    pub fn trusts_everyone(&self) -> bool {
        self.entries.contains(&Entry::Any)
    }
}

fn parse_entry(entry: &str) -> Result<Entry, String> {
    if entry == "*" {
        return Ok(Entry::Any);
    }
    let bad = |why: &str| format!("'{entry}' is not an address, a CIDR block or *: {why}");
    let (addr, prefix) = match entry.split_once('/') {
        Some((addr, prefix)) => (addr, Some(prefix)),
        None => (entry, None),
    };
    // `[::1]` as well as `::1`.
    let addr = addr
        .strip_prefix('[')
        .and_then(|a| a.strip_suffix(']'))
        .unwrap_or(addr);
    let addr: IpAddr = addr.parse().map_err(|_| bad("bad address"))?;
    let addr = addr.to_canonical();
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => max,
        Some(p) => match p.parse::<u8>() {
            Ok(n) if n <= max && p.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => return Err(bad(&format!("the prefix length must be 0 to {max}"))),
        },
    };
    Ok(Entry::Block {
        addr: mask(addr, prefix),
        prefix,
    })
}

fn in_block(ip: IpAddr, addr: IpAddr, prefix: u8) -> bool {
    match (ip, addr) {
        (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => mask(ip, prefix) == addr,
        _ => false,
    }
}

/// `addr` with all but its first `prefix` bits cleared.
fn mask(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let bits = u32::from(a);
            let m = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::from((bits & m).to_be_bytes())
        }
        IpAddr::V6(a) => {
            let bits = u128::from(a);
            let m = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::from((bits & m).to_be_bytes())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn set(list: &str) -> TrustedProxies {
        TrustedProxies::parse([list]).unwrap()
    }

    #[test]
    fn the_default_trusts_the_loopback_addresses_only() {
        let d = TrustedProxies::default();
        assert!(d.contains(ip("127.0.0.1")));
        assert!(d.contains(ip("::1")));
        assert!(d.contains(ip("::ffff:127.0.0.1")));
        assert!(!d.contains(ip("127.0.0.2")));
        assert!(!d.contains(ip("10.0.0.1")));
        assert!(!d.trusts_everyone());
    }

    #[test]
    fn cidr_blocks_of_both_families_contain_their_addresses_only() {
        let s = set("10.0.0.0/8, 192.168.1.7 ,2001:db8::/32,[fd00::1]");
        for yes in [
            "10.0.0.1",
            "10.255.255.255",
            "192.168.1.7",
            "2001:db8::5",
            "fd00::1",
        ] {
            assert!(s.contains(ip(yes)), "{yes}");
        }
        for no in [
            "11.0.0.1",
            "192.168.1.8",
            "2001:db9::1",
            "fd00::2",
            "::1",
            "127.0.0.1",
        ] {
            assert!(!s.contains(ip(no)), "{no}");
        }
        // IPv4 seen through a dual-stack socket.
        assert!(s.contains(ip("::ffff:10.1.2.3")));
    }

    #[test]
    fn a_block_written_with_host_bits_covers_the_whole_block() {
        assert!(set("10.1.2.3/16").contains(ip("10.1.200.1")));
        assert!(set("0.0.0.0/0").contains(ip("8.8.8.8")));
        assert!(!set("0.0.0.0/0").contains(ip("2001:db8::1")));
        assert!(set("::/0").contains(ip("2001:db8::1")));
    }

    #[test]
    fn star_trusts_every_peer_and_an_empty_list_none() {
        assert!(set("*").contains(ip("203.0.113.9")));
        assert!(set("*").trusts_everyone());
        assert!(!set("").contains(ip("127.0.0.1")));
        assert!(!TrustedProxies::parse(["", " , "])
            .unwrap()
            .contains(ip("::1")));
    }

    #[test]
    fn entries_come_from_several_values_too() {
        let s = TrustedProxies::parse(["10.0.0.1", "10.0.0.2,10.0.0.3"]).unwrap();
        assert!(["10.0.0.1", "10.0.0.2", "10.0.0.3"]
            .iter()
            .all(|a| s.contains(ip(a))));
    }

    #[test]
    fn bad_entries_are_errors_naming_them() {
        for bad in [
            "localhost",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/",
            "10.0.0.0/x",
            "10.0.0.0/+8",
            "10.0.0.0/8/8",
            "1.2.3",
            "**",
        ] {
            let err = TrustedProxies::parse([bad]).unwrap_err();
            assert!(err.contains(&format!("'{bad}'")), "{bad}: {err}");
        }
    }
}
