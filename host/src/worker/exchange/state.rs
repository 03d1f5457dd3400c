//! One exchange's state, shared by the app's threads (through the `rsgi.exchange` table)
//! and the connection on the loop (which moves bytes between it and the socket).
//!
//! Everything sits behind one mutex: the app's calls queue response bytes and take body
//! bytes; the loop takes the response bytes, brings body bytes, and wakes the app. Every
//! change the loop must act on notifies it ([`super::Notifier`]).

use std::collections::VecDeque;
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::{Arc, Mutex, MutexGuard};

use abi_stable::std_types::{RSlice, RStr, RVec};
use rsgi_plugin_api::exchange::{Readiness, Waker};
use rsgi_plugin_api::protocol::{ResponseBody, ResponseContext, ResponseFraming, Version};
use rsgi_plugin_api::{Header, ProtocolModRef, SendError};

use super::duplex::{Duplex, Tick};
use super::Notifier;
use crate::upgrade::handshake::Upgradable;

pub use super::marks::{HIGH_WATER, INPUT_AHEAD, LOW_WATER};

/// What the response needs from the request, fixed when the exchange starts.
pub struct ResponseSetup {
    /// The protocol that encodes the head and frames the body.
    pub proto: ProtocolModRef,
    /// The request's version.
    pub version: Version,
    /// The client and the worker allow keeping the connection open.
    pub keep_alive: bool,
    /// A `HEAD` request: no body goes out.
    pub head_request: bool,
    /// The `Date` value when the request started.
    pub date: String,
    /// `--add-header` headers.
    pub added: Arc<Vec<(Vec<u8>, Vec<u8>)>>,
}

/// The state behind one exchange handle.
pub struct ExchangeState {
    inner: Mutex<Inner>,
    setup: ResponseSetup,
    notifier: Arc<Notifier>,
    /// The connection's key in the loop's table.
    key: usize,
    /// The upgrade the request asks for, when a codec accepts its handshake.
    upgradable: Option<Box<Upgradable>>,
}

/// The mutable part.
#[derive(Default)]
pub struct Inner {
    /// The framing chosen for the head, once started.
    pub framing: Option<ResponseFraming>,
    /// The status sent (0 before the head).
    pub status: u16,
    /// Response bytes the loop has not taken yet.
    pub out: RVec<u8>,
    /// Files queued by `sendfile`, each at its place in the stream of `out`'s bytes.
    pub files: VecDeque<QueuedFile>,
    /// Bytes of `out` the loop took so far (where the files' places count from).
    pub taken: u64,
    /// Body bytes the app wrote.
    pub body_sent: u64,
    /// Bytes the loop took and has not written yet.
    pub unsent: usize,
    /// A write answered `Full`: wake `WRITABLE` below [`LOW_WATER`].
    pub told_full: bool,
    /// The app ended the response with `finish`.
    pub finished: bool,
    /// The app gave up (`abort`, or a dropped handle): why.
    pub aborted: Option<String>,
    /// The handle was released (`finish` or `abort`).
    pub released: bool,
    /// Decoded body bytes not yet read by the app.
    pub input: Vec<u8>,
    /// How many of `input` the app read.
    pub input_pos: usize,
    /// The body ended (all of it is in `input`).
    pub input_ended: bool,
    /// A read answered `WouldBlock`: wake `READABLE` when bytes arrive.
    pub wants_input: bool,
    /// The status the body's failure calls for (400 malformed, 413 too large), or 0.
    pub body_refusal: u16,
    /// The client asked for `100 Continue` and has not had it.
    pub continue_pending: bool,
    /// The client went away.
    pub gone: bool,
    /// The app's waker, once set.
    pub waker: Option<OwnedWaker>,
    /// Events that happened with no waker set, told to the next one.
    pub missed: u32,
    /// The loop was notified and has not looked yet.
    pub notified: bool,
    /// Once the app accepted an upgrade: the message stream.
    pub duplex: Option<Box<Duplex>>,
}

