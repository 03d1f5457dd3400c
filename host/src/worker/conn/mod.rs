//! One client connection: read → protocol.parse → app.handle → write, in a loop that
//! stops when the socket would block. An app served through `call` gets an exchange
//! instead ([`exchange`]), which the connection pumps until the app ends it.

mod exchange;

use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use abi_stable::std_types::{RSlice, RSliceMut, RStr, RVec};
use rsgi_plugin_api::protocol::{BodyKind, ParseStatus, RequestHead, Version};
use rsgi_plugin_api::{ErrorKind, Header, NameStyle, Request};
use socket2::Socket;

use super::access_log;
use super::blocking;
use super::body::Body;
use super::peer::Peer;
use super::readbuf::ReadBuf;
use super::reply::Reply;
use super::state::{recycle, restore, WorkerState, HEAD_CEILING};
use super::static_files;
use crate::proxy::forwarded::{self, Client};
use crate::proxy::proxy_protocol::{self, Parsed};
use crate::proxy::rewrite::{self, Rewrite};
use crate::proxy::TrustedProxies;
use crate::static_map::Lookup;
use exchange::{Pending, Pumped};

/// Request bodies up to this size (with a Content-Length) are read by the event loop
/// before the app is called: a client that sends its body slowly then holds no app thread
/// (with one thread, not the whole worker), and the app reads from memory. Larger and
/// chunked bodies stream to the app as they arrive.
pub const BUFFER_BODY_UP_TO: u64 = 64 * 1024;

/// How long a connection closed after an error answer keeps reading (and discarding) what
/// the client still sends, at most: its answer is out and its write side shut down.
/// Closing a socket with unread input sends a reset, and a reset that reaches the client
/// before it has read the answer destroys it: a client sending a 100 KB head saw its
/// connection reset instead of a 431. nginx calls this a lingering close
/// (`lingering_time` 30 s, `lingering_timeout` 5 s).
pub const LINGER_FOR: Duration = Duration::from_secs(2);

/// Most bytes discarded in one go while lingering: a client that sends more without a
/// pause is closed (and may see a reset) rather than hold the event loop. More than a
/// socket's receive queue holds by default (Linux's `tcp_rmem` maximum is 6 MiB), so what
/// queued up while the app ran is read in one go.
const LINGER_DISCARDS_UP_TO: usize = 8 * 1024 * 1024;

/// What the event loop should do with the connection after driving it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Keep it registered; wait for the next event.
    Open,
    /// Close it.
    Close,
}

/// A connection's close: at once, or after a lingering read (see [`LINGER_FOR`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Linger {
    /// Close as soon as the answer is written (the usual close: nothing unread is
    /// expected, and a connection behind nginx closes after each response).
    No,
    /// Linger once the answer is written.
    AfterWrite,
    /// Write side shut down at `idle_since` (a field reused: a worker holds thousands of
    /// connections, and one that lingers is not idle).
    Since,
}

/// Outcome of looking at the buffered bytes.
enum Step {
    /// A request (or an error answer) was produced; look again.
    Served,
    /// More bytes are needed.
    NeedMore,
}

