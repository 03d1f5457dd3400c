//! # rsgi python plugin
//!
//! An app plugin that embeds CPython and serves WSGI applications (PEP 3333) and ASGI 3
//! applications (HTTP and lifespan, [`asgi`]):
//!
//! ```text
//! rsgi --plugin python,http --module app              # app:application, then app:app
//! rsgi --plugin python,http --wsgi-file site.wsgi --pythonpath src --virtualenv .venv
//! rsgi --plugin python,http --module site --mount /api=api.wsgi:app --manage-script-name
//! rsgi --plugin python,http --asgi main:app            # an ASGI app (FastAPI, Starlette, ...)
//! ```
//!
//! This file only implements the SDK's `App` trait over [`runtime`] and exports it
//! (`export_app!`: the root module, a panic guard around every hook). One folder per
//! interface, with the same file names where they do the same thing (as granian has):
//!
//! - [`wsgi`]: PEP 3333 on the host's thread (`serve`, `scope` = the environ, `input`,
//!   `start_response`, `iterate`, ...), served through the SDK's `handle`;
//! - [`asgi`]: ASGI 3 on an event loop per worker (`serve`, `scope`, `channel` = receive
//!   and send, the loop, lifespan), served through `call` and the host's exchanges;
//! - [`interp`]: starting Python in the master, the fork protocol, one thread state per OS
//!   thread, the stack dump on harakiri, `--py-autoreload`;
//! - [`load`]: finding the app (`--module`, `--wsgi-file`, `--asgi`, factories) and which
//!   one serves a request (`--mount`);
//! - [`uwsgi_module`]: `import uwsgi`, the part of uWSGI's Python API rsgi can honour,
//!   reached from [`runtime`] at its lifecycle steps only;
//! - [`options`], [`runtime`] (the per-process state), [`error`], [`traceback`],
//!   [`latin1`], [`path_info`]: what the interfaces share.

use rsgi_plugin_api::exchange::ExchangeV1;
use rsgi_plugin_api::scoreboard::ScoreboardV1;
use rsgi_plugin_api::sdk::exchange::Exchange;
use rsgi_plugin_api::{
    App, AppContext, BodyReader, CallOutcome, ExtensionId, ExtensionNeed, OptionSpec, OptionValue,
    PluginError, Request, Responder,
};

pub mod asgi;
pub mod error;
pub mod interp;
pub mod latin1;
pub mod load;
pub mod options;
pub mod path_info;
pub mod runtime;
pub mod traceback;
pub mod uwsgi_module;
pub mod wsgi;

#[cfg(test)]
mod testing;

/// The python plugin. Its state is per process, in [`runtime`] (one interpreter per
/// process); this value only stands for it.
pub struct Python;

// The name is `python`, or the versioned name this build was given, like `python3.13t`
// (see `build.rs`).
rsgi_plugin_api::export_app!(Python, name = env!("RSGI_PYTHON_PLUGIN_NAME"));

impl App for Python {
    fn options() -> Vec<OptionSpec> {
        options::specs().into_vec()
    }

    /// `uwsgi.workers()` reads the host's scoreboard; without it the function is left out.
    /// ASGI apps are served through the host's exchanges; a host without them serves WSGI
    /// only (an ASGI app then answers 500, with a line saying why).
    fn needs() -> Vec<ExtensionNeed> {
        vec![
            ExtensionNeed {
                id: ExtensionId::new(ScoreboardV1::NAME, ScoreboardV1::VERSION),
                optional: true,
            },
            ExtensionNeed {
                id: ExtensionId::new(ExchangeV1::NAME, ExchangeV1::VERSION),
                optional: true,
            },
        ]
    }

    fn init(options: &[OptionValue]) -> Result<Python, PluginError> {
        runtime::init(options).map_err(PluginError::from)?;
        Ok(Python)
    }

    fn load_app(&self, ctx: &AppContext) -> Result<String, PluginError> {
        runtime::load_app(ctx).map_err(PluginError::from)
    }

    fn pre_fork(&self) {
        runtime::pre_fork()
    }

    fn post_fork_parent(&self) {
        runtime::post_fork_parent()
    }

    fn post_fork_child(&self, ctx: &AppContext) {
        runtime::post_fork_child(ctx)
    }

    fn handle(
        &self,
        request: &Request<'_>,
        body: &mut BodyReader<'_>,
        responder: &mut Responder<'_>,
    ) -> Result<(), PluginError> {
        runtime::handle(request, body, responder).map_err(PluginError::from)
    }

    /// ASGI apps are served through `call`, WSGI apps through `handle`.
    fn calls(&self) -> bool {
        runtime::is_asgi()
    }

    fn call(&self, request: &Request<'_>, exchange: Exchange) -> CallOutcome {
        asgi::call(request, exchange)
    }

    fn shutdown(&self) {
        runtime::shutdown()
    }
}
