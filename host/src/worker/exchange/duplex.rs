//! An exchange upgraded to a message stream (`rsgi.exchange` v3 over an `rsgi.upgrade`
//! codec): the app's side (accept, receive, send, close) and the loop's (feed the bytes
//! that arrived, time pings and closes).
//!
//! Everything runs under the exchange's lock (`state` calls these methods with it held), so
//! the codec's session is used by one thread at a time. Messages the peer sent wait in [`Duplex`] until the app takes them, up to
//! [`INPUT_AHEAD`] bytes; past that the loop stops reading the socket (back-pressure). The
//! codec's own frames (pongs, close echoes) and the app's messages go out through the
//! exchange's outgoing bytes, under the same high-water mark as a response body.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use abi_stable::std_types::{RSlice, RStr, RVec};
use rsgi_plugin_api::exchange::{Received, RecvStatus};
use rsgi_plugin_api::upgrade::{EncodeStatus, FedEvent, MessageKind, Session, SessionState};

use super::marks::INPUT_AHEAD;
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

    /// `recv`: the next message, or the close; `gone` when the connection failed.
    pub fn recv(&mut self, gone: bool, data: &mut RVec<u8>) -> Received {
        let answer = |status, kind, code| Received { status, kind, code };
        data.clear();
        if let Some((code, reason)) = &self.closed {
            data.extend_from_copy_slice(reason);
            return answer(RecvStatus::Closed, MessageKind::Binary, *code);
        }
        match self.incoming.pop_front() {
            Some(Incoming::Message(kind, bytes)) => {
                self.incoming_bytes -= bytes.len();
                data.extend_from_copy_slice(&bytes);
                answer(RecvStatus::Message, kind, 0)
            }
            Some(Incoming::Closed(code, reason)) => {
                data.extend_from_copy_slice(&reason);
                self.closed = Some((code, reason));
                answer(RecvStatus::Closed, MessageKind::Binary, code)
            }
            None if gone => answer(RecvStatus::Gone, MessageKind::Binary, 1006),
            None => {
                self.wants_message = true;
                answer(RecvStatus::WouldBlock, MessageKind::Binary, 0)
            }
        }
    }

    /// `send_message`: one message, encoded into `out`; false when the codec refused it
    /// (closing, or text that is not UTF-8).
    pub fn send(&mut self, kind: MessageKind, data: &[u8], out: &mut RVec<u8>) -> bool {
        let status = (self.codec.table.encode)(self.session, kind, RSlice::from_slice(data), out);
        if status == EncodeStatus::Done {
            self.messages_out += 1;
        }
        status == EncodeStatus::Done
    }

    /// `close`: our close frame into `out`, beginning the close handshake; false when the
    /// codec refused it.
    pub fn close(&mut self, code: u16, reason: &str, out: &mut RVec<u8>) -> bool {
        let status = (self.codec.table.close)(self.session, code, RStr::from_str(reason), out);
        if status == EncodeStatus::Done {
            self.close_sent_at = Some(Instant::now());
        }
        status == EncodeStatus::Done
    }

    /// The handle was released (`finish`: 1000, `abort`: 1011): our close, if the session
    /// is still open.
    pub fn release(&mut self, code: u16, out: &mut RVec<u8>) {
        if self.state() == SessionState::Open {
            let reason = if code == 1000 {
                ""
            } else {
                "the application failed"
            };
            self.close(code, reason, out);
        }
    }

    /// Feeds `input` (the peer's bytes) to the session: messages are queued for the app,
    /// the codec's own frames go to `out`. Returns the bytes consumed (not all of them when
    /// the app has [`INPUT_AHEAD`] bytes waiting) and whether the app, waiting for a
    /// message, must be woken.
    pub fn feed(&mut self, input: &[u8], out: &mut RVec<u8>, peer: &str) -> (usize, bool) {
        let mut pos = 0;
        let mut arrived = false;
        let mut data = RVec::new();
        while pos < input.len() && self.has_room() && self.closed.is_none() {
            let fed =
                (self.codec.table.feed)(self.session, RSlice::from_slice(&input[pos..]), &mut data);
            pos += fed.consumed.min(input.len() - pos);
            match fed.event {
                FedEvent::Nothing => break,
                FedEvent::Message => {
                    self.incoming_bytes += data.len();
                    self.messages_in += 1;
                    let bytes = std::mem::take(&mut data).into_vec();
                    self.incoming.push_back(Incoming::Message(fed.kind, bytes));
                    arrived = true;
                }
                FedEvent::Ping => {}
                FedEvent::Pong => self.pong_due = false,
                FedEvent::Close | FedEvent::Error => {
                    if fed.event == FedEvent::Error {
                        tracing::warn!(
                            "{peer}: {} protocol error, closing with {}: {}",
                            self.codec.table.token.as_str(),
                            fed.code,
                            String::from_utf8_lossy(&data)
                        );
                    }
                    let reason = std::mem::take(&mut data).into_vec();
                    self.incoming.push_back(Incoming::Closed(fed.code, reason));
                    arrived = true;
                    break;
                }
            }
        }
        (self.codec.table.take_output)(self.session, out);
        let wake = arrived && self.wants_message;
        if wake {
            self.wants_message = false;
        }
        (pos, wake)
    }

    /// The loop's clock: a ping into `out` when the interval passed, a close when the pong
    /// (or the peer's close) is overdue, our 1001 when the worker stops.
    pub fn tick(&mut self, now: Instant, stopping: bool, peer: &str, out: &mut RVec<u8>) -> Tick {
        let s = self.codec.settings;
        let ms = Duration::from_millis;
        if let Some(sent) = self.close_sent_at {
            if s.close_timeout_ms > 0 && now.duration_since(sent) > ms(s.close_timeout_ms) {
                tracing::info!(
                    "{peer}: no close from the peer within {:?}; closing",
                    ms(s.close_timeout_ms)
                );
                return Tick::Close;
            }
            return Tick::Nothing;
        }
        if self.state() != SessionState::Open {
            return Tick::Nothing;
        }
        if stopping {
            self.close(1001, "server shutting down", out);
            return Tick::Nothing;
        }
        if self.pong_due {
            if s.pong_timeout_ms > 0 && now.duration_since(self.last_ping) > ms(s.pong_timeout_ms) {
                tracing::warn!(
                    "{peer}: no pong within {:?} of a ping (--websocket-ping-timeout); closing with 1011",
                    ms(s.pong_timeout_ms)
                );
                self.close(1011, "keepalive ping timeout", out);
                return Tick::Close;
            }
            return Tick::Nothing;
        }
        if s.ping_interval_ms > 0 && now.duration_since(self.last_ping) >= ms(s.ping_interval_ms) {
            let status = (self.codec.table.ping)(self.session, RSlice::from_slice(b""), out);
            if status == EncodeStatus::Done {
                self.last_ping = now;
                self.pong_due = true;
            }
        }
        Tick::Nothing
    }
}
