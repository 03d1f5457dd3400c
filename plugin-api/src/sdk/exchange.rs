//! [`Exchange`]: one request's exchange, answered now or later (extension `rsgi.exchange`
//! v1), as a safe handle.
//!
//! An app whose [`App::calls`](crate::sdk::App::calls) is true is served through
//! [`App::call`](crate::sdk::App::call), which gets an `Exchange`: answer within the call
//! (start, write, finish) and return [`CallOutcome::Done`], or move the handle to your own
//! event loop and return [`CallOutcome::Pending`]. Every method may be called from any
//! thread and none waits: [`Exchange::write`] answers [`WriteStatus::Full`] when the
//! client reads slower than you write (wait for [`Readiness::WRITABLE`]),
//! [`Exchange::read`] answers [`Read::WouldBlock`] until body bytes arrive (wait for
//! [`Readiness::READABLE`]); the waker set with [`Exchange::set_waker`] hears both, and
//! [`Readiness::GONE`] when the client leaves.
//!
//! Dropping the handle without [`Exchange::finish`] aborts it: the client gets a 500 if
//! no head was sent, else its connection is closed.
//!
//! ```
//! use rsgi_plugin_api::sdk::exchange::{Exchange, Read};
//! use rsgi_plugin_api::testing::{FakeExchange, RequestSpec};
//! use rsgi_plugin_api::CallOutcome;
//!
//! /// Answers with the request body, reading what is there.
//! fn echo(exchange: Exchange) -> CallOutcome {
//!     let mut body = Vec::new();
//!     let mut buf = [0u8; 4096];
//!     loop {
//!         match exchange.read(&mut buf) {
//!             Read::Data(n) => body.extend_from_slice(&buf[..n]),
//!             Read::End => break,
//!             // A real app keeps the handle and goes on when its waker hears READABLE.
//!             _ => return CallOutcome::Failed,
//!         }
//!     }
//!     exchange.start(200, "", &[]).unwrap();
//!     exchange.write(&body);
//!     exchange.finish();
//!     CallOutcome::Done
//! }
//!
//! let fake = FakeExchange::with_body(b"hello");
//! assert_eq!(echo(fake.exchange()), CallOutcome::Done);
//! assert_eq!(fake.status(), Some(200));
//! assert_eq!(fake.body(), b"hello");
//! assert!(fake.finished());
//! ```

use abi_stable::std_types::{RSlice, RSliceMut, RStr, RString, RVec};

pub use crate::exchange::{CallOutcome, ReadStatus, Readiness, RecvStatus, WriteStatus};
use crate::exchange::{Exchange as RawExchange, ExchangeV1, ExchangeV2, ExchangeV3, Waker};
use crate::request::Header;
use crate::response::SendError;
pub use crate::upgrade::MessageKind;

/// What [`Exchange::read`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// This many body bytes were copied into the buffer.
    Data(usize),
    /// The body ended.
    End,
    /// Nothing yet; the waker hears [`Readiness::READABLE`] when there is.
    WouldBlock,
    /// The client went away before the body ended.
    Gone,
    /// The body was malformed or over `--limit-post`; the host answers the client.
    Malformed,
}

/// An upgrade the request asks for and a loaded codec accepts
/// ([`Exchange::upgrade_offered`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeOffer {
    /// The protocol (`websocket`).
    pub token: String,
    /// The subprotocols the client offered, in its order of preference.
    pub subprotocols: Vec<String>,
}

/// What [`Exchange::recv`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recv {
    /// A whole message of this kind is in the buffer.
    Message(MessageKind),
    /// Nothing yet; the waker hears [`Readiness::READABLE`] when something arrives.
    WouldBlock,
    /// The peer closed (or broke the protocol) with this code (1005: it gave none); the
    /// reason is in the buffer.
    Closed(u16),
    /// The connection went away without a close (1006).
    Gone,
    /// The exchange is not upgraded (or the host is older than ABI 0.2.4).
    Misuse,
}

/// One request's exchange: a handle the host gave [`App::call`](crate::sdk::App::call).
/// `Send + Sync`: use it from any thread.
pub struct Exchange {
    ctx: *const std::ffi::c_void,
    table: &'static ExchangeV1,
    /// Set once `finish` or `abort` released the host's state.
    released: bool,
}

