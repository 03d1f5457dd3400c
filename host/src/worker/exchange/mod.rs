//! Exchanges: requests served through an app plugin's `call` (extension `rsgi.exchange`
//! v1), answered within the call or later from any thread, with bodies streamed both ways.
//!
//! The app holds a handle on an [`ExchangeState`] (its entries are in [`table`]); the
//! connection on the loop holds the same state and moves bytes between it and the socket
//! (`conn::exchange`). When the app changes something the loop must act on (bytes to
//! write, room for more body, the end), the state notifies the loop through the
//! [`Notifier`]: the connection's key goes on a list and the loop's poll is woken.

pub mod duplex;
pub mod marks;
pub mod state;
pub mod table;

use std::sync::{Arc, Mutex};

use mio::Waker;
use rsgi_plugin_api::exchange::{CallOutcome, Exchange};
use rsgi_plugin_api::sdk::extensions::offer;
use rsgi_plugin_api::{Extension, Request};

pub use state::{ExchangeState, ResponseSetup};

/// An app plugin's `call` entry (ABI 0.2.2).
pub type CallFn = extern "C" fn(&Request<'_>, Exchange) -> CallOutcome;

/// How exchanges on other threads tell the loop that a connection has news.
pub struct Notifier {
    waker: Arc<Waker>,
    keys: Mutex<Vec<usize>>,
}

impl Notifier {
    /// A notifier that wakes the loop's poll through `waker`.
    pub fn new(waker: Arc<Waker>) -> Arc<Notifier> {
        Arc::new(Notifier {
            waker,
            keys: Mutex::new(Vec::new()),
        })
    }

    /// Connection `key` has news.
    pub fn notify(&self, key: usize) {
        let first = {
            let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
            keys.push(key);
            keys.len() == 1
        };
        if first {
            let _ = self.waker.wake();
        }
    }

    /// The connections with news since the last call, into `out` (emptied first).
    pub fn take(&self, out: &mut Vec<usize>) {
        out.clear();
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::swap(&mut *keys, out);
    }
}

/// The extension `rsgi.exchange` v1, as the host offers it.
pub fn offered() -> Extension {
    offer(&table::EXCHANGE_V1)
}

/// The extension `rsgi.exchange` v2 (v1 and `sendfile`), as the host offers it.
pub fn offered_v2() -> Extension {
    offer(&table::EXCHANGE_V2)
}

/// The extension `rsgi.exchange` v3 (v2 and the upgrade to a message stream), as the host
/// offers it.
pub fn offered_v3() -> Extension {
    offer(&table::EXCHANGE_V3)
}
