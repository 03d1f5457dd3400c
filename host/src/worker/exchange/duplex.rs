//! An exchange upgraded to a message stream (`rsgi.exchange` v3 over an `rsgi.upgrade`
//! codec): the app's side (accept, receive, send, close) and the loop's (feed the bytes
//! that arrived, time pings and closes).
//!
//! Everything runs under the exchange's lock, so the codec's session is used by one thread
//! at a time. Messages the peer sent wait in [`Duplex`] until the app takes them, up to
//! [`INPUT_AHEAD`] bytes; past that the loop stops reading the socket (back-pressure). The
//! codec's own frames (pongs, close echoes) and the app's messages go out through the
//! exchange's outgoing bytes, under the same high-water mark as a response body.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use abi_stable::std_types::{RSlice, RStr, RVec};
use rsgi_plugin_api::exchange::{Readiness, Received, RecvStatus, WriteStatus};
use rsgi_plugin_api::upgrade::{EncodeStatus, FedEvent, MessageKind, Session, SessionState};

use super::state::{Inner, HIGH_WATER, INPUT_AHEAD};
use crate::upgrade::codecs::Codec;

/// What the peer sent, waiting for the app.
enum Incoming {
    Message(MessageKind, Vec<u8>),
    /// The peer's close, or the protocol error that ended the session: code and reason.
    Closed(u16, Vec<u8>),
}

/// The state of an upgraded exchange.
pub struct Duplex {
    codec: Codec,
    session: Session,
    incoming: VecDeque<Incoming>,
    /// Bytes of the messages in `incoming`.
    incoming_bytes: usize,
    /// Once `recv` answered the close: every later call answers it again.
    closed: Option<(u16, Vec<u8>)>,
    /// A `recv` answered `WouldBlock`: wake `READABLE` when something arrives.
    wants_message: bool,
    /// When the last ping went out (or the upgrade, before the first).
    last_ping: Instant,
    /// A ping is out and its pong has not come.
    pong_due: bool,
    /// When our close went out (the peer has the close timeout to answer).
    close_sent_at: Option<Instant>,
    /// Messages each way, for the request log.
    pub messages_in: u64,
    /// Messages each way, for the request log.
    pub messages_out: u64,
}

impl Drop for Duplex {
    fn drop(&mut self) {
        (self.codec.table.free)(self.session);
    }
}

/// What the loop's clock calls for on an upgraded connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tick {
    /// Nothing, or a ping that was queued (the loop is notified).
    Nothing,
    /// Close the connection now (a dead peer, or no answer to our close).
    Close,
}

impl Duplex {
    /// The stream of a session `codec` accepted.
    pub fn new(codec: Codec, session: Session) -> Duplex {
        Duplex {
            codec,
            session,
            incoming: VecDeque::new(),
            incoming_bytes: 0,
            closed: None,
            wants_message: false,
            last_ping: Instant::now(),
            pong_due: false,
            close_sent_at: None,
            messages_in: 0,
            messages_out: 0,
        }
    }

    /// The codec's session state.
    pub fn state(&self) -> SessionState {
        (self.codec.table.state)(self.session)
    }

    /// The loop may read more of the peer's bytes (the app keeps up).
    pub fn has_room(&self) -> bool {
        self.incoming_bytes < INPUT_AHEAD
    }

    /// Where the close handshake stands, for the loop: both closes are done.
    pub fn is_closed(&self) -> bool {
        self.state() == SessionState::Closed
    }
}

/// `recv`: the next message, or the close.
pub fn recv(inner: &mut Inner, data: &mut RVec<u8>) -> Received {
    let answer = |status, kind, code| Received { status, kind, code };
    data.clear();
    let gone = inner.gone;
    let Some(d) = inner.duplex.as_mut() else {
        return answer(RecvStatus::Misuse, MessageKind::Binary, 0);
    };
    if let Some((code, reason)) = &d.closed {
        data.extend_from_slice(reason);
        return answer(RecvStatus::Closed, MessageKind::Binary, *code);
    }
    match d.incoming.pop_front() {
        Some(Incoming::Message(kind, bytes)) => {
            d.incoming_bytes -= bytes.len();
            data.extend_from_slice(&bytes);
            answer(RecvStatus::Message, kind, 0)
        }
        Some(Incoming::Closed(code, reason)) => {
            data.extend_from_slice(&reason);
            d.closed = Some((code, reason));
            answer(RecvStatus::Closed, MessageKind::Binary, code)
        }
        None if gone => answer(RecvStatus::Gone, MessageKind::Binary, 1006),
        None => {
            d.wants_message = true;
            answer(RecvStatus::WouldBlock, MessageKind::Binary, 0)
        }
    }
}

/// `send_message`: one message, encoded into the outgoing bytes.
pub fn send(inner: &mut Inner, kind: MessageKind, data: &[u8]) -> WriteStatus {
    if inner.gone {
        return WriteStatus::Gone;
    }
    if inner.released {
        return WriteStatus::Misuse;
    }
    let Some(d) = inner.duplex.as_mut() else {
        return WriteStatus::Misuse;
    };
    let status = (d.codec.table.encode)(d.session, kind, RSlice::from_slice(data), &mut inner.out);
    if status != EncodeStatus::Done {
        return WriteStatus::Misuse;
    }
    d.messages_out += 1;
    inner.body_sent += data.len() as u64;
    if inner.outgoing() > HIGH_WATER {
        inner.told_full = true;
        WriteStatus::Full
    } else {
        WriteStatus::Queued
    }
}

