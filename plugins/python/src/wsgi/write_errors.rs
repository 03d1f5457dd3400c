//! What happens when the app writes to a client that went away, as uWSGI's options of the
//! same names decide it:
//! - by default the legacy `write()` callable raises `OSError` (the app may stop early),
//!   and the request's end is logged at info level ("client went away");
//! - `--disable-write-exception`: `write()` returns quietly instead (later writes are
//!   dropped), for apps that do not expect it to raise;
//! - `--ignore-write-errors`: that log line goes to debug level.
//!
//! Iterated bodies are never raised into: the iteration just stops (and `close()` runs).

use std::sync::OnceLock;

/// The two switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteErrors {
    /// `write()` raises `OSError` when the client went away.
    pub raise: bool,
    /// A request cut short by the client is logged at info level (else debug).
    pub report: bool,
}

impl Default for WriteErrors {
    fn default() -> Self {
        WriteErrors {
            raise: true,
            report: true,
        }
    }
}

static POLICY: OnceLock<WriteErrors> = OnceLock::new();

/// Sets the process's policy (once, from the options).
pub fn set(policy: WriteErrors) {
    let _ = POLICY.set(policy);
}

/// The process's policy (the default until set).
pub fn policy() -> WriteErrors {
    POLICY.get().copied().unwrap_or_default()
}
