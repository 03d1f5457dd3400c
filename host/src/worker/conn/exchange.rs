//! The connection's side of an exchange (an app plugin served through `call`): start it,
//! then pump bytes between the socket and the exchange's state each time the connection is
//! driven, until the app has finished (or given up) and its answer is queued.
//!
//! Pumping never blocks: the response bytes the app queued are taken and written as far as
//! the socket takes them; body bytes are read and decoded up to [`INPUT_AHEAD`] ahead of the
//! app (no further: the client waits, back-pressure); the app's waker hears what changed.

use std::sync::Arc;
use std::time::Instant;

use abi_stable::std_types::{RSlice, RSliceMut};
use rsgi_plugin_api::exchange::{CallOutcome, Readiness};
use rsgi_plugin_api::protocol::{BodyFraming, BodyKind, DecoderState, RequestHead, ResponseBody};
use rsgi_plugin_api::{ProtocolModRef, Request};

use super::super::access_log;
use super::super::blocking;
use super::super::exchange::duplex::Tick;
use super::super::exchange::state::{Inner, QueuedFile, INPUT_AHEAD, LOW_WATER};
use super::super::exchange::{table, CallFn, ExchangeState, Notifier, ResponseSetup};
use super::super::state::{Shared, WorkerState};
use super::{Conn, Linger};
use crate::upgrade::codecs as upgrades;
use crate::upgrade::handshake::Upgradable;

/// Most bytes held in the read buffer while an exchange is in progress (the body being
/// decoded, or the start of the next request).
const READ_AHEAD: usize = 64 * 1024;

/// An exchange in progress on a connection.
pub struct Pending {
    state: Arc<ExchangeState>,
    body: BodyFeed,
    /// A file being sent (zero-copy) once the write buffer's bytes before it are out.
    file: Option<QueuedFile>,
    /// For the request log.
    method: Vec<u8>,
    uri: Vec<u8>,
    protocol: &'static str,
    started_us: u64,
}

/// What pumping left to do.
pub enum Pumped {
    /// Waiting for the socket or the app.
    Waiting,
    /// The client is gone: close the connection.
    Gone,
    /// The exchange ended; its answer is queued. Serve on as usual.
    Ended,
}

/// The request body, decoded from the connection's read buffer into the exchange.
struct BodyFeed {
    kind: BodyKind,
    /// Content-Length bytes still to come.
    remaining: u64,
    chunked: DecoderState,
    /// Body bytes decoded so far, against `--limit-post`.
    total: u64,
    limit: u64,
    ended: bool,
}

impl BodyFeed {
    fn new(framing: BodyFraming, limit: u64) -> BodyFeed {
        let length = match framing.kind {
            BodyKind::Length => framing.length,
            _ => 0,
        };
        BodyFeed {
            kind: framing.kind,
            remaining: length,
            chunked: DecoderState::default(),
            total: 0,
            limit,
            ended: framing.kind == BodyKind::Empty
                || (framing.kind == BodyKind::Length && length == 0),
        }
    }

    /// Decodes what `input` holds of the body into `inner.input`, up to [`INPUT_AHEAD`]
    /// bytes waiting there; returns the input bytes consumed. Sets the end, or the refusal
    /// (400 malformed, 413 over `--limit-post`).
    fn feed(&mut self, proto: ProtocolModRef, input: &[u8], inner: &mut Inner) -> usize {
        if self.ended || inner.body_refusal != 0 {
            return 0;
        }
        let waiting = inner.input.len() - inner.input_pos;
        let room = INPUT_AHEAD.saturating_sub(waiting);
        if room == 0 || input.is_empty() {
            return 0;
        }
        let (consumed, produced) = match self.kind {
            BodyKind::Empty => (0, 0),
            BodyKind::Length => {
                let n = (room as u64).min(self.remaining).min(input.len() as u64) as usize;
                inner.input.extend_from_slice(&input[..n]);
                self.remaining -= n as u64;
                self.ended = self.remaining == 0;
                (n, n)
            }
            BodyKind::Chunked => {
                let at = inner.input.len();
                inner.input.resize(at + room, 0);
                let out = (proto.decode_body())(
                    &mut self.chunked,
                    RSlice::from_slice(input),
                    RSliceMut::from(&mut inner.input[at..]),
                );
                inner.input.truncate(at + out.produced);
                if out.error.status != 0 || !out.error.reason.is_empty() {
                    tracing::warn!("bad chunked body: {}", out.error.reason);
                    inner.body_refusal = match out.error.status {
                        400..=499 => out.error.status,
                        _ => 400,
                    };
                    return input.len();
                }
                self.ended = out.done;
                (out.consumed, out.produced)
            }
        };
        self.total += produced as u64;
        if self.limit > 0 && self.total > self.limit {
            tracing::warn!("request body larger than --limit-post");
            inner.body_refusal = 413;
        }
        inner.input_ended = self.ended;
        consumed
    }
}