// SAFETY: the host's state is shared between threads and every entry of its table may be
// called from any thread, concurrently (the ABI's contract for `rsgi.exchange` v1).
unsafe impl Send for Exchange {}
unsafe impl Sync for Exchange {}

impl Exchange {
    /// Wraps the handle the host passed to `call`. Used by the export macros' shim and by
    /// [`crate::testing::FakeExchange`].
    pub fn from_raw(raw: RawExchange) -> Exchange {
        Exchange {
            ctx: raw.ctx,
            table: raw.table,
            released: false,
        }
    }

    /// Sends the response head, once, before any body: `reason` may be empty (the
    /// protocol fills in the standard phrase); names and values are validated by the
    /// protocol ([`SendError::InvalidHead`]).
    pub fn start(
        &self,
        status: u16,
        reason: &str,
        headers: &[Header<'_>],
    ) -> Result<(), SendError> {
        (self.table.start)(
            self.ctx,
            status,
            RStr::from_str(reason),
            RSlice::from_slice(headers),
        )
        .into_result()
    }

    /// Queues body bytes without waiting. [`WriteStatus::Full`]: taken, but wait for
    /// [`Readiness::WRITABLE`] before writing more; [`WriteStatus::Gone`]: the client left.
    pub fn write(&self, data: &[u8]) -> WriteStatus {
        (self.table.write)(self.ctx, RSlice::from_slice(data))
    }

    /// Copies request body bytes that arrived into `buf`, without waiting.
    pub fn read(&self, buf: &mut [u8]) -> Read {
        let result = (self.table.read)(self.ctx, RSliceMut::from(buf));
        match result.status {
            ReadStatus::Data => Read::Data(result.len),
            ReadStatus::End => Read::End,
            ReadStatus::WouldBlock => Read::WouldBlock,
            ReadStatus::Gone => Read::Gone,
            ReadStatus::Malformed => Read::Malformed,
        }
    }

    /// Sets the function the host calls, on its loop thread, with [`Readiness`] events
    /// (replacing an earlier one). It must return quickly and not call back into this
    /// exchange on that thread: hand the news to your own loop (an asyncio loop's
    /// `call_soon_threadsafe`, a channel).
    pub fn set_waker<F: Fn(Readiness) + Send + Sync + 'static>(&self, wake: F) {
        let data = Box::into_raw(Box::new(wake)).cast::<std::ffi::c_void>();
        (self.table.set_waker)(
            self.ctx,
            Waker {
                data,
                wake: call_waker::<F>,
                drop: drop_waker::<F>,
            },
        );
    }

    /// Queues `len` bytes of the file `fd` from `offset`, sent zero-copy after what was
    /// written before (`rsgi.exchange` v2: the host duplicates `fd`, close yours when you
    /// like). `None` when the host does not offer v2 (older than ABI 0.2.3): write the
    /// bytes instead.
    pub fn sendfile(&self, fd: std::os::fd::RawFd, offset: u64, len: u64) -> Option<WriteStatus> {
        let v2 = exchange_v2()?;
        Some((v2.sendfile)(self.ctx, fd, offset, len))
    }

    /// The upgrade the request asks for, when a loaded codec speaks its token and accepts
    /// the client's handshake (`rsgi.exchange` v3; `None` on an older host).
    pub fn upgrade_offered(&self) -> Option<UpgradeOffer> {
        let v3 = exchange_v3()?;
        let mut token = RString::new();
        let mut subprotocols = RVec::new();
        if !(v3.upgrade_offered)(self.ctx, &mut token, &mut subprotocols) {
            return None;
        }
        Some(UpgradeOffer {
            token: token.into_string(),
            subprotocols: subprotocols.into_iter().map(RString::into_string).collect(),
        })
    }

