//! The master's own sockets: the stats server (`--stats`, uWSGI's: connect and read one
//! JSON document; `--stats-http`: the same as an HTTP/1.0 answer) and the Prometheus
//! endpoint (`--metrics`). They are bound before the first fork, close-on-exec, polled by
//! the master loop and closed in every worker right after fork: workers never see them.
//!
//! The master must not stall on a client: a connection is answered with one write under
//! a short send timeout (a document that fits the socket buffer never waits; a client
//! that does not read costs at most [`SEND_TIMEOUT`]). HTTP clients are answered once
//! their request head has arrived — answering before would make closing the socket with
//! unread bytes a reset that can destroy the answer — and are dropped after
//! [`HTTP_TIMEOUT`] or when more than [`MAX_PENDING`] wait.

use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use socket2::Socket;

use super::metrics;
use super::snapshot::Snapshot;
use super::stats_json;
use crate::config::Config;
use crate::error::HostError;
use crate::listen::{self, Bound};

/// Longest a write to one client may block the master.
const SEND_TIMEOUT: Duration = Duration::from_millis(200);
/// An HTTP client must send its request head within this.
const HTTP_TIMEOUT: Duration = Duration::from_secs(2);
/// HTTP connections waiting for their request head, at most.
const MAX_PENDING: usize = 64;
/// Largest request head read.
const MAX_HEAD: usize = 8192;
/// Connections accepted per socket per wake-up (the rest wait for the next one).
const ACCEPT_BATCH: usize = 64;
/// Backlog of the master's sockets.
const BACKLOG: i32 = 128;

/// What a socket serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The JSON document, written at once (`--stats`).
    Json,
    /// The JSON document as an HTTP answer (`--stats --stats-http`).
    JsonHttp,
    /// Prometheus text over HTTP (`--metrics`).
    Metrics,
}

struct ControlSocket {
    kind: Kind,
    socket: Socket,
    bound: Bound,
}

struct Pending {
    kind: Kind,
    stream: Socket,
    since: Instant,
    head: Vec<u8>,
}

/// The master's stats and metrics sockets and the HTTP clients being answered.
#[derive(Default)]
pub struct StatsServer {
    sockets: Vec<ControlSocket>,
    pending: Vec<Pending>,
}

impl StatsServer {
    /// Binds what `config` asks for (nothing when neither option is set).
    pub fn bind(config: &Config) -> Result<StatsServer, HostError> {
        let mut server = StatsServer::default();
        let wanted = [
            config.stats.as_ref().map(|a| {
                let kind = if config.stats_http {
                    Kind::JsonHttp
                } else {
                    Kind::Json
                };
                (a, kind)
            }),
            config.metrics.as_ref().map(|a| (a, Kind::Metrics)),
        ];
        for (addr, kind) in wanted.into_iter().flatten() {
            let (socket, bound) = listen::bind_control(addr, BACKLOG)?;
            server.sockets.push(ControlSocket {
                kind,
                socket,
                bound,
            });
        }
        Ok(server)
    }

    /// One line per socket for the startup log.
    pub fn describe(&self) -> Vec<String> {
        self.sockets
            .iter()
            .map(|s| {
                let what = match s.kind {
                    Kind::Json => "stats server (JSON)",
                    Kind::JsonHttp => "stats server (JSON over HTTP)",
                    Kind::Metrics => "Prometheus metrics (HTTP)",
                };
                match &s.bound {
                    Bound::Tcp(a) => format!("{what} on {a}"),
                    Bound::Unix(p) => format!("{what} on unix:{}", p.display()),
                }
            })
            .collect()
    }

    /// The fds the master loop should poll: the sockets and the waiting HTTP clients.
    pub fn fds(&self) -> Vec<RawFd> {
        self.sockets
            .iter()
            .map(|s| s.socket.as_raw_fd())
            .chain(self.pending.iter().map(|p| p.stream.as_raw_fd()))
            .collect()
    }

    /// Accepts and answers what is `ready`, and drops HTTP clients that took too long.
    /// `snapshot` is read at most once per call, and only if someone is answered.
    pub fn serve(&mut self, ready: &[RawFd], snapshot: impl Fn() -> Snapshot) {
        let mut taken: Option<Snapshot> = None;
        let mut body = |kind: Kind| -> Vec<u8> {
            let s = taken.get_or_insert_with(&snapshot);
            match kind {
                Kind::Json | Kind::JsonHttp => stats_json::render(s),
                Kind::Metrics => metrics::render(s).into_bytes(),
            }
        };
        for i in 0..self.sockets.len() {
            if ready.contains(&self.sockets[i].socket.as_raw_fd()) {
                self.accept(i, &mut body);
            }
        }
        let mut kept = Vec::with_capacity(self.pending.len());
        for mut p in std::mem::take(&mut self.pending) {
            if ready.contains(&p.stream.as_raw_fd()) {
                match read_head(&mut p) {
                    HeadState::Partial => {}
                    HeadState::Closed => continue,
                    HeadState::Complete => {
                        answer_http(&p, &mut body);
                        continue;
                    }
                }
            }
            if p.since.elapsed() < HTTP_TIMEOUT {
                kept.push(p);
            }
        }
        self.pending = kept;
    }

