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
//! (`export_app!`: the root module, a panic guard around every hook). The work is in:
//!
//! - [`interp`], [`libpython`], [`thread_state`]: starting Python in the master, the fork
//!   protocol, one thread state per OS thread;
//! - [`options`], [`loader`], [`mount`]: settings, finding the WSGI callables, and which
//!   one serves a request (`--mount`, `--manage-script-name`);
//! - [`serve`], [`environ`], [`cgi_name`], [`path_info`], [`latin1`]: one request in;
//! - [`input`]: `wsgi.input`; [`start_response`], [`response_head`]: the head;
//! - [`iterate`], [`file_wrapper`]: the body out, `close()` always;
//! - [`traceback`]: exceptions in the log; [`stack_dump`]: where a stuck worker is stuck;
//!   [`runtime`]: the per-process state;
//! - [`uwsgi_module`]: `import uwsgi`, the part of uWSGI's Python API rsgi can honour.

use rsgi_plugin_api::exchange::ExchangeV1;
use rsgi_plugin_api::scoreboard::ScoreboardV1;
use rsgi_plugin_api::sdk::exchange::Exchange;
use rsgi_plugin_api::{
    App, AppContext, BodyReader, CallOutcome, ExtensionId, ExtensionNeed, OptionSpec, OptionValue,
    PluginError, Request, Responder,
};

pub mod app_errors;
pub mod asgi;
pub mod autoreload;
pub mod cgi_name;
pub mod environ;
pub mod error;
pub mod factory;
pub mod file_wrapper;
pub mod input;
pub mod interp;
pub mod iterate;
pub mod latin1;
pub mod libpython;
pub mod loader;
pub mod mount;
pub mod options;
pub mod path_info;
pub mod request_number;
pub mod response_head;
pub mod runtime;
pub mod serve;
pub mod stack_dump;
pub mod start_response;
pub mod thread_state;
pub mod traceback;
pub mod uwsgi_module;
pub mod write_errors;

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