    /// Accepts the upgrade: the `101` goes out with the codec's headers, `subprotocol`
    /// (one the client offered) and `headers` of your own; from here on the exchange
    /// carries messages ([`Exchange::recv`], [`Exchange::send_message`]).
    pub fn upgrade(
        &self,
        subprotocol: Option<&str>,
        headers: &[Header<'_>],
    ) -> Result<(), SendError> {
        let Some(v3) = exchange_v3() else {
            return Err(SendError::Misuse);
        };
        (v3.upgrade)(
            self.ctx,
            RStr::from_str(subprotocol.unwrap_or("")),
            RSlice::from_slice(headers),
        )
        .into_result()
    }

    /// Takes the next message (or the close) of an upgraded exchange into `data`, without
    /// waiting.
    pub fn recv(&self, data: &mut RVec<u8>) -> Recv {
        let Some(v3) = exchange_v3() else {
            return Recv::Misuse;
        };
        let got = (v3.recv)(self.ctx, data);
        match got.status {
            RecvStatus::Message => Recv::Message(got.kind),
            RecvStatus::WouldBlock => Recv::WouldBlock,
            RecvStatus::Closed => Recv::Closed(got.code),
            RecvStatus::Gone => Recv::Gone,
            RecvStatus::Misuse => Recv::Misuse,
        }
    }

    /// Queues a message on an upgraded exchange, without waiting (back-pressure as
    /// [`Exchange::write`]).
    pub fn send_message(&self, kind: MessageKind, data: &[u8]) -> WriteStatus {
        match exchange_v3() {
            Some(v3) => (v3.send_message)(self.ctx, kind, RSlice::from_slice(data)),
            None => WriteStatus::Misuse,
        }
    }

    /// Begins the close handshake of an upgraded exchange with `code` and `reason`.
    pub fn close(&self, code: u16, reason: &str) -> WriteStatus {
        match exchange_v3() {
            Some(v3) => (v3.close)(self.ctx, code, RStr::from_str(reason)),
            None => WriteStatus::Misuse,
        }
    }

    /// Ends the response (a 500 if no head was started) and releases the handle.
    pub fn finish(mut self) {
        self.released = true;
        (self.table.finish)(self.ctx);
    }

    /// Gives the exchange up: 500 if no head was sent, else the connection is closed.
    /// `reason` goes to the host's log.
    pub fn abort(mut self, reason: &str) {
        self.released = true;
        (self.table.abort)(self.ctx, RStr::from_str(reason));
    }
}

/// The host's `rsgi.exchange` v2, looked up once.
fn exchange_v2() -> Option<&'static ExchangeV2> {
    static V2: std::sync::OnceLock<Option<&'static ExchangeV2>> = std::sync::OnceLock::new();
    *V2.get_or_init(|| super::extensions::from_host::<ExchangeV2>().ok().flatten())
}

/// The host's `rsgi.exchange` v3, looked up once.
fn exchange_v3() -> Option<&'static ExchangeV3> {
    static V3: std::sync::OnceLock<Option<&'static ExchangeV3>> = std::sync::OnceLock::new();
    *V3.get_or_init(|| super::extensions::from_host::<ExchangeV3>().ok().flatten())
}

impl Drop for Exchange {
    fn drop(&mut self) {
        if !self.released {
            (self.table.abort)(
                self.ctx,
                RStr::from_str("the app dropped the exchange without finishing it"),
            );
        }
    }
}

impl std::fmt::Debug for Exchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exchange").field("ctx", &self.ctx).finish()
    }
}

extern "C" fn call_waker<F: Fn(Readiness) + Send + Sync + 'static>(
    data: *const std::ffi::c_void,
    events: Readiness,
) {
    // SAFETY: `data` is the Box<F> made in `set_waker`, alive until `drop_waker`.
    let wake = unsafe { &*data.cast::<F>() };
    // A panic must not cross into the host: the waker's news is lost, the line says so.
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| wake(events))).is_err() {
        crate::log::error_line("an exchange's waker panicked; its event was lost");
    }
}

extern "C" fn drop_waker<F: Fn(Readiness) + Send + Sync + 'static>(data: *const std::ffi::c_void) {
    // SAFETY: made by Box::into_raw in `set_waker`; the host drops a waker once.
    drop(unsafe { Box::from_raw(data.cast_mut().cast::<F>()) });
}
