//! The HTTP/1.1 plugin end to end, part two: bad input (each answer and the worker still
//! serving afterwards), slow and idle clients. Helpers are in the parent module.

use std::io::BufRead;

use super::*;

// ---------------------------------------------------------------------------------------
// Bad input

/// Sends `bytes` on a fresh connection and expects one `status`, then a closed connection.
fn expect_refusal(addr: SocketAddr, what: &str, bytes: &[u8], status: u16) -> Option<String> {
    let mut w = Wire::connect(addr);
    if let Err(e) = w.try_send(bytes) {
        return Some(format!("{what}: send failed: {e}"));
    }
    let r = match w.response(false) {
        Ok(r) => r,
        Err(e) => return Some(format!("{what}: expected {status}, got {e}")),
    };
    if r.status != status {
        return Some(format!("{what}: expected {status}, got {}", r.status));
    }
    if !w.closed_within(Duration::from_secs(3)) {
        return Some(format!("{what}: {status} but the connection stayed open"));
    }
    None
}

fn check_refusals(s: &Server, cases: &[(&str, Vec<u8>, u16)]) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(what, bytes, status)| expect_refusal(s.addr, what, bytes, *status))
        .collect();
    assert!(
        failures.is_empty(),
        "{}\nlog:\n{}",
        failures.join("\n"),
        s.log()
    );
}

fn req(text: &str) -> Vec<u8> {
    text.as_bytes().to_vec()
}