/// A client connection.
pub struct Conn {
    socket: Socket,
    /// Index of the listener it came from (u32 keeps the connection table's entries small).
    listener: u32,
    rbuf: ReadBuf,
    wbuf: RVec<u8>,
    wpos: usize,
    close_after_write: bool,
    /// How the connection closes once `close_after_write` is set and the answer is out.
    linger: Linger,
    /// The connection's client: the socket's peer, or the source a PROXY protocol header
    /// named. Errors before a request is parsed are logged with it.
    source: Peer,
    /// The client of the request in progress (its log line, `REMOTE_ADDR`): `source`, or
    /// whom a trusted proxy's headers named.
    peer: Peer,
    /// The PROXY protocol header was read (or the listener expects none).
    proxy_header_read: bool,
    /// Since when the current request head has been arriving in pieces (header timeout).
    pub head_started: Option<Instant>,
    /// Since when a complete head waits for the rest of its small body (socket timeout).
    pub body_wait_since: Option<Instant>,
    /// While a complete head waits for the rest of its small body: the buffered length at
    /// which head and body are in (0 otherwise). The head is not parsed again before: a
    /// body sent a byte at a time would otherwise have the whole head (up to the protocol's
    /// limit, 32 KB for HTTP) parsed once per read.
    body_complete_at: u32,
    /// When the connection last finished a request or was accepted (keep-alive timeout);
    /// while it lingers, when that began.
    pub idle_since: Instant,
    /// Requests served on this connection.
    served: u64,
    /// Its key in the loop's connection table (exchanges notify the loop with it).
    key: usize,
    /// The exchange in progress, for an app served through `call`.
    exchange: Option<Box<Pending>>,
    /// The last read came up short (or would block) and no readiness event came since:
    /// the socket has nothing until the next edge, so a drive for another reason (an
    /// exchange's news) does not read it again.
    socket_quiet: bool,
}

impl Conn {
    /// Wraps a socket accepted at `accepted` (a recent clock reading: it only stands until
    /// the connection is served or watched), with (empty) buffers from
    /// [`super::buffers::Buffers`]; `key` is its place in the loop's connection table.
    pub fn new(
        socket: Socket,
        listener: usize,
        peer: Peer,
        (rbuf, wbuf): (ReadBuf, RVec<u8>),
        accepted: Instant,
        key: usize,
    ) -> Self {
        Conn {
            socket,
            // Listeners are counted in ones and tens.
            listener: listener as u32,
            rbuf,
            wbuf,
            wpos: 0,
            close_after_write: false,
            linger: Linger::No,
            source: peer,
            peer,
            proxy_header_read: false,
            head_started: None,
            body_wait_since: None,
            body_complete_at: 0,
            idle_since: accepted,
            served: 0,
            key,
            exchange: None,
            socket_quiet: false,
        }
    }

    /// Closes the socket and hands back the buffers, for the next connection.
    pub fn into_buffers(self) -> (ReadBuf, RVec<u8>) {
        (self.rbuf, self.wbuf)
    }

