//! ASGI 3 (HTTP, WebSocket and lifespan): an app served on an event loop per worker, through the
//! host's exchanges (`rsgi.exchange` v1), so one worker holds as many requests as its loop
//! can while the host's thread goes on reading and writing sockets.
//!
//! - [`settings`]: `--asgi`, `--asgi-file`, `--asgi-loop`, `--lifespan`;
//! - [`incoming`]: a request copied on the host's thread (which never takes the GIL);
//! - [`bridge`]: from the host's threads to the loop's (a queue and an eventfd);
//! - [`event_loop`]: the loop's thread, the requests' dispatch, the lifespan;
//! - [`serve`]: one request handed to the loop; [`scope`]: the `http` and `websocket`
//!   scopes; [`channel`]: `receive` and `send` of `http` over the exchange; [`websocket`]:
//!   those of `websocket` over an exchange the host offered to upgrade (`rsgi.exchange` v3);
//! - `glue.py`: the coroutines that wait on the loop.
//!
//! Entry points for the runtime: [`start`] in a worker, [`call`] per request, [`stop`] at
//! a clean exit.

pub mod bridge;
pub mod channel;
pub mod event_loop;
pub mod incoming;
pub mod scope;
pub mod serve;
pub mod settings;
pub mod websocket;

use std::ffi::CStr;

use pyo3::prelude::*;

use crate::error::Error;
pub use serve::call;

/// The Python half (`glue.py`), compiled into the plugin.
const GLUE: &CStr =
    match CStr::from_bytes_with_nul(concat!(include_str!("glue.py"), "\0").as_bytes()) {
        Ok(code) => code,
        Err(_) => panic!("glue.py holds a NUL byte"),
    };

/// Starts this worker's event loop for `app` and runs its lifespan startup.
pub fn start(app: Py<PyAny>, settings: settings::AsgiSettings) -> Result<(), Error> {
    event_loop::start(app, settings)
}

/// Imports what the event loop needs on the calling thread (the master's, for an app
/// loaded before fork).
pub fn preload(py: Python<'_>, settings: settings::AsgiSettings) -> Result<(), Error> {
    event_loop::preload(py, settings)
}

/// Runs the lifespan's shutdown and stops the loop (a clean exit of the worker).
pub fn stop() {
    event_loop::stop()
}
