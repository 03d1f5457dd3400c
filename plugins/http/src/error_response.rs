//! The complete small response sent when a request is refused (400, 413, 431, 500...).

use rsgi_plugin_api::protocol::Version;

use crate::response::status_digits;
use crate::sink::Sink;

/// Writes a whole response for `status`: status line, `Content-Type: text/plain`,
/// `Content-Length`, `Connection: close`, and a one-line body (`400 Bad Request`).
/// Returns false (writing nothing) for a status outside 100..=999.
///
/// The status line says `HTTP/1.1` whatever the client's version, like every response
/// from this plugin; the connection is closed after it, so the version changes nothing.
pub fn encode_error(_version: Version, status: u16, out: &mut impl Sink) -> bool {
    if !(100..=999).contains(&status) {
        return false;
    }
    let digits = status_digits(status);
    let phrase = rsgi_plugin_api::status::reason_phrase(status);
    // Body: "431 Request Header Fields Too Large\n" (or just "599\n").
    let body_len =
        3 + if phrase.is_empty() {
            0
        } else {
            1 + phrase.len()
        } + 1;
    let mut len = itoa::Buffer::new();
    out.put(b"HTTP/1.1 ");
    out.put(&digits);
    out.put(b" ");
    out.put(phrase.as_bytes());
    out.put(b"\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ");
    out.put(len.format(body_len).as_bytes());
    out.put(b"\r\nConnection: close\r\n\r\n");
    out.put(&digits);
    if !phrase.is_empty() {
        out.put(b" ");
        out.put(phrase.as_bytes());
    }
    out.put(b"\n");
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(status: u16) -> Vec<u8> {
        let mut out = Vec::new();
        assert!(encode_error(Version::Http11, status, &mut out));
        out
    }

    #[test]
    fn writes_a_complete_closing_response() {
        assert_eq!(
            error(400),
            &b"HTTP/1.1 400 Bad Request\r\n\
               Content-Type: text/plain; charset=utf-8\r\n\
               Content-Length: 16\r\n\
               Connection: close\r\n\
               \r\n\
               400 Bad Request\n"[..]
        );
    }

    #[test]
    fn content_length_matches_the_body() {
        for status in [400, 413, 414, 431, 500, 501, 505, 599] {
            let out = error(status);
            let text = String::from_utf8(out).unwrap();
            let (head, body) = text.split_once("\r\n\r\n").unwrap();
            let declared: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(declared, body.len(), "{status}");
            assert!(body.starts_with(&status.to_string()));
        }
    }

    #[test]
    fn refuses_a_status_without_three_digits() {
        let mut out = Vec::new();
        assert!(!encode_error(Version::Http10, 42, &mut out));
        assert!(!encode_error(Version::Http10, 1000, &mut out));
        assert!(out.is_empty());
    }
}