#[test]
fn malformed_request_lines_and_fields_get_400_and_close() {
    let s = start(&[]);
    check_refusals(
        &s,
        &[
            ("no version", req("GET /\r\n\r\n"), 400),
            ("two spaces", req("GET  / HTTP/1.1\r\nHost: t\r\n\r\n"), 400),
            (
                "garbage after version",
                req("GET / HTTP/1.1 x\r\nHost: t\r\n\r\n"),
                400,
            ),
            (
                "method with a slash",
                req("GE/T / HTTP/1.1\r\nHost: t\r\n\r\n"),
                400,
            ),
            (
                "not HTTP at all",
                vec![0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0, 0, 0xa1],
                400,
            ),
            (
                "obs-fold",
                req("GET / HTTP/1.1\r\nHost: t\r\nX-A: one\r\n two\r\n\r\n"),
                400,
            ),
            (
                "space before colon",
                req("GET / HTTP/1.1\r\nHost: t\r\nX-A : v\r\n\r\n"),
                400,
            ),
            (
                "tab before colon",
                req("GET / HTTP/1.1\r\nHost: t\r\nX-A\t: v\r\n\r\n"),
                400,
            ),
            (
                "NUL in a value",
                req("GET / HTTP/1.1\r\nHost: t\r\nX-A: a\0b\r\n\r\n"),
                400,
            ),
            (
                "bare CR in a value",
                req("GET / HTTP/1.1\r\nHost: t\r\nX-A: a\rb\r\n\r\n"),
                400,
            ),
            (
                "LF splitting a value",
                req("GET / HTTP/1.1\r\nHost: t\r\nX-A: a\nb c\r\n\r\n"),
                400,
            ),
            (
                "header without colon",
                req("GET / HTTP/1.1\r\nHost: t\r\nnocolon\r\n\r\n"),
                400,
            ),
            (
                "second Host",
                req("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
                400,
            ),
            (
                "version HTTP/2.0",
                req("GET / HTTP/2.0\r\nHost: t\r\n\r\n"),
                505,
            ),
        ],
    );
    assert_still_serves(s.addr);
}

/// Input: HTTP/1.1 requests without a Host header (a GET, a POST with a body, an
/// absolute-form target), and with two. Answer: 400 and a closed connection (RFC 9112
/// §3.2: a server MUST). An HTTP/1.0 request without Host is served (200).
#[test]
fn http11_without_exactly_one_host_gets_400_and_http10_without_host_is_served() {
    let s = start(&[]);
    check_refusals(
        &s,
        &[
            (
                "HTTP/1.1 GET without Host",
                req("GET /nohost HTTP/1.1\r\n\r\n"),
                400,
            ),
            (
                "HTTP/1.1 POST without Host",
                req("POST /nohost HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"),
                400,
            ),
            (
                "HTTP/1.1 absolute-form target without Host",
                req("GET http://t/nohost HTTP/1.1\r\n\r\n"),
                400,
            ),
            (
                "HTTP/1.1 with two Host headers",
                req("GET /nohost HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"),
                400,
            ),
        ],
    );
    let mut w = Wire::connect(s.addr);
    w.send(b"GET /h10 HTTP/1.0\r\n\r\n");
    assert_eq!(w.response(false).unwrap().text(), "GET /h10 0");
    let seen = seen(s.addr);
    assert!(!seen.iter().any(|p| p == "/nohost"), "{seen:?}");
    assert_still_serves(s.addr);
}

/// Input: request lines of `HTTP/1.2` and `HTTP/1.9`, then `HTTP/2.0` and `HTTP/3.0`.
/// Answer: the first two are served as HTTP/1.1 (RFC 9110 §2.5, RFC 9112 §2.3): 200 with
/// a status line of `HTTP/1.1`, the connection kept alive for a next request; the others
/// get 505 and a closed connection.
#[test]
fn a_later_http1_minor_version_is_served_as_http11_and_other_majors_get_505() {
    let s = start(&[]);
    let mut w = Wire::connect(s.addr);
    for (minor, path) in [(2, "/v12"), (9, "/v19")] {
        w.send(format!("GET {path} HTTP/1.{minor}\r\nHost: t\r\n\r\n").as_bytes());
        let mut status_line = String::new();
        w.r.read_line(&mut status_line).unwrap();
        assert!(status_line.starts_with("HTTP/1.1 200 "), "{status_line:?}");
        // The rest of the response, behind the status line put back (nothing follows it:
        // the next request is sent once this response is read).
        let line = std::io::Cursor::new(status_line.into_bytes());
        let r = read_response(&mut BufReader::new(line.chain(&mut w.r)), false).unwrap();
        assert_eq!(r.text(), format!("GET {path} 0"));
        assert!(!has_header(&r, "connection", "close"), "{:?}", r.headers);
    }
    check_refusals(
        &s,
        &[
            ("HTTP/2.0", req("GET / HTTP/2.0\r\nHost: t\r\n\r\n"), 505),
            ("HTTP/3.0", req("GET / HTTP/3.0\r\nHost: t\r\n\r\n"), 505),
        ],
    );
    assert_still_serves(s.addr);
}

// ---------------------------------------------------------------------------------------
// Head limits: at the edge, one past it, far past it; in one write and trickled

/// A head of exactly `total` bytes (request line, headers, final CRLF), of lines shorter
/// than 8000 bytes.
fn head_of(total: usize) -> Vec<u8> {
    let mut out = b"GET / HTTP/1.1\r\nHost: t\r\n".to_vec();
    let mut i = 0;
    loop {
        let prefix = format!("X-Fill{i}: ");
        // Room before the final CRLF.
        let left = total - out.len() - 2;
        let line = if left <= 8000 {
            left
        } else {
            7000.min(left - 100)
        };
        out.extend_from_slice(prefix.as_bytes());
        out.extend(std::iter::repeat_n(b'f', line - prefix.len() - 2));
        out.extend_from_slice(b"\r\n");
        if left <= 8000 {
            break;
        }
        i += 1;
    }
    out.extend_from_slice(b"\r\n");
    assert_eq!(out.len(), total);
    out
}

/// A request whose `X-Long` header line is `n` bytes, without its CRLF.
fn header_line_of(n: usize) -> Vec<u8> {
    format!(
        "GET / HTTP/1.1\r\nHost: t\r\nX-Long: {}\r\n\r\n",
        "l".repeat(n - "X-Long: ".len())
    )
    .into_bytes()
}

/// A request whose target is `n` bytes.
fn target_of(n: usize) -> Vec<u8> {
    format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "u".repeat(n - 1)).into_bytes()
}

/// A request of `n` header lines, Host included.
fn header_lines(n: usize) -> Vec<u8> {
    let lines: String = (1..n).map(|i| format!("X-H{i}: v\r\n")).collect();
    format!("GET / HTTP/1.1\r\nHost: t\r\n{lines}\r\n").into_bytes()
}

