//! The table of `rsgi.exchange` v1: the app's calls on an exchange handle, each a guarded
//! `extern "C"` entry over [`ExchangeState`].
//!
//! A handle's `ctx` is one strong reference to its [`ExchangeState`] (`Arc::into_raw`),
//! given back by `finish` or `abort`; the connection holds another while the exchange
//! lives.

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use abi_stable::std_types::{RErr, ROk, RSlice, RSliceMut, RStr, RString, RVec};
use rsgi_plugin_api::exchange::{
    Exchange, ExchangeV1, ExchangeV2, ExchangeV3, ReadResult, ReadStatus, Received, RecvStatus,
    Waker, WriteStatus,
};
use rsgi_plugin_api::upgrade::MessageKind;
use rsgi_plugin_api::{Header, SendError, SendResult};

use super::state::ExchangeState;

/// The table every handle points to (and the answer for `rsgi.exchange` v1).
pub static EXCHANGE_V1: ExchangeV1 = ExchangeV1 {
    start,
    write,
    read,
    set_waker,
    finish,
    abort,
};

/// The answer for `rsgi.exchange` v2: v1's entries and `sendfile`, over the same handles.
pub static EXCHANGE_V2: ExchangeV2 = ExchangeV2 {
    v1: ExchangeV1 {
        start,
        write,
        read,
        set_waker,
        finish,
        abort,
    },
    sendfile,
};

/// The answer for `rsgi.exchange` v3: v2's entries and the upgrade, over the same handles.
pub static EXCHANGE_V3: ExchangeV3 = ExchangeV3 {
    v2: ExchangeV2 {
        v1: ExchangeV1 {
            start,
            write,
            read,
            set_waker,
            finish,
            abort,
        },
        sendfile,
    },
    upgrade_offered,
    upgrade,
    recv,
    send_message,
    close,
};

/// A handle for the app, holding one reference to `state`.
pub fn handle(state: &Arc<ExchangeState>) -> Exchange {
    Exchange {
        ctx: Arc::into_raw(state.clone()).cast::<c_void>(),
        table: &EXCHANGE_V1,
    }
}

/// The state behind a live handle.
fn state<'a>(ctx: *const c_void) -> &'a ExchangeState {
    // SAFETY: `ctx` came from `handle` and its reference is held until `finish` or `abort`
    // (the ABI's contract: a released handle is never used again).
    unsafe { &*ctx.cast::<ExchangeState>() }
}

/// Runs `f` on the state; a panic in the host's code becomes `fallback`, never an unwind
/// into the plugin.
fn guarded<T>(ctx: *const c_void, fallback: T, f: impl FnOnce(&ExchangeState) -> T) -> T {
    catch_unwind(AssertUnwindSafe(|| f(state(ctx)))).unwrap_or(fallback)
}

extern "C" fn start(
    ctx: *const c_void,
    status: u16,
    reason: RStr<'_>,
    headers: RSlice<'_, Header<'_>>,
) -> SendResult {
    guarded(ctx, RErr(SendError::Misuse), |s| {
        match s.start(status, reason.as_str(), headers.as_slice()) {
            Ok(()) => ROk(()),
            Err(e) => RErr(e),
        }
    })
}

extern "C" fn write(ctx: *const c_void, data: RSlice<'_, u8>) -> WriteStatus {
    guarded(ctx, WriteStatus::Misuse, |s| s.write(data.as_slice()))
}

extern "C" fn sendfile(ctx: *const c_void, fd: i32, offset: u64, len: u64) -> WriteStatus {
    guarded(ctx, WriteStatus::Misuse, |s| s.sendfile(fd, offset, len))
}

extern "C" fn read(ctx: *const c_void, mut buf: RSliceMut<'_, u8>) -> ReadResult {
    let failed = ReadResult {
        status: ReadStatus::Gone,
        len: 0,
    };
    guarded(ctx, failed, |s| s.read(buf.as_mut_slice()))
}

extern "C" fn set_waker(ctx: *const c_void, waker: Waker) {
    guarded(ctx, (), |s| s.set_waker(waker))
}

/// Gives back the handle's reference.
fn release(ctx: *const c_void) {
    // SAFETY: the reference `handle` made with Arc::into_raw, given back once (finish or
    // abort ends the handle).
    drop(unsafe { Arc::from_raw(ctx.cast::<ExchangeState>()) });
}

extern "C" fn finish(ctx: *const c_void) {
    guarded(ctx, (), ExchangeState::finish);
    release(ctx);
}

extern "C" fn abort(ctx: *const c_void, reason: RStr<'_>) {
    guarded(ctx, (), |s| s.abort(reason.as_str()));
    release(ctx);
}

extern "C" fn upgrade_offered(
    ctx: *const c_void,
    token: &mut RString,
    subprotocols: &mut RVec<RString>,
) -> bool {
    guarded(ctx, false, |s| match s.upgrade_offered() {
        Some((name, offered)) => {
            *token = RString::from(name);
            subprotocols.extend(offered.iter().map(|p| RString::from(p.as_str())));
            true
        }
        None => false,
    })
}

extern "C" fn upgrade(
    ctx: *const c_void,
    subprotocol: RStr<'_>,
    headers: RSlice<'_, Header<'_>>,
) -> SendResult {
    guarded(ctx, RErr(SendError::Misuse), |s| {
        match s.upgrade(subprotocol.as_str(), headers.as_slice()) {
            Ok(()) => ROk(()),
            Err(e) => RErr(e),
        }
    })
}

extern "C" fn recv(ctx: *const c_void, data: &mut RVec<u8>) -> Received {
    let failed = Received {
        status: RecvStatus::Gone,
        kind: MessageKind::Binary,
        code: 1006,
    };
    guarded(ctx, failed, |s| s.recv(data))
}

extern "C" fn send_message(
    ctx: *const c_void,
    kind: MessageKind,
    data: RSlice<'_, u8>,
) -> WriteStatus {
    guarded(ctx, WriteStatus::Misuse, |s| {
        s.send_message(kind, data.as_slice())
    })
}

extern "C" fn close(ctx: *const c_void, code: u16, reason: RStr<'_>) -> WriteStatus {
    guarded(ctx, WriteStatus::Misuse, |s| s.close(code, reason.as_str()))
}