/// A file to send zero-copy, at byte `at` of the response's stream (counted as `taken`
/// counts).
pub struct QueuedFile {
    /// Where in the stream it goes.
    pub at: u64,
    /// The host's own duplicate of the app's fd.
    pub fd: OwnedFd,
    /// Where to read from.
    pub offset: u64,
    /// How many bytes are left to send.
    pub len: u64,
}

/// The app's waker, released (its `drop`) when replaced or when the exchange ends.
pub struct OwnedWaker(Waker);

impl Drop for OwnedWaker {
    fn drop(&mut self) {
        (self.0.drop)(self.0.data);
    }
}

impl Inner {
    /// Tells the app's waker about `events` (the caller holds the lock: the waker's
    /// contract forbids calling back into the exchange on this thread).
    pub fn wake(&mut self, events: Readiness) {
        match &self.waker {
            Some(OwnedWaker(w)) => (w.wake)(w.data, events),
            None => self.missed |= events.0,
        }
    }

    /// `send_message` on an upgraded exchange.
    fn send_message(
        &mut self,
        kind: rsgi_plugin_api::upgrade::MessageKind,
        data: &[u8],
    ) -> rsgi_plugin_api::exchange::WriteStatus {
        use rsgi_plugin_api::exchange::WriteStatus;
        if self.gone {
            return WriteStatus::Gone;
        }
        if self.released {
            return WriteStatus::Misuse;
        }
        let Some(d) = self.duplex.as_mut() else {
            return WriteStatus::Misuse;
        };
        if !d.send(kind, data, &mut self.out) {
            return WriteStatus::Misuse;
        }
        self.body_sent += data.len() as u64;
        if self.outgoing() > HIGH_WATER {
            self.told_full = true;
            WriteStatus::Full
        } else {
            WriteStatus::Queued
        }
    }

    /// `close` on an upgraded exchange.
    fn close_stream(&mut self, code: u16, reason: &str) -> rsgi_plugin_api::exchange::WriteStatus {
        use rsgi_plugin_api::exchange::WriteStatus;
        if self.gone {
            return WriteStatus::Gone;
        }
        let closed = match self.duplex.as_mut() {
            Some(d) => d.close(code, reason, &mut self.out),
            None => false,
        };
        if closed {
            WriteStatus::Queued
        } else {
            WriteStatus::Misuse
        }
    }

    /// The handle of an upgraded exchange was released: our close (`code`) if the session
    /// is open.
    fn release_stream(&mut self, code: u16) {
        if let Some(d) = self.duplex.as_mut() {
            d.release(code, &mut self.out);
        }
    }

    /// The loop feeds the peer's bytes to an upgraded exchange (the app is woken when a
    /// message it waits for arrived); returns the bytes consumed.
    pub fn feed_stream(&mut self, input: &[u8], peer: &str) -> usize {
        let Some(d) = self.duplex.as_mut() else {
            return 0;
        };
        let (consumed, wake) = d.feed(input, &mut self.out, peer);
        if wake {
            self.wake(Readiness::READABLE);
        }
        consumed
    }

    /// The loop's clock on an upgraded exchange.
    pub fn tick_stream(&mut self, now: std::time::Instant, stopping: bool, peer: &str) -> Tick {
        match self.duplex.as_mut() {
            Some(d) => d.tick(now, stopping, peer, &mut self.out),
            None => Tick::Nothing,
        }
    }

    /// Outgoing bytes not yet on the wire (queued files' included).
    pub fn outgoing(&self) -> usize {
        let files: u64 = self.files.iter().map(|f| f.len).sum();
        self.out.len() + self.unsent + files as usize
    }
}

