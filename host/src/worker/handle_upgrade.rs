//! The extension `rsgi.handle_upgrade` v1: a request served through `handle` (a WSGI app
//! calling `uwsgi.websocket_handshake()`) upgraded on its own thread, as a blocking
//! message stream over the connection's socket.
//!
//! The thread that runs `handle` owns the connection meanwhile: `recv` waits on the socket
//! (`poll(2)`), feeding what arrives to the codec, answering pings, sending the codec's
//! pings on its interval and giving up on a peer whose pong is overdue; `send` writes
//! until the socket took the message, within the socket timeout. When `handle` returns the
//! connection closes (the `101`'s framing says it does not go on as HTTP).

use std::ffi::c_void;
use std::os::fd::RawFd;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use abi_stable::std_types::{RErr, ROk, RResult, RSlice, RStr, RString, RVec};
use rsgi_plugin_api::exchange::{Received, RecvStatus, WriteStatus};
use rsgi_plugin_api::handle_upgrade::{HandleUpgradeV1, Stream};
use rsgi_plugin_api::sdk::extensions::offer;
use rsgi_plugin_api::upgrade::{EncodeStatus, FedEvent, MessageKind, Session, SessionState};
use rsgi_plugin_api::{Extension, Header, Request, Responder, SendError};

use super::blocking;
use super::reply;
use crate::upgrade::codecs::{self, Codec};
use crate::upgrade::handshake::Upgradable;

/// The table the host offers.
static HANDLE_UPGRADE_V1: HandleUpgradeV1 = HandleUpgradeV1 {
    offered,
    upgrade,
    recv,
    send,
    close,
    free,
};

/// The extension `rsgi.handle_upgrade` v1, as the host offers it.
pub fn offered_v1() -> Extension {
    offer(&HANDLE_UPGRADE_V1)
}

/// One upgraded connection, driven by the thread running `handle`.
struct Blocking {
    fd: RawFd,
    timeout: Duration,
    codec: Codec,
    session: Session,
    /// Bytes read and not yet fed to the codec.
    input: Vec<u8>,
    /// Frames to write (the codec's own, then ours).
    out: RVec<u8>,
    /// The peer's close (or the protocol error that ended the session).
    closed: Option<(u16, Vec<u8>)>,
    /// The connection failed.
    gone: bool,
    last_ping: Instant,
    pong_due: bool,
}

impl Blocking {
    /// Writes what is queued, within the socket timeout; false when the connection failed.
    fn flush(&mut self) -> bool {
        if self.out.is_empty() || self.gone {
            return !self.gone;
        }
        let written = blocking::write_all_blocking(self.fd, &self.out, self.timeout);
        self.out.clear();
        if written.is_err() {
            self.gone = true;
        }
        !self.gone
    }

    /// Feeds buffered input to the codec until an event the caller wants (a message or the
    /// close) or the input runs out.
    fn feed(&mut self, data: &mut RVec<u8>) -> Option<Received> {
        let table = self.codec.table;
        while !self.input.is_empty() && self.closed.is_none() {
            let fed = (table.feed)(self.session, RSlice::from_slice(&self.input), data);
            self.input.drain(..fed.consumed.min(self.input.len()));
            (table.take_output)(self.session, &mut self.out);
            match fed.event {
                FedEvent::Nothing => break,
                FedEvent::Ping => {}
                FedEvent::Pong => self.pong_due = false,
                FedEvent::Message => {
                    return Some(received(RecvStatus::Message, fed.kind, 0));
                }
                FedEvent::Close | FedEvent::Error => {
                    if fed.event == FedEvent::Error {
                        tracing::warn!(
                            "{} protocol error, closing with {}: {}",
                            table.token.as_str(),
                            fed.code,
                            String::from_utf8_lossy(data)
                        );
                    }
                    self.closed = Some((fed.code, data.to_vec()));
                }
            }
        }
        self.closed.as_ref().map(|(code, reason)| {
            data.clear();
            data.extend_from_copy_slice(reason);
            received(RecvStatus::Closed, MessageKind::Binary, *code)
        })
    }

