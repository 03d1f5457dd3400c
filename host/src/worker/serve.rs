//! The worker's event loop: accept, read, dispatch; idle connections cost no app thread.
//!
//! With one app thread the loop drives each connection itself (the app is called on this
//! thread). With `--threads N` a connection that has work is moved to the [`Pool`] and
//! comes back when it would block; events that arrive meanwhile are remembered.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};
use nix::sys::signal::Signal;
use slab::Slab;

use super::accept::Acceptor;
use super::buffers::Buffers;
use super::conn::{Conn, Verdict, LINGER_FOR};
use super::exchange::duplex::Tick;
use super::exchange::Notifier;
use super::peer::Peer;
use super::pool::{Job, Pool};
use super::state::{Shared, WorkerState};
use crate::listen::Listener;
use crate::signals::SignalPipe;

/// Why the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Stopped gracefully (SIGTERM, or retired by the master): in-flight work finished.
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

/// Connections accepted in one go (under the thunder lock, if any) before serving them.
const ACCEPT_BATCH: usize = 64;

/// A connection table entry. Nearly every entry is `Here` (`Away` only while an app
/// thread drives it), so the table's slots are sized for a connection, unboxed: boxing
/// would cost an allocation per connection and a pointer chase per event.
#[allow(clippy::large_enum_variant)]
enum Entry {
    /// On the loop thread.
    Here(Conn),
    /// On an app thread; `pending` when an event arrived meanwhile.
    Away { pending: bool },
}

/// The loop's state.
struct EventLoop<'a> {
    poll: Poll,
    acceptor: Acceptor<'a>,
    /// Scratch space for connections just accepted.
    accepted: Vec<(socket2::Socket, socket2::SockAddr)>,
    signal_token: usize,
    waker_token: usize,
    first_conn: usize,
    conns: Slab<Entry>,
    /// Buffers of closed connections, for new ones.
    buffers: Buffers,
    listening: bool,
    /// Listening, but the listeners are not watched: every app thread is busy.
    paused: bool,
    /// When the loop last woke up.
    woke: Instant,
    pool: Option<Pool>,
    /// Scratch space for the keys of connections whose exchanges have news.
    notified: Vec<usize>,
    state: WorkerState,
}

/// Runs the loop until the worker is told to stop (or retires).
pub fn run(
    listeners: &[Listener],
    signals: &SignalPipe,
    shared: Arc<Shared>,
    threads: u32,
) -> io::Result<Ended> {
    let poll = Poll::new()?;
    let n = listeners.len();
    let acceptor = Acceptor::new(listeners, poll.registry())?;
    poll.registry()
        .register(&mut SourceFd(&signals.fd()), Token(n), Interest::READABLE)?;
    let waker = Arc::new(Waker::new(poll.registry(), Token(n + 1))?);
    let notifier = Notifier::new(waker.clone());
    let pool = if threads > 1 {
        Some(Pool::start(
            threads,
            shared.clone(),
            waker,
            notifier.clone(),
        )?)
    } else {
        None
    };
    shared.cell.set_status(shared.resting());
    // Tell the master at once that this worker accepts: a worker it replaces retires now.
    let _ = nix::sys::signal::kill(nix::unistd::getppid(), Signal::SIGUSR2);
    let mut ev = EventLoop {
        poll,
        acceptor,
        accepted: Vec::with_capacity(ACCEPT_BATCH),
        signal_token: n,
        waker_token: n + 1,
        first_conn: n + 2,
        conns: Slab::with_capacity(1024),
        buffers: Buffers::default(),
        listening: true,
        paused: false,
        woke: Instant::now(),
        pool,
        notified: Vec::new(),
        state: WorkerState::new(shared, notifier),
    };
    let ended = ev.run(signals);
    if let Some(pool) = ev.pool.take() {
        pool.shutdown();
    }
    if let Some(log) = &ev.state.request_log {
        log.flush();
    }
    ended
}

