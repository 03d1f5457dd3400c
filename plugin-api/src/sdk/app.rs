//! The [`App`] trait: a language runtime (or any request handler) written as safe Rust,
//! exported with [`crate::export_app!`].

use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::std_types::{RNone, ROption, RResult, RSlice, RSome, RStr, RString, RVec};

use super::common;
use super::exchange::Exchange;
use super::instance::Instance;
use crate::app::{AppContext, AppMod};
use crate::error::PluginError;
use crate::exchange::{CallOutcome, Exchange as RawExchange};
use crate::extension::{Extension, ExtensionId, ExtensionNeed};
use crate::guard::{guard_hook, guard_hook_or};
use crate::host::HostRef;
use crate::module::{PluginKind, PluginMod, PluginModRef};
use crate::options::{OptionSpec, OptionValue};
use crate::request::{BodyReader, Request};
use crate::response::Responder;

/// An app plugin: loads an application and serves requests.
///
/// The host drives it through a lifecycle (see `docs/plugin-abi.md`, "Threads and fork"):
///
/// 1. [`App::init`] once in the master, before any fork;
/// 2. [`App::load_app`] in the master (preforking) or in each worker (`--lazy-apps`);
/// 3. around every fork: [`App::pre_fork`], then [`App::post_fork_parent`] in the master
///    and [`App::post_fork_child`] first thing in the new worker;
/// 4. [`App::handle`] (or [`App::call`], when [`App::calls`]) for each request in a
///    worker: on the event-loop thread, or on any of N app threads at once under
///    `--threads N`;
/// 5. [`App::shutdown`] when a worker (or the master) exits cleanly.
///
/// Only [`App::init`], [`App::load_app`] and one of [`App::handle`] and [`App::call`]
/// are required. A panic in
/// any method is caught by the exported shim: the request gets a 500 (or, once the head
/// is out, the connection is closed), one log line names the plugin and the method, and
/// the worker serves on.
pub trait App: Sized + Send + Sync + 'static {
    /// The options this plugin understands. None by default.
    fn options() -> Vec<OptionSpec> {
        Vec::new()
    }

    /// The extensions this plugin needs of the host ([`crate::sdk::extensions`]). Asked
    /// before `init`: a required one the host lacks stops the start with one line naming
    /// the plugin and the extension (exit 2); an optional one is looked up later with
    /// [`crate::sdk::extensions::from_host`], which answers `None`. None by default.
    fn needs() -> Vec<ExtensionNeed> {
        Vec::new()
    }

    /// The extensions this plugin offers, each made with
    /// [`crate::sdk::extensions::offer`]. None by default.
    fn extensions() -> Vec<Extension> {
        Vec::new()
    }

    /// Called once in the master, before any fork, with the values given for
    /// [`App::options`]. Start no threads here: the master forks after it. An error of
    /// kind [`crate::ErrorKind::Config`] stops rsgi with exit status 2.
    fn init(options: &[OptionValue]) -> Result<Self, PluginError>;

    /// Loads the application; returns one line for the startup log (`app:application from
    /// /srv/app.py`). An error of kind [`crate::ErrorKind::AppLoad`] makes rsgi exit 22
    /// under `--need-app`.
    fn load_app(&self, ctx: &AppContext) -> Result<String, PluginError>;

    /// In the master right before `fork()`, on the thread that forks.
    fn pre_fork(&self) {}

    /// In the master right after `fork()`.
    fn post_fork_parent(&self) {}

    /// In the new worker right after `fork()`, before anything else runs there.
    fn post_fork_child(&self, ctx: &AppContext) {
        let _ = ctx;
    }

    /// Serves one request: call `responder.start` once, then write the body. An `Err`
    /// before the head was sent makes the host answer 500; after, it closes the connection.
    /// The plugin logs the details itself. A plugin whose [`App::calls`] is always true is
    /// served through [`App::call`] instead and need not write this one.
    fn handle(
        &self,
        request: &Request<'_>,
        body: &mut BodyReader<'_>,
        responder: &mut Responder<'_>,
    ) -> Result<(), PluginError> {
        let _ = (request, body, responder);
        Err(PluginError::new(
            crate::ErrorKind::Runtime,
            "this plugin implements neither App::handle nor App::call",
        ))
    }

    /// True to be served through [`App::call`] instead of [`App::handle`]: asked once in
    /// each worker after the app is loaded, so a runtime with several interfaces decides
    /// by the app it loaded. False by default. A plugin that is only ever served through
    /// `call` lists `rsgi.exchange` v1 as a required need (an rsgi older than ABI 0.2.2
    /// then refuses it with one line); one that can do without lists it as optional, and
    /// is served through `handle` by such a host.
    fn calls(&self) -> bool {
        false
    }

    /// Serves one request through an [`Exchange`], answered
    /// within the call ([`CallOutcome::Done`]) or later, from any thread, by keeping the
    /// handle ([`CallOutcome::Pending`]); see [`super::exchange`]. Called, instead of
    /// [`App::handle`], when [`App::calls`] is true: on the loop thread, or on any of N app
    /// threads at once under `--threads N`. `request` is valid during the call only. A
    /// panic aborts the exchange (500, or a closed connection once the head is out).
    fn call(&self, request: &Request<'_>, exchange: super::exchange::Exchange) -> CallOutcome {
        let _ = request;
        exchange.abort("App::calls is true but App::call is not implemented");
        CallOutcome::Failed
    }

    /// Once when the process (worker or master) shuts down cleanly.
    fn shutdown(&self) {}
}

