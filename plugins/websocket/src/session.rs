//! One WebSocket connection, server side, after the handshake: bytes in, events and bytes
//! out.
//!
//! [`Session::feed`] reads frames (header, then payload piece by piece: nothing but a
//! partial header and the message being assembled is buffered), and returns at each
//! [`Event`]. What the protocol answers by itself — the pong to a ping, the echo of a
//! close, the close that follows a protocol error — is queued in the session's output
//! ([`Session::take_output`]). What the application sends ([`Session::encode`],
//! [`Session::ping`], [`Session::close`]) is written to the caller's buffer.
//!
//! The close handshake: [`State::Open`] until either side sends a close. A close from the
//! peer is echoed and the session is [`State::Closed`]; a close from us makes it
//! [`State::CloseSent`] until the peer's close arrives. Once closed, input is ignored and
//! the caller flushes the output and closes the connection (the server closes TCP first,
//! RFC 6455 §7.1.1).

use crate::close;
use crate::config::Config;
use crate::deflate::{DeflateParams, Deflater, Inflater};
use crate::error::{ProtocolError, SendError};
use crate::frame::{self, FrameHeader, OpCode, MAX_CONTROL_PAYLOAD, MAX_HEADER};
use crate::utf8::Utf8Validator;

/// The two kinds of data message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// UTF-8 text (checked on the way in and on the way out).
    Text,
    /// Arbitrary bytes.
    Binary,
}

/// What the peer did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A whole message: fragments joined, decompressed; `data` of a text message is
    /// valid UTF-8.
    Message {
        /// Text or binary.
        kind: MessageKind,
        /// The message's bytes.
        data: Vec<u8>,
    },
    /// A ping; the pong with the same payload is already queued in the output.
    Ping(Vec<u8>),
    /// A pong (to our ping, or unsolicited as a heartbeat).
    Pong(Vec<u8>),
    /// The peer closed (the echo is queued unless we had sent a close first). The
    /// session is closed.
    Close {
        /// The peer's close code; `None` for a close frame without one (1005 in APIs
        /// that need a number).
        code: Option<u16>,
        /// The peer's reason (possibly empty).
        reason: String,
    },
    /// The peer broke the protocol; a close frame with the error's close code is queued
    /// and the session is closed.
    Error(ProtocolError),
}

/// Where the close handshake stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Messages flow both ways.
    Open,
    /// We sent a close and read on until the peer's close (no more sending).
    CloseSent,
    /// Both closes are done, or the connection failed: flush the output and close.
    Closed,
}

/// Where the reader is inside a frame.
#[derive(Debug, Clone, Copy)]
enum Reading {
    /// Gathering a header cut by the end of an input; `len` bytes of `buf` are in.
    Header { buf: [u8; MAX_HEADER], len: u8 },
    /// `read` payload bytes of this frame are in.
    Payload { header: FrameHeader, read: u64 },
}

/// The most a frame header makes the session allocate ahead of its payload.
const PREALLOCATE: u64 = 64 * 1024;

const FRESH_HEADER: Reading = Reading::Header {
    buf: [0; MAX_HEADER],
    len: 0,
};

/// A data message being assembled.
#[derive(Debug)]
struct Message {
    kind: MessageKind,
    compressed: bool,
    data: Vec<u8>,
    utf8: Utf8Validator,
}

impl Message {
    /// Checks the bytes of a text message from `start` on (binary: nothing to check).
    fn check_text(&mut self, start: usize) -> Result<(), ProtocolError> {
        if self.kind == MessageKind::Text {
            self.utf8
                .push(&self.data[start..])
                .map_err(|_| ProtocolError::TextNotUtf8)?;
        }
        Ok(())
    }
}

/// What one step of the reader did.
enum Step {
    /// The input is used up.
    NeedMore,
    /// Consumed this many bytes, no event yet.
    Advanced(usize),
    /// Consumed this many bytes and finished an event.
    Event(usize, Event),
}

/// The codec state of one connection (server role).
#[derive(Debug)]
pub struct Session {
    max_message_size: usize,
    deflate: Option<DeflateParams>,
    state: State,
    reading: Reading,
    message: Option<Message>,
    /// The payload of the control frame being read (at most 125 bytes).
    control: Vec<u8>,
    /// Unmasked compressed bytes on their way into the inflater.
    scratch: Vec<u8>,
    /// Created on the first compressed message.
    inflater: Option<Inflater>,
    deflater: Option<Deflater>,
    /// The codec's own frames (pongs, close echoes), waiting to be written.
    output: Vec<u8>,
}