impl EventLoop<'_> {
    fn run(&mut self, signals: &SignalPipe) -> io::Result<Ended> {
        let mut events = Events::with_capacity(1024);
        let mut last_sweep = Instant::now();
        loop {
            if let Some(log) = &self.state.request_log {
                log.flush();
            }
            if let Err(e) = self.poll.poll(&mut events, Some(SWEEP_EVERY)) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            // One clock reading per wake-up, for the sweep and for connections accepted now.
            self.woke = Instant::now();
            for event in events.iter() {
                let token = event.token().0;
                if self.acceptor.owns(event.token()) {
                    if self.listening {
                        self.accept_all(token);
                    }
                } else if token == self.signal_token {
                    for sig in signals.drain() {
                        match sig {
                            Signal::SIGTERM if super::orphan::master_gone() => {
                                tracing::warn!(
                                    "worker {}: the master (pid {}) is gone; stopping gracefully",
                                    self.state.id,
                                    super::orphan::master_pid()
                                );
                                self.state.begin_stop();
                            }
                            Signal::SIGTERM | Signal::SIGHUP => {
                                tracing::info!(
                                    "worker {} stopping gracefully (signal {sig})",
                                    self.state.id
                                );
                                self.state.begin_stop();
                            }
                            Signal::SIGINT | Signal::SIGQUIT => return Ok(Ended::Immediate),
                            Signal::SIGWINCH => self.reopen_log(),
                            _ => {}
                        }
                    }
                } else if token == self.waker_token {
                    self.take_back();
                    self.take_notified();
                } else {
                    self.ready(token - self.first_conn, true);
                }
            }
            if self.state.stopping() && self.listening {
                self.stop_listening();
            }
            self.pace_accepting();
            if self.woke.duration_since(last_sweep) >= SWEEP_EVERY {
                last_sweep = self.woke;
                self.sweep();
            }
            if self.state.stopping() && self.conns.is_empty() {
                return Ok(Ended::Graceful);
            }
        }
    }

    /// A connection has an event (`from_socket`: a readiness event of its socket, else an
    /// exchange's news): drive it here, or hand it to an app thread.
    fn ready(&mut self, key: usize, from_socket: bool) {
        let Some(entry) = self.conns.get_mut(key) else {
            return;
        };
        if let (Entry::Here(conn), true) = (&mut *entry, from_socket) {
            conn.socket_event();
        }
        match entry {
            Entry::Away { pending } => *pending = true,
            Entry::Here(_) if self.pool.is_some() => {
                let Entry::Here(conn) = std::mem::replace(entry, Entry::Away { pending: false })
                else {
                    unreachable!()
                };
                self.pool.as_mut().unwrap().submit(Job { key, conn });
            }
            Entry::Here(conn) => {
                if conn.drive(&mut self.state) == Verdict::Close {
                    self.close(key);
                }
            }
        }
    }

    /// SIGWINCH from the master: `--logto`'s file (or `--req-logger`'s) was moved away
    /// (rotated); the request lines still buffered go to the old one, then the worker
    /// opens the files again.
    fn reopen_log(&self) {
        if let Some(log) = &self.state.request_log {
            log.reopen();
        }
        let Some(path) = &self.state.log_file else {
            return;
        };
        match crate::log_file::reopen(path) {
            Ok(()) => tracing::info!("worker {}: log file opened again", self.state.id),
            Err(e) => tracing::error!("worker {}: cannot reopen the log: {e}", self.state.id),
        }
    }

    /// Connections coming back from the app threads.
    fn take_back(&mut self) {
        let Some(pool) = self.pool.as_mut() else {
            return;
        };
        for done in pool.completed() {
            let pending = matches!(
                self.conns.get(done.key),
                Some(Entry::Away { pending: true })
            );
            if done.verdict == Verdict::Close {
                self.conns.try_remove(done.key);
                self.buffers.give(done.conn.into_buffers());
                continue;
            }
            if let Some(entry) = self.conns.get_mut(done.key) {
                *entry = Entry::Here(done.conn);
            }
            if pending {
                // What came meanwhile may have been the socket's: it is read again.
                self.ready(done.key, true);
            }
        }
    }

    /// Connections whose exchanges have news (bytes to write, room for more body, the
    /// end): driven here, or marked for when their app thread hands them back.
    fn take_notified(&mut self) {
        let mut keys = std::mem::take(&mut self.notified);
        self.state.notifier.take(&mut keys);
        for &key in &keys {
            self.ready(key, false);
        }
        self.notified = keys;
    }

    /// Takes what is already queued on every listening socket, then closes this worker's
    /// copy of it. When the last process closes a listening socket, the connections still
    /// in its accept queue are reset; draining right before closing keeps that window tiny
    /// (the master closes its copies when it starts a shutdown).
    fn stop_listening(&mut self) {
        self.listening = false;
        self.acceptor.deregister(self.poll.registry());
        for index in 0..self.acceptor.listener_count() {
            self.accept_queued(index, 4096);
        }
        self.acceptor.close();
    }

    /// Takes the connections queued on listener `index`; with app threads, only as many
    /// as there are free threads.
    fn accept_all(&mut self, index: usize) {
        let room = self.pool.as_ref().map_or(usize::MAX, Pool::free);
        if !self.state.stopping() && room > 0 {
            self.accept_queued(index, room);
        }
    }

    /// With app threads: stops watching the listeners while every thread has a connection,
    /// and watches them again once one is free. Meanwhile new connections stay in the
    /// kernel's queue, where an idle worker takes them (uWSGI's threads likewise accept
    /// only when free); a connection taken now would wait here for a thread.
    fn pace_accepting(&mut self) {
        let Some(pool) = &self.pool else { return };
        if !self.listening {
            return;
        }
        let full = pool.free() == 0;
        if full && !self.paused {
            self.acceptor.deregister(self.poll.registry());
            self.paused = true;
        } else if !full && self.paused {
            match self.acceptor.register(self.poll.registry()) {
                Ok(()) => self.paused = false,
                Err(e) => tracing::warn!("cannot watch the listening sockets again: {e}"),
            }
        }
    }

    /// Accepts until the queue is empty (or `max` connections were taken), a batch at a
    /// time: the batch is taken (under the thunder lock, if any), then served. Without app
    /// threads a batch is one connection: the app runs on this thread, and connections
    /// taken while it runs would wait for it while another worker may be idle (a burst of
    /// slow requests would all queue behind the first in one worker). With app threads
    /// the loop hands connections on and is back at once, so it takes up to
    /// `ACCEPT_BATCH` at a time.
    fn accept_queued(&mut self, index: usize, max: usize) {
        let mut left = max;
        let batch_size = if self.pool.is_some() { ACCEPT_BATCH } else { 1 };
        let mut batch = std::mem::take(&mut self.accepted);
        while left > 0 {
            let more = self
                .acceptor
                .accept_into(index, left.min(batch_size), &mut batch);
            left = left.saturating_sub(batch.len());
            for (socket, peer) in batch.drain(..) {
                self.serve_accepted(index, socket, peer);
            }
            if !more {
                break;
            }
        }
        self.accepted = batch;
    }

    /// Serves a new connection on listener `index` now if its request is there, and
    /// watches it.
    fn serve_accepted(&mut self, index: usize, socket: socket2::Socket, peer: socket2::SockAddr) {
        // TCP_NODELAY came with the socket: accepted sockets inherit it from the listener.
        let peer = Peer::new(peer.as_socket());
        let entry = self.conns.vacant_entry();
        let key = entry.key();
        let mut conn = Conn::new(socket, index, peer, self.buffers.take(), self.woke, key);
        // The request is usually already there: serve it before watching the socket.
        // A connection that is done by then (the uwsgi protocol closes after each
        // response) never touches epoll at all.
        if self.pool.is_none() && conn.drive(&mut self.state) == Verdict::Close {
            self.buffers.give(conn.into_buffers());
            return;
        }
        let fd = conn.fd();
        // Registering reports readiness that is already there, so bytes that arrived
        // after the drive above are not missed.
        if let Err(e) = self.poll.registry().register(
            &mut SourceFd(&fd),
            Token(self.first_conn + key),
            Interest::READABLE | Interest::WRITABLE,
        ) {
            tracing::warn!("cannot watch a new connection: {e}");
            return;
        }
        if conn.is_idle() {
            // Watched without a request in progress: the keep-alive timeout runs from now.
            conn.idle_since = Instant::now();
        }
        entry.insert(Entry::Here(conn));
        if self.pool.is_some() {
            self.ready(key, true);
        }
    }

    /// Drops a connection. Closing its fd (accepted close-on-exec, never duplicated) also
    /// removes it from the epoll set, so no `epoll_ctl(DEL)` is needed.
    fn close(&mut self, key: usize) {
        if let Some(Entry::Here(_)) = self.conns.get(key) {
            if let Entry::Here(conn) = self.conns.remove(key) {
                self.buffers.give(conn.into_buffers());
            }
        }
    }

    /// Records the exchanges in progress in the scoreboard: how many, and the oldest
    /// (harakiri and the stats see them as requests in progress).
    fn record_pending(&self) {
        let mut count = 0;
        let mut upgraded = 0;
        let mut oldest: Option<(u64, &[u8], &[u8])> = None;
        for (_, entry) in &self.conns {
            if let Entry::Here(conn) = entry {
                if conn.is_upgraded() {
                    // A WebSocket lives as long as its client likes: no request in
                    // progress for harakiri.
                    upgraded += 1;
                } else if let Some(pending) = conn.exchange_in_progress() {
                    count += 1;
                    if oldest.is_none_or(|o| pending.0 < o.0) {
                        oldest = Some(pending);
                    }
                }
            }
        }
        self.state.cell.set_pending(count, oldest);
        self.state.cell.set_upgraded(upgraded);
    }

    /// Runs the clocks of upgraded connections (pings, pong and close timeouts, the close a
    /// stopping worker sends) and closes those they gave up on.
    fn tick_upgraded(&mut self, now: Instant) {
        let stopping = self.state.stopping();
        let mut hung_up = Vec::new();
        for (key, entry) in self.conns.iter_mut() {
            if let Entry::Here(conn) = entry {
                if conn.tick(now, stopping) == Tick::Close {
                    conn.hang_up(&mut self.state);
                    hung_up.push(key);
                }
            }
        }
        for key in hung_up {
            self.close(key);
        }
    }

    /// Closes connections idle past the keep-alive timeout (or the stop grace) and heads
    /// slower than the header timeout (slowloris).
    fn sweep(&mut self) {
        let now = Instant::now();
        if self.state.call.is_some() {
            self.record_pending();
            self.tick_upgraded(now);
        }
        let limits = self.state.limits;
        let idle_limit = if self.state.stopping() {
            STOP_GRACE
        } else {
            limits.keepalive_timeout
        };
        // (key, whether it waits for a small body: that one is answered 408 first)
        let expired: Vec<(usize, bool)> = self
            .conns
            .iter()
            .filter_map(|(k, e)| match e {
                Entry::Here(c) => Some((k, c)),
                Entry::Away { .. } => None,
            })
            .filter(|(_, c)| {
                if let Some(since) = c.lingering_since() {
                    // Its answer is out; a stopping worker does not wait for the client.
                    return self.state.stopping() || now.duration_since(since) > LINGER_FOR;
                }
                if let Some(since) = c.body_wait_since {
                    let slow_body = now.duration_since(since) > limits.socket_timeout;
                    if slow_body {
                        tracing::info!(
                            "answering 408 to a connection whose request body did not arrive \
                             within {:?} (--socket-timeout)",
                            limits.socket_timeout
                        );
                    }
                    return slow_body;
                }
                let slow_head = c
                    .head_started
                    .is_some_and(|t| now.duration_since(t) > limits.header_timeout);
                if slow_head {
                    tracing::info!(
                        "closing a connection whose request head took over {:?}",
                        limits.header_timeout
                    );
                }
                slow_head || (c.is_idle() && now.duration_since(c.idle_since) > idle_limit)
            })
            .map(|(k, c)| {
                (
                    k,
                    c.body_wait_since.is_some() && c.lingering_since().is_none(),
                )
            })
            .collect();
        for (key, slow_body) in expired {
            if slow_body {
                if let Some(Entry::Here(conn)) = self.conns.get_mut(key) {
                    if conn.time_out_body(&mut self.state) == Verdict::Open {
                        continue;
                    }
                }
            }
            self.close(key);
        }
    }
}
