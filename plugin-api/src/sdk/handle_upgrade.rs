//! [`HandleStream`]: a WebSocket (or another upgrade) accepted from within
//! [`App::handle`](crate::sdk::App::handle), as a blocking message stream (extension
//! `rsgi.handle_upgrade` v1, since ABI 0.2.5).
//!
//! This is how uWSGI's `uwsgi.websocket_handshake()` / `websocket_recv()` /
//! `websocket_send()` work for a WSGI app: the request's thread keeps the connection for
//! as long as the stream lives. An app served through [`App::call`](crate::sdk::App::call)
//! uses [`Exchange::upgrade`](crate::sdk::exchange::Exchange::upgrade) instead, which holds
//! no thread.
//!
//! Drop the stream before `handle` returns (dropping it frees it, after a close 1000 if
//! none was sent); the connection closes when `handle` returns.

use std::time::Duration;

use abi_stable::std_types::{RSlice, RStr, RString, RVec};

use crate::exchange::{RecvStatus, WriteStatus};
use crate::handle_upgrade::{HandleUpgradeV1, Stream};
use crate::request::{Header, Request};
use crate::response::{Responder, SendError};
use crate::sdk::exchange::{Recv, UpgradeOffer};
use crate::upgrade::MessageKind;

/// The host's `rsgi.handle_upgrade` v1, looked up once.
fn table() -> Option<&'static HandleUpgradeV1> {
    static T: std::sync::OnceLock<Option<&'static HandleUpgradeV1>> = std::sync::OnceLock::new();
    *T.get_or_init(|| {
        super::extensions::from_host::<HandleUpgradeV1>()
            .ok()
            .flatten()
    })
}

/// The upgrade `request` asks for, when a loaded codec speaks its token and accepts the
/// client's handshake; `None` otherwise (or on a host older than ABI 0.2.5).
pub fn offered(request: &Request<'_>) -> Option<UpgradeOffer> {
    let t = table()?;
    let mut token = RString::new();
    let mut subprotocols = RVec::new();
    if !(t.offered)(request, &mut token, &mut subprotocols) {
        return None;
    }
    Some(UpgradeOffer {
        token: token.into_string(),
        subprotocols: subprotocols.into_iter().map(RString::into_string).collect(),
    })
}

/// Accepts the upgrade of `request` through `responder` (not started yet): the `101` goes
/// out with `subprotocol` (one the client offered) and `headers` of your own.
pub fn upgrade(
    request: &Request<'_>,
    responder: &mut Responder<'_>,
    subprotocol: Option<&str>,
    headers: &[Header<'_>],
) -> Result<HandleStream, SendError> {
    let Some(t) = table() else {
        return Err(SendError::Misuse);
    };
    let stream = (t.upgrade)(
        request,
        responder,
        RStr::from_str(subprotocol.unwrap_or("")),
        RSlice::from_slice(headers),
    )
    .into_result()?;
    Ok(HandleStream { stream, table: t })
}

/// A blocking message stream on the request's connection. Not `Send`: it belongs to the
/// thread running `handle`.
pub struct HandleStream {
    stream: Stream,
    table: &'static HandleUpgradeV1,
}

impl HandleStream {
    /// Waits up to `timeout` (`None`: do not wait) for the next message, into `data`.
    pub fn recv(&self, data: &mut RVec<u8>, timeout: Option<Duration>) -> Recv {
        let ms = timeout.map_or(0, |t| t.as_millis().clamp(1, u128::from(u64::MAX)) as u64);
        let got = (self.table.recv)(self.stream, data, ms);
        match got.status {
            RecvStatus::Message => Recv::Message(got.kind),
            RecvStatus::WouldBlock => Recv::WouldBlock,
            RecvStatus::Closed => Recv::Closed(got.code),
            RecvStatus::Gone => Recv::Gone,
            RecvStatus::Misuse => Recv::Misuse,
        }
    }

    /// Sends a message, waiting until the socket took it.
    pub fn send(&self, kind: MessageKind, data: &[u8]) -> WriteStatus {
        (self.table.send)(self.stream, kind, RSlice::from_slice(data))
    }

    /// Sends our close.
    pub fn close(&self, code: u16, reason: &str) -> WriteStatus {
        (self.table.close)(self.stream, code, RStr::from_str(reason))
    }
}

impl Drop for HandleStream {
    fn drop(&mut self) {
        (self.table.free)(self.stream);
    }
}

impl std::fmt::Debug for HandleStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandleStream")
            .field("stream", &self.stream.0)
            .finish()
    }
}
