//! # rsgi python plugin
//!
//! An app plugin that embeds CPython and serves WSGI applications (PEP 3333):
//!
//! ```text
//! rsgi --plugin python,http --module app              # app:application, then app:app
//! rsgi --plugin python,http --wsgi-file site.wsgi --pythonpath src --virtualenv .venv
//! rsgi --plugin python,http --module site --mount /api=api.wsgi:app --manage-script-name
//! ```
//!
//! This file only exports the root module and adapts its `extern "C"` entry points, each
//! guarded so no panic crosses the boundary. The work is in:
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

use abi_stable::export_root_module;
use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::std_types::{RNone, RResult, RSlice, RSome, RStr, RString, RVec};
use rsgi_plugin_api::guard::{guard, guard_or};
use rsgi_plugin_api::{
    AppContext, AppMod, BodyReader, HostApi, OptionSpec, OptionValue, PluginError, PluginKind,
    PluginMod, PluginModRef, Request, Responder,
};

pub mod app_errors;
pub mod autoreload;
pub mod cgi_name;
pub mod environ;
pub mod error;
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

/// The plugin's root module: kind app, name `python` (or the versioned name this build was
/// given, like `python3.13t`: see `build.rs`).
#[export_root_module]
pub fn get_library() -> PluginModRef {
    PluginMod {
        name: RStr::from_str(env!("RSGI_PYTHON_PLUGIN_NAME")),
        version: RStr::from_str(env!("CARGO_PKG_VERSION")),
        kind: PluginKind::App,
        options,
        init,
        protocol: RNone,
        app: RSome(
            AppMod {
                load_app,
                pre_fork,
                post_fork_parent,
                post_fork_child,
                handle,
                shutdown,
            }
            .leak_into_prefix(),
        ),
    }
    .leak_into_prefix()
}

extern "C" fn options() -> RVec<OptionSpec> {
    guard_or("options", RVec::new(), options::specs)
}

extern "C" fn init(host: &HostApi, values: RSlice<'_, OptionValue>) -> RResult<(), PluginError> {
    guard("init", || {
        rsgi_plugin_api::log::install(host);
        runtime::init(values.as_slice()).map_err(PluginError::from)
    })
    .into()
}

extern "C" fn load_app(ctx: &AppContext) -> RResult<RString, PluginError> {
    guard("load_app", || {
        runtime::load_app(ctx)
            .map(RString::from)
            .map_err(PluginError::from)
    })
    .into()
}

extern "C" fn pre_fork() {
    guard_or("pre_fork", (), runtime::pre_fork)
}

extern "C" fn post_fork_parent() {
    guard_or("post_fork_parent", (), runtime::post_fork_parent)
}

extern "C" fn post_fork_child(ctx: &AppContext) {
    guard_or("post_fork_child", (), || runtime::post_fork_child(ctx))
}

extern "C" fn handle(
    request: &Request<'_>,
    body: &mut BodyReader<'_>,
    responder: &mut Responder<'_>,
) -> RResult<(), PluginError> {
    guard("handle", || {
        runtime::handle(request, body, responder).map_err(PluginError::from)
    })
    .into()
}

extern "C" fn shutdown() {
    guard_or("shutdown", (), runtime::shutdown)
}