/// The root module of app plugin `A`. Called by [`crate::export_app!`]; not meant to be
/// called by hand.
#[doc(hidden)]
pub fn root_module<A: App + Instance>(
    version: &'static str,
    description: &'static str,
) -> PluginModRef {
    PluginMod {
        name: RStr::from_str(A::NAME),
        version: RStr::from_str(version),
        kind: PluginKind::App,
        options: options::<A>,
        needs: needs::<A>,
        init: init::<A>,
        offers: offers::<A>,
        extension: extension::<A>,
        protocol: RNone,
        app: RSome(
            AppMod {
                load_app: load_app::<A>,
                pre_fork: pre_fork::<A>,
                post_fork_parent: post_fork_parent::<A>,
                post_fork_child: post_fork_child::<A>,
                handle: handle::<A>,
                shutdown: shutdown::<A>,
                call: call::<A>,
                calls: calls::<A>,
            }
            .leak_into_prefix(),
        ),
        description: RStr::from_str(description),
    }
    .leak_into_prefix()
}

/// The error for a hook called before `init` made the plugin's value.
fn not_initialised<A: Instance>(hook: &str) -> PluginError {
    PluginError::new(
        crate::ErrorKind::Runtime,
        format!("plugin {}: {hook} called before init", A::NAME),
    )
}

/// Runs `f` on the plugin's value, or says it has none yet.
fn with<A: App + Instance, T>(
    hook: &str,
    f: impl FnOnce(&A) -> Result<T, PluginError>,
) -> Result<T, PluginError> {
    let app = A::get().ok_or_else(|| not_initialised::<A>(hook))?;
    f(app)
}

extern "C" fn options<A: App + Instance>() -> RVec<OptionSpec> {
    common::options::<A>(A::options)
}

extern "C" fn needs<A: App + Instance>() -> RVec<ExtensionNeed> {
    common::needs::<A>(A::needs)
}

extern "C" fn extension<A: App + Instance>(name: RStr<'_>, version: u32) -> ROption<Extension> {
    common::extension::<A>(A::extensions, name, version)
}

extern "C" fn offers<A: App + Instance>() -> RVec<ExtensionId> {
    common::offers::<A>(A::extensions)
}

extern "C" fn init<A: App + Instance>(
    host: HostRef,
    options: RSlice<'_, OptionValue>,
) -> RResult<(), PluginError> {
    common::init::<A>(host, options, A::init)
}

extern "C" fn load_app<A: App + Instance>(ctx: &AppContext) -> RResult<RString, PluginError> {
    guard_hook(A::NAME, "load_app", || {
        with::<A, _>("load_app", |app| app.load_app(ctx).map(RString::from))
    })
    .into()
}

extern "C" fn pre_fork<A: App + Instance>() {
    guard_hook_or(A::NAME, "pre_fork", (), || {
        if let Some(app) = A::get() {
            app.pre_fork()
        }
    })
}

extern "C" fn post_fork_parent<A: App + Instance>() {
    guard_hook_or(A::NAME, "post_fork_parent", (), || {
        if let Some(app) = A::get() {
            app.post_fork_parent()
        }
    })
}

extern "C" fn post_fork_child<A: App + Instance>(ctx: &AppContext) {
    guard_hook_or(A::NAME, "post_fork_child", (), || {
        if let Some(app) = A::get() {
            app.post_fork_child(ctx)
        }
    })
}

extern "C" fn handle<A: App + Instance>(
    request: &Request<'_>,
    body: &mut BodyReader<'_>,
    responder: &mut Responder<'_>,
) -> RResult<(), PluginError> {
    guard_hook(A::NAME, "handle", || {
        with::<A, _>("handle", |app| app.handle(request, body, responder))
    })
    .into()
}

extern "C" fn call<A: App + Instance>(request: &Request<'_>, raw: RawExchange) -> CallOutcome {
    let exchange = Exchange::from_raw(raw);
    let Some(app) = A::get() else {
        exchange.abort(&not_initialised::<A>("call").message);
        return CallOutcome::Failed;
    };
    // A panic drops the handle while unwinding, which aborts the exchange.
    guard_hook_or(A::NAME, "call", CallOutcome::Failed, || {
        app.call(request, exchange)
    })
}

extern "C" fn calls<A: App + Instance>() -> bool {
    guard_hook_or(A::NAME, "calls", false, || A::get().is_some_and(A::calls))
}

extern "C" fn shutdown<A: App + Instance>() {
    guard_hook_or(A::NAME, "shutdown", (), || {
        if let Some(app) = A::get() {
            app.shutdown()
        }
    })
}