impl Session {
    /// A session after a handshake that agreed on `deflate` (or on no compression).
    pub fn new(config: &Config, deflate: Option<DeflateParams>) -> Session {
        Session {
            max_message_size: config.max_message_size,
            deflate,
            state: State::Open,
            reading: FRESH_HEADER,
            message: None,
            control: Vec::new(),
            scratch: Vec::new(),
            inflater: None,
            deflater: None,
            output: Vec::new(),
        }
    }

    /// The compression agreed in the handshake.
    pub fn deflate(&self) -> Option<&DeflateParams> {
        self.deflate.as_ref()
    }

    /// Where the close handshake stands.
    pub fn state(&self) -> State {
        self.state
    }

    /// True once nothing more will be read or sent: flush [`Session::take_output`], then
    /// close the connection.
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Reads from `input` up to and including the next event. Returns how many bytes were
    /// consumed (the caller drops them: the session keeps what it needs) and the event,
    /// if one completed; with `None`, all of `input` was consumed. Once closed, input is
    /// consumed and ignored. After each call, check [`Session::take_output`].
    pub fn feed(&mut self, input: &[u8]) -> (usize, Option<Event>) {
        let mut pos = 0;
        while self.reads() {
            match self.step(&input[pos..]) {
                Ok(Step::NeedMore) => return (input.len(), None),
                Ok(Step::Advanced(n)) => pos += n,
                Ok(Step::Event(n, event)) => return (pos + n, Some(event)),
                Err(error) => {
                    self.fail(error);
                    return (input.len(), Some(Event::Error(error)));
                }
            }
        }
        (input.len(), None)
    }

    /// Every event in `input`, as an iterator over [`Session::feed`].
    pub fn events<'s, 'i>(&'s mut self, input: &'i [u8]) -> Events<'s, 'i> {
        Events {
            session: self,
            input,
        }
    }