/// Bytes per write when a head is trickled.
const TRICKLE: usize = 64;

/// Sends `bytes` on a fresh connection, in one write or in writes of [`TRICKLE`] bytes
/// (write errors ignored: the server may answer before it has read everything; the
/// answer is the verdict), and expects `status`; a refusal must close the connection.
fn check_answer(
    addr: SocketAddr,
    what: &str,
    bytes: &[u8],
    trickled: bool,
    status: u16,
) -> Option<String> {
    let how = if trickled { "trickled" } else { "one write" };
    let mut w = Wire::connect(addr);
    let pieces = if trickled { TRICKLE } else { bytes.len() };
    for piece in bytes.chunks(pieces) {
        if w.try_send(piece).is_err() {
            break;
        }
    }
    let r = match w.response(false) {
        Ok(r) => r,
        Err(e) => return Some(format!("{what} ({how}): expected {status}, got {e}")),
    };
    if r.status != status {
        return Some(format!(
            "{what} ({how}): expected {status}, got {}",
            r.status
        ));
    }
    if status >= 400 && !w.closed_within(Duration::from_secs(5)) {
        return Some(format!(
            "{what} ({how}): {status} but the connection stayed open"
        ));
    }
    None
}

fn check_answers(s: &Server, cases: &[(&str, Vec<u8>, u16)]) {
    let failures: Vec<String> = cases
        .iter()
        .flat_map(|(what, bytes, status)| {
            [false, true]
                .into_iter()
                .filter_map(|trickled| check_answer(s.addr, what, bytes, trickled, *status))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{}\nlog:\n{}",
        failures.join("\n"),
        s.log()
    );
}

/// Input: for each default limit of the plugin (`http-max-header-size` 32 KiB,
/// `http-max-line-size` 8 KiB, `http-max-uri-size` 8 KiB, `http-max-headers` 100) a
/// request exactly at it, one byte (or line) past it, and far past it (100 KB, 5000
/// lines), each sent in one write and trickled in 64-byte writes.
/// Answer: 200 at the limit; one past and far past, 431 (414 for the target) and a
/// closed connection. Far past, the server answers long before the client has sent
/// everything: the answer must still reach the client (it used to see a reset and no
/// answer). The worker serves on.
#[test]
fn every_head_limit_is_exact_at_its_edge_and_answered_far_past_it() {
    let s = start(&[]);
    const K: usize = 1024;
    check_answers(
        &s,
        &[
            ("a 32 KiB head", head_of(32 * K), 200),
            ("a head of 32 KiB + 1", head_of(32 * K + 1), 431),
            ("a 100 KiB head", head_of(100 * K), 431),
            ("an 8 KiB header line", header_line_of(8 * K), 200),
            ("a header line of 8 KiB + 1", header_line_of(8 * K + 1), 431),
            ("a 100 KiB header line", header_line_of(100 * K), 431),
            ("an 8 KiB target", target_of(8 * K), 200),
            ("a target of 8 KiB + 1", target_of(8 * K + 1), 414),
            ("a 100 KiB target", target_of(100 * K), 414),
            ("100 header lines", header_lines(100), 200),
            ("101 header lines", header_lines(101), 431),
            ("5000 header lines", header_lines(5000), 431),
        ],
    );
    assert_still_serves(s.addr);
}

/// Input: with `--threads 2` (connections driven on app threads), a 100 KB head, header
/// line and target, in one write and trickled. Answer: 431, 431, 414, each before a close.
#[test]
fn far_past_a_limit_the_answer_arrives_with_app_threads_too() {
    let s = start(&["--threads", "2"]);
    check_answers(
        &s,
        &[
            ("a 100 KiB head", head_of(100 * 1024), 431),
            ("a 100 KiB header line", header_line_of(100 * 1024), 431),
            ("a 100 KiB target", target_of(100 * 1024), 414),
        ],
    );
    assert_still_serves(s.addr);
}

/// Input: `--buffer-size 4096` (uWSGI's, which bounds the whole head here), and heads of
/// 4096 bytes, 4097 bytes and 100 KB, a 100 KB header line and a 100 KB target, in one
/// write and trickled.
/// Answer: 200 at 4096; 431 and a closed connection for the others: the target too, as a
/// head trickled in breaks the 4096-byte head limit before its target is 4097 bytes long.
#[test]
fn buffer_size_bounds_the_head_at_its_edge_and_far_past_it() {
    let s = start(&["--buffer-size", "4096"]);
    check_answers(
        &s,
        &[
            ("a 4096-byte head", head_of(4096), 200),
            ("a 4097-byte head", head_of(4097), 431),
            ("a 100 KiB head", head_of(100 * 1024), 431),
            ("a 100 KiB header line", header_line_of(100 * 1024), 431),
            ("a 100 KiB target", target_of(100 * 1024), 431),
        ],
    );
    assert_still_serves(s.addr);
}

/// Defaults of the plugin: `http-max-line-size` 8 KiB (one header line),
/// `http-max-header-size` 32 KiB (request line + headers), `http-max-headers` 100,
/// `http-max-uri-size` 8 KiB (the request target).
#[test]
fn oversized_heads_get_431_and_long_uris_414_at_the_default_limits() {
    let s = start(&[]);
    let long_line = format!(
        "GET / HTTP/1.1\r\nHost: t\r\nX-Long: {}\r\n\r\n",
        "a".repeat(9 * 1024)
    );
    let many_lines: String = (0..40)
        .map(|i| format!("X-H{i}: {}\r\n", "b".repeat(1000)))
        .collect();
    let big_head = format!("GET / HTTP/1.1\r\nHost: t\r\n{many_lines}\r\n");
    let count: String = (0..101).map(|i| format!("X-N{i}: v\r\n")).collect();
    let too_many = format!("GET / HTTP/1.1\r\nHost: t\r\n{count}\r\n");
    let long_uri = format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "u".repeat(9 * 1024));
    check_refusals(
        &s,
        &[
            ("a 9 KiB header line", req(&long_line), 431),
            ("a 40 KB head", req(&big_head), 431),
            ("101 header lines", req(&too_many), 431),
            ("a 9 KiB URI", req(&long_uri), 414),
        ],
    );
    // Just under every limit (a 7 KiB URI, a 7 KiB line, about 30 KiB in all): served.
    let lines: String = (0..16)
        .map(|i| format!("X-H{i}: {}\r\n", "c".repeat(1000)))
        .collect();
    let mut w = Wire::connect(s.addr);
    w.send(
        format!(
            "GET /{} HTTP/1.1\r\nHost: t\r\nX-Long: {}\r\n{lines}\r\n",
            "u".repeat(7 * 1024),
            "a".repeat(7 * 1024)
        )
        .as_bytes(),
    );
    assert_eq!(w.response(false).unwrap().status, 200);
    assert_still_serves(s.addr);
}

