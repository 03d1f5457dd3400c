//! App plugins: a language runtime that loads an application and serves requests.
//!
//! The host drives one app plugin through its lifecycle:
//!
//! 1. [`crate::module::PluginMod::init`] with the plugin's options (master, before fork);
//! 2. [`AppMod::load_app`] in the master (preforking) or in each worker (`--lazy-apps`);
//! 3. around every fork: [`AppMod::pre_fork`], then [`AppMod::post_fork_parent`] in the
//!    master and [`AppMod::post_fork_child`] in the new worker;
//! 4. [`AppMod::handle`] (or, since 0.2.2, [`AppMod::call`]) for each request, in a worker;
//! 5. [`AppMod::shutdown`] when a worker (or the master) exits cleanly.

use abi_stable::{
    std_types::{RResult, RString},
    StableAbi,
};

use crate::error::PluginError;
use crate::exchange::{CallOutcome, Exchange};
use crate::request::{BodyReader, Request};
use crate::response::Responder;

/// The signal the master sends a worker it is about to kill for harakiri (a request that
/// ran past `--harakiri`), about a second before SIGKILL: `SIGRTMIN + 1`, as the C library
/// numbers it at run time.
///
/// An app plugin may install a handler in each worker that writes where the app is stuck
/// to stderr (the python plugin has `faulthandler` dump every thread's Python stack), so
/// the log says why the request never ended. A plugin that installs nothing loses
/// nothing: the signal's default action ends the worker, which was to be killed anyway.
/// Plugins that kill their own worker (a user-set deadline) may send it to themselves
/// first in the same way.
pub fn stack_dump_signal() -> i32 {
    libc::SIGRTMIN() + 1
}

/// Facts about the process model an app runtime needs (e.g. `wsgi.multiprocess`).
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy)]
pub struct AppContext {
    /// Number of worker processes.
    pub processes: u32,
    /// Number of request threads per worker.
    pub threads: u32,
    /// The app is loaded in each worker after fork (`--lazy-apps`).
    pub lazy: bool,
    /// The worker this runs in (1-based), or 0 in the master.
    pub worker_id: u32,
}

/// The entry points of an app plugin. Within the series, entries are only appended (see
/// the crate docs, "Growth"); the host reads appended ones as optional.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = AppModRef)))]
#[sabi(missing_field(option))]
pub struct AppMod {
    /// Loads the application; returns a one-line description for the startup log
    /// (`app:application from /srv/app.py`). An [`crate::error::ErrorKind::AppLoad`]
    /// error makes the host exit 22 under `--need-app`.
    pub load_app: extern "C" fn(ctx: &AppContext) -> RResult<RString, PluginError>,

    /// Called in the master right before `fork()`, on the thread that will fork.
    pub pre_fork: extern "C" fn(),

    /// Called in the master right after `fork()`.
    pub post_fork_parent: extern "C" fn(),

    /// Called in the new worker right after `fork()`, before anything else runs.
    pub post_fork_child: extern "C" fn(ctx: &AppContext),

    /// Serves one request. The plugin calls `responder.start` once and writes the body.
    /// An `Err` after nothing was started makes the host answer 500; after the head was
    /// sent, the host closes the connection. The plugin logs the details itself.
    pub handle: extern "C" fn(
        request: &Request<'_>,
        body: &mut BodyReader<'_>,
        responder: &mut Responder<'_>,
    ) -> RResult<(), PluginError>,

    /// Called once when the process (worker or master) shuts down cleanly.
    #[sabi(last_prefix_field)]
    pub shutdown: extern "C" fn(),

    /// Since 0.2.2: serves one request through an [`Exchange`] (extension `rsgi.exchange`
    /// v1), answered within the call or later from any thread. The host calls it instead
    /// of `handle` when [`AppMod::calls`] said so. `request` is valid during the call only:
    /// a plugin that answers later copies what it needs.
    pub call: extern "C" fn(request: &Request<'_>, exchange: Exchange) -> CallOutcome,

    /// Since 0.2.2: asked once in each worker after its app is loaded (and after
    /// `post_fork_child`): true to be served through [`AppMod::call`], false (and a 0.2.0
    /// or 0.2.1 plugin, which lacks the field) through `handle`. A runtime that serves
    /// several interfaces (the python plugin: WSGI, ASGI) decides by the app it loaded.
    pub calls: extern "C" fn() -> bool,
}