    /// The codec's own frames waiting to be written (pongs, close echoes, the close
    /// after an error), leaving the queue empty.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.output)
    }

    /// The codec's own frames waiting to be written, without taking them.
    pub fn output(&self) -> &[u8] {
        &self.output
    }

    /// Drops the first `n` bytes of [`Session::output`], once written.
    pub fn consume_output(&mut self, n: usize) {
        self.output.drain(..n.min(self.output.len()));
    }

    /// Appends a message, as one frame, to `out`: compressed (RSV1) when
    /// permessage-deflate was agreed, never masked (RFC 6455 §5.1: server frames are not).
    pub fn encode(
        &mut self,
        kind: MessageKind,
        data: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), SendError> {
        self.check_open()?;
        if kind == MessageKind::Text && std::str::from_utf8(data).is_err() {
            return Err(SendError::TextNotUtf8);
        }
        let opcode = match kind {
            MessageKind::Text => OpCode::Text,
            MessageKind::Binary => OpCode::Binary,
        };
        match &self.deflate {
            Some(params) => {
                let deflater = self.deflater.get_or_insert_with(|| Deflater::new(params));
                self.scratch.clear();
                deflater.compress_message(data, &mut self.scratch);
                frame::write_header(true, true, opcode, self.scratch.len() as u64, None, out);
                out.extend_from_slice(&self.scratch);
            }
            None => {
                frame::write_header(true, false, opcode, data.len() as u64, None, out);
                out.extend_from_slice(data);
            }
        }
        Ok(())
    }

    /// Appends a ping with `payload` (at most 125 bytes) to `out`.
    pub fn ping(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), SendError> {
        self.check_open()?;
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(SendError::PingTooLong);
        }
        write_control(OpCode::Ping, payload, out);
        Ok(())
    }

    /// Appends a close frame to `out` and starts the close handshake: nothing more can be
    /// sent; reading goes on until the peer's close.
    pub fn close(&mut self, code: u16, reason: &str, out: &mut Vec<u8>) -> Result<(), SendError> {
        self.check_open()?;
        close::check_outgoing(code, reason)?;
        let mut payload = Vec::with_capacity(2 + reason.len());
        close::write_payload(Some(code), reason, &mut payload);
        write_control(OpCode::Close, &payload, out);
        self.state = State::CloseSent;
        Ok(())
    }

    fn check_open(&self) -> Result<(), SendError> {
        match self.state {
            State::Open => Ok(()),
            _ => Err(SendError::Closing),
        }
    }

    /// True while frames from the peer are still read.
    fn reads(&self) -> bool {
        self.state != State::Closed
    }

    /// Fails the connection: a close with the error's code (unless ours is already out).
    fn fail(&mut self, error: ProtocolError) {
        if self.state == State::Open {
            let mut payload = Vec::new();
            close::write_payload(Some(error.close_code()), &error.to_string(), &mut payload);
            write_control(OpCode::Close, &payload, &mut self.output);
        }
        self.state = State::Closed;
        self.message = None;
    }

    fn step(&mut self, input: &[u8]) -> Result<Step, ProtocolError> {
        match self.reading {
            Reading::Header { buf, len } => self.read_header(buf, usize::from(len), input),
            Reading::Payload { header, read } => self.read_payload(header, read, input),
        }
    }

    /// Reads a header, straight from `input` when it holds a whole one.
    fn read_header(
        &mut self,
        mut buf: [u8; MAX_HEADER],
        len: usize,
        input: &[u8],
    ) -> Result<Step, ProtocolError> {
        if len == 0 {
            if let Some((header, n)) = frame::parse_header(input)? {
                self.start_frame(header)?;
                return Ok(Step::Advanced(n));
            }
        }
        let take = (MAX_HEADER - len).min(input.len());
        buf[len..len + take].copy_from_slice(&input[..take]);
        match frame::parse_header(&buf[..len + take])? {
            Some((header, n)) => {
                self.start_frame(header)?;
                Ok(Step::Advanced(n - len))
            }
            None if take == 0 => Ok(Step::NeedMore),
            None => {
                // An incomplete header is shorter than MAX_HEADER: all of `input` is in.
                self.reading = Reading::Header {
                    buf,
                    len: (len + take) as u8,
                };
                Ok(Step::Advanced(take))
            }
        }
    }

    /// Checks a header against the session's rules and gets ready for its payload.
    fn start_frame(&mut self, header: FrameHeader) -> Result<(), ProtocolError> {
        if header.mask.is_none() {
            return Err(ProtocolError::Unmasked);
        }
        let compressible = matches!(header.opcode, OpCode::Text | OpCode::Binary);
        if header.rsv2 || header.rsv3 || (header.rsv1 && !(compressible && self.deflate.is_some()))
        {
            return Err(ProtocolError::ReservedBits);
        }
        let kind = match header.opcode {
            OpCode::Continuation => {
                let message = self
                    .message
                    .as_ref()
                    .ok_or(ProtocolError::UnexpectedContinuation)?;
                if !message.compressed {
                    self.check_size(message.data.len(), header.payload_len)?;
                }
                None
            }
            OpCode::Text => Some(MessageKind::Text),
            OpCode::Binary => Some(MessageKind::Binary),
            OpCode::Close | OpCode::Ping | OpCode::Pong => {
                self.control.clear();
                None
            }
        };
        if let Some(kind) = kind {
            if self.message.is_some() {
                return Err(ProtocolError::ExpectedContinuation);
            }
            if !header.rsv1 {
                self.check_size(0, header.payload_len)?;
            }
            // Room for the first frame, up to a bound: a header alone does not get a
            // peer 16 MiB of our memory.
            let room = if header.rsv1 {
                0
            } else {
                header.payload_len.min(PREALLOCATE)
            };
            self.message = Some(Message {
                kind,
                compressed: header.rsv1,
                data: Vec::with_capacity(room as usize),
                utf8: Utf8Validator::new(),
            });
        }
        self.reading = Reading::Payload { header, read: 0 };
        Ok(())
    }

    /// An uncompressed message that would pass the limit with this frame fails now,
    /// before its payload is read (a compressed one is measured as it inflates).
    fn check_size(&self, so_far: usize, payload_len: u64) -> Result<(), ProtocolError> {
        if (so_far as u64).saturating_add(payload_len) > self.max_message_size as u64 {
            return Err(ProtocolError::MessageTooBig);
        }
        Ok(())
    }

    /// Reads payload bytes: unmasks them into the control buffer or the message (through
    /// the inflater when compressed), checking text as it goes.
    fn read_payload(
        &mut self,
        header: FrameHeader,
        read: u64,
        input: &[u8],
    ) -> Result<Step, ProtocolError> {
        let remaining = header.payload_len - read;
        let take = remaining.min(input.len() as u64) as usize;
        let chunk = &input[..take];
        let key = header.mask.unwrap_or_default();
        if header.opcode.is_control() {
            let start = self.control.len();
            self.control.extend_from_slice(chunk);
            frame::apply_mask(&mut self.control[start..], key, read);
        } else if take > 0 {
            let message = self.message.as_mut().expect("a data frame has a message");
            let start = message.data.len();
            if message.compressed {
                self.scratch.clear();
                self.scratch.extend_from_slice(chunk);
                frame::apply_mask(&mut self.scratch, key, read);
                let params = self.deflate.as_ref().expect("RSV1 only with deflate");
                let inflater = self.inflater.get_or_insert_with(|| Inflater::new(params));
                let inflated =
                    inflater.inflate(&self.scratch, &mut message.data, self.max_message_size);
                message.check_text(start)?;
                inflated?;
            } else {
                message.data.extend_from_slice(chunk);
                frame::apply_mask(&mut message.data[start..], key, read);
                message.check_text(start)?;
            }
        }
        let read = read + take as u64;
        if read < header.payload_len {
            self.reading = Reading::Payload { header, read };
            return Ok(if take == 0 {
                Step::NeedMore
            } else {
                Step::Advanced(take)
            });
        }
        self.reading = FRESH_HEADER;
        Ok(match self.end_frame(header)? {
            Some(event) => Step::Event(take, event),
            None => Step::Advanced(take),
        })
    }

    /// A frame's payload is complete: answer control frames, finish messages.
    fn end_frame(&mut self, header: FrameHeader) -> Result<Option<Event>, ProtocolError> {
        match header.opcode {
            OpCode::Ping => {
                if self.state == State::Open {
                    write_control(OpCode::Pong, &self.control, &mut self.output);
                }
                Ok(Some(Event::Ping(self.control.clone())))
            }
            OpCode::Pong => Ok(Some(Event::Pong(self.control.clone()))),
            OpCode::Close => {
                let (code, reason) = close::parse_payload(&self.control)?;
                if self.state == State::Open {
                    let mut echo = Vec::new();
                    close::write_payload(code, "", &mut echo);
                    write_control(OpCode::Close, &echo, &mut self.output);
                }
                self.state = State::Closed;
                self.message = None;
                Ok(Some(Event::Close { code, reason }))
            }
            OpCode::Continuation | OpCode::Text | OpCode::Binary if header.fin => {
                let mut message = self.message.take().expect("a data frame has a message");
                if message.compressed {
                    let start = message.data.len();
                    let params = self.deflate.as_ref().expect("RSV1 only with deflate");
                    let inflater = self.inflater.get_or_insert_with(|| Inflater::new(params));
                    let inflated =
                        inflater.finish_message(&mut message.data, self.max_message_size);
                    message.check_text(start)?;
                    inflated?;
                }
                if message.kind == MessageKind::Text {
                    message
                        .utf8
                        .finish()
                        .map_err(|_| ProtocolError::TextNotUtf8)?;
                }
                Ok(Some(Event::Message {
                    kind: message.kind,
                    data: message.data,
                }))
            }
            OpCode::Continuation | OpCode::Text | OpCode::Binary => Ok(None),
        }
    }
}

/// Appends an unmasked control frame.
fn write_control(opcode: OpCode, payload: &[u8], out: &mut Vec<u8>) {
    frame::write_header(true, false, opcode, payload.len() as u64, None, out);
    out.extend_from_slice(payload);
}

/// The events in one input ([`Session::events`]).
#[derive(Debug)]
pub struct Events<'s, 'i> {
    session: &'s mut Session,
    input: &'i [u8],
}

impl Iterator for Events<'_, '_> {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        let (n, event) = self.session.feed(self.input);
        self.input = &self.input[n..];
        event
    }
}

#[cfg(test)]
mod tests;