    /// The socket's fd.
    pub fn fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }

    /// Since when the connection has been lingering (its answer out, its input read and
    /// discarded until the client closes or [`LINGER_FOR`] passes).
    pub fn lingering_since(&self) -> Option<Instant> {
        match self.linger {
            Linger::Since => Some(self.idle_since),
            _ => None,
        }
    }

    /// True when no request is in progress and nothing waits to be written.
    pub fn is_idle(&self) -> bool {
        self.rbuf.is_empty() && self.wpos >= self.wbuf.len() && self.exchange.is_none()
    }

    /// A readiness event came for the socket: bytes (or the end) may be waiting.
    pub fn socket_event(&mut self) {
        self.socket_quiet = false;
    }

    /// Does everything possible without blocking on the client. Called after a readiness
    /// event ([`Conn::socket_event`]), an accept, or an exchange's news.
    pub fn drive(&mut self, w: &mut WorkerState) -> Verdict {
        let mut drained = self.socket_quiet;
        loop {
            if self.exchange.is_some() {
                match self.pump(w) {
                    Pumped::Waiting => return Verdict::Open,
                    Pumped::Gone => return Verdict::Close,
                    Pumped::Ended => {}
                }
            }
            if self.wpos < self.wbuf.len() {
                match self.write_pending() {
                    Ok(true) => {}
                    Ok(false) => return Verdict::Open,
                    Err(_) => return Verdict::Close,
                }
            }
            if self.close_after_write {
                return match self.linger {
                    Linger::No => Verdict::Close,
                    _ => self.linger(),
                };
            }
            if !self.rbuf.is_empty() {
                if let Step::Served = self.serve_buffered(w) {
                    continue;
                }
            }
            let fd = self.fd();
            let spare = self.rbuf.spare(HEAD_CEILING);
            if spare.is_empty() {
                // A protocol that keeps answering Partial past the ceiling: refuse.
                self.answer_error(
                    w,
                    Version::Http11,
                    431,
                    "request head larger than the host's ceiling",
                );
                continue;
            }
            if drained {
                // The last read came up short: the socket is empty until the next edge.
                return Verdict::Open;
            }
            let room = spare.len();
            match blocking::read_some(fd, spare) {
                Ok(0) if self.body_complete_at > 0 => {
                    // The client ended its side in the middle of a small body the loop was
                    // gathering: an incomplete request, as when the app reads a larger one.
                    self.body_complete_at = 0;
                    self.body_wait_since = None;
                    self.answer_error(
                        w,
                        Version::Http11,
                        400,
                        "client closed the connection in the middle of the body",
                    );
                    continue;
                }
                Ok(0) => return Verdict::Close,
                Ok(n) => {
                    drained = n < room;
                    self.socket_quiet = drained;
                    self.rbuf.filled(n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    self.socket_quiet = true;
                    return Verdict::Open;
                }
                Err(_) => return Verdict::Close,
            }
        }
    }

    /// The answer is out: shuts down the write side (the client reads the answer and an
    /// end of file) and reads and discards what the client still sends, until it closes,
    /// [`LINGER_FOR`] passes (checked here and by the sweep) or it sends more than
    /// [`LINGER_DISCARDS_UP_TO`] at once. Then the socket closes with nothing unread: no
    /// reset.
    fn linger(&mut self) -> Verdict {
        if self.linger != Linger::Since {
            if self.socket.shutdown(std::net::Shutdown::Write).is_err() {
                return Verdict::Close;
            }
            self.linger = Linger::Since;
            self.idle_since = Instant::now();
            self.head_started = None;
            self.body_wait_since = None;
        }
        let fd = self.fd();
        self.rbuf.clear();
        let mut discarded = 0;
        loop {
            if discarded > LINGER_DISCARDS_UP_TO || self.idle_since.elapsed() > LINGER_FOR {
                return Verdict::Close;
            }
            match blocking::read_some(fd, self.rbuf.spare(HEAD_CEILING)) {
                Ok(0) => return Verdict::Close,
                Ok(n) => discarded += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Verdict::Open,
                Err(_) => return Verdict::Close,
            }
        }
    }

    /// A small body the loop was gathering stopped arriving for `--socket-timeout`: the
    /// request is answered 408 (as when the app waits for a larger one) and the
    /// connection closes, lingering. Returns what the loop should do with it now.
    pub fn time_out_body(&mut self, w: &mut WorkerState) -> Verdict {
        self.body_complete_at = 0;
        self.body_wait_since = None;
        self.answer_error(
            w,
            Version::Http11,
            408,
            "the request body did not arrive within --socket-timeout",
        );
        self.drive(w)
    }

    /// Writes queued bytes; Ok(true) when all went out.
    fn write_pending(&mut self) -> std::io::Result<bool> {
        while self.wpos < self.wbuf.len() {
            match blocking::write_some(self.fd(), &self.wbuf[self.wpos..], self.close_after_write) {
                Ok(n) => self.wpos += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(e),
            }
        }
        self.wbuf.clear();
        self.wpos = 0;
        Ok(true)
    }

    /// Queues an error answer (if the protocol has one) and closes after writing it.
    fn answer_error(&mut self, w: &WorkerState, version: Version, status: u16, why: &str) {
        tracing::warn!(
            "{}:{} bad request ({status}): {why}",
            self.source.addr(),
            self.source.port
        );
        let proto = w.listeners[self.listener as usize].proto;
        let queued_from = self.wbuf.len();
        (proto.encode_error())(version, status, &mut self.wbuf);
        let answered = self.wbuf.len() > queued_from;
        if answered {
            // The client may still be sending (the rest of a head too large to read, a
            // body over --limit-post): the answer must not be lost to a reset.
            self.linger = Linger::AfterWrite;
        }
        // In the request log only when an answer goes out (a protocol may just close).
        if let Some(log) = w.request_log.as_ref().filter(|_| answered) {
            let now_us = crate::scoreboard::now_us();
            log.record(&access_log::Entry::unparsed(
                self.source.addr(),
                status,
                now_us,
                w.id,
            ));
        }
        self.close_after_write = true;
        self.rbuf.consume(usize::MAX);
    }

    fn serve_buffered(&mut self, w: &mut WorkerState) -> Step {
        if !self.proxy_header_read {
            if w.listeners[self.listener as usize].proxy_protocol {
                return self.read_proxy_header();
            }
            self.proxy_header_read = true;
        }
        if self.rbuf.pending().len() < self.body_complete_at as usize {
            return Step::NeedMore;
        }
        self.body_complete_at = 0;
        let proto = w.listeners[self.listener as usize].proto;
        let outcome = (proto.parse())(
            RSlice::from_slice(self.rbuf.pending()),
            RSliceMut::from(&mut w.header_spans[..]),
            RSliceMut::from(&mut w.var_spans[..]),
        );
        match outcome.status {
            ParseStatus::Partial => {
                // The header timeout runs from the first bytes of a head that did not
                // arrive whole (a head that did costs no clock reading).
                self.head_started.get_or_insert_with(Instant::now);
                Step::NeedMore
            }
            ParseStatus::Invalid => {
                let e = outcome.error;
                if e.status == 0 {
                    tracing::warn!(
                        "{}:{} closing: {}",
                        self.source.addr(),
                        self.source.port,
                        e.reason
                    );
                    self.close_after_write = true;
                    self.rbuf.consume(usize::MAX);
                } else {
                    self.answer_error(w, Version::Http11, e.status, e.reason.as_str());
                }
                Step::Served
            }
            ParseStatus::Complete => {
                if self.awaits_small_body(w.limits.limit_post, &outcome.head) {
                    self.body_wait_since.get_or_insert_with(Instant::now);
                    // At most BUFFER_BODY_UP_TO past a head below HEAD_CEILING: fits a u32.
                    let body = outcome.head.body.length as u32;
                    self.body_complete_at = outcome.head.head_len + body;
                    return Step::NeedMore;
                }
                self.head_started = None;
                self.body_wait_since = None;
                self.serve(w, outcome.head);
                if !self.close_after_write {
                    self.idle_since = Instant::now();
                }
                Step::Served
            }
        }
    }

    /// Reads the PROXY protocol header a connection on a listener with
    /// `--enable-proxy-protocol` starts with, from the buffered bytes: consumed once whole,
    /// its source becomes the connection's client (a v2 LOCAL or a v1 UNKNOWN header names
    /// none: the socket's peer stands). While it is incomplete, more is read (a header is
    /// at most [`proxy_protocol::V2_MAX`] bytes, and the header timeout runs); one that
    /// cannot be valid closes the connection with a line naming the peer and why.
    fn read_proxy_header(&mut self) -> Step {
        match proxy_protocol::parse(self.rbuf.pending()) {
            Parsed::Partial if self.rbuf.pending().len() < proxy_protocol::V2_MAX => {
                tracing::debug!(
                    "{}:{} PROXY protocol header incomplete ({} bytes so far): reading on",
                    self.source.addr(),
                    self.source.port,
                    self.rbuf.pending().len()
                );
                self.head_started.get_or_insert_with(Instant::now);
                Step::NeedMore
            }
            Parsed::Partial => self.refuse_proxy_header("header longer than the protocol allows"),
            Parsed::Invalid(why) => self.refuse_proxy_header(why),
            Parsed::Done {
                consumed, source, ..
            } => {
                self.rbuf.consume(consumed);
                self.proxy_header_read = true;
                self.head_started = None;
                if let Some(source) = source {
                    let source = SocketAddr::new(source.ip().to_canonical(), source.port());
                    tracing::debug!(
                        "{}:{} PROXY protocol header: the client is {source}",
                        self.source.addr(),
                        self.source.port
                    );
                    self.source = Peer::new(Some(source));
                }
                self.peer = self.source;
                Step::Served
            }
        }
    }

    /// Closes a connection whose PROXY protocol header is invalid (lingering: the client
    /// reads an end of file, not a reset).
    fn refuse_proxy_header(&mut self, why: &str) -> Step {
        tracing::warn!(
            "{}:{} closing: invalid PROXY protocol header: {why}",
            self.source.addr(),
            self.source.port
        );
        self.close_after_write = true;
        self.linger = Linger::AfterWrite;
        self.rbuf.consume(usize::MAX);
        Step::Served
    }

    /// What a trusted proxy's `X-Forwarded-*` / `Forwarded` headers change in the request
    /// from this connection's client: `None` when it is not a trusted proxy (a Unix peer is
    /// one only for `*`), or the headers change nothing. Malformed values are ignored, each
    /// with a debug line.
    fn forwarded(&self, trusted: &TrustedProxies, headers: &[Header<'_>]) -> Option<Rewrite> {
        let from = match self.source.ip() {
            Some(ip) => SocketAddr::new(ip, self.source.port),
            None if trusted.trusts_everyone() => SocketAddr::from(([0, 0, 0, 0], 0)),
            None => return None,
        };
        if !trusted.contains(from.ip()) {
            return None;
        }
        let pairs = headers
            .iter()
            .map(|h| (h.name.as_slice(), h.value.as_slice()));
        let resolved = forwarded::resolve(from, trusted, pairs);
        for why in &resolved.ignored {
            tracing::debug!("{}:{} {why}", self.source.addr(), self.source.port);
        }
        let host = headers
            .iter()
            .find(|h| h.name.as_slice().eq_ignore_ascii_case(b"host"))
            .map(|h| h.value.as_slice());
        let rewrite = rewrite::rewrite(resolved, from, "http", host);
        (!rewrite.is_empty()).then_some(rewrite)
    }

    /// True while the body of the request `head` is small enough to be read before the app
    /// is called ([`BUFFER_BODY_UP_TO`]) and has not fully arrived. Not for a client that
    /// waits for `100 Continue` (the app's first read sends it), nor for a body that
    /// `--limit-post` refuses anyway.
    fn awaits_small_body(&self, limit_post: u64, head: &RequestHead) -> bool {
        let body = head.body;
        body.kind == BodyKind::Length
            && body.length <= BUFFER_BODY_UP_TO
            && !head.expect_continue
            && (limit_post == 0 || body.length <= limit_post)
            && (self.rbuf.pending().len() as u64) < head.head_len as u64 + body.length
    }

    /// Serves one parsed request: builds the view, calls the app, finishes the response.
    fn serve(&mut self, w: &mut WorkerState, head: RequestHead) {
        let shared = &*w.shared;
        shared.count_request(head.path.get(self.rbuf.pending()));
        let info = &shared.listeners[self.listener as usize];
        let proto = info.proto;
        if info.routes_modifier1 && head.modifier1 != 0 {
            tracing::warn!(
                "{}:{} uwsgi packet with modifier1 {} but no plugin serves it (only 0, WSGI); closing",
                self.source.addr(),
                self.source.port,
                head.modifier1
            );
            self.close_after_write = true;
            self.rbuf.consume(usize::MAX);
            return;
        }
        let limits = shared.limits;
        if limits.limit_post > 0
            && head.body.kind == BodyKind::Length
            && head.body.length > limits.limit_post
        {
            self.answer_error(
                w,
                head.version,
                413,
                "request body larger than --limit-post",
            );
            return;
        }
        self.served += 1;
        let per_conn = shared.limits.max_requests_per_connection;
        let keep_alive =
            head.keep_alive && !shared.stopping() && (per_conn == 0 || self.served < per_conn);
        let fd = self.fd();
        let pending = self.rbuf.pending();
        let (head_bytes, rest) = pending.split_at(head.head_len as usize);

        let mut headers = recycle(std::mem::take(&mut w.header_views));
        headers.extend(
            w.header_spans[..head.header_count as usize]
                .iter()
                .map(|s| Header {
                    name: RSlice::from_slice(s.name.get(head_bytes)),
                    value: RSlice::from_slice(s.value.get(head_bytes)),
                }),
        );
        let mut vars = recycle(std::mem::take(&mut w.var_views));
        vars.extend(
            w.var_spans[..head.var_count as usize]
                .iter()
                .map(|s| Header {
                    name: RSlice::from_slice(s.name.get(head_bytes)),
                    value: RSlice::from_slice(s.value.get(head_bytes)),
                }),
        );
        // What a trusted proxy's headers say, looked at only when such a header is there:
        // no allocation otherwise.
        let proxied = if info.reads_forwarded
            && forwarded::any_forwarding_header(headers.iter().map(|h| h.name.as_slice()))
        {
            self.forwarded(&shared.trusted_proxies, &headers)
        } else {
            None
        };
        self.peer = self.source;
        if let Some(proxied) = &proxied {
            match &proxied.client {
                Some(Client::Addr { ip, port }) => {
                    self.peer = Peer::new(Some(SocketAddr::new(*ip, port.unwrap_or(0))));
                }
                Some(Client::Hidden(name)) => match Peer::named(name) {
                    Some(named) => self.peer = named,
                    None => tracing::debug!(
                        "{}:{} forwarded client identifier ignored: longer than an address",
                        self.source.addr(),
                        self.source.port
                    ),
                },
                None => {}
            }
            if let Some(host) = &proxied.host {
                set_host(&mut headers, host.as_bytes());
            }
        }
        let method = head.method.get(head_bytes);
        let request = Request {
            method: RSlice::from_slice(method),
            uri: RSlice::from_slice(head.uri.get(head_bytes)),
            path: RSlice::from_slice(head.path.get(head_bytes)),
            query: RSlice::from_slice(head.query.get(head_bytes)),
            protocol: RStr::from_str(head.version.as_str()),
            scheme: RStr::from_str(proxied.as_ref().and_then(|p| p.scheme).unwrap_or("http")),
            headers: RSlice::from_slice(&headers),
            names: if head.names == NameStyle::Cgi {
                NameStyle::Cgi
            } else {
                NameStyle::Http
            },
            vars: RSlice::from_slice(&vars),
            remote_addr: RStr::from_str(self.peer.addr()),
            remote_port: self.peer.port,
            server_name: RStr::from_str(
                proxied
                    .as_ref()
                    .and_then(Rewrite::server_name)
                    .unwrap_or(&info.server_name),
            ),
            server_port: proxied
                .as_ref()
                .and_then(|p| p.server_port)
                .unwrap_or(info.server_port),
            content_length: match head.body.kind {
                BodyKind::Chunked => abi_stable::std_types::RNone,
                _ => abi_stable::std_types::RSome(head.body.length),
            },
            worker_id: shared.id,
        };
        let route = shared.static_map.route(method, request.path.as_slice());
        if let (Some(call), Lookup::App) = (shared.call, &route) {
            let started_us = shared
                .cell
                .request_started(method, head.uri.get(head_bytes));
            let start = exchange::Start {
                shared,
                head: &head,
                rest,
                date: w.date.at(started_us),
                notifier: &w.notifier,
                key: self.key,
                keep_alive,
                proto,
                started_us,
            };
            let (pending, fed) = Pending::call(call, &request, start);
            self.exchange = Some(pending);
            let consumed = head.head_len as usize + fed;
            w.header_views = restore(headers);
            w.var_views = restore(vars);
            self.rbuf.consume(consumed);
            return;
        }
        let mut body = Body::new(
            fd,
            proto,
            head.body,
            rest,
            head.expect_continue,
            head.version,
            limits.socket_timeout,
            limits.limit_post,
        );
        let started_us = shared
            .cell
            .request_started(method, head.uri.get(head_bytes));
        let queued_from = self.wbuf.len();
        let mut reply = Reply::new(
            fd,
            proto,
            &mut self.wbuf,
            head.version,
            keep_alive,
            method == b"HEAD",
            w.date.at(started_us),
            limits.socket_timeout,
            &shared.add_headers,
        );
        let result = match &route {
            Lookup::App => {
                let mut reader = body.reader();
                let mut responder = reply.responder();
                (shared.app.handle())(&request, &mut reader, &mut responder).into_result()
            }
            Lookup::File(path) => {
                static_files::serve(path, &shared.static_map, &request, &mut reply.responder())
            }
            Lookup::Refused(why) => static_files::refuse(&request, why, &mut reply.responder()),
        };
        let mut keep = match (&result, reply.started()) {
            (Ok(()), true) => reply.finish(),
            (Ok(()), false) => {
                let status = body.refusal().unwrap_or(500);
                tracing::error!(
                    "{} {}: the app returned without starting a response; answering {status}",
                    String::from_utf8_lossy(method),
                    String::from_utf8_lossy(head.uri.get(head_bytes))
                );
                reply.fail(status, queued_from);
                false
            }
            (Err(e), _) => {
                if e.kind == ErrorKind::Panic {
                    // The SDK's guard names plugin, hook, message and place.
                    tracing::error!("{}", e.message);
                }
                // A body the client got wrong (malformed chunked, over --limit-post) is
                // the client's fault: 400/413, not the app's 500.
                reply.fail(body.refusal().unwrap_or(500), queued_from);
                false
            }
        };
        shared
            .cell
            .request_finished(reply.body_sent(), result.is_err(), shared.resting());
        if let Some(log) = &shared.request_log {
            log.record(&access_log::Entry {
                peer: self.peer.addr(),
                vars: &vars,
                headers: &headers,
                names: request.names,
                method,
                uri: head.uri.get(head_bytes),
                protocol: head.version.as_str(),
                status: reply.status(),
                bytes: reply.body_sent(),
                started_us,
                now_us: crate::scoreboard::now_us(),
                worker: shared.id,
            });
        }
        // Drain what the app left unread even when closing: closing a socket with unread
        // input sends a reset, which can destroy the response before the client reads it
        // (nginx reports "writev() failed (104)" and answers 502).
        let drained = body.drain();
        keep = keep && drained;
        let consumed = head.head_len as usize + body.used();
        let leftover = body.leftover().to_vec();
        drop(body);
        w.header_views = restore(headers);
        w.var_views = restore(vars);
        self.rbuf.consume(consumed);
        self.rbuf.push(&leftover);
        if !keep {
            self.close_after_write = true;
            if !drained {
                // Body bytes may still be on their way (a malformed or unread body).
                self.linger = Linger::AfterWrite;
            }
        }
    }
}

/// Sets the request's `Host` header to `value` (a forwarded host), adding it when the
/// request had none.
fn set_host<'a>(headers: &mut Vec<Header<'a>>, value: &'a [u8]) {
    match headers
        .iter_mut()
        .find(|h| h.name.as_slice().eq_ignore_ascii_case(b"host"))
    {
        Some(h) => h.value = RSlice::from_slice(value),
        None => headers.push(Header {
            name: RSlice::from_slice(b"Host"),
            value: RSlice::from_slice(value),
        }),
    }
}