    fn accept(&mut self, index: usize, body: &mut impl FnMut(Kind) -> Vec<u8>) {
        let kind = self.sockets[index].kind;
        for _ in 0..ACCEPT_BATCH {
            let stream = match self.sockets[index].socket.accept() {
                Ok((stream, _)) => stream,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == ErrorKind::ConnectionAborted => continue,
                Err(e) => {
                    tracing::warn!("stats server: accept failed: {e}");
                    return;
                }
            };
            if kind == Kind::Json {
                send(&stream, &body(kind));
                continue;
            }
            if stream.set_nonblocking(true).is_err() {
                continue;
            }
            if self.pending.len() >= MAX_PENDING {
                self.pending.remove(0);
            }
            self.pending.push(Pending {
                kind,
                stream,
                since: Instant::now(),
                head: Vec::new(),
            });
        }
    }

    /// Closes the sockets in a just-forked worker (which must never serve them).
    pub fn close_in_child(&self) {
        for fd in self.fds() {
            // SAFETY: the child never drops the master's state (it `_exit`s), so these
            // fds are closed exactly once in this process.
            unsafe { libc::close(fd) };
        }
    }

    /// Removes the files of Unix sockets (at shutdown).
    pub fn remove_socket_files(&self) {
        for s in &self.sockets {
            if let Bound::Unix(path) = &s.bound {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

/// Where reading an HTTP request head stands.
enum HeadState {
    Partial,
    Complete,
    Closed,
}

fn read_head(p: &mut Pending) -> HeadState {
    let mut buf = [0u8; 2048];
    loop {
        match p.stream.read(&mut buf) {
            Ok(0) => return HeadState::Closed,
            Ok(n) => {
                p.head.extend_from_slice(&buf[..n]);
                if head_complete(&p.head) || p.head.len() >= MAX_HEAD {
                    return HeadState::Complete;
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return HeadState::Partial,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return HeadState::Closed,
        }
    }
}

fn head_complete(head: &[u8]) -> bool {
    head.windows(4).any(|w| w == b"\r\n\r\n") || head.windows(2).any(|w| w == b"\n\n")
}

/// The HTTP/1.0 answer to a request head.
fn http_answer(head: &[u8], kind: Kind, body: &mut impl FnMut(Kind) -> Vec<u8>) -> Vec<u8> {
    let method = head.split(|&b| b == b' ').next().unwrap_or_default();
    let content_type = match kind {
        Kind::Metrics => metrics::CONTENT_TYPE,
        Kind::Json | Kind::JsonHttp => "application/json",
    };
    let (status, payload) = match method {
        b"GET" => ("200 OK", body(kind)),
        b"HEAD" => ("200 OK", Vec::new()),
        _ => ("405 Method Not Allowed", b"only GET and HEAD\n".to_vec()),
    };
    let mut out = format!(
        "HTTP/1.0 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Access-Control-Allow-Origin: *\r\nConnection: close\r\n\r\n",
        payload.len()
    )
    .into_bytes();
    if method != b"HEAD" {
        out.extend_from_slice(&payload);
    }
    out
}

fn answer_http(p: &Pending, body: &mut impl FnMut(Kind) -> Vec<u8>) {
    send(&p.stream, &http_answer(&p.head, p.kind, body));
}

/// Writes `bytes` with a bounded wait, then the connection is closed by the caller.
fn send(stream: &Socket, bytes: &[u8]) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_write_timeout(Some(SEND_TIMEOUT));
    if stream.send_buffer_size().is_ok_and(|n| n < bytes.len()) {
        let _ = stream.set_send_buffer_size(bytes.len());
    }
    let mut w: &Socket = stream;
    if let Err(e) = w.write_all(bytes) {
        tracing::debug!("stats server: a client was not answered in full: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_head_ends_with_an_empty_line() {
        assert!(!head_complete(b"GET / HTTP/1.0\r\n"));
        assert!(head_complete(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n"));
        assert!(head_complete(b"GET / HTTP/1.0\n\n"));
    }

    #[test]
    fn get_gets_the_body_head_only_the_headers_others_405() {
        let mut body = |_| b"{}".to_vec();
        let get = http_answer(b"GET / HTTP/1.1\r\n\r\n", Kind::JsonHttp, &mut body);
        assert_eq!(
            String::from_utf8(get).unwrap(),
            "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\
             Access-Control-Allow-Origin: *\r\nConnection: close\r\n\r\n{}"
        );
        let head = http_answer(b"HEAD / HTTP/1.1\r\n\r\n", Kind::Metrics, &mut body);
        assert!(String::from_utf8(head).unwrap().ends_with("\r\n\r\n"));
        let post = http_answer(b"POST / HTTP/1.1\r\n\r\n", Kind::Metrics, &mut body);
        assert!(post.starts_with(b"HTTP/1.0 405"));
    }
}