impl Pending {
    /// Serves a request through the app's `call`: the exchange's state is made (with the
    /// body bytes that came with the head, `rest`), the app is called, and the exchange
    /// is returned for the connection to keep until the app ends it, with the number of
    /// `rest` bytes fed to it.
    pub(super) fn call(
        call: CallFn,
        request: &Request<'_>,
        start: Start<'_>,
    ) -> (Box<Pending>, usize) {
        let Start {
            shared,
            head,
            rest,
            date,
            notifier,
            key,
            keep_alive,
            proto,
            started_us,
        } = start;
        let setup = ResponseSetup {
            proto,
            version: head.version,
            keep_alive,
            head_request: request.method.as_slice() == b"HEAD",
            date: date.to_owned(),
            added: shared.add_headers.clone(),
        };
        let mut body = BodyFeed::new(head.body, shared.limits.limit_post);
        let (upgradable, refusal) = match upgrades::asked(request) {
            Some(codec) => match Upgradable::check(codec, request.headers.as_slice()) {
                Ok(u) => (Some(Box::new(u)), None),
                Err(refusal) => (None, Some(refusal)),
            },
            None => (None, None),
        };
        let state = ExchangeState::new(
            setup,
            notifier.clone(),
            key,
            head.expect_continue && !body.ended,
            body.ended,
            upgradable,
        );
        let fed = body.feed(proto, rest, &mut state.lock());
        let outcome = match refusal {
            // A malformed handshake is the codec's to answer; the app never sees it.
            Some(refusal) => refuse_upgrade(&state, request, refusal),
            None => call(request, table::handle(&state)),
        };
        // The scoreboard counts the time the call held this thread; what follows is the
        // app's own loop.
        let failed = outcome == CallOutcome::Failed;
        shared.cell.request_finished(0, failed, shared.resting());
        let pending = Box::new(Pending {
            state,
            body,
            file: None,
            method: request.method.as_slice().to_vec(),
            uri: request.uri.as_slice().to_vec(),
            protocol: head.version.as_str(),
            started_us,
        });
        (pending, fed)
    }
}

/// Answers a handshake the codec refused (400, 426 with its headers), in place of the app.
fn refuse_upgrade(
    state: &Arc<ExchangeState>,
    request: &Request<'_>,
    refusal: rsgi_plugin_api::upgrade::Refusal,
) -> CallOutcome {
    tracing::warn!(
        "{}:{} {} {}: refused upgrade ({}): {}",
        request.remote_addr,
        request.remote_port,
        String::from_utf8_lossy(request.method.as_slice()),
        String::from_utf8_lossy(request.uri.as_slice()),
        refusal.status,
        refusal.reason
    );
    let body = format!("{}\n", refusal.reason);
    let length = body.len().to_string();
    let mut headers: Vec<rsgi_plugin_api::Header<'_>> = refusal
        .headers
        .iter()
        .map(|h| rsgi_plugin_api::Header {
            name: RSlice::from_slice(h.name.as_bytes()),
            value: RSlice::from_slice(h.value.as_bytes()),
        })
        .collect();
    headers.push(rsgi_plugin_api::Header {
        name: RSlice::from_slice(b"Content-Type"),
        value: RSlice::from_slice(b"text/plain; charset=utf-8"),
    });
    headers.push(rsgi_plugin_api::Header {
        name: RSlice::from_slice(b"Content-Length"),
        value: RSlice::from_slice(length.as_bytes()),
    });
    if state.start(refusal.status, "", &headers).is_ok() {
        state.write(body.as_bytes());
    }
    state.finish();
    CallOutcome::Done
}

