//! The HTTP/1.1 plugin end to end: the request corpus over a real socket, keep-alive and
//! pipelining, request bodies and `Expect: 100-continue`, response framing, bad input,
//! slow clients, and many idle connections.
//!
//! Every server here runs `tests/apps/http_app.py`, which reads its whole body before
//! answering (except on `/noread`) and remembers every path it served (`/seen`), so a
//! request that was smuggled through would show up. Each test ends by checking that the
//! worker still answers a fresh client.

use std::io::{BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use rsgi_e2e::{read_response, repo_root, Response, Server};

/// Starts the HTTP test app with `extra` options.
fn start(extra: &[&str]) -> Server {
    let mut args = vec!["--module", "http_app"];
    args.extend_from_slice(extra);
    Server::start(&args)
}

/// A raw client connection: bytes out exactly as given, responses parsed on the way in.
struct Wire {
    r: BufReader<TcpStream>,
}

impl Wire {
    fn connect(addr: SocketAddr) -> Wire {
        let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.set_nodelay(true).unwrap();
        Wire {
            r: BufReader::new(s),
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.r.get_mut().write_all(bytes).expect("send");
    }

    /// Sends, ignoring a failure (the server may already have closed).
    fn try_send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.r.get_mut().write_all(bytes)
    }

    /// The next response, interim or final.
    fn any_response(&mut self, head_only: bool) -> std::io::Result<Response> {
        read_response(&mut self.r, head_only)
    }

    /// The next final response (interim 1xx skipped).
    fn response(&mut self, head_only: bool) -> std::io::Result<Response> {
        loop {
            let r = read_response(&mut self.r, head_only)?;
            if !(100..200).contains(&r.status) {
                return Ok(r);
            }
        }
    }

    /// What the connection does within `wait`: closed by the server, silent, or sending
    /// bytes nobody asked for (a panic).
    fn closed_within(&mut self, wait: Duration) -> bool {
        assert!(
            self.r.buffer().is_empty(),
            "unexpected bytes after the last response: {:?}",
            String::from_utf8_lossy(self.r.buffer())
        );
        let s = self.r.get_mut();
        s.set_read_timeout(Some(wait)).unwrap();
        let mut byte = [0u8; 256];
        match s.read(&mut byte) {
            Ok(0) => true,
            Ok(n) => panic!(
                "unexpected bytes after the last response: {:?}",
                String::from_utf8_lossy(&byte[..n])
            ),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => true,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => false,
            Err(e) => panic!("read failed: {e}"),
        }
    }
}

/// A GET on a fresh connection answers 200: the worker still serves.
fn assert_still_serves(addr: SocketAddr) {
    let mut w = Wire::connect(addr);
    w.send(b"GET /alive HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = w.response(false).expect("the worker stopped answering");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "GET /alive 0");
}

/// The paths the (single) worker has served so far.
fn seen(addr: SocketAddr) -> Vec<String> {
    let mut w = Wire::connect(addr);
    w.send(b"GET /seen HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = w.response(false).unwrap();
    r.text().lines().map(str::to_string).collect()
}

fn has_header(r: &Response, name: &str, value: &str) -> bool {
    r.header(name)
        .is_some_and(|v| v.eq_ignore_ascii_case(value))
}

// ---------------------------------------------------------------------------------------
// The corpus

/// One corpus case: its name, bytes and expected final statuses.
struct Case {
    name: String,
    bytes: Vec<u8>,
    expect: Vec<u16>,
}

fn corpus() -> Vec<Case> {
    let dir: PathBuf = repo_root().join("tests/corpus/http");
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("http") {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let expect_text = std::fs::read_to_string(path.with_extension("expect"))
            .unwrap_or_else(|e| panic!("{name}.expect: {e}"));
        let line = expect_text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .unwrap_or_else(|| panic!("{name}.expect has no status line"));
        let expect = line
            .split_whitespace()
            .map(|s| s.parse().unwrap())
            .collect();
        cases.push(Case {
            name,
            bytes: std::fs::read(&path).unwrap(),
            expect,
        });
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    cases
}

/// Sends a case in one write; returns what went wrong, if anything.
fn replay(addr: SocketAddr, case: &Case) -> Option<String> {
    let mut w = Wire::connect(addr);
    w.send(&case.bytes);
    let head_only = case.bytes.starts_with(b"HEAD ");
    let mut got = Vec::new();
    while got.len() < case.expect.len() {
        match w.response(head_only) {
            Ok(r) => got.push(r.status),
            Err(e) => return Some(format!("expected {:?}, got {got:?} then {e}", case.expect)),
        }
    }
    if got != case.expect {
        return Some(format!("expected {:?}, got {got:?}", case.expect));
    }
    // A refused request closes the connection; nothing after it is answered. After a
    // served one the connection stays quiet (open, or closed for HTTP/1.0).
    let refused = case.expect.last().is_some_and(|s| *s >= 400);
    let closed = w.closed_within(Duration::from_millis(if refused { 3000 } else { 300 }));
    if refused && !closed {
        return Some(format!("answered {got:?} but left the connection open"));
    }
    None
}

/// Every `tests/corpus/http/*.http`, sent raw in one write; the final statuses must be the
/// `.expect` file's, and a refused request must close the connection. Cases run eight at
/// a time against one server (one worker, one thread) running an app that reads its body.
#[test]
fn corpus_cases_get_their_expected_statuses_over_a_socket() {
    let s = start(&[]);
    let cases = corpus();
    assert!(cases.len() >= 58, "only {} corpus cases", cases.len());
    let mut failures = Vec::new();
    for batch in cases.chunks(8) {
        let results: Vec<(String, Option<String>)> = std::thread::scope(|scope| {
            let handles: Vec<_> = batch
                .iter()
                .map(|case| {
                    let addr = s.addr;
                    scope.spawn(move || (case.name.clone(), replay(addr, case)))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (name, problem) in results {
            if let Some(p) = problem {
                failures.push(format!("{name}: {p}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} corpus cases failed:\n{}\nlog:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n"),
        s.log()
    );
    assert_still_serves(s.addr);
}

// ---------------------------------------------------------------------------------------
// Keep-alive and pipelining (RFC 9112 §9.3)

#[test]
fn http11_keeps_alive_by_default_and_closes_on_connection_close() {
    let s = start(&[]);
    let mut w = Wire::connect(s.addr);
    for i in 0..3 {
        w.send(format!("GET /ka{i} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
        let r = w.response(false).unwrap();
        assert_eq!(r.text(), format!("GET /ka{i} 0"));
        assert!(!has_header(&r, "connection", "close"));
    }
    assert!(!w.closed_within(Duration::from_millis(200)));
    w.send(b"GET /last HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let r = w.response(false).unwrap();
    assert_eq!(r.text(), "GET /last 0");
    assert!(has_header(&r, "connection", "close"), "{:?}", r.headers);
    assert!(w.closed_within(Duration::from_secs(2)));
    assert_still_serves(s.addr);
}

#[test]
fn http10_keeps_alive_only_on_request_and_closes_on_connection_close() {
    let s = start(&[]);
    // HTTP/1.0 without a Connection header: one response, then close.
    let mut w = Wire::connect(s.addr);
    w.send(b"GET /plain10 HTTP/1.0\r\n\r\n");
    let r = w.response(false).unwrap();
    assert_eq!(r.text(), "GET /plain10 0");
    assert!(w.closed_within(Duration::from_secs(2)));
    // HTTP/1.0 with keep-alive: stays open, says so; then `Connection: close` closes it.
    let mut w = Wire::connect(s.addr);
    w.send(b"GET /ka10 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let r = w.response(false).unwrap();
    assert_eq!(r.text(), "GET /ka10 0");
    assert!(
        has_header(&r, "connection", "keep-alive"),
        "{:?}",
        r.headers
    );
    assert!(!w.closed_within(Duration::from_millis(200)));
    w.send(b"GET /close10 HTTP/1.0\r\nConnection: close\r\n\r\n");
    assert_eq!(w.response(false).unwrap().text(), "GET /close10 0");
    assert!(w.closed_within(Duration::from_secs(2)));
    // An app's own `Connection: close` closes an HTTP/1.1 connection too.
    let mut w = Wire::connect(s.addr);
    w.send(b"GET /close HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = w.response(false).unwrap();
    assert_eq!(r.text(), "bye!\n");
    assert!(has_header(&r, "connection", "close"), "{:?}", r.headers);
    assert!(w.closed_within(Duration::from_secs(2)));
    assert_still_serves(s.addr);
}

#[test]
fn pipelined_requests_in_one_write_are_answered_in_order() {
    let s = start(&[]);
    let mut w = Wire::connect(s.addr);
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"GET /p1 HTTP/1.1\r\nHost: t\r\n\r\n");
    bytes.extend_from_slice(b"POST /p2 HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc");
    bytes.extend_from_slice(
        b"POST /p3 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n",
    );
    bytes.extend_from_slice(b"HEAD /p4 HTTP/1.1\r\nHost: t\r\n\r\n");
    bytes.extend_from_slice(b"GET /p5 HTTP/1.1\r\nHost: t\r\n\r\n");
    w.send(&bytes);
    let mut bodies = Vec::new();
    for head_only in [false, false, false, true, false] {
        let r = w.response(head_only).unwrap();
        assert_eq!(r.status, 200);
        bodies.push(if head_only {
            format!("HEAD length {}", r.header("content-length").unwrap_or("-"))
        } else {
            r.text()
        });
    }
    assert_eq!(
        bodies,
        [
            "GET /p1 0",
            "POST /p2 3",
            "POST /p3 2",
            "HEAD length 10",
            "GET /p5 0"
        ]
    );
    assert!(!w.closed_within(Duration::from_millis(200)));
    assert_still_serves(s.addr);
}

#[test]
fn idle_connection_is_closed_after_the_keepalive_timeout() {
    let s = start(&["--http-keepalive-timeout", "1"]);
    let mut w = Wire::connect(s.addr);
    w.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(w.response(false).unwrap().status, 200);
    let idle_from = Instant::now();
    // Open at 0.3 s ...
    assert!(
        !w.closed_within(Duration::from_millis(300)),
        "closed too early"
    );
    // ... closed by the server within about 2 s (1 s plus the sweep interval).
    let closed = w.closed_within(Duration::from_millis(1900));
    let after = idle_from.elapsed();
    assert!(closed, "still open after {after:?}");
    eprintln!("idle keep-alive connection closed after {after:?} (--http-keepalive-timeout 1)");
    assert!(
        after >= Duration::from_millis(900),
        "closed after {after:?}"
    );
    assert_still_serves(s.addr);
}

// ---------------------------------------------------------------------------------------
// Request bodies

#[test]
fn content_length_body_is_streamed_to_the_app_in_pieces() {
    let s = start(&[]);
    let body: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    let mut w = Wire::connect(s.addr);
    w.send(
        format!(
            "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    for piece in body.chunks(70_000) {
        w.send(piece);
        std::thread::sleep(Duration::from_millis(20));
    }
    let r = w.response(false).unwrap();
    assert_eq!(r.status, 200);
    assert!(r.body == body, "echoed body differs");
    // The connection is in step for the next request.
    w.send(b"GET /next HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(w.response(false).unwrap().text(), "GET /next 0");
    assert_still_serves(s.addr);
}

#[test]
fn chunked_body_is_decoded_and_streamed_to_the_app() {
    let s = start(&[]);
    let mut w = Wire::connect(s.addr);
    w.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    let mut expected = Vec::new();
    for i in 0..20u8 {
        let data = vec![b'a' + i; 1000 + i as usize * 37];
        // A chunk extension on some chunks; each chunk in two writes.
        let size = if i % 3 == 0 {
            format!("{:x};ext=v{i}\r\n", data.len())
        } else {
            format!("{:X}\r\n", data.len())
        };
        w.send(size.as_bytes());
        w.send(&data);
        w.send(b"\r\n");
        expected.extend_from_slice(&data);
    }
    w.send(b"0\r\nX-Trailer: done\r\n\r\nGET /after-chunked HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = w.response(false).unwrap();
    assert_eq!(r.status, 200);
    assert!(r.body == expected, "decoded body differs");
    assert_eq!(w.response(false).unwrap().text(), "GET /after-chunked 0");
    assert_still_serves(s.addr);
}

#[test]
fn expect_100_continue_is_answered_only_when_the_app_reads() {
    let s = start(&[]);
    let mut w = Wire::connect(s.addr);
    // The app sleeps 0.6 s before reading its body.
    w.send(
        b"POST /sleep-then-read?0.6 HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
    );
    let sent = Instant::now();
    let interim = w.any_response(false).unwrap();
    let waited = sent.elapsed();
    assert_eq!(interim.status, 100, "first answer should be 100 Continue");
    assert!(
        waited >= Duration::from_millis(500),
        "100 Continue arrived after {waited:?}, before the app read"
    );
    w.send(b"hello");
    let r = w.response(false).unwrap();
    assert_eq!(r.text(), "read 5");
    // HTTP/1.0 clients get no interim response.
    let mut w = Wire::connect(s.addr);
    w.send(b"POST /echo HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok");
    let r = w.any_response(false).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "ok");
    assert_still_serves(s.addr);
}

/// The body of an `Expect: 100-continue` request the app never read holds the bytes of a
/// whole request. It is never run as a request: whether the client sends it with the head
/// or only after the final answer, it is discarded or the connection is closed.
#[test]
fn unread_expect_continue_body_is_never_parsed_as_a_request() {
    let s = start(&["--socket-timeout", "20"]);
    let smuggled = b"GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n";
    let head = format!(
        "POST /noread HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        smuggled.len()
    );
    // 1. Head and body in one write, then a real request.
    let mut w = Wire::connect(s.addr);
    let mut bytes = head.clone().into_bytes();
    bytes.extend_from_slice(smuggled);
    bytes.extend_from_slice(b"GET /after-one-write HTTP/1.1\r\nHost: t\r\n\r\n");
    w.send(&bytes);
    let r = w.any_response(false).unwrap();
    assert_eq!((r.status, r.text().as_str()), (200, "noread"));
    // Drained and answered, or closed (an error here): either is fine.
    if let Ok(r) = w.response(false) {
        assert_eq!(r.text(), "GET /after-one-write 0");
    }
    // 2. Head alone: the final answer comes without a 100 and without waiting for the
    // body; the client then sends the body anyway, with a real request behind it.
    let mut w = Wire::connect(s.addr);
    w.send(head.as_bytes());
    let sent = Instant::now();
    let r = w.any_response(false).unwrap();
    let waited = sent.elapsed();
    assert_eq!((r.status, r.text().as_str()), (200, "noread"));
    assert!(
        waited < Duration::from_secs(2),
        "the answer waited {waited:?} for a body the client was told nothing about"
    );
    let mut bytes = smuggled.to_vec();
    bytes.extend_from_slice(b"GET /after-two-writes HTTP/1.1\r\nHost: t\r\n\r\n");
    if w.try_send(&bytes).is_ok() {
        if let Ok(r) = w.response(false) {
            assert_eq!(r.text(), "GET /after-two-writes 0");
        }
    }
    let seen = seen(s.addr);
    assert!(
        !seen.iter().any(|p| p == "/smuggled"),
        "the body was run as a request: {seen:?}"
    );
    assert_still_serves(s.addr);
}

// ---------------------------------------------------------------------------------------
// Responses

#[test]
fn responses_are_framed_by_length_chunked_or_close() {
    let s = start(&[]);
    let mut w = Wire::connect(s.addr);
    // The app's Content-Length.
    w.send(b"GET /framed HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = w.response(false).unwrap();
    assert_eq!(r.text(), "GET /framed 0");
    assert_eq!(r.header("content-length"), Some("13"));
    assert_eq!(r.header("transfer-encoding"), None);
    assert!(
        r.header("date").is_some_and(|d| d.ends_with(" GMT")),
        "{:?}",
        r.headers
    );
    assert_eq!(r.header("server"), Some("rsgi"));
    // No length from the app, HTTP/1.1: chunked.
    w.send(b"GET /stream HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = w.response(false).unwrap();
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    assert_eq!(r.header("content-length"), None);
    assert_eq!(r.text(), "part0;part1;part2;");
    assert!(r.header("date").is_some() && r.header("server").is_some());
    // No length, HTTP/1.0 (even asking for keep-alive): delimited by closing.
    let mut w = Wire::connect(s.addr);
    w.send(b"GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let mut raw = Vec::new();
    w.r.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let head = head.to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(
        !head.contains("content-length") && !head.contains("transfer-encoding"),
        "{head}"
    );
    assert!(
        head.contains("\r\ndate: ") && head.contains("\r\nserver: "),
        "{head}"
    );
    assert_eq!(body, "part0;part1;part2;");
    assert_still_serves(s.addr);
}

#[test]
fn head_204_and_304_responses_carry_no_body() {
    let s = start(&[]);
    let mut w = Wire::connect(s.addr);
    // All on one connection: a stray body byte would break the next response's parse.
    w.send(b"HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = w.response(true).unwrap();
    assert_eq!((r.status, r.header("content-length")), (200, Some("13")));
    w.send(b"HEAD /stream HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(w.response(true).unwrap().status, 200);
    w.send(b"GET /status?204 HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = w.response(true).unwrap();
    assert_eq!(r.status, 204);
    assert_eq!(r.header("content-length"), None);
    assert_eq!(r.header("transfer-encoding"), None);
    w.send(b"GET /status?304 HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = w.response(true).unwrap();
    assert_eq!(r.status, 304);
    assert_eq!(r.header("transfer-encoding"), None);
    w.send(b"GET /in-step HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = w.response(false).unwrap();
    assert_eq!(r.text(), "GET /in-step 0");
    assert!(!w.closed_within(Duration::from_millis(200)));
    assert_still_serves(s.addr);
}

#[test]
fn app_header_with_crlf_is_a_500_never_a_split_response() {
    let s = start(&[]);
    let mut w = Wire::connect(s.addr);
    w.send(b"GET /badheader HTTP/1.1\r\nHost: t\r\n\r\n");
    let mut raw = Vec::new();
    let _ = w.r.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 500 "), "{text}");
    assert_eq!(text.matches("HTTP/1.1 ").count(), 1, "{text}");
    assert!(!text.to_ascii_lowercase().contains("x-injected"), "{text}");
    assert!(!text.contains("should not be sent"), "{text}");
    assert_still_serves(s.addr);
}

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
    let slow = TcpStream::connect(addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut writer = slow.try_clone().unwrap();
    let started = Instant::now();
    let trickle = std::thread::spawn(move || {
        let head = b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ";
        let bytes = head.iter().copied().chain(std::iter::repeat(b'a'));
        for b in bytes.take(100) {
            if writer.write_all(&[b]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    // Meanwhile: a normal client, every 100 ms, each answered within a second.
    let normal = std::thread::spawn(move || {
        let mut worst = Duration::ZERO;
        let mut w = Wire::connect(addr);
        for i in 0..25 {
            let t = Instant::now();
            w.send(format!("GET /n{i} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
            assert_eq!(w.response(false).unwrap().text(), format!("GET /n{i} 0"));
            worst = worst.max(t.elapsed());
            std::thread::sleep(Duration::from_millis(100));
        }
        worst
    });
    let mut buf = [0u8; 64];
    let mut reader = &slow;
    let outcome = reader.read(&mut buf);
    let after = started.elapsed();
    let _ = slow.shutdown(Shutdown::Both);
    trickle.join().unwrap();
    let worst = normal.join().unwrap();
    match outcome {
        Ok(0) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        other => panic!("slow client: expected a close, got {other:?}"),
    }
    eprintln!("slowloris closed after {after:?}; normal client's slowest answer {worst:?}");
    assert!(
        after >= Duration::from_millis(1900) && after < Duration::from_millis(3500),
        "closed after {after:?} with --http-header-timeout 2"
    );
    assert!(
        worst < Duration::from_secs(1),
        "a normal request took {worst:?}"
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
        assert!(
            worst < Duration::from_secs(2),
            "{extra:?}: a new client waited {worst:?} behind {IDLE} idle connections"
        );
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
