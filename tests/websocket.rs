//! WebSocket through the host (RFC 6455): the handshake, the frames and the close
//! handshake, byte by byte over a raw socket, against the `later` fixture's `/ws` (an app
//! that accepts through `rsgi.exchange` v3 and echoes every message). Each case names the
//! input and the answer; after the bad ones, the worker still serves (`/now`) and none
//! died. The `websockets` client against Python apps is in `websocket_asgi.rs`.

use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use rsgi_e2e::{free_addr, get, read_response, rsgi_command, Response, Server};

const T: Duration = Duration::from_secs(30);

/// The RFC's sample key and its accept value (RFC 6455 §1.3).
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

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

/// A client connection after (or before) the handshake.
struct Ws {
    r: BufReader<TcpStream>,
}

/// One frame as the server sent it.
#[derive(Debug, PartialEq, Eq)]
struct Frame {
    fin: bool,
    rsv: u8,
    opcode: u8,
    payload: Vec<u8>,
}

impl Frame {
    /// A close frame's code and reason.
    fn close(&self) -> (u16, String) {
        assert_eq!(self.opcode, 8, "expected a close frame, got {self:?}");
        let code = u16::from_be_bytes([self.payload[0], self.payload[1]]);
        (
            code,
            String::from_utf8_lossy(&self.payload[2..]).into_owned(),
        )
    }
}

/// The request head of a handshake for `path`, with `extra` header lines.
fn handshake(path: &str, key: &str, version: &str, extra: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: {version}\r\n{extra}\r\n"
    )
}

