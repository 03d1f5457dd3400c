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

/// Sends a case in one write, then closes the sending side (a client with nothing more
/// to send; a case that stops mid-body is a client that gave up); returns what went
/// wrong, if anything.
fn replay(addr: SocketAddr, case: &Case) -> Option<String> {
    let mut w = Wire::connect(addr);
    // The server may answer and close before it has read everything (431 for a 100 KB
    // head): a failed write is not the verdict, the answer read below is.
    let _ = w.try_send(&case.bytes);
    let _ = w.r.get_mut().shutdown(Shutdown::Write);
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
    // Taken before the request is sent, so the server's idle time starts after it.
    let sent = Instant::now();
    w.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(w.response(false).unwrap().status, 200);
    // Still open right after the answer ...
    assert!(
        !w.closed_within(Duration::from_millis(300)),
        "closed too early"
    );
    // ... and closed by the server once idle for the timeout (any delay of a busy machine
    // only makes it later: no upper bound here).
    let closed = w.closed_within(Duration::from_secs(30));
    let after = sent.elapsed();
    assert!(closed, "still open after {after:?}");
    assert!(
        after >= Duration::from_secs(1),
        "closed after {after:?}, before --http-keepalive-timeout 1"
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

/// A 20 KB head, then a small body in 50 pieces: the worker waits for the body without
/// parsing the head again for every piece, and answers once the last byte is in; a request
/// pipelined right behind the body, in the same write as its last piece, is answered next.
#[test]
fn a_small_body_in_many_pieces_after_a_big_head_is_answered_once_it_is_in() {
    let s = start(&[]);
    let body: Vec<u8> = (0..2_500u32).map(|i| b'a' + (i % 26) as u8).collect();
    let mut head = format!(
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n",
        body.len()
    );
    for i in 0..80 {
        head.push_str(&format!("X-Pad-{i}: {}\r\n", "p".repeat(240)));
    }
    head.push_str("\r\n");
    let mut w = Wire::connect(s.addr);
    w.send(head.as_bytes());
    let (most, last) = body.split_at(body.len() - 50);
    for piece in most.chunks(50) {
        w.send(piece);
        std::thread::sleep(Duration::from_millis(2));
    }
    let mut tail = last.to_vec();
    tail.extend_from_slice(b"GET /after-body HTTP/1.1\r\nHost: t\r\n\r\n");
    w.send(&tail);
    let r = w.response(false).unwrap();
    assert_eq!(r.status, 200);
    assert!(r.body == body, "echoed body differs");
    assert_eq!(w.response(false).unwrap().text(), "GET /after-body 0");
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
    // The app sleeps 0.6 s before reading its body: a 100 Continue sent before the app
    // reads arrives earlier than that after the request left (taken before the send, so
    // the bound holds however slow the machine is).
    let sent = Instant::now();
    w.send(
        b"POST /sleep-then-read?0.6 HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
    );
    let interim = w.any_response(false).unwrap();
    let waited = sent.elapsed();
    assert_eq!(interim.status, 100, "first answer should be 100 Continue");
    assert!(
        waited >= Duration::from_millis(600),
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
    // Waiting for the body would last --socket-timeout (20 s); the answer comes without.
    assert!(
        waited < Duration::from_secs(15),
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

// Bad input, slow and idle clients.
#[path = "http_bad_input.rs"]
mod bad_input;
