//! `import uwsgi`: the part of uWSGI's Python API that has a meaning in rsgi, so apps and
//! libraries written for uWSGI run unchanged (on by default; `--no-uwsgi-module` leaves
//! the name free).
//!
//! What it has:
//! - process facts: `worker_id()`, `masterpid()`, `numproc`, `cores` (threads per
//!   worker), `started_on`, `hostname`, `version`, `mule_id()` (always 0),
//!   `i_am_the_spooler()` (always False), `in_farm()` (None);
//! - `opt`: the python plugin's options as given (flags True, values bytes, repeated
//!   options lists, as in uWSGI), and what always holds in rsgi: `master`,
//!   `enable-threads`, `py-call-uwsgi-fork-hooks` (True), `processes`, `threads`,
//!   `lazy-apps` (when on). The host's own options (sockets and the like) are not in it;
//! - `reload()` (graceful reload: SIGHUP to the master), `stop()` (graceful shutdown:
//!   SIGTERM), `log(message)`;
//! - hooks an app sets: `uwsgi.post_fork_hook` runs in each new worker (what
//!   `uwsgidecorators.postfork` uses; with `--lazy-apps` right after the app loaded in the
//!   worker, since the import itself is already after the fork), `uwsgi.atexit` when a
//!   worker exits cleanly;
//! - [`locks`]: `lock()`, `unlock()`, `is_locked()` (`uwsgidecorators.lock`);
//! - [`signals`] and [`timers`]: `register_signal()`, `signal_registered()`,
//!   `add_timer()`, `add_rb_timer()`, `add_cron()` (`@timer`, `@rbtimer`, `@cron`);
//! - [`harakiri`]: `set_user_harakiri()` (`@harakiri`);
//! - [`cache`]: `cache_get()`, `cache_set()`, `cache_update()`, `cache_del()`,
//!   `cache_exists()`, `cache_clear()`, `cache_keys()` over `--cache2` tables;
//! - [`workers`]: `workers()`, from the host's scoreboard (the `rsgi.scoreboard`
//!   extension);
//! - [`websocket`]: `websocket_handshake()`, `websocket_recv()`, `websocket_recv_nb()`,
//!   `websocket_send()`, `websocket_send_binary()` (the `rsgi.handle_upgrade` extension).
//!
//! Anything else (the spooler, mules, RPC, ...) is an `AttributeError` that says
//! rsgi has only part of the API, so `hasattr(uwsgi, "cache_get")` is False and code that
//! probes for a feature takes its fallback.

pub mod cache;
pub mod harakiri;
pub mod locks;
pub mod signals;
pub mod timers;
pub mod websocket;
pub mod workers;

use std::time::{SystemTime, UNIX_EPOCH};

use pyo3::exceptions::PyAttributeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyList, PyModule};
use rsgi_plugin_api::{AppContext, OptionKind, OptionValue};

static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// Makes the module and puts it in `sys.modules` (master, once, before the app loads);
/// creates locks 0..=`highest_lock` and the `caches`.
pub fn install(
    py: Python<'_>,
    options: &[OptionValue],
    highest_lock: usize,
    caches: &[cache::CacheSpec],
) -> PyResult<()> {
    locks::create(highest_lock).map_err(|e| {
        pyo3::exceptions::PyOSError::new_err(format!("cannot make the uwsgi locks: {e}"))
    })?;
    let m = PyModule::new(py, "uwsgi")?;
    m.add_function(wrap_pyfunction!(worker_id, &m)?)?;
    m.add_function(wrap_pyfunction!(masterpid, &m)?)?;
    m.add_function(wrap_pyfunction!(mule_id, &m)?)?;
    m.add_function(wrap_pyfunction!(i_am_the_spooler, &m)?)?;
    m.add_function(wrap_pyfunction!(in_farm, &m)?)?;
    m.add_function(wrap_pyfunction!(reload, &m)?)?;
    m.add_function(wrap_pyfunction!(stop, &m)?)?;
    m.add_function(wrap_pyfunction!(log, &m)?)?;
    m.add_function(wrap_pyfunction!(locks::lock, &m)?)?;
    m.add_function(wrap_pyfunction!(locks::unlock, &m)?)?;
    m.add_function(wrap_pyfunction!(locks::is_locked, &m)?)?;
    m.add_function(wrap_pyfunction!(signals::register_signal, &m)?)?;
    m.add_function(wrap_pyfunction!(signals::signal_registered, &m)?)?;
    m.add_function(wrap_pyfunction!(timers::add_timer, &m)?)?;
    m.add_function(wrap_pyfunction!(timers::add_rb_timer, &m)?)?;
    m.add_function(wrap_pyfunction!(timers::add_cron, &m)?)?;
    m.add_function(wrap_pyfunction!(harakiri::set_user_harakiri, &m)?)?;
    m.add_function(wrap_pyfunction!(missing_attribute, &m)?)?;
    workers::add_to(&m)?;
    websocket::add_to(&m)?;
    cache::install(&m, caches)?;
    let version = format!("{}-rsgi", env!("CARGO_PKG_VERSION"));
    m.add("version", PyBytes::new(py, version.as_bytes()))?;
    m.add("hostname", PyBytes::new(py, hostname().as_bytes()))?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    m.add("started_on", now.as_secs())?;
    m.add("numproc", 1)?;
    m.add("cores", 1)?;
    m.add("opt", opt(py, options)?)?;
    py.import("sys")?
        .getattr("modules")?
        .set_item("uwsgi", &m)?;
    let _ = MODULE.set(py, m.unbind());
    Ok(())
}

