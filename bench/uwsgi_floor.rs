//! The floor under any uwsgi-protocol backend: no Python, no event loop, no parsing beyond
//! the packet's size. One thread accepts a connection, reads one uwsgi packet (4-byte
//! header, then as many bytes as its u16 LE size says), writes a fixed HTTP response,
//! closes, and takes the next. That is the system-call pattern of one request behind
//! nginx (accept, read, write, close) and nothing else, so its CPU time per request is the
//! kernel's share that every backend pays on this machine.
//!
//! Over TCP it does what keeps that share smallest, as rsgi and uWSGI do: TCP_DEFER_ACCEPT
//! on the listener (accept only once the request is there), and the response sent with
//! MSG_MORE so that it leaves with the FIN of the close in one segment.
//!
//! bench/nginx_uwsgi.sh compiles it with `rustc -O` (std only, no crates) and runs it next
//! to rsgi and uWSGI: `uwsgi-floor 127.0.0.1:PORT` or `uwsgi-floor /path/to.sock`.
//! Request bodies are not read: the benchmark sends GETs only.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixListener;

// From <netinet/tcp.h> and <sys/socket.h> on Linux; std links libc, no crate needed.
const IPPROTO_TCP: i32 = 6;
const TCP_DEFER_ACCEPT: i32 = 9;
const MSG_MORE: i32 = 0x8000;
extern "C" {
    fn setsockopt(fd: i32, level: i32, name: i32, value: *const i32, len: u32) -> i32;
    fn send(fd: i32, buf: *const u8, len: usize, flags: i32) -> isize;
}

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

fn serve_unix(mut stream: impl Read + Write, buf: &mut [u8]) {
    if read_packet(&mut stream, buf) {
        let _ = stream.write_all(RESPONSE);
    }
}

fn serve_tcp(mut stream: TcpStream, buf: &mut [u8]) {
    if read_packet(&mut stream, buf) {
        // The response fits the socket buffer: one call, its FIN follows on drop.
        // SAFETY: the fd is open for the call and the buffer is a static slice.
        unsafe {
            send(
                stream.as_raw_fd(),
                RESPONSE.as_ptr(),
                RESPONSE.len(),
                MSG_MORE,
            )
        };
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
            serve_unix(stream, &mut buf);
        }
    } else {
        let listener = TcpListener::bind(&addr).expect("bind the TCP socket");
        let seconds: i32 = 5;
        // SAFETY: a valid listening fd and a pointer to a live i32 of the given size.
        unsafe {
            setsockopt(
                listener.as_raw_fd(),
                IPPROTO_TCP,
                TCP_DEFER_ACCEPT,
                &seconds,
                4,
            )
        };
        // No TCP_NODELAY: one send then close, so Nagle never holds anything back.
        for stream in listener.incoming().flatten() {
            serve_tcp(stream, &mut buf);
        }
    }
}
