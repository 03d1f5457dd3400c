//! Apps served through `call` (extension `rsgi.exchange` v1): the `later` fixture
//! (tests/fixtures/later-plugin) keeps requests and answers them from a thread of its own,
//! as an async runtime's event loop does, while the host's loop goes on with other sockets.

use std::io::{BufReader, Read};
use std::time::{Duration, Instant};

use rsgi_e2e::{
    free_addr, get, read_response, read_until_seen, rsgi_command, send_get, wait_answer, Client,
    Server,
};

const T: Duration = Duration::from_secs(30);

/// Starts `rsgi --plugin later --http ADDR EXTRA`.
fn start(extra: &[&str]) -> Server {
    let addr = free_addr();
    let mut cmd = rsgi_command();
    cmd.args(["--plugin", "later", "--http", &addr.to_string()])
        .args(extra);
    let s = Server::spawn(&mut cmd, addr);
    s.wait_ready();
    s
}

/// Input: 300 requests kept by the app at once (`/hold/many`) on one worker with one
/// thread. Answer: while they are held, `/now` is answered at once; after `/release/many`
/// all 300 get `200 released many`, and the worker is the same process throughout.
#[test]
fn one_worker_holds_hundreds_of_requests_while_it_answers_others() {
    for threads in ["1", "4"] {
        let s = start(&["--threads", threads]);
        let held: Vec<_> = (0..300).map(|_| send_get(s.addr, "/hold/many")).collect();
        wait_answer(&s, "/held", "300");
        assert_eq!(get(s.addr, "/now").text(), "now");
        assert_eq!(get(s.addr, "/release/many").text(), "releasing");
        for mut conn in held {
            let r = read_response(&mut conn, false).unwrap();
            assert_eq!((r.status, r.text().as_str()), (200, "released many"));
        }
        wait_answer(&s, "/held", "0");
        assert!(!s.log().contains("died"), "{}", s.log());
    }
}

/// Input: a chunked POST /echo whose second chunk is sent only after the echo of the first
/// came back. Answer: the first chunk's echo arrives while the body is still open (the body
/// reached the app as it arrived, the answer reached the client as it was written), then
/// the whole body, and the connection serves the next request.
#[test]
fn bodies_stream_both_ways_as_they_arrive() {
    let s = start(&[]);
    let mut c = Client::connect(s.addr).unwrap();
    c.send_raw(
        b"POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n8\r\npart-one\r\n",
    )
    .unwrap();
    // The head and the first echoed chunk, read before the rest is sent.
    let mut reader = BufReader::new(c.stream().try_clone().unwrap());
    let seen = read_until_seen(&mut reader, "part-one");
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");
    assert!(
        seen.to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{seen}"
    );
    c.send_raw(b"8\r\npart-two\r\n0\r\n\r\n").unwrap();
    let rest = read_until_seen(&mut reader, "0\r\n\r\n");
    assert!(rest.contains("part-two"), "{rest}");
    drop(reader);
    let r = c.request("GET", "/now", &[], b"").unwrap();
    assert_eq!(r.text(), "now");
}

/// Input: POST /echo with a 3 MiB Content-Length body, and one with
/// `Expect: 100-continue`. Answer: the same bytes back (the body went through the 64 KiB
/// window the host keeps ahead of the app many times over); the second gets
/// `100 Continue` first.
#[test]
fn a_large_body_echoes_whole_and_expect_continue_is_answered() {
    let s = start(&[]);
    let body: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let mut c = Client::connect(s.addr).unwrap();
    let r = c.request("POST", "/echo", &[], &body).unwrap();
    assert_eq!(r.status, 200);
    assert!(
        r.body == body,
        "echo of {} bytes differs ({} back)",
        body.len(),
        r.body.len()
    );

    c.send_raw(
        b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
    )
    .unwrap();
    let interim = c.read_response(true).unwrap();
    assert_eq!(interim.status, 100);
    c.send_raw(b"hello").unwrap();
    let r = c.read_response(false).unwrap();
    assert_eq!((r.status, r.text().as_str()), (200, "hello"));
}

