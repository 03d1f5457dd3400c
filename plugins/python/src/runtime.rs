//! The plugin's one instance per process: settings, the loaded app, the process context,
//! and the entry points `lib.rs` exports, in plain Rust.

use std::sync::{Mutex, OnceLock};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;
use rsgi_plugin_api::{AppContext, BodyReader, OptionValue, Request, Responder};

use crate::asgi;
use crate::error::Error;
use crate::interp;
use crate::interp::thread_state;
use crate::load::mount::{Mounts, Route};
use crate::load::{self, LoadedApp};
use crate::options::Settings;
use crate::uwsgi_module;
use crate::wsgi::scope;
use crate::wsgi::serve;

static SETTINGS: OnceLock<Settings> = OnceLock::new();
/// The loaded apps, by mount prefix (one at `""` without `--mount`).
static APPS: OnceLock<Apps> = OnceLock::new();
/// The latest context the host gave (`load_app` in the master, then `post_fork_child`).
static CONTEXT: Mutex<Option<AppContext>> = Mutex::new(None);
/// The environ part shared by every request of this process, made at its first request.
static BASE_ENVIRON: PyOnceLock<Py<PyDict>> = PyOnceLock::new();

/// Master, once: reads the options and starts Python.
pub fn init(options: &[OptionValue]) -> Result<(), Error> {
    let settings = Settings::from_options(options)?;
    crate::wsgi::write_errors::set(settings.write_errors);
    crate::wsgi::app_errors::set(settings.app_errors);
    interp::initialize(&settings)?;
    if settings.uwsgi_module {
        thread_state::attach(|py| {
            uwsgi_module::install(py, options, settings.highest_lock, &settings.caches)
        })
        .map_err(|e| Error::Init(format!("cannot provide the uwsgi module: {e}")))?;
    }
    let _ = SETTINGS.set(settings);
    Ok(())
}

/// Every app of this process and where it is mounted.
struct Apps {
    mounts: Mounts<LoadedApp>,
    /// For the startup log.
    description: String,
}