/// The options as `uwsgi.opt` shows them.
fn opt<'py>(py: Python<'py>, options: &[OptionValue]) -> PyResult<Bound<'py, PyDict>> {
    let specs = crate::options::specs();
    let dict = PyDict::new(py);
    for option in options {
        let name = option.name.as_str();
        let flag = specs
            .iter()
            .any(|s| s.name.as_str() == name && s.kind == OptionKind::Flag);
        let values = option.values.as_slice();
        match (flag, values) {
            (true, _) => dict.set_item(name, rsgi_plugin_api::options::flag(options, name))?,
            (false, [one]) => dict.set_item(name, PyBytes::new(py, one.as_bytes()))?,
            (false, many) => {
                let list = PyList::empty(py);
                for value in many {
                    list.append(PyBytes::new(py, value.as_bytes()))?;
                }
                dict.set_item(name, list)?
            }
        }
    }
    for always in ["master", "enable-threads", "py-call-uwsgi-fork-hooks"] {
        dict.set_item(always, true)?;
    }
    Ok(dict)
}

/// Records the process facts the host gave (`load_app`, `post_fork_child`).
pub fn set_context(py: Python<'_>, ctx: &AppContext) -> PyResult<()> {
    WORKER_ID.store(ctx.worker_id, std::sync::atomic::Ordering::Relaxed);
    let Some(m) = MODULE.get(py) else {
        return Ok(());
    };
    let m = m.bind(py);
    m.setattr("numproc", ctx.processes)?;
    m.setattr("cores", ctx.threads)?;
    let opt = m.getattr("opt")?;
    opt.set_item(
        "processes",
        PyBytes::new(py, ctx.processes.to_string().as_bytes()),
    )?;
    opt.set_item(
        "threads",
        PyBytes::new(py, ctx.threads.to_string().as_bytes()),
    )?;
    if ctx.lazy {
        opt.set_item("lazy-apps", true)?;
    }
    Ok(())
}

/// Runs the hook the app may have set as `uwsgi.<name>` (`post_fork_hook`, `atexit`);
/// an exception it raises is logged.
pub fn run_hook(py: Python<'_>, name: &str) {
    let Some(m) = MODULE.get(py) else {
        return;
    };
    let Ok(hook) = m.bind(py).getattr(name) else {
        return;
    };
    if let Err(err) = hook.call0() {
        crate::traceback::log(py, &err, &format!("uwsgi.{name} raised"));
    }
}

/// The worker this process is (0 in the master), as the latest [`set_context`] said.
static WORKER_ID: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// The worker this process is (0 in the master).
pub fn current_worker() -> u32 {
    WORKER_ID.load(std::sync::atomic::Ordering::Relaxed)
}

