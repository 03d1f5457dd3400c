//! What else happens when the app raises, as uWSGI's options of the same names decide it
//! (by default: the traceback is logged and the host answers 500):
//! - `--catch-exceptions`: the 500 carries the traceback as its body (for development:
//!   it shows code and data to whoever made the request), when no response was started;
//! - `--reload-on-exception`: the worker then stops gracefully (SIGTERM to itself: it
//!   finishes what it is serving and exits) and the master starts a fresh one.

use std::sync::OnceLock;

use pyo3::prelude::*;
use rsgi_plugin_api::Responder;

use crate::traceback;

/// The two switches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppErrors {
    /// Send the traceback as the 500's body.
    pub catch: bool,
    /// Stop the worker after the request.
    pub reload: bool,
}

static POLICY: OnceLock<AppErrors> = OnceLock::new();

/// Sets the process's policy (once, from the options).
pub fn set(policy: AppErrors) {
    let _ = POLICY.set(policy);
}

/// After the app raised `err` for `label`: answers with the traceback under
/// `--catch-exceptions` (true when that answer was sent whole), and asks for the worker's
/// stop under `--reload-on-exception`.
pub fn raised(py: Python<'_>, err: &PyErr, label: &str, responder: &mut Responder<'_>) -> bool {
    let policy = POLICY.get().copied().unwrap_or_default();
    if policy.reload {
        tracing::info!("{label}: the app raised: stopping this worker (--reload-on-exception)");
        // SAFETY: kill(2) on this very process; the worker's SIGTERM handling stops it
        // gracefully once its requests are done.
        unsafe { libc::kill(libc::getpid(), libc::SIGTERM) };
    }
    policy.catch && answer_with_traceback(py, err, responder)
}

fn answer_with_traceback(py: Python<'_>, err: &PyErr, responder: &mut Responder<'_>) -> bool {
    let body = traceback::format(py, err);
    // Fails (and sends nothing) when the app had started its response already.
    crate::wsgi::text_response::send_text(
        responder,
        500,
        "Internal Server Error",
        "text/plain; charset=utf-8",
        body.as_bytes(),
    )
    .is_ok()
}
