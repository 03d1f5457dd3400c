//! The host's side of an exchange (`rsgi.exchange` v1): a fake that records the response,
//! serves a body in pieces the test hands over, and lets the test play the client (slow,
//! gone) and fire the waker.

use std::ffi::c_void;
use std::sync::{Arc, Mutex, MutexGuard};

use abi_stable::std_types::{RErr, ROk, RSlice, RSliceMut, RStr};

use crate::exchange::{
    Exchange as RawExchange, ExchangeV1, ReadResult, ReadStatus, Readiness, Waker, WriteStatus,
};
use crate::request::Header;
use crate::response::{SendError, SendResult};
use crate::sdk::exchange::Exchange;

/// What the fake holds; shared between the test and the handles it gave out.
#[derive(Default)]
struct State {
    head: Option<(u16, Vec<(String, String)>)>,
    body: Vec<u8>,
    /// Body bytes the client "sent" and the app has not read.
    input: Vec<u8>,
    /// The client "sent" the whole body.
    input_ended: bool,
    /// When set, `write` answers `Full` (the client reads slowly).
    full: bool,
    gone: bool,
    finished: bool,
    aborted: Option<String>,
    waker: Option<Waker>,
    /// Handles given out and not released.
    live: usize,
}

/// A fake host side of an exchange. [`FakeExchange::exchange`] makes the handle to pass to
/// [`crate::sdk::App::call`]; the test then looks at what the app did, and plays the
/// client: [`FakeExchange::send_body`], [`FakeExchange::end_body`],
/// [`FakeExchange::set_full`], [`FakeExchange::go_away`] (each wakes the app's waker as
/// the host would). Clones share the same state, so a clone may move to another thread.
#[derive(Clone, Default)]
pub struct FakeExchange {
    state: Arc<Mutex<State>>,
}

impl FakeExchange {
    /// An exchange for a request without a body.
    pub fn new() -> FakeExchange {
        let fake = FakeExchange::default();
        fake.lock().input_ended = true;
        fake
    }

    /// An exchange whose whole request body has arrived.
    pub fn with_body(body: &[u8]) -> FakeExchange {
        let fake = FakeExchange::default();
        {
            let mut state = fake.lock();
            state.input.extend_from_slice(body);
            state.input_ended = true;
        }
        fake
    }

    /// An exchange whose body has not arrived yet: hand it over with
    /// [`FakeExchange::send_body`] and [`FakeExchange::end_body`].
    pub fn streaming() -> FakeExchange {
        FakeExchange::default()
    }

