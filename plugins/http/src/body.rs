//! Response body framing: the chunk-size line before each write, CRLF after it, and the
//! last chunk. The body bytes themselves are never copied here.
//!
//! A zero-length write gets no framing from [`prefix`]: an empty chunk (`0\r\n`) would end
//! the body. Because [`suffix`] is not told the length, the host must skip both calls for
//! an empty write.

use rsgi_plugin_api::protocol::{ResponseBody, ResponseFraming};

use crate::sink::Sink;

/// Writes what goes before `len` body bytes: `{len:x}\r\n` for a chunked body with
/// `len > 0`; nothing otherwise.
pub fn prefix(framing: &ResponseFraming, len: u64, out: &mut impl Sink) {
    if framing.body == ResponseBody::Chunked && len > 0 {
        let mut digits = [0u8; 16];
        let hex = write_hex(len, &mut digits);
        out.put(hex);
        out.put(b"\r\n");
    }
}

/// Writes what goes after body bytes: `\r\n` for a chunked body; nothing otherwise.
pub fn suffix(framing: &ResponseFraming, out: &mut impl Sink) {
    if framing.body == ResponseBody::Chunked {
        out.put(b"\r\n");
    }
}

/// Writes the end of the body: the last chunk `0\r\n\r\n` for a chunked body; nothing
/// otherwise.
pub fn end(framing: &ResponseFraming, out: &mut impl Sink) {
    if framing.body == ResponseBody::Chunked {
        out.put(b"0\r\n\r\n");
    }
}

/// Lower-case hex digits of `n`, without leading zeros, in the tail of `buf`.
fn write_hex(mut n: u64, buf: &mut [u8; 16]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b"0123456789abcdef"[(n & 0xf) as usize];
        n >>= 4;
        if n == 0 {
            return &buf[i..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framing(body: ResponseBody) -> ResponseFraming {
        ResponseFraming {
            body,
            length: 0,
            keep_alive: true,
        }
    }

    fn framed(body: ResponseBody, writes: &[&[u8]]) -> Vec<u8> {
        let f = framing(body);
        let mut out = Vec::new();
        for w in writes {
            if !w.is_empty() {
                prefix(&f, w.len() as u64, &mut out);
                out.extend_from_slice(w);
                suffix(&f, &mut out);
            }
        }
        end(&f, &mut out);
        out
    }

    #[test]
    fn chunked_writes_get_size_lines_and_a_last_chunk() {
        assert_eq!(
            framed(ResponseBody::Chunked, &[b"hello", b"", &[b'x'; 26]]),
            b"5\r\nhello\r\n1a\r\nxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n0\r\n\r\n"
        );
    }

    #[test]
    fn zero_length_write_does_not_end_the_body() {
        let mut out = Vec::new();
        prefix(&framing(ResponseBody::Chunked), 0, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn other_framings_add_nothing() {
        for body in [
            ResponseBody::Length,
            ResponseBody::Close,
            ResponseBody::None,
        ] {
            assert_eq!(framed(body, &[b"abc"]), b"abc");
        }
    }

    #[test]
    fn hex_sizes_have_no_leading_zeros() {
        let mut buf = [0u8; 16];
        assert_eq!(write_hex(0, &mut buf), b"0");
        assert_eq!(write_hex(255, &mut buf), b"ff");
        assert_eq!(write_hex(0x1000, &mut buf), b"1000");
        assert_eq!(write_hex(u64::MAX, &mut buf), b"ffffffffffffffff");
    }
}