/// Loads the apps (once per process); returns their description for the startup log.
pub fn load_app(ctx: &AppContext) -> Result<String, Error> {
    set_context(ctx);
    if let Some(apps) = APPS.get() {
        return Ok(apps.description.clone());
    }
    let settings = SETTINGS
        .get()
        .ok_or_else(|| Error::Init("load_app called before init".into()))?;
    let loaded = thread_state::attach(|py| {
        let loaded = load::load_all(py, settings)?;
        if let Some(asgi) = settings.asgi {
            asgi::preload(py, asgi)?;
        }
        // With --lazy-apps the app was imported in this worker, after the fork: its
        // post-fork hook runs now.
        if ctx.lazy && ctx.worker_id > 0 {
            uwsgi_module::run_hook(py, "post_fork_hook");
        }
        if settings.gc_freeze {
            interp::gc_freeze(py)?;
        }
        if interp::FREE_THREADED && interp::gil_enabled(py) == Some(true) {
            tracing::warn!(
                "loading the app enabled the GIL (it imported an extension module not marked \
                 as free-threading safe): request threads will not run Python in parallel"
            );
        }
        Ok::<_, Error>(loaded)
    })?;
    let mounted = !settings.mounts.is_empty();
    let mounts = Mounts::new(loaded, settings.manage_script_name);
    let description = mounts
        .iter()
        .map(|(prefix, app)| match mounted {
            true if prefix.is_empty() => format!("{} at the root", app.description),
            true => format!(
                "{} at '{}'",
                app.description,
                String::from_utf8_lossy(prefix)
            ),
            false => app.description.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ");
    let _ = APPS.set(Apps {
        mounts,
        description: description.clone(),
    });
    // An ASGI app loaded in a worker (--lazy-apps) starts its event loop and lifespan now,
    // so that a failed startup is an app that did not load (exit 22 under --need-app).
    if ctx.worker_id > 0 {
        start_asgi()?;
    }
    Ok(description)
}

/// True when the app is an ASGI app (served through the host's exchanges).
pub fn is_asgi() -> bool {
    SETTINGS.get().is_some_and(|s| s.asgi.is_some())
}

/// Master, right before `fork()`.
pub fn pre_fork() {
    interp::before_fork();
}

/// Master, right after `fork()`.
pub fn post_fork_parent() {
    interp::after_fork_parent();
}

/// New worker, right after `fork()`.
pub fn post_fork_child(ctx: &AppContext) {
    interp::after_fork_child();
    set_context(ctx);
    thread_state::attach(|py| {
        crate::interp::stack_dump::register(py);
        if !ctx.lazy {
            uwsgi_module::run_hook(py, "post_fork_hook");
        }
    });
    uwsgi_module::timers::start(ctx.worker_id);
    // A preforked ASGI app starts its event loop and lifespan in each worker.
    if !ctx.lazy {
        if let Err(e) = start_asgi() {
            tracing::error!(
                "the ASGI app did not start in this worker, every request will get 500: {e}"
            );
        }
    }
    // One watcher is enough: worker 1 (there is always one) asks for the reload.
    if let (Some(period), 1) = (SETTINGS.get().and_then(|s| s.autoreload), ctx.worker_id) {
        crate::interp::autoreload::start(period);
    }
}

/// Serves one request with the loaded app.
pub fn handle(
    request: &Request<'_>,
    body: &mut BodyReader<'_>,
    responder: &mut Responder<'_>,
) -> Result<(), Error> {
    let apps = APPS.get().ok_or(Error::NoApp)?;
    let (app, split) = match apps.mounts.route(request) {
        Route::Serve { app, split } => (app, split),
        Route::NotFound => return serve::not_found(request, responder),
    };
    let served = thread_state::attach(|py| {
        let base = BASE_ENVIRON
            .get_or_try_init(py, || {
                let file_wrapper = SETTINGS.get().is_none_or(|s| s.file_wrapper);
                scope::base(py, &context(), file_wrapper)
            })
            .map_err(|err| Error::Request(format!("cannot build the environ: {err}")))?;
        serve::serve(
            py,
            app.callable.bind(py),
            base.bind(py),
            request,
            split.as_ref(),
            body,
            responder,
        )
    });
    uwsgi_module::harakiri::request_ended();
    served
}

/// Starts this worker's event loop and lifespan for its ASGI app (nothing for a WSGI
/// app). Without a loop, requests get 500.
fn start_asgi() -> Result<(), Error> {
    let Some(asgi) = SETTINGS.get().and_then(|s| s.asgi) else {
        return Ok(());
    };
    let Some(app) = APPS
        .get()
        .and_then(|apps| apps.mounts.iter().next().map(|(_, a)| a))
    else {
        return Ok(());
    };
    let app = thread_state::attach(|py| app.callable.clone_ref(py));
    asgi::start(app, asgi)
}

/// The process is exiting cleanly.
pub fn shutdown() {
    if is_asgi() {
        asgi::stop();
    }
    if interp::is_initialized() {
        thread_state::attach(|py| uwsgi_module::run_hook(py, "atexit"));
    }
    interp::at_exit();
}

fn set_context(ctx: &AppContext) {
    *CONTEXT.lock().unwrap_or_else(|p| p.into_inner()) = Some(*ctx);
    if interp::is_initialized() {
        let updated = thread_state::attach(|py| uwsgi_module::set_context(py, ctx));
        if let Err(e) = updated {
            tracing::warn!("cannot update the uwsgi module's process facts: {e}");
        }
    }
}

/// The latest context the host gave (worker 0 and one process before the first).
pub fn context() -> AppContext {
    CONTEXT
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .unwrap_or(AppContext {
            processes: 1,
            threads: 1,
            lazy: false,
            worker_id: 0,
        })
}