    fn recv(&mut self, data: &mut RVec<u8>, timeout: Duration) -> Received {
        let deadline = Instant::now() + timeout;
        let settings = self.codec.settings;
        let interval = Duration::from_millis(settings.ping_interval_ms);
        let pong_timeout = Duration::from_millis(settings.pong_timeout_ms);
        loop {
            let event = self.feed(data);
            if !self.flush() {
                return received(RecvStatus::Gone, MessageKind::Binary, 1006);
            }
            if let Some(event) = event {
                return event;
            }
            if self.gone {
                return received(RecvStatus::Gone, MessageKind::Binary, 1006);
            }
            let now = Instant::now();
            if self.pong_due && !pong_timeout.is_zero() && now >= self.last_ping + pong_timeout {
                tracing::warn!(
                    "no pong within {pong_timeout:?} of a ping (--websocket-ping-timeout); closing with 1011"
                );
                let reason = RStr::from_str("keepalive ping timeout");
                let _ = (self.codec.table.close)(self.session, 1011, reason, &mut self.out);
                self.flush();
                self.gone = true;
                return received(RecvStatus::Gone, MessageKind::Binary, 1006);
            }
            if !self.pong_due && !interval.is_zero() && now >= self.last_ping + interval {
                let ping =
                    (self.codec.table.ping)(self.session, RSlice::from_slice(b""), &mut self.out);
                if ping == EncodeStatus::Done {
                    self.last_ping = now;
                    self.pong_due = true;
                }
                continue;
            }
            // Wait for input, the deadline, or the next clock event.
            let mut until = deadline;
            if self.pong_due && !pong_timeout.is_zero() {
                until = until.min(self.last_ping + pong_timeout);
            } else if !interval.is_zero() {
                until = until.min(self.last_ping + interval);
            }
            match self.read(until) {
                Ok(true) => {}
                Ok(false) if Instant::now() >= deadline => {
                    return received(RecvStatus::WouldBlock, MessageKind::Binary, 0)
                }
                Ok(false) => {}
                Err(()) => {
                    self.gone = true;
                    return received(RecvStatus::Gone, MessageKind::Binary, 1006);
                }
            }
        }
    }

