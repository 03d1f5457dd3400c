//! The `rsgi.exchange` extension, version 1 (since 0.2.2): one request's exchange, answered
//! now or later, with the body streamed both ways; version 2 (since 0.2.3) adds
//! `sendfile`; version 3 (since 0.2.4) adds what an app does with a request that asks to
//! leave HTTP (`Upgrade: websocket`): accept it, then exchange messages both ways.
//!
//! An app plugin whose [`crate::app::AppMod::call`] is set is served through it instead of
//! `handle`: the host calls `call(request, exchange)` on the thread that parsed the
//! request, and the plugin either answers within the call or keeps the [`Exchange`] and
//! returns [`CallOutcome::Pending`], so that an event loop inside the plugin holds
//! thousands of a worker's requests at once while the host's loop goes on reading and
//! writing sockets. Every entry of [`ExchangeV1`] may be called from any thread; none of
//! them blocks.
//!
//! The handle is owned: exactly one of [`ExchangeV1::finish`] and [`ExchangeV1::abort`]
//! ends it, after which the plugin must not use it again.
//!
//! Back-pressure: [`ExchangeV1::write`] never waits. It answers [`WriteStatus::Full`] when
//! the connection's outgoing bytes passed the host's high-water mark (the bytes were taken);
//! the plugin writes no more until its waker is told [`Readiness::WRITABLE`]. Body bytes
//! reach [`ExchangeV1::read`] as the client sends them; while the plugin does not read,
//! the host stops reading the socket. The waker hears [`Readiness::READABLE`] when bytes
//! (or the end) arrived after a read that answered [`ReadStatus::WouldBlock`], and
//! [`Readiness::GONE`] when the client went away: every later call answers `Gone`.

use std::ffi::c_void;

use abi_stable::{
    std_types::{RSlice, RSliceMut, RStr, RString, RVec},
    StableAbi,
};

use crate::request::Header;
use crate::response::SendResult;
use crate::upgrade::MessageKind;

/// What `call` did with the exchange.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    /// The exchange was finished (or aborted) within the call.
    Done = 0,
    /// The plugin keeps the handle and ends it later, from any thread.
    Pending = 1,
    /// The call failed before the plugin took the exchange over; the handle was aborted
    /// (the host answers 500 if no head was sent, else closes the connection). The plugin
    /// logged why.
    Failed = 2,
}

/// One request's exchange, handed to `call`: an opaque pointer to the host's state and the
/// table of functions that act on it.
#[repr(C)]
#[derive(StableAbi)]
pub struct Exchange {
    /// Opaque host state; only the table's functions use it.
    pub ctx: *const c_void,
    /// The host's table (the same one `rsgi.exchange` v1 answers).
    pub table: &'static ExchangeV1,
}

// SAFETY: the host's state behind `ctx` is shared between threads (reference-counted and
// locked), and every entry of the table may be called from any thread.
unsafe impl Send for Exchange {}

/// Events the host tells an exchange's waker about (a bit set).
#[repr(transparent)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Readiness(pub u32);

impl Readiness {
    /// Request body bytes (or their end) arrived: `read` has something.
    pub const READABLE: Readiness = Readiness(1);
    /// The outgoing bytes went below the low-water mark after a `write` answered `Full`.
    pub const WRITABLE: Readiness = Readiness(2);
    /// The client went away (closed, reset, or the write failed): every later call
    /// answers `Gone`.
    pub const GONE: Readiness = Readiness(4);

    /// True when every bit of `other` is set.
    pub fn contains(self, other: Readiness) -> bool {
        self.0 & other.0 == other.0
    }
}

/// A callback the host calls, on its loop thread, with [`Readiness`] events. The plugin
/// makes it; the host calls `drop` once when it no longer needs it (the exchange ended or
/// another waker replaced it).
#[repr(C)]
#[derive(StableAbi)]
pub struct Waker {
    /// The plugin's data.
    pub data: *const c_void,
    /// Called with the events; must return quickly and never call back into the exchange
    /// on this thread (hand the news to the plugin's own loop).
    pub wake: extern "C" fn(data: *const c_void, events: Readiness),
    /// Releases `data`.
    pub drop: extern "C" fn(data: *const c_void),
}