/// `close`: our close frame, beginning the close handshake.
pub fn close(inner: &mut Inner, code: u16, reason: &str) -> WriteStatus {
    if inner.gone {
        return WriteStatus::Gone;
    }
    let Some(d) = inner.duplex.as_mut() else {
        return WriteStatus::Misuse;
    };
    let status = (d.codec.table.close)(d.session, code, RStr::from_str(reason), &mut inner.out);
    if status != EncodeStatus::Done {
        return WriteStatus::Misuse;
    }
    d.close_sent_at = Some(Instant::now());
    WriteStatus::Queued
}

/// The handle was released (`finish`: 1000, `abort`: 1011) while the session is open:
/// our close goes out.
pub fn release(inner: &mut Inner, code: u16) {
    let Some(d) = inner.duplex.as_mut() else {
        return;
    };
    if d.state() == SessionState::Open {
        let reason = if code == 1000 {
            ""
        } else {
            "the application failed"
        };
        let _ = (d.codec.table.close)(d.session, code, RStr::from_str(reason), &mut inner.out);
        d.close_sent_at = Some(Instant::now());
    }
}

/// The loop feeds `input` (the peer's bytes) to the session: messages are queued for the
/// app (who is woken), the codec's own frames are queued to go out. Returns the bytes
/// consumed: not all of them when the app has [`INPUT_AHEAD`] bytes waiting.
pub fn feed(inner: &mut Inner, input: &[u8], peer: &str) -> usize {
    let Some(d) = inner.duplex.as_mut() else {
        return 0;
    };
    let mut pos = 0;
    let mut arrived = false;
    let mut data = RVec::new();
    while pos < input.len() && d.has_room() && d.closed.is_none() {
        let fed = (d.codec.table.feed)(d.session, RSlice::from_slice(&input[pos..]), &mut data);
        pos += fed.consumed.min(input.len() - pos);
        match fed.event {
            FedEvent::Nothing => {}
            FedEvent::Message => {
                d.incoming_bytes += data.len();
                d.messages_in += 1;
                d.incoming.push_back(Incoming::Message(
                    fed.kind,
                    std::mem::take(&mut data).into_vec(),
                ));
                arrived = true;
            }
            FedEvent::Ping => {}
            FedEvent::Pong => d.pong_due = false,
            FedEvent::Close => {
                d.incoming.push_back(Incoming::Closed(
                    fed.code,
                    std::mem::take(&mut data).into_vec(),
                ));
                arrived = true;
                break;
            }
            FedEvent::Error => {
                tracing::warn!(
                    "{peer}: {} protocol error, closing with {}: {}",
                    d.codec.table.token.as_str(),
                    fed.code,
                    String::from_utf8_lossy(&data)
                );
                d.incoming.push_back(Incoming::Closed(
                    fed.code,
                    std::mem::take(&mut data).into_vec(),
                ));
                arrived = true;
                break;
            }
        }
        if fed.event == FedEvent::Nothing {
            break;
        }
    }
    (d.codec.table.take_output)(d.session, &mut inner.out);
    if arrived && d.wants_message {
        d.wants_message = false;
        inner.wake(Readiness::READABLE);
    }
    pos
}

/// The loop's clock on an upgraded connection: a ping when the interval passed, a close
/// when the pong (or the peer's close) is overdue.
pub fn tick(inner: &mut Inner, now: Instant, stopping: bool, peer: &str) -> Tick {
    let Some(d) = inner.duplex.as_mut() else {
        return Tick::Nothing;
    };
    let s = d.codec.settings;
    let ms = Duration::from_millis;
    if let Some(sent) = d.close_sent_at {
        if s.close_timeout_ms > 0 && now.duration_since(sent) > ms(s.close_timeout_ms) {
            tracing::info!(
                "{peer}: no close from the peer within {:?}; closing",
                ms(s.close_timeout_ms)
            );
            return Tick::Close;
        }
        return Tick::Nothing;
    }
    if d.state() != SessionState::Open {
        return Tick::Nothing;
    }
    if stopping {
        let _ = (d.codec.table.close)(
            d.session,
            1001,
            RStr::from_str("server shutting down"),
            &mut inner.out,
        );
        d.close_sent_at = Some(now);
        return Tick::Nothing;
    }
    if d.pong_due {
        if s.pong_timeout_ms > 0 && now.duration_since(d.last_ping) > ms(s.pong_timeout_ms) {
            tracing::warn!(
                "{peer}: no pong within {:?} of a ping (--websocket-ping-timeout); closing with 1011",
                ms(s.pong_timeout_ms)
            );
            let _ = (d.codec.table.close)(
                d.session,
                1011,
                RStr::from_str("keepalive ping timeout"),
                &mut inner.out,
            );
            return Tick::Close;
        }
        return Tick::Nothing;
    }
    if s.ping_interval_ms > 0 && now.duration_since(d.last_ping) >= ms(s.ping_interval_ms) {
        let status = (d.codec.table.ping)(d.session, RSlice::from_slice(b""), &mut inner.out);
        if status == EncodeStatus::Done {
            d.last_ping = now;
            d.pong_due = true;
        }
    }
    Tick::Nothing
}
