//! The worker's event loop: accept, read, dispatch; idle connections cost no app thread.

use std::io;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use nix::sys::signal::Signal;
use slab::Slab;

use super::conn::{Conn, Verdict};
use super::state::WorkerState;
use crate::listen::Listener;
use crate::signals::SignalPipe;

/// Why the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Stopped gracefully (SIGTERM, or recycled by --max-requests): in-flight work finished.
    Graceful,
    /// Told to stop at once (SIGINT / SIGQUIT).
    Immediate,
}

/// How often timeouts are checked.
const SWEEP_EVERY: Duration = Duration::from_millis(250);

/// A stopping worker closes keep-alive connections idle this long. Connections that send
/// a request meanwhile are answered (with `Connection: close`): closing an idle keep-alive
/// connection at once races with a client that is sending on it, and loses its request.
const STOP_GRACE: Duration = Duration::from_millis(1000);

/// Runs the loop until the worker is told to stop (or recycles itself).
pub fn run(listeners: &[Listener], signals: &SignalPipe, w: &mut WorkerState) -> io::Result<Ended> {
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(1024);
    let n_listeners = listeners.len();
    let signal_token = Token(n_listeners);
    let first_conn = n_listeners + 1;
    for (i, l) in listeners.iter().enumerate() {
        poll.registry()
            .register(&mut SourceFd(&l.fd()), Token(i), Interest::READABLE)?;
    }
    poll.registry().register(
        &mut SourceFd(&signals.fd()),
        signal_token,
        Interest::READABLE,
    )?;
    let mut conns: Slab<Conn> = Slab::with_capacity(1024);
    let mut last_sweep = Instant::now();
    let mut listening = true;
    w.cell.set_status(w.resting);

    loop {
        if let Err(e) = poll.poll(&mut events, Some(SWEEP_EVERY)) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        for event in events.iter() {
            let token = event.token().0;
            if token < n_listeners {
                if listening {
                    accept_all(&poll, &listeners[token], token, first_conn, &mut conns, w);
                }
            } else if token == signal_token.0 {
                for sig in signals.drain() {
                    match sig {
                        Signal::SIGTERM | Signal::SIGHUP => {
                            tracing::info!("worker {} stopping gracefully (signal {sig})", w.id);
                            w.begin_stop();
                        }
                        Signal::SIGINT | Signal::SIGQUIT => return Ok(Ended::Immediate),
                        _ => {}
                    }
                }
            } else {
                let key = token - first_conn;
                if let Some(conn) = conns.get_mut(key) {
                    if conn.drive(w) == Verdict::Close {
                        close(&poll, &mut conns, key);
                    }
                }
            }
        }
        if w.stopping && listening {
            listening = false;
            for l in listeners {
                let _ = poll.registry().deregister(&mut SourceFd(&l.fd()));
            }
        }
        if last_sweep.elapsed() >= SWEEP_EVERY {
            last_sweep = Instant::now();
            sweep(&poll, &mut conns, w);
        }
        if w.stopping && conns.is_empty() {
            return Ok(Ended::Graceful);
        }
    }
}

fn accept_all(
    poll: &Poll,
    listener: &Listener,
    index: usize,
    first_conn: usize,
    conns: &mut Slab<Conn>,
    w: &mut WorkerState,
) {
    while !w.stopping {
        let (socket, peer) = match listener.socket.accept() {
            Ok(pair) => pair,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e)
                if e.kind() == io::ErrorKind::Interrupted
                    || e.kind() == io::ErrorKind::ConnectionAborted =>
            {
                continue
            }
            Err(e) => {
                tracing::warn!("accept on {} failed: {e}", listener.describe());
                return;
            }
        };
        if socket.set_nonblocking(true).is_err() {
            continue;
        }
        let (addr, port) = match peer.as_socket() {
            Some(a) => {
                let _ = socket.set_tcp_nodelay(true);
                (a.ip().to_string(), a.port())
            }
            None => (String::new(), 0),
        };
        let entry = conns.vacant_entry();
        let token = Token(first_conn + entry.key());
        let fd = socket.as_raw_fd();
        if let Err(e) = poll.registry().register(
            &mut SourceFd(&fd),
            token,
            Interest::READABLE | Interest::WRITABLE,
        ) {
            tracing::warn!("cannot watch a new connection: {e}");
            continue;
        }
        let key = entry.key();
        entry.insert(Conn::new(socket, index, addr, port));
        // Data may already be waiting: serve it now rather than on the next wake-up.
        if conns[key].drive(w) == Verdict::Close {
            close(poll, conns, key);
        }
    }
}

fn close(poll: &Poll, conns: &mut Slab<Conn>, key: usize) {
    if let Some(conn) = conns.try_remove(key) {
        let _ = poll.registry().deregister(&mut SourceFd(&conn.fd()));
    }
}

/// Closes connections idle past the keep-alive timeout and heads slower than the header
/// timeout (slowloris).
fn sweep(poll: &Poll, conns: &mut Slab<Conn>, w: &WorkerState) {
    let now = Instant::now();
    let expired: Vec<usize> = conns
        .iter()
        .filter(|(_, c)| {
            let slow_head = c
                .head_started
                .is_some_and(|t| now.duration_since(t) > w.limits.header_timeout);
            let idle_limit = if w.stopping {
                STOP_GRACE
            } else {
                w.limits.keepalive_timeout
            };
            let idle_too_long = c.is_idle() && now.duration_since(c.idle_since) > idle_limit;
            if slow_head {
                tracing::info!(
                    "closing a connection whose request head took over {:?}",
                    w.limits.header_timeout
                );
            }
            slow_head || idle_too_long
        })
        .map(|(k, _)| k)
        .collect();
    for key in expired {
        close(poll, conns, key);
    }
}