    /// The handle for the app.
    pub fn exchange(&self) -> Exchange {
        self.lock().live += 1;
        let ctx = Arc::into_raw(self.state.clone()).cast::<c_void>();
        Exchange::from_raw(RawExchange { ctx, table: &TABLE })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wake(&self, events: Readiness) {
        let waker = self.lock().waker.as_ref().map(|w| (w.wake, w.data));
        if let Some((wake, data)) = waker {
            wake(data, events);
        }
    }

    /// The client sends body bytes: the app's waker hears [`Readiness::READABLE`].
    pub fn send_body(&self, bytes: &[u8]) {
        self.lock().input.extend_from_slice(bytes);
        self.wake(Readiness::READABLE);
    }

    /// The client's body ends: the app's waker hears [`Readiness::READABLE`].
    pub fn end_body(&self) {
        self.lock().input_ended = true;
        self.wake(Readiness::READABLE);
    }

    /// The client reads slowly (`true`: every write answers `Full`) or catches up
    /// (`false`: the waker hears [`Readiness::WRITABLE`]).
    pub fn set_full(&self, full: bool) {
        self.lock().full = full;
        if !full {
            self.wake(Readiness::WRITABLE);
        }
    }

    /// The client leaves: the waker hears [`Readiness::GONE`], and every later call
    /// answers `Gone`.
    pub fn go_away(&self) {
        self.lock().gone = true;
        self.wake(Readiness::GONE);
    }

    /// The status, if the response was started.
    pub fn status(&self) -> Option<u16> {
        self.lock().head.as_ref().map(|(s, _)| *s)
    }

    /// The headers, if the response was started (names and values as latin-1 text).
    pub fn headers(&self) -> Vec<(String, String)> {
        self.lock()
            .head
            .as_ref()
            .map(|(_, h)| h.clone())
            .unwrap_or_default()
    }

    /// The body bytes written so far.
    pub fn body(&self) -> Vec<u8> {
        self.lock().body.clone()
    }

    /// True once the app called `finish`.
    pub fn finished(&self) -> bool {
        self.lock().finished
    }

    /// The reason given to `abort` (or the drop of an unfinished handle).
    pub fn aborted(&self) -> Option<String> {
        self.lock().aborted.clone()
    }

    /// True while the app has a waker set.
    pub fn has_waker(&self) -> bool {
        self.lock().waker.is_some()
    }

    /// True once every handle given out was finished or aborted.
    pub fn released(&self) -> bool {
        self.lock().live == 0
    }
}

impl Drop for State {
    fn drop(&mut self) {
        if let Some(w) = self.waker.take() {
            (w.drop)(w.data);
        }
    }
}

static TABLE: ExchangeV1 = ExchangeV1 {
    start,
    write,
    read,
    set_waker,
    finish,
    abort,
};

/// The fake's state behind a handle's `ctx`.
fn state<'a>(ctx: *const c_void) -> &'a Mutex<State> {
    // SAFETY: `ctx` came from Arc::into_raw in `exchange`, and the handle keeps that
    // reference until `finish` or `abort`.
    unsafe { &*ctx.cast::<Mutex<State>>() }
}

fn locked<'a>(ctx: *const c_void) -> MutexGuard<'a, State> {
    state(ctx).lock().unwrap_or_else(|e| e.into_inner())
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

extern "C" fn start(
    ctx: *const c_void,
    status: u16,
    _reason: RStr<'_>,
    headers: RSlice<'_, Header<'_>>,
) -> SendResult {
    let mut s = locked(ctx);
    if s.gone {
        return RErr(SendError::Disconnected);
    }
    if s.head.is_some() || s.finished {
        return RErr(SendError::Misuse);
    }
    let headers = headers
        .iter()
        .map(|h| (latin1(h.name.as_slice()), latin1(h.value.as_slice())))
        .collect();
    s.head = Some((status, headers));
    ROk(())
}

extern "C" fn write(ctx: *const c_void, data: RSlice<'_, u8>) -> WriteStatus {
    let mut s = locked(ctx);
    if s.gone {
        return WriteStatus::Gone;
    }
    if s.head.is_none() || s.finished {
        return WriteStatus::Misuse;
    }
    s.body.extend_from_slice(data.as_slice());
    if s.full {
        WriteStatus::Full
    } else {
        WriteStatus::Queued
    }
}

extern "C" fn read(ctx: *const c_void, mut buf: RSliceMut<'_, u8>) -> ReadResult {
    let mut s = locked(ctx);
    let answer = |status, len| ReadResult { status, len };
    if s.gone {
        return answer(ReadStatus::Gone, 0);
    }
    if s.input.is_empty() {
        let status = if s.input_ended {
            ReadStatus::End
        } else {
            ReadStatus::WouldBlock
        };
        return answer(status, 0);
    }
    let n = buf.len().min(s.input.len());
    buf.as_mut_slice()[..n].copy_from_slice(&s.input[..n]);
    s.input.drain(..n);
    answer(ReadStatus::Data, n)
}

extern "C" fn set_waker(ctx: *const c_void, waker: Waker) {
    let old = locked(ctx).waker.replace(waker);
    if let Some(w) = old {
        (w.drop)(w.data);
    }
}

fn release(ctx: *const c_void) {
    locked(ctx).live -= 1;
    // SAFETY: the reference `exchange` made with Arc::into_raw, given back once.
    drop(unsafe { Arc::from_raw(ctx.cast::<Mutex<State>>()) });
}

extern "C" fn finish(ctx: *const c_void) {
    locked(ctx).finished = true;
    release(ctx);
}

extern "C" fn abort(ctx: *const c_void, reason: RStr<'_>) {
    locked(ctx).aborted = Some(reason.as_str().to_owned());
    release(ctx);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdk::exchange::Read;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn a_streamed_body_wakes_the_waker_and_reads_in_pieces() {
        let fake = FakeExchange::streaming();
        let exchange = fake.exchange();
        let seen = Arc::new(AtomicU32::new(0));
        let s = seen.clone();
        exchange.set_waker(move |events| {
            s.fetch_or(events.0, Ordering::SeqCst);
        });
        let mut buf = [0u8; 3];
        assert_eq!(exchange.read(&mut buf), Read::WouldBlock);
        fake.send_body(b"hello");
        assert_eq!(seen.load(Ordering::SeqCst), Readiness::READABLE.0);
        assert_eq!(exchange.read(&mut buf), Read::Data(3));
        assert_eq!(exchange.read(&mut buf), Read::Data(2));
        assert_eq!(exchange.read(&mut buf), Read::WouldBlock);
        fake.end_body();
        assert_eq!(exchange.read(&mut buf), Read::End);
        exchange.start(200, "", &[]).unwrap();
        exchange.finish();
        assert!(fake.finished() && fake.released());
    }

    #[test]
    fn a_dropped_handle_aborts_and_a_gone_client_answers_gone() {
        let fake = FakeExchange::new();
        let exchange = fake.exchange();
        fake.go_away();
        assert_eq!(exchange.write(b"x"), WriteStatus::Gone);
        assert_eq!(exchange.read(&mut [0u8; 4]), Read::Gone);
        assert_eq!(exchange.start(200, "", &[]), Err(SendError::Disconnected));
        drop(exchange);
        assert!(fake.aborted().unwrap().contains("without finishing"));
        assert!(fake.released());
    }

    #[test]
    fn writes_before_start_are_misuse_and_full_asks_to_wait() {
        let fake = FakeExchange::new();
        let exchange = fake.exchange();
        assert_eq!(exchange.write(b"x"), WriteStatus::Misuse);
        exchange.start(200, "", &[]).unwrap();
        fake.set_full(true);
        assert_eq!(exchange.write(b"ab"), WriteStatus::Full);
        fake.set_full(false);
        assert_eq!(exchange.write(b"c"), WriteStatus::Queued);
        assert_eq!(fake.body(), b"abc");
        exchange.finish();
    }
}