// SAFETY: a waker is called from the host's loop thread while the plugin made it on
// another: the plugin promises that `data` may be used from any thread.
unsafe impl Send for Waker {}

/// What [`ExchangeV1::write`] did.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteStatus {
    /// Taken; write on.
    Queued = 0,
    /// Taken, but the outgoing bytes passed the high-water mark: wait for
    /// [`Readiness::WRITABLE`] before writing more.
    Full = 1,
    /// The client went away; nothing was taken.
    Gone = 2,
    /// Not taken: a write before `start`, after `finish`, or past the declared
    /// Content-Length.
    Misuse = 3,
}

/// What [`ExchangeV1::read`] found.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadStatus {
    /// `len` body bytes were copied into the buffer.
    Data = 0,
    /// The body ended (a body-less request ends at once).
    End = 1,
    /// Nothing yet: the waker hears [`Readiness::READABLE`] when there is.
    WouldBlock = 2,
    /// The client went away before the body ended.
    Gone = 3,
    /// The body was malformed (a bad chunk) or over `--limit-post`: the host answers the
    /// client (400 or 413) if the app has not started a response.
    Malformed = 4,
}

/// The answer of [`ExchangeV1::read`].
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadResult {
    /// What happened.
    pub status: ReadStatus,
    /// Bytes copied, for [`ReadStatus::Data`].
    pub len: usize,
}

