//! The floor under any uwsgi-protocol backend: no Python, no event loop, no parsing beyond
//! the packet's size. One thread accepts a connection, reads one uwsgi packet (4-byte
//! header, then as many bytes as its u16 LE size says), writes a fixed HTTP response,
//! closes, and takes the next. That is the system-call pattern of one request behind
//! nginx (accept, read, write, close) and nothing else, so its CPU time per request is the
//! kernel's share that every backend pays on this machine.
//!
//! bench/nginx_uwsgi.sh compiles it with `rustc -O` (std only, no crates) and runs it next
//! to rsgi and uWSGI: `uwsgi-floor 127.0.0.1:PORT` or `uwsgi-floor /path/to.sock`.
//! Request bodies are not read: the benchmark sends GETs only.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::net::UnixListener;

const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";

/// Reads one uwsgi packet's header and vars block; false if the peer went away first.
fn read_packet(stream: &mut impl Read, buf: &mut [u8]) -> bool {
    let mut have = 0;
    loop {
        match stream.read(&mut buf[have..]) {
            Ok(0) | Err(_) => return false,
            Ok(n) => have += n,
        }
        if have >= 4 && have >= 4 + usize::from(u16::from_le_bytes([buf[1], buf[2]])) {
            return true;
        }
    }
}

fn serve(mut stream: impl Read + Write, buf: &mut [u8]) {
    if read_packet(&mut stream, buf) {
        let _ = stream.write_all(RESPONSE);
    }
}

fn main() {
    let addr = std::env::args()
        .nth(1)
        .expect("usage: uwsgi-floor HOST:PORT | /path.sock");
    // 4 bytes of header and at most 65535 of vars.
    let mut buf = vec![0u8; 4 + 65535];
    if addr.starts_with('/') {
        let _ = std::fs::remove_file(&addr);
        let listener = UnixListener::bind(&addr).expect("bind the Unix socket");
        for stream in listener.incoming().flatten() {
            serve(stream, &mut buf);
        }
    } else {
        let listener = TcpListener::bind(&addr).expect("bind the TCP socket");
        // No TCP_NODELAY: one write then close, so Nagle never holds anything back.
        for stream in listener.incoming().flatten() {
            serve(stream, &mut buf);
        }
    }
}