#[test]
fn head_over_a_configured_max_header_size_gets_431() {
    let s = start(&["--http-max-header-size", "4k"]);
    let head = |n: usize| {
        format!(
            "GET / HTTP/1.1\r\nHost: t\r\nX-Fill: {}\r\n\r\n",
            "f".repeat(n)
        )
    };
    check_refusals(
        &s,
        &[("a 5 KB head with a 4k limit", req(&head(5000)), 431)],
    );
    let mut w = Wire::connect(s.addr);
    w.send(head(3000).as_bytes());
    assert_eq!(w.response(false).unwrap().status, 200);
    assert_still_serves(s.addr);
}

/// Input: uWSGI's `--buffer-size` and `--max-vars` over HTTP (the uwsgi protocol plugin
/// declares them too: both get them): 1024 and 5 with a 2 KB head and a request of 7
/// header lines; then a buffer of 32768 with a uwsgi socket beside, and a 16 KB cookie
/// (over the default 8 KB line limit).
/// Answer: 431 for the head over the buffer and for the headers over the limit, the
/// worker serving on; with the bigger buffer rsgi starts with both sockets and the
/// cookie's request is answered 200.
#[test]
fn buffer_size_bounds_the_http_head_as_in_uwsgi() {
    let s = start(&["--buffer-size", "1024", "--max-vars", "5"]);
    let head = |n: usize| {
        format!(
            "GET / HTTP/1.1\r\nHost: t\r\nCookie: s={}\r\n\r\n",
            "c".repeat(n)
        )
    };
    check_refusals(
        &s,
        &[
            ("a 2 KB head with buffer-size 1024", req(&head(2000)), 431),
            (
                "7 header lines with max-vars 5",
                req("GET / HTTP/1.1\r\nHost: t\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\n\r\n"),
                431,
            ),
        ],
    );
    assert_still_serves(s.addr);
    let dir = rsgi_e2e::TempDir::new("http-buffer");
    let sock = dir.path().join("uwsgi.sock");
    let s = start(&["--buffer-size", "32768", "--socket", sock.to_str().unwrap()]);
    let mut w = Wire::connect(s.addr);
    w.send(head(16 * 1024).as_bytes());
    assert_eq!(w.response(false).unwrap().status, 200, "{}", s.log());
}

