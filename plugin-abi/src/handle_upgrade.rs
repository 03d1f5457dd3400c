//! The `rsgi.handle_upgrade` extension, version 1 (since 0.2.5): the upgrade of a request
//! served through `handle` (a WSGI app using uWSGI's `uwsgi.websocket_*` API), as a
//! blocking message stream.
//!
//! The request's thread keeps the connection for as long as the stream lives: `recv`
//! waits (up to a timeout) for the peer's next message, `send` waits until the socket took
//! the message (up to the socket timeout). The host answers pings, sends its own on the
//! codec's interval while `recv` waits, and closes a peer whose pong is overdue. When
//! `handle` returns, the connection closes (after a close 1000 if none was sent); a
//! stream must be freed before `handle` returns and never used afterwards.

use std::ffi::c_void;

use abi_stable::{
    std_types::{RResult, RSlice, RStr, RString, RVec},
    StableAbi,
};

use crate::exchange::{Received, WriteStatus};
use crate::request::{Header, Request};
use crate::response::{Responder, SendError};
use crate::upgrade::MessageKind;

/// A blocking message stream made by [`HandleUpgradeV1::upgrade`]; opaque.
#[repr(transparent)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stream(pub *mut c_void);

/// The table of `rsgi.handle_upgrade` v1. Every entry is called on the thread running
/// `handle` for the request, during that call.
#[repr(C)]
#[derive(StableAbi)]
pub struct HandleUpgradeV1 {
    /// True when `request` is upgradable (as for `rsgi.exchange` v3's `upgrade_offered`):
    /// the token goes to `token`, the subprotocols offered to `subprotocols`.
    pub offered: extern "C" fn(
        request: &Request<'_>,
        token: &mut RString,
        subprotocols: &mut RVec<RString>,
    ) -> bool,
    /// Answers the upgrade through `responder` (which must not have started): the `101`
    /// with the codec's headers, `subprotocol` (empty: none) and `headers`, sent at once.
    /// `Misuse` when the request is not upgradable, the response started, or the codec
    /// refuses the subprotocol; `Disconnected` when the client is gone.
    pub upgrade: extern "C" fn(
        request: &Request<'_>,
        responder: &mut Responder<'_>,
        subprotocol: RStr<'_>,
        headers: RSlice<'_, Header<'_>>,
    ) -> RResult<Stream, SendError>,
    /// Waits up to `timeout_ms` (0: not at all) for the next message into `data`;
    /// `WouldBlock` when none came in time. `Closed` (sticky) once the peer closed or broke
    /// the protocol, `Gone` when the connection failed or a ping went unanswered.
    pub recv: extern "C" fn(s: Stream, data: &mut RVec<u8>, timeout_ms: u64) -> Received,
    /// Sends a message, waiting until the socket took it (`Gone` past the socket timeout
    /// or on a failed write; `Misuse` after a close or for text that is not UTF-8).
    pub send: extern "C" fn(s: Stream, kind: MessageKind, data: RSlice<'_, u8>) -> WriteStatus,
    /// Sends our close with `code` and `reason`.
    pub close: extern "C" fn(s: Stream, code: u16, reason: RStr<'_>) -> WriteStatus,
    /// Releases the stream (a close 1000 goes out first if none did).
    pub free: extern "C" fn(s: Stream),
}

impl HandleUpgradeV1 {
    /// The extension's name.
    pub const NAME: &'static str = "rsgi.handle_upgrade";
    /// The version this table is.
    pub const VERSION: u32 = 1;
}