/// Input: GET /big?bytes=64MiB from a client that reads nothing until the app was told
/// `Full`. Answer: the app is held back (`full` counts at least one `Full`), and once the
/// client reads, all 64 MiB arrive intact.
#[test]
fn a_slow_reader_holds_the_app_back_and_loses_nothing() {
    let s = start(&[]);
    const BYTES: usize = 64 * 1024 * 1024;
    let mut conn = send_get(s.addr, &format!("/big?bytes={BYTES}"));
    let deadline = Instant::now() + T;
    loop {
        let stats = get(s.addr, "/stats").text();
        if !stats.starts_with("full=0 ") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never Full: {stats}\n{}",
            s.log()
        );
        std::thread::yield_now();
    }
    let r = read_response(&mut conn, true).unwrap();
    assert_eq!(r.status, 200);
    let mut body = Vec::with_capacity(BYTES);
    conn.by_ref()
        .take(BYTES as u64)
        .read_to_end(&mut body)
        .unwrap();
    assert_eq!(body.len(), BYTES);
    assert!(body
        .iter()
        .enumerate()
        .all(|(i, &b)| b == b'0' + ((i % 65536) % 10) as u8));
}

/// Input: a client that sends GET /hold/left and closes its connection. Answer: the app
/// hears that it left (`gone=1`, nothing held any more) and the worker serves on.
#[test]
fn a_client_that_leaves_is_told_to_the_app() {
    let s = start(&[]);
    let conn = send_get(s.addr, "/hold/left");
    wait_answer(&s, "/held", "1");
    drop(conn);
    wait_answer(&s, "/held", "0");
    wait_answer(&s, "/stats", "full=0 gone=1");
    s.wait_log(
        "GET /hold/left: the client went away before the answer was complete",
        T,
    );
    assert_eq!(get(s.addr, "/now").text(), "now");
}

/// Input: a pipelined pair, GET /hold/first then GET /now, in one write. Answer: both, in
/// order: the second only after the first was released (the bytes of the next request wait
/// in the host while the exchange is in progress).
#[test]
fn a_pipelined_request_waits_for_the_exchange_before_it() {
    let s = start(&[]);
    let mut c = Client::connect(s.addr).unwrap();
    c.send_raw(
        b"GET /hold/first HTTP/1.1\r\nHost: test\r\n\r\nGET /now HTTP/1.1\r\nHost: test\r\n\r\n",
    )
    .unwrap();
    wait_answer(&s, "/held", "1");
    get(s.addr, "/release/first");
    let first = c.read_response(false).unwrap();
    assert_eq!(first.text(), "released first");
    let second = c.read_response(false).unwrap();
    assert_eq!(second.text(), "now");
}

/// Input: GET /panic (call panics), GET /drop (the handle is dropped unfinished), GET /cut
/// (head and 9 of 100 declared bytes, then abort). Answer: 500 with a line naming plugin
/// and hook; 500 with a line; the connection closed short of the 100 bytes. The same
/// worker answers the next request.
#[test]
fn faults_in_an_exchange_cost_only_their_request() {
    let s = start(&[]);
    let r = get(s.addr, "/panic");
    assert_eq!(r.status, 500, "{}", s.log());
    s.wait_log(
        "plugin later panicked in call: the test asked call to panic (at ",
        T,
    );
    assert_eq!(get(s.addr, "/drop").status, 500);
    s.wait_log("GET /drop: the app gave up (the app dropped the exchange without finishing it); answering 500", T);
    let mut c = Client::connect(s.addr).unwrap();
    c.send_raw(b"GET /cut HTTP/1.1\r\nHost: test\r\n\r\n")
        .unwrap();
    let mut all = Vec::new();
    c.stream().read_to_end(&mut all).unwrap();
    let text = String::from_utf8_lossy(&all);
    assert!(
        text.starts_with("HTTP/1.1 200") && text.ends_with("\r\n\r\nonly part"),
        "{text}"
    );
    s.wait_log("GET /cut: the app gave up after the head was sent (the test asked for a cut response); closing the connection", T);
    assert_eq!(get(s.addr, "/now").text(), "now");
    assert!(!s.log().contains("died"), "{}", s.log());
}

/// `rsgi --list-plugins` shows that the fixture needs the exchange, which the host
/// offers beside the scoreboard.
#[test]
fn the_plugin_needs_the_exchange_and_the_host_offers_it() {
    let out = rsgi_command().arg("--list-plugins").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .skip_while(|l| !l.contains("later"))
        .take(8)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(line.contains("rsgi.exchange v1"), "{text}");
}
