//! The `rsgi.upgrade` extension, version 1 (since 0.2.4): a codec for a connection that
//! leaves HTTP (`Upgrade: websocket`), offered by a protocol plugin.
//!
//! The host finds codecs by the token the client names in `Upgrade`, among the loaded
//! plugins that offer `rsgi.upgrade`. A codec is sans-I/O like the HTTP parser: it checks
//! the client's handshake ([`UpgradeV1::offers`]), answers it with the `101`'s headers and
//! a [`Session`] ([`UpgradeV1::accept`]), then turns input bytes into events
//! ([`UpgradeV1::feed`]) and messages into bytes ([`UpgradeV1::encode`]). The host owns the
//! socket, the buffers and the clocks: it feeds what it reads, writes what the codec
//! produced, sends pings on its timer ([`UpgradeSettings`]) and closes dead peers. Apps
//! reach an upgraded connection through `rsgi.exchange` v3 ([`crate::exchange::ExchangeV3`]).
//!
//! Every entry may be called from any thread; the entries that take a [`Session`] are
//! called for one session by one thread at a time (the host holds the exchange's lock).

use std::ffi::c_void;

use abi_stable::{
    std_types::{RResult, RSlice, RStr, RString, RVec},
    StableAbi,
};

use crate::request::Header;

/// One upgraded connection's codec state, made by [`UpgradeV1::accept`] and released by
/// [`UpgradeV1::free`]; opaque to the host.
#[repr(transparent)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session(pub *mut c_void);

// SAFETY: a session is used by one thread at a time (under the exchange's lock), moved
// between threads as the host's loop and the app's threads take turns.
unsafe impl Send for Session {}

/// The two kinds of data message.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// UTF-8 text.
    Text = 0,
    /// Arbitrary bytes.
    Binary = 1,
}

/// A header the codec or the app owns (the `101`'s headers, a refusal's).
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct OwnedHeader {
    /// Header name.
    pub name: RString,
    /// Header value (no CR, LF or NUL).
    pub value: RString,
}

/// A handshake the codec refuses, and the answer it calls for.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Status to answer with (400 a bad or missing key, 426 an unsupported version).
    pub status: u16,
    /// Headers the answer carries (`Sec-WebSocket-Version: 13` with a 426).
    pub headers: RVec<OwnedHeader>,
    /// What was wrong, for the log line and the answer's body.
    pub reason: RString,
}

/// What the host does on its clocks for every session of this codec, read once after
/// `init` (the codec's options set them).
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpgradeSettings {
    /// Send a ping after this many milliseconds without one (0: never).
    pub ping_interval_ms: u64,
    /// Close a peer whose pong has not come this many milliseconds after a ping (0: wait
    /// for ever).
    pub pong_timeout_ms: u64,
    /// After our close, wait this long for the peer's before closing the connection.
    pub close_timeout_ms: u64,
}

/// What [`UpgradeV1::feed`] found.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FedEvent {
    /// All of the input was consumed and no event completed.
    Nothing = 0,
    /// A whole message (fragments joined, decompressed) is in the data buffer; its kind
    /// in [`Fed::kind`].
    Message = 1,
    /// A ping (its pong is already queued in the codec's output); payload in the data.
    Ping = 2,
    /// A pong; payload in the data.
    Pong = 3,
    /// The peer closed: [`Fed::code`] (1005 when it gave none), the reason in the data;
    /// the echo is queued unless our close went first.
    Close = 4,
    /// The peer broke the protocol: [`Fed::code`] is the close code sent for it (1002,
    /// 1007, 1009...), what was wrong in the data. The session is closed.
    Error = 5,
}

/// The answer of [`UpgradeV1::feed`].
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fed {
    /// Input bytes consumed (the caller drops them; the codec keeps what it needs).
    pub consumed: usize,
    /// What completed, if anything.
    pub event: FedEvent,
    /// The message's kind, for [`FedEvent::Message`].
    pub kind: MessageKind,
    /// The close code, for [`FedEvent::Close`] and [`FedEvent::Error`].
    pub code: u16,
}

/// Where a session's close handshake stands.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// Messages flow both ways.
    Open = 0,
    /// Our close went out; input is read until the peer's.
    CloseSent = 1,
    /// Both closes are done (or the connection failed): write the output, then close.
    Closed = 2,
}

/// What an encoding entry did.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodeStatus {
    /// The frame was appended.
    Done = 0,
    /// Nothing appended: the close handshake has begun, no more can be sent.
    Closing = 1,
    /// Nothing appended: invalid input (text that is not UTF-8, a close code that may not
    /// be sent, a control payload over 125 bytes).
    Invalid = 2,
}

/// The table of `rsgi.upgrade` v1, one per token a plugin speaks.
#[repr(C)]
#[derive(StableAbi)]
pub struct UpgradeV1 {
    /// The `Upgrade` token this codec speaks (`websocket`), compared without case.
    pub token: RStr<'static>,
    /// The host's clocks for this codec's sessions.
    pub settings: extern "C" fn() -> UpgradeSettings,
    /// Checks the client's handshake (the request's headers, HTTP names) and lists the
    /// subprotocols it offers, for the app to choose from; or refuses it.
    pub offers: extern "C" fn(
        headers: RSlice<'_, Header<'_>>,
        subprotocols: &mut RVec<RString>,
    ) -> RResult<(), Refusal>,
    /// Accepts the handshake with the app's `subprotocol` (empty: none): appends the
    /// `101`'s headers to `response` and returns the session.
    pub accept: extern "C" fn(
        headers: RSlice<'_, Header<'_>>,
        subprotocol: RStr<'_>,
        response: &mut RVec<OwnedHeader>,
    ) -> RResult<Session, Refusal>,
    /// Reads `input` up to and including the next event; `data` (cleared first) receives
    /// the event's payload. Check [`UpgradeV1::take_output`] after each call.
    pub feed: extern "C" fn(s: Session, input: RSlice<'_, u8>, data: &mut RVec<u8>) -> Fed,
    /// Appends a message as frames to `out`.
    pub encode: extern "C" fn(
        s: Session,
        kind: MessageKind,
        data: RSlice<'_, u8>,
        out: &mut RVec<u8>,
    ) -> EncodeStatus,
    /// Appends a ping with `payload` to `out`.
    pub ping:
        extern "C" fn(s: Session, payload: RSlice<'_, u8>, out: &mut RVec<u8>) -> EncodeStatus,
    /// Appends our close (`code`, `reason`) to `out` and begins the close handshake.
    pub close:
        extern "C" fn(s: Session, code: u16, reason: RStr<'_>, out: &mut RVec<u8>) -> EncodeStatus,
    /// Appends the codec's own frames (pongs, close echoes, the close after an error) to
    /// `out`, leaving none.
    pub take_output: extern "C" fn(s: Session, out: &mut RVec<u8>),
    /// Where the close handshake stands.
    pub state: extern "C" fn(s: Session) -> SessionState,
    /// Releases the session.
    pub free: extern "C" fn(s: Session),
}

impl UpgradeV1 {
    /// The extension's name.
    pub const NAME: &'static str = "rsgi.upgrade";
    /// The version this table is.
    pub const VERSION: u32 = 1;
}