impl ExchangeState {
    /// A new exchange on connection `key`, whose body starts with `continue_pending` when
    /// the client waits for `100 Continue`, and has already ended when `body_ended`.
    pub fn new(
        setup: ResponseSetup,
        notifier: Arc<Notifier>,
        key: usize,
        continue_pending: bool,
        body_ended: bool,
        upgradable: Option<Box<Upgradable>>,
    ) -> Arc<ExchangeState> {
        Arc::new(ExchangeState {
            inner: Mutex::new(Inner {
                continue_pending,
                input_ended: body_ended,
                ..Inner::default()
            }),
            setup,
            notifier,
            key,
            upgradable,
        })
    }

    /// The locked state. A panic while holding it (a waker's, say) leaves data that is
    /// still consistent field by field: the poison is ignored.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Asks the loop to look at this exchange's connection (once until it does).
    pub fn notify(&self, inner: &mut Inner) {
        if !inner.notified {
            inner.notified = true;
            self.notifier.notify(self.key);
        }
    }

    /// `start`: encodes the head into the outgoing bytes.
    pub fn start(
        &self,
        status: u16,
        reason: &str,
        headers: &[Header<'_>],
    ) -> Result<(), SendError> {
        let mut inner = self.lock();
        self.start_locked(&mut inner, status, reason, headers)
    }

    /// `start` with the lock held (the upgrade sends its `101` and becomes duplex in one
    /// critical section).
    fn start_locked(
        &self,
        inner: &mut Inner,
        status: u16,
        reason: &str,
        headers: &[Header<'_>],
    ) -> Result<(), SendError> {
        if inner.gone {
            return Err(SendError::Disconnected);
        }
        if inner.framing.is_some() || inner.released {
            return Err(SendError::Misuse);
        }
        let s = &self.setup;
        let ctx = ResponseContext {
            version: s.version,
            keep_alive: s.keep_alive,
            head_request: s.head_request,
            date: RStr::from_str(&s.date),
            server: RStr::from_str("rsgi"),
        };
        let with_added: Vec<Header<'_>>;
        let headers = if s.added.is_empty() {
            headers
        } else {
            with_added = headers
                .iter()
                .cloned()
                .chain(s.added.iter().map(|(name, value)| Header {
                    name: RSlice::from_slice(name),
                    value: RSlice::from_slice(value),
                }))
                .collect();
            &with_added
        };
        let mark = inner.out.len();
        // Room for the whole head (and a small body after it) at once: the encoder's
        // appends would otherwise grow the buffer step by step, a reallocation each.
        let estimate: usize = 256
            + s.date.len()
            + headers
                .iter()
                .map(|h| h.name.len() + h.value.len() + 4)
                .sum::<usize>();
        inner.out.reserve(estimate);
        let encoded = (s.proto.encode_head())(
            &ctx,
            status,
            RStr::from_str(reason),
            RSlice::from_slice(headers),
            &mut inner.out,
        );
        match encoded.into_result() {
            Ok(framing) => {
                inner.framing = Some(framing);
                inner.status = status;
                // A client still waiting for 100 Continue gets the answer instead.
                inner.continue_pending = false;
                self.notify(inner);
                Ok(())
            }
            Err(e) => {
                inner.out.truncate(mark);
                tracing::error!("invalid response head from the app: {}", e.reason);
                Err(SendError::InvalidHead)
            }
        }
    }

    /// `write`: frames and queues body bytes.
    pub fn write(&self, data: &[u8]) -> rsgi_plugin_api::exchange::WriteStatus {
        use rsgi_plugin_api::exchange::WriteStatus;
        let mut inner = self.lock();
        if inner.gone {
            return WriteStatus::Gone;
        }
        let Some(framing) = inner.framing.filter(|_| !inner.released) else {
            return WriteStatus::Misuse;
        };
        if framing.body == ResponseBody::Length
            && inner.body_sent + data.len() as u64 > framing.length
        {
            return WriteStatus::Misuse;
        }
        inner.body_sent += data.len() as u64;
        if framing.body != ResponseBody::None && !data.is_empty() {
            let proto = self.setup.proto;
            (proto.body_prefix())(&framing, data.len() as u64, &mut inner.out);
            inner.out.extend_from_copy_slice(data);
            (proto.body_suffix())(&framing, &mut inner.out);
            self.notify(&mut inner);
        }
        if inner.outgoing() > HIGH_WATER {
            inner.told_full = true;
            WriteStatus::Full
        } else {
            WriteStatus::Queued
        }
    }

    /// `sendfile`: queues a duplicate of `fd` at the current end of the outgoing bytes.
    pub fn sendfile(
        &self,
        fd: i32,
        offset: u64,
        len: u64,
    ) -> rsgi_plugin_api::exchange::WriteStatus {
        use rsgi_plugin_api::exchange::WriteStatus;
        let mut inner = self.lock();
        if inner.gone {
            return WriteStatus::Gone;
        }
        let Some(framing) = inner.framing.filter(|_| !inner.released) else {
            return WriteStatus::Misuse;
        };
        if framing.body == ResponseBody::Length && inner.body_sent + len > framing.length {
            return WriteStatus::Misuse;
        }
        inner.body_sent += len;
        if framing.body != ResponseBody::None && len > 0 {
            // SAFETY: dup(2) of an fd the caller vouches for; a failure is -1, checked.
            let copy = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
            if copy < 0 {
                tracing::error!(
                    "sendfile from the app: cannot duplicate fd {fd}: {}",
                    std::io::Error::last_os_error()
                );
                return WriteStatus::Misuse;
            }
            let proto = self.setup.proto;
            (proto.body_prefix())(&framing, len, &mut inner.out);
            let at = inner.taken + inner.out.len() as u64;
            inner.files.push_back(QueuedFile {
                at,
                // SAFETY: a new fd, owned by nothing else.
                fd: unsafe { OwnedFd::from_raw_fd(copy) },
                offset,
                len,
            });
            (proto.body_suffix())(&framing, &mut inner.out);
            self.notify(&mut inner);
        }
        if inner.outgoing() > HIGH_WATER {
            inner.told_full = true;
            WriteStatus::Full
        } else {
            WriteStatus::Queued
        }
    }

    /// `read`: copies decoded body bytes.
    pub fn read(&self, buf: &mut [u8]) -> rsgi_plugin_api::exchange::ReadResult {
        use rsgi_plugin_api::exchange::{ReadResult, ReadStatus};
        let answer = |status, len| ReadResult { status, len };
        let mut inner = self.lock();
        let available = inner.input.len() - inner.input_pos;
        if available > 0 && !buf.is_empty() {
            let n = available.min(buf.len());
            let from = inner.input_pos;
            buf[..n].copy_from_slice(&inner.input[from..from + n]);
            inner.input_pos += n;
            if inner.input_pos == inner.input.len() {
                inner.input.clear();
                inner.input_pos = 0;
                // Room again: the loop reads the socket on.
                self.notify(&mut inner);
            }
            return answer(ReadStatus::Data, n);
        }
        if inner.body_refusal != 0 {
            return answer(ReadStatus::Malformed, 0);
        }
        if inner.input_ended {
            return answer(ReadStatus::End, 0);
        }
        if inner.gone {
            return answer(ReadStatus::Gone, 0);
        }
        inner.wants_input = true;
        if inner.continue_pending && inner.framing.is_none() {
            inner.continue_pending = false;
            let _ = (self.setup.proto.encode_continue())(self.setup.version, &mut inner.out);
        }
        self.notify(&mut inner);
        answer(ReadStatus::WouldBlock, 0)
    }

    /// `set_waker`: replaces the waker, telling it what it missed.
    pub fn set_waker(&self, waker: Waker) {
        let mut inner = self.lock();
        // The old one (if any) is released here.
        inner.waker = Some(OwnedWaker(waker));
        let missed = std::mem::take(&mut inner.missed);
        if missed != 0 {
            inner.wake(Readiness(missed));
        }
    }

    /// `finish`: the end of the body; the handle is released.
    pub fn finish(&self) {
        let mut inner = self.lock();
        if inner.released {
            return;
        }
        inner.released = true;
        inner.finished = true;
        if inner.duplex.is_some() {
            inner.release_stream(1000);
        } else if let Some(framing) = inner.framing {
            (self.setup.proto.body_end())(&framing, &mut inner.out);
        }
        self.notify(&mut inner);
    }

    /// `abort`: the app gave up; the handle is released.
    pub fn abort(&self, reason: &str) {
        let mut inner = self.lock();
        if inner.released {
            return;
        }
        inner.released = true;
        inner.aborted = Some(reason.to_owned());
        inner.release_stream(1011);
        self.notify(&mut inner);
    }

    /// `upgrade_offered`: the token and the subprotocols, when the request is upgradable.
    pub fn upgrade_offered(&self) -> Option<(&str, &[String])> {
        self.upgradable
            .as_ref()
            .map(|u| (u.codec.table.token.as_str(), &u.subprotocols[..]))
    }

    /// `upgrade`: the `101` goes out and the exchange becomes a message stream.
    pub fn upgrade(&self, subprotocol: &str, headers: &[Header<'_>]) -> Result<(), SendError> {
        let Some(upgradable) = &self.upgradable else {
            return Err(SendError::Misuse);
        };
        let inner = self.lock();
        if inner.gone {
            return Err(SendError::Disconnected);
        }
        if inner.framing.is_some() || inner.released || inner.duplex.is_some() {
            return Err(SendError::Misuse);
        }
        let Some((response, session)) = upgradable.accept(subprotocol, headers) else {
            return Err(SendError::Misuse);
        };
        let views: Vec<Header<'_>> = response
            .iter()
            .map(|h| Header {
                name: RSlice::from_slice(h.name.as_bytes()),
                value: RSlice::from_slice(h.value.as_bytes()),
            })
            .collect();
        // The 101 and the switch to messages in one critical section: the loop, notified
        // by the start, must not see the head without the session (a frame it read in
        // between would wait for the next notification).
        let mut inner = inner;
        let stream = Duplex::new(upgradable.codec, session);
        self.start_locked(&mut inner, 101, "", &views)?;
        inner.duplex = Some(Box::new(stream));
        self.notify(&mut inner);
        Ok(())
    }

    /// `recv`: the next message of an upgraded exchange.
    pub fn recv(&self, data: &mut RVec<u8>) -> rsgi_plugin_api::exchange::Received {
        let mut inner = self.lock();
        let gone = inner.gone;
        let received = match inner.duplex.as_mut() {
            Some(d) => d.recv(gone, data),
            None => rsgi_plugin_api::exchange::Received {
                status: rsgi_plugin_api::exchange::RecvStatus::Misuse,
                kind: rsgi_plugin_api::upgrade::MessageKind::Binary,
                code: 0,
            },
        };
        if received.status == rsgi_plugin_api::exchange::RecvStatus::Message {
            // Room again, perhaps: the loop reads the socket on.
            self.notify(&mut inner);
        }
        received
    }

    /// `send_message`: a message on an upgraded exchange.
    pub fn send_message(
        &self,
        kind: rsgi_plugin_api::upgrade::MessageKind,
        data: &[u8],
    ) -> rsgi_plugin_api::exchange::WriteStatus {
        let mut inner = self.lock();
        let status = inner.send_message(kind, data);
        self.notify(&mut inner);
        status
    }

    /// `close`: the close handshake of an upgraded exchange.
    pub fn close(&self, code: u16, reason: &str) -> rsgi_plugin_api::exchange::WriteStatus {
        let mut inner = self.lock();
        let status = inner.close_stream(code, reason);
        self.notify(&mut inner);
        status
    }

    /// The response's protocol.
    pub fn proto(&self) -> ProtocolModRef {
        self.setup.proto
    }

    /// The request's version.
    pub fn version(&self) -> Version {
        self.setup.version
    }
}