/// The table of `rsgi.exchange` v1. Every entry may be called from any thread and returns
/// without waiting.
#[repr(C)]
#[derive(StableAbi)]
pub struct ExchangeV1 {
    /// Sends the response head (validated by the protocol plugin, as `Responder::start`):
    /// once, before any `write`.
    pub start: extern "C" fn(
        ctx: *const c_void,
        status: u16,
        reason: RStr<'_>,
        headers: RSlice<'_, Header<'_>>,
    ) -> SendResult,
    /// Queues body bytes (framed by the protocol) without waiting; see [`WriteStatus`].
    pub write: extern "C" fn(ctx: *const c_void, data: RSlice<'_, u8>) -> WriteStatus,
    /// Copies request body bytes that arrived into `buf`; see [`ReadStatus`]. The first
    /// read of a request that asked for `100 Continue` makes the host send it.
    pub read: extern "C" fn(ctx: *const c_void, buf: RSliceMut<'_, u8>) -> ReadResult,
    /// Sets (or replaces) the exchange's waker. Events that happened before are not lost:
    /// a waker set after the client left hears [`Readiness::GONE`] at once (on the loop
    /// thread, soon).
    pub set_waker: extern "C" fn(ctx: *const c_void, waker: Waker),
    /// Ends the response (the body's last chunk is written) and releases the handle.
    /// Without a started head the host answers 500.
    pub finish: extern "C" fn(ctx: *const c_void),
    /// Gives the exchange up and releases the handle: 500 if no head was sent, else the
    /// connection is closed. `reason` goes to the host's log.
    pub abort: extern "C" fn(ctx: *const c_void, reason: RStr<'_>),
}

impl ExchangeV1 {
    /// The extension's name.
    pub const NAME: &'static str = "rsgi.exchange";
    /// The version this table is.
    pub const VERSION: u32 = 1;
}

/// The table of `rsgi.exchange` v2 (since 0.2.3): v1's entries and `sendfile`. A host of
/// 0.2.3 or later offers both versions over the same handles: a plugin asks for v2
/// (`Host::extension("rsgi.exchange", 2)`) and calls its entries with the `ctx` of the
/// [`Exchange`] it was given.
#[repr(C)]
#[derive(StableAbi)]
pub struct ExchangeV2 {
    /// The entries of v1, unchanged.
    pub v1: ExchangeV1,
    /// Queues `len` bytes of the file `fd` from `offset` as body bytes, sent zero-copy
    /// (`sendfile(2)`) after what was queued before and before what is queued after. The
    /// host duplicates `fd`: the caller may close its own at once. Never waits; answers as
    /// [`ExchangeV1::write`] does (the file's bytes count toward the high-water mark). A
    /// file found shorter than `len` when it is sent closes the connection (the framing
    /// promised more).
    pub sendfile: extern "C" fn(ctx: *const c_void, fd: i32, offset: u64, len: u64) -> WriteStatus,
}

impl ExchangeV2 {
    /// The extension's name.
    pub const NAME: &'static str = "rsgi.exchange";
    /// The version this table is.
    pub const VERSION: u32 = 2;
}

/// What [`ExchangeV3::recv`] found.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecvStatus {
    /// A whole message is in the buffer; its kind in [`Received::kind`].
    Message = 0,
    /// Nothing yet: the waker hears [`Readiness::READABLE`] when a message (or the close)
    /// arrives.
    WouldBlock = 1,
    /// The peer closed, or broke the protocol: [`Received::code`] (1005 when the peer gave
    /// none; the protocol error's code), the reason in the buffer. Every later call
    /// answers the same.
    Closed = 2,
    /// The connection went away without a close (1006 in APIs that need a code).
    Gone = 3,
    /// The exchange was not upgraded.
    Misuse = 4,
}

/// The answer of [`ExchangeV3::recv`].
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// What happened.
    pub status: RecvStatus,
    /// The message's kind, for [`RecvStatus::Message`].
    pub kind: MessageKind,
    /// The close code, for [`RecvStatus::Closed`].
    pub code: u16,
}

/// The table of `rsgi.exchange` v3 (since 0.2.4): v2's entries and the upgrade of the
/// connection to a message stream (docs/plugin-abi.md §5). Offered beside v1 and v2 over
/// the same handles.
///
/// A request whose `Upgrade` names a token a loaded codec speaks (`rsgi.upgrade`), with a
/// handshake the codec accepts, is *upgradable*: the app may answer it as usual (a denial:
/// `start`, `write`, `finish`) or call [`ExchangeV3::upgrade`]; from then on the exchange
/// is duplex: [`ExchangeV3::recv`] and [`ExchangeV3::send_message`] instead of `read` and
/// `write`, [`ExchangeV3::close`] for the close handshake, and `finish` (which closes with
/// 1000 if the app did not) or `abort` (1011) to release the handle. A malformed handshake
/// never reaches the app: the host answers it with the codec's refusal (400, 426).
#[repr(C)]
#[derive(StableAbi)]
pub struct ExchangeV3 {
    /// The entries of v2, unchanged.
    pub v2: ExchangeV2,
    /// True when the request is upgradable: the token goes to `token` and the subprotocols
    /// the client offered, in its order, to `subprotocols`.
    pub upgrade_offered: extern "C" fn(
        ctx: *const c_void,
        token: &mut RString,
        subprotocols: &mut RVec<RString>,
    ) -> bool,
    /// Accepts the upgrade with `subprotocol` (empty: none; else one the client offered)
    /// and the app's own `headers` (`Set-Cookie`, say): the `101` goes out. `Misuse` when
    /// the request is not upgradable, a head was sent, or the subprotocol was not offered.
    pub upgrade: extern "C" fn(
        ctx: *const c_void,
        subprotocol: RStr<'_>,
        headers: RSlice<'_, Header<'_>>,
    ) -> SendResult,
    /// Takes the next message (or the close) that arrived into `data` (cleared first).
    pub recv: extern "C" fn(ctx: *const c_void, data: &mut RVec<u8>) -> Received,
    /// Queues a message without waiting; back-pressure as `write` (`Full`, then
    /// [`Readiness::WRITABLE`]). `Misuse`: not upgraded, the close handshake began, or
    /// text that is not UTF-8.
    pub send_message:
        extern "C" fn(ctx: *const c_void, kind: MessageKind, data: RSlice<'_, u8>) -> WriteStatus,
    /// Begins the close handshake with `code` and `reason` (at most 123 bytes): nothing
    /// more can be sent; `recv` answers `Closed` once the peer's close arrives, and the
    /// connection closes. `Misuse` for a code that may not be sent or a second close.
    pub close: extern "C" fn(ctx: *const c_void, code: u16, reason: RStr<'_>) -> WriteStatus,
}

impl ExchangeV3 {
    /// The extension's name.
    pub const NAME: &'static str = "rsgi.exchange";
    /// The version this table is.
    pub const VERSION: u32 = 3;
}
