use super::*;
use abi_stable::std_types::{RSlice, RStr};

fn ctx(version: Version, keep_alive: bool, head_request: bool) -> ResponseContext<'static> {
    ResponseContext {
        version,
        keep_alive,
        head_request,
        date: RStr::from_str("Sun, 06 Nov 1994 08:49:37 GMT"),
        server: RStr::from_str("rsgi"),
    }
}

fn h<'a>(name: &'a str, value: &'a str) -> Header<'a> {
    Header {
        name: RSlice::from_slice(name.as_bytes()),
        value: RSlice::from_slice(value.as_bytes()),
    }
}

fn encode(
    ctx: &ResponseContext<'_>,
    status: u16,
    reason: &str,
    headers: &[Header<'_>],
) -> (Result<ResponseFraming, HttpError>, String) {
    let mut out = Vec::new();
    let r = encode_head(ctx, status, reason, headers, &mut out);
    (r, String::from_utf8(out).unwrap())
}

fn head_ok(
    ctx: &ResponseContext<'_>,
    status: u16,
    headers: &[Header<'_>],
) -> (ResponseFraming, String) {
    let (r, text) = encode(ctx, status, "", headers);
    (r.unwrap(), text)
}

const V11: Version = Version::Http11;
const V10: Version = Version::Http10;

#[test]
fn writes_status_line_date_server_and_app_headers() {
    let (f, text) = head_ok(
        &ctx(V11, true, false),
        200,
        &[h("Content-Type", "text/plain"), h("Content-Length", "5")],
    );
    assert_eq!(
        text,
        "HTTP/1.1 200 OK\r\n\
         Server: rsgi\r\n\
         Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
         Content-Type: text/plain\r\n\
         Content-Length: 5\r\n\
         \r\n"
    );
    assert_eq!(
        f,
        ResponseFraming {
            body: ResponseBody::Length,
            length: 5,
            keep_alive: true
        }
    );
}

#[test]
fn uses_the_app_reason_or_the_standard_phrase() {
    let (_, text) = encode(
        &ctx(V11, true, false),
        404,
        "Nope",
        &[h("Content-Length", "0")],
    );
    assert!(text.starts_with("HTTP/1.1 404 Nope\r\n"));
    let (_, text) = encode(&ctx(V11, true, false), 404, "", &[h("Content-Length", "0")]);
    assert!(text.starts_with("HTTP/1.1 404 Not Found\r\n"));
    let (_, text) = encode(&ctx(V11, true, false), 299, "", &[h("Content-Length", "0")]);
    assert!(text.starts_with("HTTP/1.1 299 \r\n"));
}

#[test]
fn keeps_the_apps_date_and_server() {
    let (_, text) = head_ok(
        &ctx(V11, true, false),
        200,
        &[
            h("date", "yesterday"),
            h("SERVER", "custom"),
            h("Content-Length", "0"),
        ],
    );
    assert_eq!(
        text.matches("Date").count() + text.matches("date").count(),
        1
    );
    assert!(text.contains("SERVER: custom\r\n"));
    assert!(!text.contains("Server: rsgi"));
}

#[test]
fn skips_empty_host_values() {
    let mut c = ctx(V11, true, false);
    c.date = RStr::from_str("");
    c.server = RStr::from_str("");
    let (_, text) = head_ok(&c, 200, &[h("Content-Length", "0")]);
    assert_eq!(text, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
}

#[test]
fn chunks_http11_bodies_without_content_length() {
    let (f, text) = head_ok(
        &ctx(V11, true, false),
        200,
        &[h("Content-Type", "text/html")],
    );
    assert_eq!(
        f,
        ResponseFraming {
            body: ResponseBody::Chunked,
            length: 0,
            keep_alive: true
        }
    );
    assert!(text.ends_with("Content-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"));
}

#[test]
fn closes_http10_bodies_without_content_length() {
    let (f, text) = head_ok(&ctx(V10, true, false), 200, &[]);
    assert_eq!(
        f,
        ResponseFraming {
            body: ResponseBody::Close,
            length: 0,
            keep_alive: false
        }
    );
    assert!(text.ends_with("Connection: close\r\n\r\n"));
    assert!(!text.contains("Transfer-Encoding"));
}

#[test]
fn http10_keep_alive_is_announced() {
    let (f, text) = head_ok(&ctx(V10, true, false), 200, &[h("Content-Length", "2")]);
    assert_eq!(
        f,
        ResponseFraming {
            body: ResponseBody::Length,
            length: 2,
            keep_alive: true
        }
    );
    assert!(text.ends_with("Content-Length: 2\r\nConnection: keep-alive\r\n\r\n"));
}

#[test]
fn announces_close_when_the_host_or_client_closes() {
    let (f, text) = head_ok(&ctx(V11, false, false), 200, &[h("Content-Length", "2")]);
    assert!(!f.keep_alive);
    assert!(text.ends_with("Connection: close\r\n\r\n"));
}

#[test]
fn honours_and_drops_the_apps_connection_close() {
    let (f, text) = head_ok(
        &ctx(V11, true, false),
        200,
        &[h("Connection", "Close"), h("Content-Length", "2")],
    );
    assert!(!f.keep_alive);
    assert_eq!(text.matches("Connection").count(), 1);
    assert!(text.ends_with("Content-Length: 2\r\nConnection: close\r\n\r\n"));
}

#[test]
fn drops_hop_by_hop_headers_from_the_app() {
    let (f, text) = head_ok(
        &ctx(V11, true, false),
        200,
        &[
            h("Transfer-Encoding", "gzip"),
            h("Keep-Alive", "timeout=5"),
            h("Connection", "keep-alive"),
            h("Upgrade", "websocket"),
            h("Proxy-Connection", "keep-alive"),
            h("TE", "trailers"),
            h("Trailer", "X-Sum"),
            h("X-Kept", "yes"),
        ],
    );
    assert_eq!(f.body, ResponseBody::Chunked);
    assert!(f.keep_alive);
    for gone in [
        "gzip",
        "timeout",
        "websocket",
        "Proxy-Connection",
        "TE:",
        "Trailer",
        "Connection",
    ] {
        assert!(!text.contains(gone), "{gone} in {text}");
    }
    assert!(text.contains("X-Kept: yes\r\nTransfer-Encoding: chunked\r\n\r\n"));
}

#[test]
fn head_requests_have_no_body_but_keep_content_length() {
    let (f, text) = head_ok(&ctx(V11, true, true), 200, &[h("Content-Length", "1234")]);
    assert_eq!(
        f,
        ResponseFraming {
            body: ResponseBody::None,
            length: 1234,
            keep_alive: true
        }
    );
    assert!(text.contains("Content-Length: 1234\r\n"));
    let (f, text) = head_ok(&ctx(V11, true, true), 200, &[]);
    assert_eq!(f.body, ResponseBody::None);
    assert!(!text.contains("Transfer-Encoding"));
    let (f, _) = head_ok(&ctx(V10, true, true), 200, &[]);
    assert_eq!((f.body, f.keep_alive), (ResponseBody::None, true));
}

#[test]
fn bodiless_statuses_have_no_body() {
    for status in [100, 101, 204, 304] {
        let (f, text) = head_ok(&ctx(V11, true, false), status, &[h("Content-Length", "10")]);
        assert_eq!(f.body, ResponseBody::None, "{status}");
        assert!(!text.contains("Transfer-Encoding"));
        assert_eq!(text.contains("Content-Length"), status == 304, "{status}");
    }
}

#[test]
fn repeated_identical_content_length_is_sent_once() {
    let (f, text) = head_ok(
        &ctx(V11, true, false),
        200,
        &[h("Content-Length", "3"), h("content-length", "3")],
    );
    assert_eq!(f.length, 3);
    assert_eq!(
        text.to_ascii_lowercase().matches("content-length").count(),
        1
    );
}

#[test]
fn refuses_bad_content_length_from_the_app() {
    for bad in ["-1", "1.5", " 3", "3,3", "", "0x10"] {
        let (r, text) = encode(&ctx(V11, true, false), 200, "", &[h("Content-Length", bad)]);
        assert_eq!(r, Err(HttpError::BadResponseContentLength), "{bad:?}");
        assert!(text.is_empty());
    }
    let (r, _) = encode(
        &ctx(V11, true, false),
        200,
        "",
        &[h("Content-Length", "3"), h("Content-Length", "4")],
    );
    assert_eq!(r, Err(HttpError::ConflictingResponseContentLength));
}

#[test]
fn refuses_header_values_that_would_split_the_response() {
    for bad in [
        "a\r\nSet-Cookie: evil=1",
        "a\nb",
        "a\rb",
        "a\0b",
        "a\x1bb",
        "a\x7fb",
    ] {
        let (r, text) = encode(
            &ctx(V11, true, false),
            200,
            "",
            &[h("X-Ok", "fine"), h("X-Bad", bad)],
        );
        assert_eq!(r, Err(HttpError::BadResponseHeaderValue), "{bad:?}");
        assert_eq!(r.unwrap_err().status(), 500);
        assert!(text.is_empty(), "nothing written on error");
    }
}

#[test]
fn refuses_header_names_that_are_not_tokens() {
    for bad in ["", "X Bad", "X:Bad", "X\r\nY", "Caf\u{e9}"] {
        let (r, text) = encode(&ctx(V11, true, false), 200, "", &[h(bad, "v")]);
        assert_eq!(r, Err(HttpError::BadResponseHeaderName), "{bad:?}");
        assert!(text.is_empty());
    }
}

#[test]
fn refuses_bad_status_and_reason() {
    assert_eq!(
        encode(&ctx(V11, true, false), 99, "", &[]).0,
        Err(HttpError::BadStatus)
    );
    assert_eq!(
        encode(&ctx(V11, true, false), 1000, "", &[]).0,
        Err(HttpError::BadStatus)
    );
    let (r, text) = encode(&ctx(V11, true, false), 200, "OK\r\nX: y", &[]);
    assert_eq!(r, Err(HttpError::BadReason));
    assert!(text.is_empty());
}

#[test]
fn allows_obs_text_and_tabs_in_values() {
    let (r, text) = encode(
        &ctx(V11, true, false),
        200,
        "",
        &[h("X-Name", "caf\u{e9}\tok"), h("Content-Length", "0")],
    );
    assert!(r.is_ok());
    assert!(text.contains("X-Name: caf\u{e9}\tok\r\n"));
}

#[test]
fn writes_100_continue_for_http11_only() {
    let mut out = Vec::new();
    assert!(encode_continue(V11, &mut out));
    assert_eq!(out, b"HTTP/1.1 100 Continue\r\n\r\n");
    let mut out = Vec::new();
    assert!(!encode_continue(V10, &mut out));
    assert!(out.is_empty());
}

#[test]
fn a_101_keeps_upgrade_and_connection_and_ends_http_on_the_connection() {
    let (f, text) = head_ok(
        &ctx(V11, true, false),
        101,
        &[
            h("Upgrade", "websocket"),
            h("Connection", "Upgrade"),
            h("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
            h("Transfer-Encoding", "chunked"),
        ],
    );
    assert_eq!(
        text,
        "HTTP/1.1 101 Switching Protocols\r\n\
         Server: rsgi\r\n\
         Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
         Upgrade: websocket\r\n\
         Connection: Upgrade\r\n\
         Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
         \r\n"
    );
    assert_eq!((f.body, f.keep_alive), (ResponseBody::None, false));
    // Any other status drops an app's Upgrade, as before.
    let (_, text) = head_ok(&ctx(V11, true, false), 200, &[h("Upgrade", "websocket")]);
    assert!(!text.contains("Upgrade"), "{text}");
}