#[test]
fn body_over_limit_post_gets_413() {
    let s = start(&["--limit-post", "1000"]);
    let mut chunked = req("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    for _ in 0..3 {
        chunked.extend_from_slice(b"190\r\n");
        chunked.extend_from_slice(&[b'z'; 0x190]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let mut declared = req("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\n\r\n");
    declared.extend_from_slice(&[b'y'; 1001]);
    check_refusals(
        &s,
        &[
            ("Content-Length 1001 over 1000", declared, 413),
            ("1200 chunked bytes over 1000", chunked, 413),
        ],
    );
    // At the limit: served.
    let mut w = Wire::connect(s.addr);
    let mut ok = req("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n");
    ok.extend_from_slice(&[b'y'; 1000]);
    w.send(&ok);
    assert_eq!(w.response(false).unwrap().body.len(), 1000);
    assert_still_serves(s.addr);
}

/// Input: `--limit-post 1000` and a POST declaring 2,000,000 body bytes, which the client
/// sends whole right behind its head, in one write and in 4 KB writes, without reading.
/// Answer: 413, which reaches the client although the server refused the request at its
/// head with most of the body still to come (it reads and drops the rest, then closes);
/// the worker serves on.
#[test]
fn a_413_reaches_a_client_still_sending_its_large_body() {
    let s = start(&["--limit-post", "1000"]);
    let mut bytes = req("POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: 2000000\r\n\r\n");
    bytes.resize(bytes.len() + 2_000_000, b'b');
    let failures: Vec<String> = [bytes.len(), 4096]
        .into_iter()
        .filter_map(|piece| {
            let mut w = Wire::connect(s.addr);
            for part in bytes.chunks(piece) {
                if w.try_send(part).is_err() {
                    break;
                }
            }
            match w.response(false) {
                Ok(r) if r.status == 413 => None,
                other => Some(format!("{piece}-byte writes: expected 413, got {other:?}")),
            }
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{}\nlog:\n{}",
        failures.join("\n"),
        s.log()
    );
    assert_still_serves(s.addr);
}

/// Framing conflicts close the connection, and what follows them in the same write (a
/// request, if a front end and this server disagreed) is never run.
#[test]
fn conflicting_framing_gets_400_or_501_and_nothing_behind_it_runs() {
    let s = start(&[]);
    let smuggled = "GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n";
    check_refusals(
        &s,
        &[
            (
                "Content-Length with Transfer-Encoding",
                req(&format!("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{smuggled}")),
                400,
            ),
            (
                "Transfer-Encoding with Content-Length",
                req(&format!("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\n{smuggled}")),
                400,
            ),
            (
                "two different Content-Lengths",
                req(&format!("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nContent-Length: 35\r\n\r\n{smuggled}")),
                400,
            ),
            (
                "Content-Length list",
                req(&format!("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 0, 35\r\n\r\n{smuggled}")),
                400,
            ),
            (
                "Transfer-Encoding: gzip",
                req(&format!("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n{smuggled}")),
                501,
            ),
            (
                "Transfer-Encoding: chunked, gzip",
                req(&format!("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n{smuggled}")),
                400,
            ),
            (
                "Transfer-Encoding in HTTP/1.0",
                req(&format!("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{smuggled}")),
                400,
            ),
        ],
    );
    let seen = seen(s.addr);
    assert!(!seen.iter().any(|p| p == "/smuggled"), "{seen:?}");
    assert_still_serves(s.addr);
}

/// A malformed chunked body is found while the app reads it: the app has not answered
/// yet, so the answer is 400 (not the app's failure, 500), and the connection closes.
/// An app that answered without reading has its 200 sent, then the connection closes.
#[test]
fn malformed_chunked_body_gets_400_and_close() {
    let s = start(&[]);
    let post = |path: &str, body: &str| {
        req(&format!(
            "POST {path} HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n{body}"
        ))
    };
    let next = "GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n";
    check_refusals(
        &s,
        &[
            (
                "chunk size zz",
                post("/", &format!("zz\r\nhello\r\n0\r\n\r\n{next}")),
                400,
            ),
            ("chunk size -5", post("/", "-5\r\nhello\r\n0\r\n\r\n"), 400),
            (
                "chunk size overflow",
                post("/", "fffffffffffffffff1\r\nhello\r\n0\r\n\r\n"),
                400,
            ),
            (
                "no CRLF after data",
                post("/", &format!("5\r\nhelloXX0\r\n\r\n{next}")),
                400,
            ),
            (
                "bare LF after size",
                post("/", "5\nhello\r\n0\r\n\r\n"),
                400,
            ),
        ],
    );
    // The app that does not read answers first; the bad body then closes the connection.
    let mut w = Wire::connect(s.addr);
    w.send(&post("/noread", &format!("zz\r\nhello\r\n0\r\n\r\n{next}")));
    assert_eq!(w.response(false).unwrap().text(), "noread");
    assert!(w.closed_within(Duration::from_secs(3)));
    let seen = seen(s.addr);
    assert!(!seen.iter().any(|p| p == "/smuggled"), "{seen:?}");
    assert_still_serves(s.addr);
}

/// Input: chunked bodies that never end: the last chunk (`0`) without the CRLF that ends
/// the trailer section, and a trailer field with no empty line after it; the client then
/// either closes its sending side or keeps the connection open and silent. The app reads
/// its body. Answer: 400 when the client closed its side, 408 once --socket-timeout (1 s)
/// has passed; never the app's 500 for its failed read; the connection is closed and the
/// worker serves on. A Content-Length body cut short (one larger than the event loop reads
/// before calling the app) gets 400 too.
#[test]
fn a_chunked_body_that_never_ends_gets_400_or_408_never_500() {
    let s = start(&["--socket-timeout", "1"]);
    let post = "POST /neverends HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
    let cases = [
        (
            "last chunk without its CRLF",
            format!("{post}3\r\nabc\r\n0\r\n"),
        ),
        (
            "trailer section without its end",
            format!("{post}3\r\nabc\r\n0\r\nX-Trailer: done\r\n"),
        ),
        (
            "last chunk's CRLF cut after CR",
            format!("{post}3\r\nabc\r\n0\r\n\r"),
        ),
    ];
    let mut failures = Vec::new();
    for (what, bytes) in &cases {
        for (half_close, status) in [(true, 400), (false, 408)] {
            let mut w = Wire::connect(s.addr);
            w.send(bytes.as_bytes());
            if half_close {
                w.r.get_mut().shutdown(Shutdown::Write).unwrap();
            }
            let how = if half_close {
                "then a half-close"
            } else {
                "then silence"
            };
            match w.response(false) {
                Ok(r) if r.status == status => {
                    if !w.closed_within(Duration::from_secs(5)) {
                        failures.push(format!("{what}, {how}: {status} but left open"));
                    }
                }
                Ok(r) => failures.push(format!(
                    "{what}, {how}: expected {status}, got {}",
                    r.status
                )),
                Err(e) => failures.push(format!("{what}, {how}: expected {status}, got {e}")),
            }
        }
    }
    // A Content-Length body of 100,000 bytes of which 10 come before a half-close.
    let mut w = Wire::connect(s.addr);
    w.send(b"POST /neverends HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n0123456789");
    w.r.get_mut().shutdown(Shutdown::Write).unwrap();
    match w.response(false) {
        Ok(r) if r.status == 400 => {}
        other => failures.push(format!(
            "Content-Length body cut short: expected 400, got {other:?}"
        )),
    }
    assert!(
        failures.is_empty(),
        "{}\nlog:\n{}",
        failures.join("\n"),
        s.log()
    );
    // The app's reads failed because of the client: one line each, no traceback.
    s.wait_log(
        "POST /neverends: the app stopped on the request body (BodyReadError: ",
        Duration::from_secs(30),
    );
    assert!(!s.log().contains("Traceback"), "{}", s.log());
    assert_still_serves(s.addr);
}

// ---------------------------------------------------------------------------------------
// Slow and idle clients

/// A client that sends its head one byte every 200 ms is closed once
/// `--http-header-timeout` (2 s) has passed since its first byte, while a normal client is
/// served promptly the whole time.
#[test]
fn slowloris_head_is_closed_after_the_header_timeout_while_others_are_served() {
    let s = start(&[
        "--http-header-timeout",
        "2",
        "--http-keepalive-timeout",
        "30",
    ]);
    let addr = s.addr;
    // Taken before the connection exists, so the server's header clock starts after it.
    let started = Instant::now();
    let slow = TcpStream::connect(addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut writer = slow.try_clone().unwrap();
    let trickle = std::thread::spawn(move || {
        let head = b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ";
        let bytes = head.iter().copied().chain(std::iter::repeat(b'a'));
        // The slow client itself: a byte every 200 ms, 150 bytes (30 s) at most.
        for b in bytes.take(150) {
            if writer.write_all(&[b]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    // Meanwhile: a normal client, request after request, until the slow one is closed.
    let closed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let normal = {
        let closed = closed.clone();
        std::thread::spawn(move || {
            let mut answered_while_open = 0;
            let mut w = Wire::connect(addr);
            let mut i = 0;
            while !closed.load(std::sync::atomic::Ordering::SeqCst) {
                w.send(format!("GET /n{i} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
                assert_eq!(w.response(false).unwrap().text(), format!("GET /n{i} 0"));
                if !closed.load(std::sync::atomic::Ordering::SeqCst) {
                    answered_while_open += 1;
                }
                i += 1;
            }
            answered_while_open
        })
    };
    let mut buf = [0u8; 64];
    let mut reader = &slow;
    let outcome = reader.read(&mut buf);
    let after = started.elapsed();
    closed.store(true, std::sync::atomic::Ordering::SeqCst);
    let _ = slow.shutdown(Shutdown::Both);
    trickle.join().unwrap();
    let answered_while_open = normal.join().unwrap();
    match outcome {
        Ok(0) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        other => panic!("slow client: expected a close, got {other:?}"),
    }
    eprintln!("slowloris closed after {after:?}; {answered_while_open} normal requests answered meanwhile");
    assert!(
        after >= Duration::from_secs(2),
        "closed after {after:?}, before --http-header-timeout 2"
    );
    // The worker served others while the slow head trickled in (one worker, one thread:
    // had the slow client held it, nothing would have been answered until the close).
    assert!(
        answered_while_open > 0,
        "no request answered while the slow client was open"
    );
    assert_still_serves(addr);
}

/// Raises this process's open-file soft limit to the hard limit (the server inherits it).
fn raise_nofile_limit(need: u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid struct.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        if lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
    assert!(
        lim.rlim_cur >= need,
        "RLIMIT_NOFILE is {} (hard {}); this test needs {need}",
        lim.rlim_cur,
        lim.rlim_max
    );
}

/// Opens `n` keep-alive connections that each completed one request, then measures a new
/// client's request on a fresh connection.
/// `n` idle keep-alive connections, then five new clients, each of which must be answered
/// (within the client's 10 s read timeout: had the idle connections held the worker's
/// threads, the new ones would wait for the 60 s keep-alive timeout).
fn idle_connections_then_new_client(extra: &[&str], n: usize) -> Duration {
    let mut args = vec!["--http-keepalive-timeout", "60"];
    args.extend_from_slice(extra);
    let s = start(&args);
    let mut idle = Vec::with_capacity(n);
    for i in 0..n {
        let mut w = Wire::connect(s.addr);
        w.send(b"GET /idle HTTP/1.1\r\nHost: t\r\n\r\n");
        let r = w
            .response(false)
            .unwrap_or_else(|e| panic!("idle connection {i}: {e}\nlog:\n{}", s.log()));
        assert_eq!(r.status, 200);
        idle.push(w);
    }
    let mut worst = Duration::ZERO;
    for i in 0..5 {
        let t = Instant::now();
        let mut w = Wire::connect(s.addr);
        w.send(format!("GET /new{i} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
        assert_eq!(w.response(false).unwrap().text(), format!("GET /new{i} 0"));
        worst = worst.max(t.elapsed());
    }
    // The idle ones are still open and still answer.
    let first = &mut idle[0];
    first.send(b"GET /again HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(first.response(false).unwrap().text(), "GET /again 0");
    assert_still_serves(s.addr);
    worst
}

#[test]
fn two_thousand_idle_keepalive_connections_do_not_delay_a_new_client() {
    const IDLE: usize = 2000;
    raise_nofile_limit(2 * IDLE as u64 + 200);
    for extra in [&[][..], &["--threads", "1"][..], &["--threads", "4"][..]] {
        let worst = idle_connections_then_new_client(extra, IDLE);
        eprintln!("{IDLE} idle connections, 1 worker {extra:?}: new client answered in {worst:?} (slowest of 5)");
    }
}

#[test]
fn the_nth_request_on_a_connection_is_answered_with_close_under_max_requests_per_connection() {
    let s = Server::start(&["--module", "app", "--http-max-requests-per-connection", "3"]);
    let mut c = rsgi_e2e::Client::connect(s.addr).unwrap();
    for i in 1..=3 {
        let r = c.request("GET", "/", &[], b"").unwrap();
        assert_eq!(r.status, 200);
        let closes = r
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        assert_eq!(closes, i == 3, "request {i}");
    }
    let mut rest = Vec::new();
    assert_eq!(
        c.stream().read_to_end(&mut rest).unwrap(),
        0,
        "closed after the 3rd response"
    );
    assert_eq!(rsgi_e2e::get(s.addr, "/").status, 200);
}

/// A client that sends its head and 10 of its 1,000 body bytes, then stalls: the one-thread
/// worker reads small bodies in its event loop before calling the app, so a normal client
/// is answered promptly meanwhile (before, the app's blocking read held the worker for up
/// to --socket-timeout); when the rest arrives the request is answered in full.
#[test]
fn a_stalled_small_body_does_not_hold_the_worker() {
    let s = start(&["--socket-timeout", "30"]);
    let addr = s.addr;
    let mut slow = Wire::connect(addr);
    slow.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n0123456789");
    // The worker took the slow connection (its accept queue is empty again) before the
    // normal client connects, so the stalled body comes first. Had the worker waited for
    // it, the normal requests would wait for --socket-timeout (30 s), past the normal
    // client's 10 s read timeout.
    rsgi_e2e::wait_accept_queue(addr.port(), 0, Duration::from_secs(30));
    let mut w = Wire::connect(addr);
    for i in 0..10 {
        w.send(format!("GET /n{i} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
        assert_eq!(w.response(false).unwrap().text(), format!("GET /n{i} 0"));
    }
    slow.send(&vec![b'x'; 990]);
    let r = slow.response(false).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), 1000);
    assert!(r.body.starts_with(b"0123456789xxx"));
}

/// Input: a body that stops arriving (head and 10 of 1,000 bytes, then nothing). Answer: once
/// --socket-timeout (1 s) has passed, 408 and a closed connection, with a log line (as for
/// a larger body the app waits for), and the worker serves on.
#[test]
fn a_small_body_that_never_arrives_gets_408_after_the_socket_timeout() {
    let s = start(&["--socket-timeout", "1"]);
    let mut slow = Wire::connect(s.addr);
    // Taken before the body is sent, so the server's timeout starts after it.
    let started = Instant::now();
    slow.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n0123456789");
    assert_eq!(slow.response(false).unwrap().status, 408);
    assert!(slow.closed_within(Duration::from_secs(30)));
    let after = started.elapsed();
    assert!(
        after >= Duration::from_secs(1),
        "answered after {after:?}, before --socket-timeout 1"
    );
    s.wait_log(
        "request body did not arrive within 1s (--socket-timeout)",
        Duration::from_secs(10),
    );
    let mut w = Wire::connect(s.addr);
    w.send(b"GET /after HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(w.response(false).unwrap().text(), "GET /after 0");
}