/// A client frame: masked with a fixed key unless `masked` is false.
fn frame(fin: bool, rsv: u8, opcode: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let mut out = vec![(u8::from(fin) << 7) | (rsv << 4) | opcode];
    let mask_bit = if masked { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(mask_bit | n as u8),
        n if n < 65536 => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    if masked {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        out.extend_from_slice(&key);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    } else {
        out.extend_from_slice(payload);
    }
    out
}

fn text(s: &str) -> Vec<u8> {
    frame(true, 0, 1, s.as_bytes(), true)
}

fn close_frame(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(reason);
    frame(true, 0, 8, &payload, true)
}

impl Ws {
    /// Connects and sends `head`; returns the client and the server's answer head.
    fn open(s: &Server, head: &str) -> (Ws, Response) {
        let stream = TcpStream::connect(s.addr).unwrap();
        stream.set_read_timeout(Some(T)).unwrap();
        (&stream).write_all(head.as_bytes()).unwrap();
        let mut r = BufReader::new(stream);
        let answer = read_response(&mut r, true).unwrap();
        (Ws { r }, answer)
    }

    /// Connects to `/ws` and completes the handshake (101 checked).
    fn connect(s: &Server) -> Ws {
        let (ws, answer) = Ws::open(s, &handshake("/ws", KEY, "13", ""));
        assert_eq!(answer.status, 101, "{answer:?}");
        ws
    }

    fn send(&mut self, bytes: &[u8]) {
        self.r.get_mut().write_all(bytes).unwrap();
    }

    /// The next frame from the server.
    fn frame(&mut self) -> Frame {
        let mut head = [0u8; 2];
        self.r.read_exact(&mut head).unwrap();
        assert_eq!(head[1] & 0x80, 0, "server frames are not masked");
        let len = match head[1] & 0x7f {
            126 => {
                let mut b = [0u8; 2];
                self.r.read_exact(&mut b).unwrap();
                u64::from(u16::from_be_bytes(b))
            }
            127 => {
                let mut b = [0u8; 8];
                self.r.read_exact(&mut b).unwrap();
                u64::from_be_bytes(b)
            }
            n => u64::from(n),
        };
        let mut payload = vec![0u8; len as usize];
        self.r.read_exact(&mut payload).unwrap();
        Frame {
            fin: head[0] & 0x80 != 0,
            rsv: (head[0] >> 4) & 7,
            opcode: head[0] & 0x0f,
            payload,
        }
    }

    /// Reads until the server closes the TCP connection (EOF); true if it did.
    fn closed_by_server(&mut self) -> bool {
        let mut rest = Vec::new();
        self.r.read_to_end(&mut rest).is_ok()
    }
}

/// Input: the RFC's sample handshake with `Sec-WebSocket-Protocol: chat, superchat`.
/// Answer: `101 Switching Protocols` with `Upgrade: websocket`, `Connection: Upgrade`, the
/// RFC's `Sec-WebSocket-Accept`, the app's choice `chat` and its own header; then a masked
/// text "Hello" comes back as an unmasked text "Hello", binary as binary, a 70,000-byte
/// message (64-bit length) whole.
#[test]
fn a_handshake_is_answered_101_and_messages_are_echoed() {
    let s = start(&[]);
    let head = handshake(
        "/ws",
        KEY,
        "13",
        "Sec-WebSocket-Protocol: chat, superchat\r\n",
    );
    let (mut ws, answer) = Ws::open(&s, &head);
    assert_eq!(answer.status, 101, "{answer:?}");
    assert_eq!(answer.header("upgrade"), Some("websocket"));
    assert_eq!(answer.header("connection"), Some("Upgrade"));
    assert_eq!(answer.header("sec-websocket-accept"), Some(ACCEPT));
    assert_eq!(answer.header("sec-websocket-protocol"), Some("chat"));
    assert_eq!(answer.header("x-later"), Some("1"));
    assert_eq!(answer.header("content-length"), None);
    assert_eq!(answer.header("transfer-encoding"), None);

    ws.send(&text("Hello"));
    let f = ws.frame();
    assert_eq!(
        (f.fin, f.rsv, f.opcode, &f.payload[..]),
        (true, 0, 1, &b"Hello"[..])
    );
    ws.send(&frame(true, 0, 2, &[0, 1, 2, 255], true));
    assert_eq!(ws.frame().payload, [0, 1, 2, 255]);
    let big: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
    ws.send(&frame(true, 0, 2, &big, true));
    let f = ws.frame();
    assert_eq!((f.opcode, f.payload.len()), (2, big.len()));
    assert_eq!(f.payload, big);
}

/// Input: handshakes the codec refuses. Answer: version 12 → `426` with
/// `Sec-WebSocket-Version: 13`; a key of 4 bytes → `400`; no key → `400`. The app never
/// sees them (it would have answered 101), and the worker serves on.
#[test]
fn bad_handshakes_are_refused_before_the_app() {
    let s = start(&[]);
    let (_, answer) = Ws::open(&s, &handshake("/ws", KEY, "12", ""));
    assert_eq!(answer.status, 426);
    assert_eq!(answer.header("sec-websocket-version"), Some("13"));
    let (_, answer) = Ws::open(&s, &handshake("/ws", "AAAAAA==", "13", ""));
    assert_eq!(answer.status, 400);
    let no_key = "GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                  Sec-WebSocket-Version: 13\r\n\r\n";
    let (_, answer) = Ws::open(&s, no_key);
    assert_eq!(answer.status, 400);
    s.wait_log("refused upgrade (426)", T);
    assert_eq!(get(s.addr, "/now").text(), "now");
}

/// Input: a valid handshake to paths whose app does not upgrade: `/ws-deny` (a 403 of the
/// app's own) and `/now`. Answer: those HTTP answers, as for any request; `Upgrade`
/// without `Connection: upgrade` is an ordinary request (the app says 426 here).
#[test]
fn an_app_may_answer_an_upgrade_request_with_http() {
    let s = start(&[]);
    let (_, answer) = Ws::open(&s, &handshake("/ws-deny", KEY, "13", ""));
    assert_eq!(answer.status, 403);
    let (mut ws, answer) = Ws::open(&s, &handshake("/now", KEY, "13", ""));
    assert_eq!(answer.status, 200);
    let mut body = [0u8; 3];
    ws.r.read_exact(&mut body).unwrap();
    assert_eq!(&body, b"now");
    let plain = "GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\n\
                 Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    let (_, answer) = Ws::open(&s, plain);
    assert_eq!(answer.status, 426);
}

/// Input: a text message in three fragments with a ping between the first two. Answer:
/// the pong (same payload) at once, then the whole message.
#[test]
fn fragments_are_joined_and_pings_answered_between_them() {
    let s = start(&[]);
    let mut ws = Ws::connect(&s);
    ws.send(&frame(false, 0, 1, b"frag", true));
    ws.send(&frame(true, 0, 9, b"are you there", true));
    let pong = ws.frame();
    assert_eq!(
        (pong.opcode, &pong.payload[..]),
        (10, &b"are you there"[..])
    );
    ws.send(&frame(false, 0, 0, b"ment", true));
    ws.send(&frame(true, 0, 0, b"ed", true));
    assert_eq!(ws.frame().payload, b"fragmented");
}

/// Input, each on a fresh connection: the protocol errors of RFC 6455. Answer: a close
/// frame with the code the RFC calls for, then the server closes the connection; a log
/// line names the error; the worker serves on.
#[test]
fn protocol_errors_close_with_their_codes() {
    let s = start(&["--websocket-max-size", "1k"]);
    let too_big = vec![b'a'; 1025];
    let cases: Vec<(&str, Vec<Vec<u8>>, u16)> = vec![
        (
            "an unmasked frame",
            vec![frame(true, 0, 1, b"hi", false)],
            1002,
        ),
        (
            "a reserved bit without an extension",
            vec![frame(true, 4, 1, b"hi", true)],
            1002,
        ),
        (
            "an unknown opcode",
            vec![frame(true, 0, 3, b"hi", true)],
            1002,
        ),
        (
            "a ping over 125 bytes",
            vec![frame(true, 0, 9, &[b'p'; 126], true)],
            1002,
        ),
        (
            "a fragmented ping",
            vec![frame(false, 0, 9, b"p", true)],
            1002,
        ),
        (
            "a continuation with nothing to continue",
            vec![frame(true, 0, 0, b"x", true)],
            1002,
        ),
        (
            "a new message inside a fragmented one",
            vec![
                frame(false, 0, 1, b"a", true),
                frame(true, 0, 1, b"b", true),
            ],
            1002,
        ),
        (
            "text that is not UTF-8, split across fragments",
            vec![
                frame(false, 0, 1, b"ok \xce", true),
                frame(true, 0, 0, b"\xff", true),
            ],
            1007,
        ),
        (
            "a message over --websocket-max-size",
            vec![frame(true, 0, 2, &too_big, true)],
            1009,
        ),
        ("a close with code 1005", vec![close_frame(1005, b"")], 1002),
        ("a close with code 999", vec![close_frame(999, b"")], 1002),
        (
            "a close with a reason that is not UTF-8",
            vec![close_frame(1000, b"\xff\xfe")],
            1007,
        ),
        (
            "a close with one byte",
            vec![frame(true, 0, 8, b"x", true)],
            1002,
        ),
    ];
    for (what, frames, code) in cases {
        let mut ws = Ws::connect(&s);
        for f in &frames {
            ws.send(f);
        }
        let close = ws.frame();
        assert_eq!(close.close().0, code, "{what}: {close:?}");
        assert!(
            ws.closed_by_server(),
            "{what}: the server closes the connection"
        );
    }
    s.wait_log("protocol error, closing with 1009", T);
    assert_eq!(get(s.addr, "/now").text(), "now");
    assert!(!s.log().contains("died"), "{}", s.log());
}

/// Input: the client closes with 4000 "done". Answer: the server echoes 4000 (the code, as
/// RFC 6455 §5.5.1 has it; not the reason) and closes the
/// connection. Input: the app closes (text `close 4001`). Answer: a close 4001 "bye"; the
/// client's answering close ends the connection.
#[test]
fn the_close_handshake_goes_both_ways() {
    let s = start(&[]);
    let mut ws = Ws::connect(&s);
    ws.send(&close_frame(4000, b"done"));
    assert_eq!(ws.frame().close(), (4000, String::new()));
    assert!(ws.closed_by_server());

    let mut ws = Ws::connect(&s);
    ws.send(&text("close 4001"));
    assert_eq!(ws.frame().close(), (4001, "bye".into()));
    ws.send(&close_frame(4001, b""));
    assert!(ws.closed_by_server());
}

/// Input: `--websocket-ping-interval 0.2 --websocket-ping-timeout 0.5`, a client that
/// answers the first ping and then stops answering. Answer: a second ping (the connection
/// lived on after the pong), then, unanswered, a close 1011 and the end of the connection;
/// the log says why.
#[test]
fn pings_keep_live_peers_and_close_dead_ones() {
    let s = start(&[
        "--websocket-ping-interval",
        "0.2",
        "--websocket-ping-timeout",
        "0.5",
    ]);
    let mut ws = Ws::connect(&s);
    let ping = ws.frame();
    assert_eq!(ping.opcode, 9, "{ping:?}");
    ws.send(&frame(true, 0, 10, &ping.payload, true));
    assert_eq!(ws.frame().opcode, 9);
    // No pong this time.
    assert_eq!(ws.frame().close().0, 1011);
    assert!(ws.closed_by_server());
    s.wait_log("no pong within", T);
}

/// Input: SIGTERM to the master while a WebSocket is open. Answer: the client gets a close
/// 1001 (going away); once it answers, the connection closes and rsgi exits cleanly.
#[test]
fn a_graceful_stop_says_going_away() {
    let mut s = start(&["--websocket-ping-interval", "0"]);
    let mut ws = Ws::connect(&s);
    ws.send(&text("still here"));
    assert_eq!(ws.frame().payload, b"still here");
    s.signal(libc::SIGTERM);
    assert_eq!(ws.frame().close().0, 1001);
    ws.send(&close_frame(1001, b""));
    assert!(ws.closed_by_server());
    assert!(s.wait_exit(T).success());
}

/// Input: a handshake offering `permessage-deflate`. Answer: the 101 agrees to it; a
/// compressed message (RSV1, the RFC 7692 example "Hello") is echoed compressed, and
/// decompresses to "Hello"; with `--websocket-per-message-deflate false` the offer is
/// declined and messages go uncompressed.
#[test]
fn permessage_deflate_is_negotiated_and_switchable() {
    // RFC 7692 §7.2.3.1: "Hello" compressed, without the trailing 00 00 ff ff.
    let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    let offer = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";
    let s = start(&[]);
    let (mut ws, answer) = Ws::open(&s, &handshake("/ws", KEY, "13", offer));
    assert_eq!(answer.status, 101);
    let agreed = answer.header("sec-websocket-extensions").unwrap_or("");
    assert!(agreed.starts_with("permessage-deflate"), "{agreed}");
    ws.send(&frame(true, 4, 1, &hello, true));
    let f = ws.frame();
    assert_eq!((f.opcode, f.rsv), (1, 4), "{f:?}");
    assert_eq!(inflate(&f.payload), b"Hello");

    let s = start(&["--websocket-per-message-deflate", "false"]);
    let (mut ws, answer) = Ws::open(&s, &handshake("/ws", KEY, "13", offer));
    assert_eq!(answer.status, 101);
    assert_eq!(answer.header("sec-websocket-extensions"), None);
    ws.send(&text("Hello"));
    let f = ws.frame();
    assert_eq!((f.rsv, &f.payload[..]), (0, &b"Hello"[..]));
}

/// Inflates a permessage-deflate payload with Python's zlib (the suite's venv has it):
/// raw deflate, the `00 00 ff ff` tail put back.
fn inflate(payload: &[u8]) -> Vec<u8> {
    let hex: String = payload.iter().map(|b| format!("{b:02x}")).collect();
    let script = format!(
        "import sys, zlib; d = zlib.decompressobj(-15); \
         sys.stdout.buffer.write(d.decompress(bytes.fromhex('{hex}') + b'\\x00\\x00\\xff\\xff'))"
    );
    let out = std::process::Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Input: 64 WebSockets open at once on one worker with one thread, each sending a message
/// after all are open. Answer: every one gets its own echo (no connection holds a thread);
/// the stats count 64 open WebSockets (none in flight for harakiri), then 0 once the
/// clients left.
#[test]
fn many_open_websockets_share_one_thread_and_are_counted() {
    let stats = free_addr().to_string();
    let s = start(&["--threads", "1", "--stats", &stats]);
    let mut all: Vec<Ws> = (0..64).map(|_| Ws::connect(&s)).collect();
    for (i, ws) in all.iter_mut().enumerate() {
        ws.send(&text(&format!("n{i}")));
    }
    for (i, ws) in all.iter_mut().enumerate() {
        assert_eq!(ws.frame().payload, format!("n{i}").as_bytes());
    }
    assert_eq!(get(s.addr, "/now").text(), "now");
    wait_stats(&stats, |w| w["websockets"] == 64 && w["in_flight"] == 0);
    drop(all);
    wait_stats(&stats, |w| w["websockets"] == 0);
}

/// Reads the `--stats` document until its first worker satisfies `want` (the loop records
/// its counts at each sweep).
fn wait_stats(addr: &str, want: impl Fn(&serde_json::Value) -> bool) {
    let deadline = std::time::Instant::now() + T;
    loop {
        let mut doc = String::new();
        TcpStream::connect(addr)
            .unwrap()
            .read_to_string(&mut doc)
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&doc).unwrap();
        if want(&v["workers"][0]) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "stats never matched: {doc}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Input: a WSGI app written for uWSGI's API (`tests/apps/uwsgi_websocket.py`), served
/// with `--threads 2`: a handshake offering `chat`, then text, `bin X`, `nb`. Answer: 101
/// with `chat`; the text echoed; X as a binary message; `b''` (nothing was waiting); while
/// the WebSocket holds one thread, the other answers `/plain`. Input: `bye` (the app
/// returns). Answer: a close 1000 and the end of the connection.
#[test]
fn uwsgi_websocket_api_serves_a_wsgi_app() {
    let s = Server::start(&["--module", "uwsgi_websocket", "--threads", "2"]);
    let head = handshake("/ws", KEY, "13", "Sec-WebSocket-Protocol: chat\r\n");
    let (mut ws, answer) = Ws::open(&s, &head);
    assert_eq!(answer.status, 101, "{answer:?}");
    assert_eq!(answer.header("sec-websocket-accept"), Some(ACCEPT));
    assert_eq!(answer.header("sec-websocket-protocol"), Some("chat"));
    ws.send(&text("hello"));
    let f = ws.frame();
    assert_eq!((f.opcode, &f.payload[..]), (1, &b"hello"[..]));
    ws.send(&text("bin \u{1}\u{2}"));
    let f = ws.frame();
    assert_eq!((f.opcode, &f.payload[..]), (2, &[1u8, 2][..]));
    ws.send(&text("nb"));
    assert_eq!(ws.frame().payload, b"b''");
    assert_eq!(get(s.addr, "/plain").text(), "plain");
    ws.send(&text("bye"));
    assert_eq!(ws.frame().close().0, 1000);
    assert!(ws.closed_by_server());
}

/// Input: the uWSGI-API app; the client closes with 4000, and on another connection sends
/// `raise`. Answer: the close echoed, the app's `websocket_recv()` raised `OSError` (its
/// log line names the peer's code); the app that raised closes with 1011 and its
/// traceback is logged; the worker serves on.
#[test]
fn uwsgi_websocket_api_ends_on_close_and_on_errors() {
    let s = Server::start(&["--module", "uwsgi_websocket"]);
    let mut ws = Ws::connect(&s);
    ws.send(&close_frame(4000, b""));
    assert_eq!(ws.frame().close().0, 4000);
    assert!(ws.closed_by_server());
    s.wait_log(
        "websocket ended: unable to receive websocket message: the peer closed (4000)",
        T,
    );

    let mut ws = Ws::connect(&s);
    ws.send(&text("raise"));
    assert_eq!(ws.frame().close().0, 1011);
    assert!(ws.closed_by_server());
    s.wait_log("the test asked the websocket app to raise", T);
    assert_eq!(get(s.addr, "/plain").text(), "plain");
}

/// Input: SIGHUP to the master (a graceful reload) while a WebSocket is open. Answer: the
/// old worker says 1001 (going away); after the client's answer the connection closes; a
/// new WebSocket is served by the new worker.
#[test]
fn a_graceful_reload_says_going_away_and_serves_on() {
    let s = start(&["--websocket-ping-interval", "0"]);
    let mut ws = Ws::connect(&s);
    s.signal(libc::SIGHUP);
    assert_eq!(ws.frame().close().0, 1001);
    ws.send(&close_frame(1001, b""));
    assert!(ws.closed_by_server());
    let mut ws = Ws::connect(&s);
    ws.send(&text("after the reload"));
    assert_eq!(ws.frame().payload, b"after the reload");
}

/// Input: 10,000 WebSockets opened one after another to one ASGI worker with one thread
/// (`ws_asgi_app:app`, `/echo`), left idle. Answer: every handshake is a 101; the stats
/// count 10,000 open WebSockets on the worker; the first and the last still echo; once the
/// clients leave, the count goes back to 0. No thread per connection: `--threads 1`.
#[test]
fn ten_thousand_idle_websockets_on_one_asgi_worker() {
    const N: usize = 10_000;
    // Each side holds N descriptors (the test's sockets here, the worker's in rsgi).
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: a valid rlimit to fill, then to apply.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        assert!(
            limit.rlim_max as usize > N + 1000,
            "the hard limit on open files ({}) leaves no room for {N} sockets",
            limit.rlim_max
        );
        limit.rlim_cur = limit.rlim_max;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
    }
    let stats = free_addr().to_string();
    let venv = rsgi_e2e::venv();
    let s = Server::start(&[
        "--virtualenv",
        venv.to_str().unwrap(),
        "--asgi",
        "ws_asgi_app:app",
        "--threads",
        "1",
        "--websocket-ping-interval",
        "0",
        "--stats",
        &stats,
    ]);
    let head = handshake("/echo", KEY, "13", "");
    let mut all: Vec<Ws> = Vec::with_capacity(N);
    for i in 0..N {
        let stream = TcpStream::connect(s.addr).unwrap_or_else(|e| panic!("connection {i}: {e}"));
        stream.set_read_timeout(Some(T)).unwrap();
        (&stream).write_all(head.as_bytes()).unwrap();
        let mut r = BufReader::with_capacity(256, stream);
        let answer = read_response(&mut r, true).unwrap();
        assert_eq!(answer.status, 101, "connection {i}");
        all.push(Ws { r });
    }
    wait_stats(&stats, |w| w["websockets"] == N as u64);
    for i in [0, N - 1] {
        all[i].send(&text("still here"));
        assert_eq!(all[i].frame().payload, b"still here");
    }
    drop(all);
    wait_stats(&stats, |w| w["websockets"] == 0);
}
