//! Test support: an interpreter started in-process; requests built from owned data and
//! host-side fakes of the body reader and the responder come from the SDK
//! (`rsgi_plugin_api::testing`).

use std::sync::{Once, OnceLock};

use pyo3::prelude::*;

use crate::interp;
use crate::interp::thread_state;
use crate::options::Settings;

static START: Once = Once::new();

/// The dispositions of [`PYTHON_SIGNALS`] right before the interpreter started.
static BEFORE_START: OnceLock<Vec<(i32, libc::sighandler_t)>> = OnceLock::new();

/// The signals CPython takes over when it installs its handlers (`install_signal_handlers`):
/// SIGINT (KeyboardInterrupt, only when its disposition is the default one), SIGPIPE and
/// SIGXFSZ (ignored).
pub const PYTHON_SIGNALS: [i32; 3] = [libc::SIGINT, libc::SIGPIPE, libc::SIGXFSZ];

/// Runs `f` attached to an interpreter started once for the whole test binary.
pub fn python<R>(f: impl for<'py> FnOnce(Python<'py>) -> R) -> R {
    START.call_once(|| {
        let _ = BEFORE_START.set(signal_dispositions());
        interp::initialize(&Settings::default()).expect("Python starts")
    });
    thread_state::attach(f)
}

/// The current disposition (handler, `SIG_DFL` or `SIG_IGN`) of each of [`PYTHON_SIGNALS`].
pub fn signal_dispositions() -> Vec<(i32, libc::sighandler_t)> {
    PYTHON_SIGNALS
        .iter()
        .map(|&signal| {
            // SAFETY: reads the disposition without changing it (no new action given).
            let handler = unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                assert_eq!(libc::sigaction(signal, std::ptr::null(), &mut old), 0);
                old.sa_sigaction
            };
            (signal, handler)
        })
        .collect()
}

/// [`signal_dispositions`] as they were right before [`python`] started the interpreter:
/// what the test process inherited (SIGINT is ignored when the tests run in the background
/// or under `nohup`; Rust ignores SIGPIPE), which Python must leave as it found it.
pub fn signal_dispositions_before_start() -> &'static [(i32, libc::sighandler_t)] {
    python(|_| ());
    BEFORE_START.get().expect("recorded at the start")
}

/// An option value as the host hands it over: `opt("pythonpath", &["a", "b"])`.
pub use rsgi_plugin_api::testing::option as opt;

/// Runs Python `code` in a fresh namespace (with `FileWrapper` defined) and returns the
/// object bound to `name` there.
pub fn define<'py>(py: Python<'py>, code: &str, name: &str) -> Bound<'py, PyAny> {
    let globals = pyo3::types::PyDict::new(py);
    globals
        .set_item(
            "FileWrapper",
            py.get_type::<crate::wsgi::file_wrapper::FileWrapper>(),
        )
        .unwrap();
    let code = std::ffi::CString::new(code).unwrap();
    py.run(&code, Some(&globals), None).unwrap();
    globals.get_item(name).unwrap().unwrap()
}

// The host-side fakes (requests, bodies, a recording responder) are the SDK's.
pub use rsgi_plugin_api::testing::{FakeBody, FakeResponse, RequestSpec, Sent};