    /// Reads what the socket has, waiting until `until` at most: Ok(true) when bytes came,
    /// Ok(false) when none did, Err when the connection ended.
    fn read(&mut self, until: Instant) -> Result<bool, ()> {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match blocking::read_some(self.fd, &mut buf) {
                Ok(0) => return Err(()),
                Ok(n) => {
                    self.input.extend_from_slice(&buf[..n]);
                    return Ok(true);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => return Err(()),
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            let mut pfd = libc::pollfd {
                fd: self.fd,
                events: libc::POLLIN,
                revents: 0,
            };
            let ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
            // SAFETY: one valid pollfd for the duration of the call.
            if unsafe { libc::poll(&mut pfd, 1, ms) } == 0 {
                return Ok(false);
            }
        }
    }
}

impl Drop for Blocking {
    fn drop(&mut self) {
        if !self.gone && (self.codec.table.state)(self.session) == SessionState::Open {
            let _ = (self.codec.table.close)(self.session, 1000, RStr::from_str(""), &mut self.out);
            self.flush();
        }
        (self.codec.table.free)(self.session);
    }
}

fn received(status: RecvStatus, kind: MessageKind, code: u16) -> Received {
    Received { status, kind, code }
}

/// The stream behind a handle.
fn stream<'a>(s: Stream) -> &'a mut Blocking {
    // SAFETY: `s` came from `upgrade` and is used by the thread running `handle` until
    // `free` (the extension's contract).
    unsafe { &mut *s.0.cast::<Blocking>() }
}

extern "C" fn offered(
    request: &Request<'_>,
    token: &mut RString,
    subprotocols: &mut RVec<RString>,
) -> bool {
    catch_unwind(AssertUnwindSafe(|| {
        let Some(codec) = codecs::asked(request) else {
            return false;
        };
        let Ok(up) = Upgradable::check(codec, request.headers.as_slice()) else {
            return false;
        };
        *token = RString::from(codec.table.token.as_str());
        subprotocols.extend(up.subprotocols.iter().map(|p| RString::from(p.as_str())));
        true
    }))
    .unwrap_or(false)
}

extern "C" fn upgrade(
    request: &Request<'_>,
    responder: &mut Responder<'_>,
    subprotocol: RStr<'_>,
    headers: RSlice<'_, Header<'_>>,
) -> RResult<Stream, SendError> {
    catch_unwind(AssertUnwindSafe(|| {
        let Some((fd, timeout)) = reply::socket_of(responder) else {
            return RErr(SendError::Misuse);
        };
        let Some(codec) = codecs::asked(request) else {
            return RErr(SendError::Misuse);
        };
        let Ok(up) = Upgradable::check(codec, request.headers.as_slice()) else {
            return RErr(SendError::Misuse);
        };
        let Some((response, session)) = up.accept(subprotocol.as_str(), headers.as_slice()) else {
            return RErr(SendError::Misuse);
        };
        let views: Vec<Header<'_>> = response
            .iter()
            .map(|h| Header {
                name: RSlice::from_slice(h.name.as_bytes()),
                value: RSlice::from_slice(h.value.as_bytes()),
            })
            .collect();
        let stream = Blocking {
            fd,
            timeout,
            codec,
            session,
            input: Vec::new(),
            out: RVec::new(),
            closed: None,
            gone: false,
            last_ping: Instant::now(),
            pong_due: false,
        };
        let sent = responder
            .start(101, "", &views)
            .and_then(|()| responder.flush());
        if let Err(e) = sent {
            drop(stream);
            return RErr(e);
        }
        ROk(Stream(Box::into_raw(Box::new(stream)).cast::<c_void>()))
    }))
    .unwrap_or(RErr(SendError::Misuse))
}

extern "C" fn recv(s: Stream, data: &mut RVec<u8>, timeout_ms: u64) -> Received {
    catch_unwind(AssertUnwindSafe(|| {
        data.clear();
        stream(s).recv(data, Duration::from_millis(timeout_ms))
    }))
    .unwrap_or(received(RecvStatus::Gone, MessageKind::Binary, 1006))
}

extern "C" fn send(s: Stream, kind: MessageKind, data: RSlice<'_, u8>) -> WriteStatus {
    catch_unwind(AssertUnwindSafe(|| {
        let st = stream(s);
        if st.gone {
            return WriteStatus::Gone;
        }
        let encoded = (st.codec.table.encode)(st.session, kind, data, &mut st.out);
        if encoded != EncodeStatus::Done {
            return WriteStatus::Misuse;
        }
        match st.flush() {
            true => WriteStatus::Queued,
            false => WriteStatus::Gone,
        }
    }))
    .unwrap_or(WriteStatus::Misuse)
}

extern "C" fn close(s: Stream, code: u16, reason: RStr<'_>) -> WriteStatus {
    catch_unwind(AssertUnwindSafe(|| {
        let st = stream(s);
        if st.gone {
            return WriteStatus::Gone;
        }
        if (st.codec.table.close)(st.session, code, reason, &mut st.out) != EncodeStatus::Done {
            return WriteStatus::Misuse;
        }
        match st.flush() {
            true => WriteStatus::Queued,
            false => WriteStatus::Gone,
        }
    }))
    .unwrap_or(WriteStatus::Misuse)
}

extern "C" fn free(s: Stream) {
    // SAFETY: made by Box::into_raw in `upgrade`; freed once.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        drop(unsafe { Box::from_raw(s.0.cast::<Blocking>()) })
    }));
}