fn master_pid() -> u32 {
    match current_worker() {
        0 => std::process::id(),
        // SAFETY: getppid has no memory effects; a worker's parent is the master.
        _ => (unsafe { libc::getppid() }) as u32,
    }
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: `buf` is writable for its length; gethostname NUL-terminates within it.
    if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } != 0 {
        return String::new();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// `uwsgi.worker_id()`: this worker's number, from 1 (0 in the master).
#[pyfunction]
fn worker_id() -> u32 {
    current_worker()
}

/// `uwsgi.masterpid()`.
#[pyfunction]
fn masterpid() -> u32 {
    master_pid()
}

/// `uwsgi.mule_id()`: rsgi has no mules, so always 0 (not a mule).
#[pyfunction]
fn mule_id() -> u32 {
    0
}

/// `uwsgi.i_am_the_spooler()`: rsgi has no spooler, so always False.
#[pyfunction]
fn i_am_the_spooler() -> bool {
    false
}

/// `uwsgi.in_farm(name=None)`: rsgi has no farms, so always None.
#[pyfunction]
#[pyo3(signature = (name = None))]
fn in_farm(name: Option<&str>) -> Option<bool> {
    let _ = name;
    None
}

fn signal_master(signal: libc::c_int, what: &str) -> bool {
    tracing::info!("uwsgi API: the app asked for a {what}");
    // SAFETY: kill has no memory effects.
    unsafe { libc::kill(master_pid() as libc::pid_t, signal) == 0 }
}

/// `uwsgi.reload()`: a graceful reload of every worker (SIGHUP to the master).
#[pyfunction]
fn reload() -> bool {
    signal_master(libc::SIGHUP, "graceful reload")
}

/// `uwsgi.stop()`: a graceful shutdown (SIGTERM to the master; in-flight requests finish).
#[pyfunction]
fn stop() -> bool {
    signal_master(libc::SIGTERM, "graceful shutdown")
}

/// `uwsgi.log(message)`: one line in the server's log.
#[pyfunction]
fn log(message: &str) -> bool {
    tracing::info!(target: "app", "{}", message.trim_end_matches('\n'));
    true
}

/// The module's `__getattr__`: what rsgi does not have is an AttributeError saying so.
#[pyfunction]
#[pyo3(name = "__getattr__")]
fn missing_attribute(name: &str) -> PyResult<()> {
    if name.starts_with("__") {
        return Err(PyAttributeError::new_err(format!(
            "module 'uwsgi' has no attribute '{name}'"
        )));
    }
    Err(PyAttributeError::new_err(format!(
        "module 'uwsgi' has no attribute '{name}': rsgi provides the part of uWSGI's API \
         listed in docs/migrating-from-uwsgi.md"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{define, opt, python};

    #[test]
    fn the_module_answers_like_uwsgi_and_names_what_it_lacks() {
        python(|py| {
            let options = [
                opt("module", &["app"]),
                opt("pythonpath", &["a", "b"]),
                opt("enable-threads", &["true"]),
                opt("locks", &["1"]),
            ];
            install(py, &options, 1, &[]).unwrap();
            let check = define(
                py,
                r#"
import uwsgi
def check():
    assert uwsgi.worker_id() == 0 and uwsgi.mule_id() == 0
    assert uwsgi.masterpid() > 0 and not uwsgi.i_am_the_spooler()
    assert uwsgi.opt["module"] == b"app", uwsgi.opt
    assert uwsgi.opt["pythonpath"] == [b"a", b"b"], uwsgi.opt
    assert uwsgi.opt["enable-threads"] is True and uwsgi.opt["master"] is True
    assert isinstance(uwsgi.version, bytes) and isinstance(uwsgi.hostname, bytes)
    assert not hasattr(uwsgi, "spool")
    try:
        uwsgi.mule_msg("k")
    except AttributeError as e:
        assert "rsgi provides the part of uWSGI's API" in str(e), e
    try:
        uwsgi.cache_get("k")
    except ValueError as e:
        assert "give --cache2" in str(e), e
    uwsgi.lock(1)
    assert uwsgi.is_locked(1) and not uwsgi.is_locked()
    uwsgi.unlock(1)
    assert not uwsgi.is_locked(1)
    for call in (lambda: uwsgi.lock(2), lambda: uwsgi.register_signal(1, "mule", print),
                 lambda: uwsgi.add_timer(300, 1), lambda: uwsgi.add_cron(1, 61, -1, -1, -1, -1)):
        try:
            call()
        except ValueError:
            pass
        else:
            raise AssertionError("accepted")
    try:
        uwsgi.unlock(0)
    except RuntimeError as e:
        assert "not held" in str(e)
    uwsgi.register_signal(7, "", print)
    assert uwsgi.signal_registered(7) and not uwsgi.signal_registered(8)
    return "ok"
"#,
                "check",
            );
            let result = check.call0().map_err(|e| crate::traceback::format(py, &e));
            assert_eq!(result.unwrap().extract::<String>().unwrap(), "ok");
            set_context(
                py,
                &AppContext {
                    processes: 4,
                    threads: 2,
                    lazy: true,
                    worker_id: 0,
                },
            )
            .unwrap();
            let m = py.import("uwsgi").unwrap();
            assert_eq!(m.getattr("numproc").unwrap().extract::<u32>().unwrap(), 4);
            let opt = m.getattr("opt").unwrap();
            assert_eq!(
                opt.get_item("threads")
                    .unwrap()
                    .extract::<Vec<u8>>()
                    .unwrap(),
                b"2"
            );
            assert!(opt.get_item("lazy-apps").unwrap().is_truthy().unwrap());
        });
    }
}
