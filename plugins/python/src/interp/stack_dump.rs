//! Where a stuck worker is stuck: each worker registers `faulthandler` for the host's
//! stack-dump signal ([`rsgi_plugin_api::app::stack_dump_signal`]), which the master sends
//! a worker it is about to kill for harakiri (and `uwsgi.set_user_harakiri`'s watchdog
//! sends its own worker). faulthandler writes every thread's Python stack to stderr from
//! a C signal handler, so it works while a thread holds the GIL in C code or loops in
//! Python.

use pyo3::prelude::*;
use pyo3::types::PyDict;

/// Registers the handler in this worker (after the fork; best effort).
pub fn register(py: Python<'_>) {
    let signal = rsgi_plugin_api::app::stack_dump_signal();
    let registered = (|| -> PyResult<()> {
        let kwargs = PyDict::new(py);
        kwargs.set_item("all_threads", true)?;
        kwargs.set_item("chain", false)?;
        py.import("faulthandler")?
            .call_method("register", (signal,), Some(&kwargs))?;
        Ok(())
    })();
    if let Err(err) = registered {
        tracing::debug!("faulthandler.register({signal}) failed: {err}; no stacks at harakiri");
    }
}

/// Sends this process the stack-dump signal and gives the handler a moment to write.
pub fn dump_own_stacks() {
    // SAFETY: raise(3) runs the handler faulthandler installed (or the default action).
    unsafe { libc::raise(rsgi_plugin_api::app::stack_dump_signal()) };
    std::thread::sleep(std::time::Duration::from_millis(200));
}