/// What starting an exchange needs of the connection and the worker.
pub(super) struct Start<'a> {
    pub shared: &'a Shared,
    pub head: &'a RequestHead,
    /// The bytes after the head in the read buffer.
    pub rest: &'a [u8],
    /// `Date` at the start of the request.
    pub date: &'a str,
    pub notifier: &'a Arc<Notifier>,
    /// The connection's key.
    pub key: usize,
    pub keep_alive: bool,
    pub proto: ProtocolModRef,
    pub started_us: u64,
}

impl Conn {
    /// The exchange in progress on this connection: when it started (µs since the epoch),
    /// its method and URI.
    pub fn exchange_in_progress(&self) -> Option<(u64, &[u8], &[u8])> {
        self.exchange
            .as_ref()
            .map(|p| (p.started_us, &p.method[..], &p.uri[..]))
    }

    /// True when the exchange in progress was upgraded (a WebSocket).
    pub fn is_upgraded(&self) -> bool {
        self.exchange
            .as_ref()
            .is_some_and(|p| p.state.lock().duplex.is_some())
    }

    /// Moves bytes between the socket and the exchange in progress, as far as possible
    /// without blocking.
    pub(super) fn pump(&mut self, w: &mut WorkerState) -> Pumped {
        let Some(mut pending) = self.exchange.take() else {
            return Pumped::Ended;
        };
        match self.pump_bytes(&mut pending) {
            Pumped::Waiting => {
                self.exchange = Some(pending);
                Pumped::Waiting
            }
            Pumped::Gone => self.client_gone(w, &pending),
            Pumped::Ended => {
                self.end_exchange(w, &pending);
                Pumped::Ended
            }
        }
    }

