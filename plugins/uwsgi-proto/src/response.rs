//! The response: raw HTTP, delimited by closing the connection.
//!
//! A uwsgi server answers with an HTTP/1.x status line, headers and the body, and ends the
//! response by closing the connection. The front end (nginx) parses that head and writes
//! its own to the client, adding `Date`, `Server` and the framing, so none of those are
//! added here.

use abi_stable::std_types::RVec;
use rsgi_plugin_api::{
    protocol::{ResponseBody, ResponseContext, ResponseFraming},
    Header,
};

use crate::error::UwsgiError;
use rsgi_plugin_api::status::reason_phrase;

/// Writes `HTTP/1.1 <status> <reason>\r\n`, the headers and the blank line into `out`.
///
/// An empty `reason` is replaced by the standard phrase. Nothing is written when the
/// status, the reason or a header would not survive the trip (CR, LF or NUL where they
/// would split the head, a header name that is not a token).
pub fn encode_head(
    ctx: &ResponseContext<'_>,
    status: u16,
    reason: &str,
    headers: &[Header<'_>],
    out: &mut RVec<u8>,
) -> Result<ResponseFraming, UwsgiError> {
    if !(100..=999).contains(&status) {
        return Err(UwsgiError::InvalidStatus);
    }
    if reason.bytes().any(breaks_the_head) {
        return Err(UwsgiError::InvalidReason);
    }
    for header in headers {
        if header.name.is_empty() || !header.name.iter().all(|&b| is_token_byte(b)) {
            return Err(UwsgiError::InvalidHeaderName);
        }
        if header.value.iter().any(|&b| breaks_the_head(b)) {
            return Err(UwsgiError::InvalidHeaderValue);
        }
    }

    let reason = if reason.is_empty() {
        reason_phrase(status)
    } else {
        reason
    };
    write_status_line(status, reason, out);
    // `extend_from_copy_slice`: one copy each (`RVec::extend_from_slice` pushes element by
    // element).
    for header in headers {
        out.extend_from_copy_slice(&header.name);
        out.extend_from_copy_slice(b": ");
        out.extend_from_copy_slice(&header.value);
        out.extend_from_copy_slice(b"\r\n");
    }
    out.extend_from_copy_slice(b"\r\n");
    Ok(framing(ctx, status))
}

/// Writes a complete plain-text error response for `status` (500 if it is not a valid
/// status code). The front end passes it through to the client.
pub fn encode_error(status: u16, out: &mut RVec<u8>) {
    let status = if (100..=999).contains(&status) {
        status
    } else {
        500
    };
    let reason = match reason_phrase(status) {
        "" => "Error",
        phrase => phrase,
    };
    let body_len = 3 + 1 + reason.len() + 1;
    write_status_line(status, reason, out);
    out.extend_from_copy_slice(b"Content-Type: text/plain; charset=utf-8\r\nContent-Length: ");
    out.extend_from_copy_slice(body_len.to_string().as_bytes());
    out.extend_from_copy_slice(b"\r\nConnection: close\r\n\r\n");
    out.extend_from_copy_slice(&status_digits(status));
    out.extend_from_copy_slice(b" ");
    out.extend_from_copy_slice(reason.as_bytes());
    out.extend_from_copy_slice(b"\n");
}

/// No body for HEAD requests and for 1xx, 204 and 304; otherwise the body runs until the
/// connection closes.
fn framing(ctx: &ResponseContext<'_>, status: u16) -> ResponseFraming {
    let bodiless =
        ctx.head_request || (100..200).contains(&status) || status == 204 || status == 304;
    ResponseFraming {
        body: if bodiless {
            ResponseBody::None
        } else {
            ResponseBody::Close
        },
        length: 0,
        keep_alive: false,
    }
}

fn write_status_line(status: u16, reason: &str, out: &mut RVec<u8>) {
    out.extend_from_copy_slice(b"HTTP/1.1 ");
    out.extend_from_copy_slice(&status_digits(status));
    out.extend_from_copy_slice(b" ");
    out.extend_from_copy_slice(reason.as_bytes());
    out.extend_from_copy_slice(b"\r\n");
}

/// The three digits of a status in 100..=999.
fn status_digits(status: u16) -> [u8; 3] {
    let digit = |n: u16| b'0' + (n % 10) as u8;
    [digit(status / 100), digit(status / 10), digit(status)]
}

fn breaks_the_head(b: u8) -> bool {
    matches!(b, b'\r' | b'\n' | 0)
}

/// RFC 9110 `tchar`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use abi_stable::std_types::{RSlice, RStr};
    use rsgi_plugin_api::protocol::Version;

    use super::*;

    fn ctx(head_request: bool) -> ResponseContext<'static> {
        ResponseContext {
            version: Version::Http11,
            keep_alive: true,
            head_request,
            date: RStr::from_str("Thu, 01 Jan 2026 00:00:00 GMT"),
            server: RStr::from_str("rsgi"),
        }
    }

    fn header<'a>(name: &'a [u8], value: &'a [u8]) -> Header<'a> {
        Header {
            name: RSlice::from_slice(name),
            value: RSlice::from_slice(value),
        }
    }

    fn encode(
        status: u16,
        reason: &str,
        headers: &[Header<'_>],
    ) -> (Result<ResponseFraming, UwsgiError>, Vec<u8>) {
        let mut out = RVec::new();
        let framing = encode_head(&ctx(false), status, reason, headers, &mut out);
        (framing, out.to_vec())
    }

    #[test]
    fn writes_status_line_headers_and_blank_line() {
        let (framing, out) = encode(
            200,
            "OK",
            &[
                header(b"Content-Type", b"text/plain"),
                header(b"X-Empty", b""),
            ],
        );
        assert_eq!(
            out,
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Empty: \r\n\r\n"
        );
        assert_eq!(
            framing,
            Ok(ResponseFraming {
                body: ResponseBody::Close,
                length: 0,
                keep_alive: false
            })
        );
    }

    #[test]
    fn adds_no_date_server_or_framing_headers() {
        let (_, out) = encode(200, "OK", &[]);
        assert_eq!(out, b"HTTP/1.1 200 OK\r\n\r\n");
    }

    #[test]
    fn closes_even_when_the_app_declares_a_length() {
        let (framing, _) = encode(200, "OK", &[header(b"Content-Length", b"5")]);
        let framing = framing.unwrap();
        assert_eq!(framing.body, ResponseBody::Close);
        assert!(!framing.keep_alive);
    }

    #[test]
    fn fills_in_the_standard_reason_when_empty() {
        assert_eq!(encode(404, "", &[]).1, b"HTTP/1.1 404 Not Found\r\n\r\n");
        assert_eq!(encode(299, "", &[]).1, b"HTTP/1.1 299 \r\n\r\n");
    }

    #[test]
    fn keeps_the_apps_reason_and_header_bytes() {
        let (_, out) = encode(200, "Très bien", &[header(b"X-Latin", b"caf\xe9\t1")]);
        let mut want = "HTTP/1.1 200 Très bien\r\nX-Latin: ".as_bytes().to_vec();
        want.extend_from_slice(b"caf\xe9\t1\r\n\r\n");
        assert_eq!(out, want);
    }

    #[test]
    fn head_requests_and_bodiless_statuses_have_no_body() {
        let mut out = RVec::new();
        let head = encode_head(&ctx(true), 200, "OK", &[], &mut out).unwrap();
        assert_eq!(head.body, ResponseBody::None);
        for status in [100, 101, 103, 204, 304] {
            assert_eq!(
                encode(status, "", &[]).0.unwrap().body,
                ResponseBody::None,
                "{status}"
            );
        }
        for status in [200, 205, 302, 404, 500] {
            assert_eq!(
                encode(status, "", &[]).0.unwrap().body,
                ResponseBody::Close,
                "{status}"
            );
        }
    }

    #[test]
    fn refuses_header_values_that_would_split_the_response() {
        for value in [&b"a\r\nSet-Cookie: x=1"[..], b"a\nb", b"a\rb", b"a\0b"] {
            let (framing, out) =
                encode(200, "OK", &[header(b"X-Ok", b"1"), header(b"X-Bad", value)]);
            assert_eq!(framing, Err(UwsgiError::InvalidHeaderValue), "{value:?}");
            assert!(out.is_empty(), "nothing written for {value:?}");
        }
    }

    #[test]
    fn refuses_header_names_that_are_not_tokens() {
        for name in [
            &b""[..],
            b"X Bad",
            b"X:Bad",
            b"X\r\nBad",
            b"X\0",
            b"Caf\xe9",
        ] {
            let (framing, out) = encode(200, "OK", &[header(name, b"v")]);
            assert_eq!(framing, Err(UwsgiError::InvalidHeaderName), "{name:?}");
            assert!(out.is_empty());
        }
    }

    #[test]
    fn refuses_a_reason_that_would_split_the_response() {
        for reason in ["OK\r\nX: y", "O\nK", "O\0K"] {
            assert_eq!(
                encode(200, reason, &[]).0,
                Err(UwsgiError::InvalidReason),
                "{reason:?}"
            );
        }
    }

    #[test]
    fn refuses_statuses_that_are_not_three_digits() {
        for status in [0, 99, 1000, u16::MAX] {
            let (framing, out) = encode(status, "X", &[]);
            assert_eq!(framing, Err(UwsgiError::InvalidStatus), "{status}");
            assert!(out.is_empty());
        }
    }

    #[test]
    fn error_response_is_complete_plain_text() {
        let mut out = RVec::new();
        encode_error(400, &mut out);
        assert_eq!(
            out.as_slice(),
            b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 16\r\nConnection: close\r\n\r\n400 Bad Request\n"
        );
    }

    #[test]
    fn error_response_for_an_unknown_or_bogus_status() {
        let mut out = RVec::new();
        encode_error(599, &mut out);
        assert!(out.as_slice().starts_with(b"HTTP/1.1 599 Error\r\n"));
        assert!(out.as_slice().ends_with(b"\r\n\r\n599 Error\n"));
        let mut out = RVec::new();
        encode_error(7, &mut out);
        assert!(out
            .as_slice()
            .starts_with(b"HTTP/1.1 500 Internal Server Error\r\n"));
    }

    #[test]
    fn appends_to_what_is_already_in_the_buffer() {
        let mut out = RVec::from(b"earlier".to_vec());
        encode_head(&ctx(false), 204, "", &[], &mut out).unwrap();
        assert_eq!(out.as_slice(), b"earlierHTTP/1.1 204 No Content\r\n\r\n");
    }
}
