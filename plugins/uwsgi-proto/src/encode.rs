//! Builds a request packet from a list of vars: for tests, and for proxying to another
//! uwsgi server.

use crate::error::UwsgiError;
use crate::header::{PacketHeader, HEADER_LEN};

/// Encodes a packet: the 4-byte header, then each `(key, value)` as
/// `key-length (u16 LE) | key | value-length (u16 LE) | value`. The body is not part of
/// the packet; send it after.
///
/// Fails when a key or value is longer than 65535 bytes, or the vars block is.
///
/// ```
/// let packet = rsgi_uwsgi::encode::encode_packet(0, 0, [("REQUEST_METHOD", "GET")]).unwrap();
/// assert_eq!(packet, b"\x00\x15\x00\x00\x0e\x00REQUEST_METHOD\x03\x00GET");
/// ```
pub fn encode_packet<K, V>(
    modifier1: u8,
    modifier2: u8,
    vars: impl IntoIterator<Item = (K, V)>,
) -> Result<Vec<u8>, UwsgiError>
where
    K: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    let mut out = vec![0; HEADER_LEN];
    for (key, value) in vars {
        push_string(&mut out, key.as_ref())?;
        push_string(&mut out, value.as_ref())?;
    }
    let size = out.len() - HEADER_LEN;
    let datasize = u16::try_from(size).map_err(|_| UwsgiError::PacketTooLarge { size })?;
    let header = PacketHeader {
        modifier1,
        datasize,
        modifier2,
    };
    out[..HEADER_LEN].copy_from_slice(&header.encode());
    Ok(out)
}

fn push_string(out: &mut Vec<u8>, string: &[u8]) -> Result<(), UwsgiError> {
    let len = u16::try_from(string.len()).map_err(|_| UwsgiError::VarTooLong)?;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(string);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vars::Vars;

    #[test]
    fn round_trips_through_the_parser() {
        let vars: Vec<(&[u8], &[u8])> = vec![
            (b"REQUEST_METHOD", b"POST"),
            (b"REQUEST_URI", b"/x?y=1"),
            (b"HTTP_X_BIN", b"\x00\xff\r\n"),
            (b"EMPTY", b""),
        ];
        let packet = encode_packet(9, 3, vars.iter().copied()).unwrap();
        let header = PacketHeader::parse(&packet).unwrap();
        assert_eq!((header.modifier1, header.modifier2), (9, 3));
        assert_eq!(header.packet_len(), packet.len());
        let decoded: Vec<_> = Vars::new(&packet[HEADER_LEN..])
            .map(Result::unwrap)
            .collect();
        assert_eq!(decoded, vars);
    }

    #[test]
    fn an_empty_list_is_a_bare_header() {
        let packet = encode_packet::<&str, &str>(0, 0, []).unwrap();
        assert_eq!(packet, b"\x00\x00\x00\x00");
    }

    #[test]
    fn a_var_of_65535_bytes_fits() {
        let value = vec![b'v'; 65535 - 2 - 1 - 2];
        let packet = encode_packet(0, 0, [(&b"K"[..], &value[..])]).unwrap();
        assert_eq!(packet.len(), HEADER_LEN + 65535);
        assert_eq!(&packet[1..3], b"\xff\xff");
    }

    #[test]
    fn refuses_a_value_longer_than_a_u16_length() {
        let value = vec![b'v'; 65536];
        assert_eq!(
            encode_packet(0, 0, [(&b"K"[..], &value[..])]),
            Err(UwsgiError::VarTooLong)
        );
    }

    #[test]
    fn refuses_a_block_longer_than_a_u16_datasize() {
        let value = vec![b'v'; 40000];
        let vars = [(&b"A"[..], &value[..]), (&b"B"[..], &value[..])];
        assert_eq!(
            encode_packet(0, 0, vars),
            Err(UwsgiError::PacketTooLarge { size: 80010 })
        );
    }
}