    fn pump_bytes(&mut self, pending: &mut Pending) -> Pumped {
        let state = pending.state.clone();
        let proto = state.proto();
        loop {
            // Take what the app queued (up to a file, which goes out after the bytes
            // before it), give it what arrived.
            let released = {
                let mut inner = state.lock();
                inner.notified = false;
                if pending.file.is_none() {
                    self.take_queued(&mut inner, &mut pending.file);
                }
                if inner.duplex.is_some() {
                    let consumed = inner.feed_stream(self.rbuf.pending(), self.peer.addr());
                    self.rbuf.consume(consumed);
                    if pending.file.is_none() {
                        // The codec's own frames (pongs, close echoes), queued just now.
                        self.take_queued(&mut inner, &mut pending.file);
                    }
                }
                let had = inner.input.len() - inner.input_pos;
                let consumed = pending.body.feed(proto, self.rbuf.pending(), &mut inner);
                self.rbuf.consume(consumed);
                let fed = inner.input.len() - inner.input_pos > had
                    || inner.input_ended
                    || inner.body_refusal != 0;
                if fed && inner.wants_input {
                    inner.wants_input = false;
                    inner.wake(Readiness::READABLE);
                }
                let flushed = inner.out.is_empty() && inner.files.is_empty();
                match &inner.duplex {
                    // An upgraded connection ends with the close handshake, not the handle.
                    Some(d) => d.is_closed() && flushed,
                    None => inner.released && flushed,
                }
            };
            if self.wpos < self.wbuf.len() && self.write_pending().is_err() {
                return Pumped::Gone;
            }
            if self.wpos >= self.wbuf.len() {
                if let Some(file) = pending.file.as_mut() {
                    match self.send_file(file) {
                        Ok(true) => pending.file = None,
                        Ok(false) => {}
                        Err(e) => {
                            tracing::warn!(
                                "{}:{} sending a file the app queued failed: {e}; closing",
                                self.peer.addr(),
                                self.peer.port
                            );
                            return Pumped::Gone;
                        }
                    }
                }
            }
            {
                let mut inner = state.lock();
                let file_left = pending.file.as_ref().map_or(0, |f| f.len as usize);
                inner.unsent = self.wbuf.len() - self.wpos + file_left;
                if inner.told_full && inner.outgoing() < LOW_WATER {
                    inner.told_full = false;
                    inner.wake(Readiness::WRITABLE);
                }
                let more = !inner.out.is_empty() || !inner.files.is_empty();
                if pending.file.is_none() && more && self.wpos >= self.wbuf.len() {
                    // Bytes after a file that just went out: take them now.
                    continue;
                }
            }
            if released && pending.file.is_none() {
                return Pumped::Ended;
            }
            // Read on: body bytes for the app (while it has room for them), or, once the
            // body ended, the client's close.
            let (body_room, upgraded) = {
                let inner = state.lock();
                match &inner.duplex {
                    Some(d) => (d.has_room(), true),
                    None => (inner.input.len() < INPUT_AHEAD, false),
                }
            };
            if (upgraded || !pending.body.ended) && !body_room {
                return Pumped::Waiting;
            }
            if self.socket_quiet {
                // Nothing came since the last read: the next edge brings the loop back.
                return Pumped::Waiting;
            }
            let fd = self.fd();
            let spare = self.rbuf.spare(READ_AHEAD);
            if spare.is_empty() {
                return Pumped::Waiting;
            }
            let room = spare.len();
            match blocking::read_some(fd, spare) {
                Ok(0) => return Pumped::Gone,
                Ok(n) => {
                    self.socket_quiet = n < room;
                    self.rbuf.filled(n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    self.socket_quiet = true;
                    return Pumped::Waiting;
                }
                Err(_) => return Pumped::Gone,
            }
        }
    }

    /// The sweep's clock on an upgraded connection: pings, the pong and close timeouts, and
    /// the close (1001) a stopping worker sends. `Close` when the connection must close now.
    pub fn tick(&mut self, now: Instant, stopping: bool) -> Tick {
        let Some(pending) = &self.exchange else {
            return Tick::Nothing;
        };
        let state = pending.state.clone();
        let mut inner = state.lock();
        if inner.duplex.is_none() {
            return Tick::Nothing;
        }
        let before = inner.out.len();
        let tick = inner.tick_stream(now, stopping, self.peer.addr());
        if inner.out.len() != before {
            state.notify(&mut inner);
        }
        tick
    }

    /// Closes an upgraded connection the clock gave up on: the app hears `GONE`, the frame
    /// queued last (a close) is written if the socket takes it.
    pub fn hang_up(&mut self, w: &mut WorkerState) {
        let Some(pending) = self.exchange.take() else {
            return;
        };
        {
            let mut inner = pending.state.lock();
            let mut file = None;
            self.take_queued(&mut inner, &mut file);
            if !inner.gone {
                inner.gone = true;
                inner.wake(Readiness::GONE);
            }
        }
        let _ = self.write_pending();
        let bytes = pending.state.lock().body_sent;
        self.log_request(w, &pending, 101, bytes);
    }

    /// Moves the app's queued bytes into the write buffer, up to the next queued file,
    /// which then becomes `file` (sent once the bytes before it are out).
    fn take_queued(&mut self, inner: &mut Inner, file: &mut Option<QueuedFile>) {
        let limit = match inner.files.front() {
            Some(next) => (next.at - inner.taken) as usize,
            None => inner.out.len(),
        };
        let take = limit.min(inner.out.len());
        if take > 0 {
            self.wbuf.extend_from_copy_slice(&inner.out[..take]);
            if take == inner.out.len() {
                inner.out.clear();
            } else {
                inner.out.drain(..take);
            }
            inner.taken += take as u64;
        }
        if inner
            .files
            .front()
            .is_some_and(|next| next.at == inner.taken)
        {
            *file = inner.files.pop_front();
        }
    }

    /// Sends what is left of `file` without waiting: Ok(true) when all of it went out,
    /// Ok(false) when the socket is full. A file shorter than promised is an error: the
    /// response's framing cannot be kept.
    fn send_file(&mut self, file: &mut QueuedFile) -> std::io::Result<bool> {
        use std::os::fd::AsRawFd;
        while file.len > 0 {
            let mut off = file.offset as libc::off_t;
            let chunk = file.len.min(1 << 30) as usize;
            // SAFETY: valid fds; `off` is a local the kernel updates.
            let n = unsafe { libc::sendfile(self.fd(), file.fd.as_raw_fd(), &mut off, chunk) };
            if n > 0 {
                file.offset += n as u64;
                file.len -= n as u64;
                continue;
            }
            if n == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the file is shorter than the length queued",
                ));
            }
            let err = std::io::Error::last_os_error();
            match err.kind() {
                std::io::ErrorKind::Interrupted => continue,
                std::io::ErrorKind::WouldBlock => return Ok(false),
                _ => return Err(err),
            }
        }
        Ok(true)
    }

    /// The client closed or reset the connection while the exchange was in progress: the
    /// app hears `GONE` (every later call answers `Gone`) and the connection closes.
    fn client_gone(&mut self, w: &mut WorkerState, pending: &Pending) -> Pumped {
        let (status, bytes) = {
            let mut inner = pending.state.lock();
            if !inner.gone {
                inner.gone = true;
                inner.wake(Readiness::GONE);
            }
            (inner.status, inner.body_sent)
        };
        tracing::info!(
            "{}:{} {} {}: the client went away before the answer was complete",
            self.peer.addr(),
            self.peer.port,
            String::from_utf8_lossy(&pending.method),
            String::from_utf8_lossy(&pending.uri)
        );
        self.log_request(w, pending, status, bytes);
        Pumped::Gone
    }

    /// The app released the exchange (all it queued is in the write buffer): complete the
    /// response, or replace it with an error answer, and decide whether the connection
    /// serves on.
    fn end_exchange(&mut self, w: &mut WorkerState, pending: &Pending) {
        if pending.state.lock().duplex.is_some() {
            // The close handshake is done and its frames are out: the connection closes.
            let bytes = pending.state.lock().body_sent;
            self.log_request(w, pending, 101, bytes);
            self.close_after_write = true;
            return;
        }
        let (framing, mut status, bytes, finished, aborted, refusal, body_read) = {
            let inner = pending.state.lock();
            (
                inner.framing,
                inner.status,
                inner.body_sent,
                inner.finished,
                inner.aborted.clone(),
                inner.body_refusal,
                inner.input_ended && inner.input_pos == inner.input.len(),
            )
        };
        let what = || {
            format!(
                "{} {}",
                String::from_utf8_lossy(&pending.method),
                String::from_utf8_lossy(&pending.uri)
            )
        };
        let mut keep = false;
        match (framing, finished) {
            (Some(framing), true) => {
                let complete = framing.body != ResponseBody::Length || bytes == framing.length;
                if !complete {
                    tracing::error!(
                        "{}: the app sent {bytes} body bytes but declared Content-Length {}; \
                         closing the connection",
                        what(),
                        framing.length
                    );
                }
                keep = complete && framing.keep_alive && framing.body != ResponseBody::Close;
            }
            (Some(_), false) => {
                tracing::error!(
                    "{}: the app gave up after the head was sent ({}); closing the connection",
                    what(),
                    aborted.as_deref().unwrap_or("no reason")
                );
            }
            (None, _) => {
                status = if refusal != 0 { refusal } else { 500 };
                match &aborted {
                    Some(why) => {
                        tracing::error!("{}: the app gave up ({why}); answering {status}", what())
                    }
                    None => tracing::error!(
                        "{}: the app finished without starting a response; answering {status}",
                        what()
                    ),
                }
                let proto = pending.state.proto();
                (proto.encode_error())(pending.state.version(), status, &mut self.wbuf);
            }
        }
        // A body the app left unread (or one still arriving) is not drained here: the
        // connection closes after the answer, lingering so that the answer is not lost to
        // a reset.
        if !(pending.body.ended && body_read) {
            keep = false;
            self.linger = Linger::AfterWrite;
        }
        self.log_request(w, pending, status, bytes);
        if keep && !w.shared.stopping() {
            self.idle_since = Instant::now();
        } else {
            self.close_after_write = true;
        }
    }

    fn log_request(&self, w: &WorkerState, pending: &Pending, status: u16, bytes: u64) {
        let Some(log) = &w.shared.request_log else {
            return;
        };
        log.record(&access_log::Entry {
            peer: self.peer.addr(),
            vars: &[],
            headers: &[],
            names: rsgi_plugin_api::NameStyle::Http,
            method: &pending.method,
            uri: &pending.uri,
            protocol: pending.protocol,
            status,
            bytes,
            started_us: pending.started_us,
            now_us: crate::scoreboard::now_us(),
            worker: w.shared.id,
        });
    }
}
