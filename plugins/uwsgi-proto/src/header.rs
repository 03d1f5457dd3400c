//! The 4-byte header that starts every uwsgi packet.
//!
//! ```text
//! +-----------+-----------------------+-----------+
//! | modifier1 | datasize (u16, LE)    | modifier2 |
//! +-----------+-----------------------+-----------+
//! ```
//!
//! `datasize` counts the bytes of the vars block that follows the header; the request
//! body (if any) comes after that and is not part of it.

/// Length of the header in bytes.
pub const HEADER_LEN: usize = 4;

/// A decoded packet header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketHeader {
    /// Which request handler the packet is for (0 is WSGI).
    pub modifier1: u8,
    /// Size of the vars block that follows the header.
    pub datasize: u16,
    /// Handler-specific sub-kind.
    pub modifier2: u8,
}

impl PacketHeader {
    /// Decodes the header at the start of `buf`, or `None` while fewer than
    /// [`HEADER_LEN`] bytes have arrived.
    pub fn parse(buf: &[u8]) -> Option<PacketHeader> {
        match buf {
            [modifier1, lo, hi, modifier2, ..] => Some(PacketHeader {
                modifier1: *modifier1,
                datasize: u16::from_le_bytes([*lo, *hi]),
                modifier2: *modifier2,
            }),
            _ => None,
        }
    }

    /// The header as it goes on the wire.
    pub fn encode(self) -> [u8; HEADER_LEN] {
        let [lo, hi] = self.datasize.to_le_bytes();
        [self.modifier1, lo, hi, self.modifier2]
    }

    /// Bytes of header plus vars block: where the body starts.
    pub fn packet_len(self) -> usize {
        HEADER_LEN + usize::from(self.datasize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_four_bytes() {
        let bytes = b"\x00\x10\x00\x00";
        for n in 0..HEADER_LEN {
            assert_eq!(PacketHeader::parse(&bytes[..n]), None, "{n} bytes");
        }
        assert!(PacketHeader::parse(bytes).is_some());
    }

    #[test]
    fn datasize_is_little_endian() {
        let h = PacketHeader::parse(b"\x05\x34\x12\x07trailing").unwrap();
        assert_eq!(
            h,
            PacketHeader {
                modifier1: 5,
                datasize: 0x1234,
                modifier2: 7
            }
        );
        assert_eq!(h.packet_len(), 4 + 0x1234);
    }

    #[test]
    fn encodes_what_it_parses() {
        let h = PacketHeader {
            modifier1: 0,
            datasize: 65535,
            modifier2: 1,
        };
        assert_eq!(h.encode(), *b"\x00\xff\xff\x01");
        assert_eq!(PacketHeader::parse(&h.encode()), Some(h));
    }
}
