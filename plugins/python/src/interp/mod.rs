//! Starting CPython inside the host, and what happens around `fork()`.
//!
//! Initialisation runs once, in the master, on the thread that will later fork. It promotes
//! libpython to the global symbol scope, picks the interpreter executable (the virtualenv's
//! `bin/python`, or the one this plugin was built against) so the standard library matches
//! the library, keeps Python's hands off signals, and releases the GIL while keeping the
//! thread's state.
//!
//! Around every fork the master holds the GIL and runs CPython's own fork protocol
//! (`PyOS_BeforeFork`, `PyOS_AfterFork_Parent` / `PyOS_AfterFork_Child`); without it,
//! children were measured to hang in `take_gil`.

use std::ffi::{CStr, CString};
use std::mem::MaybeUninit;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::{ffi, intern};

pub mod autoreload;
pub mod libpython;
pub mod stack_dump;
pub mod thread_state;

use crate::error::Error;
use crate::options::Settings;

/// The interpreter this plugin was built against (`PYO3_PYTHON` at build time).
pub const BUILD_EXECUTABLE: &str = env!("RSGI_PYTHON_EXECUTABLE");

/// The Python this plugin was built for: `3.11`, `3.13`, `3.13t` (free-threaded).
pub const BUILD_PYTHON: &str = env!("RSGI_PYTHON_BUILD");

/// True when built for a free-threaded Python (`--disable-gil`, `Py_GIL_DISABLED`): no GIL
/// serialises the app's request threads, so nothing in this plugin may rely on one for
/// mutual exclusion.
pub const FREE_THREADED: bool = matches!(env!("RSGI_PYTHON_FREE_THREADED").as_bytes(), b"1");

static INITIALIZED: AtomicBool = AtomicBool::new(false);

/// The GIL state taken in [`before_fork`], released after the fork on both sides.
static FORK_GIL: Mutex<Option<ffi::PyGILState_STATE>> = Mutex::new(None);

/// True once [`initialize`] succeeded in this process.
pub fn is_initialized() -> bool {
    INITIALIZED.load(Ordering::Acquire)
}

/// Starts the interpreter and sets up `sys.path`; the calling thread keeps its thread state
/// and does not hold the GIL afterwards. A second call does nothing.
pub fn initialize(settings: &Settings) -> Result<(), Error> {
    if is_initialized() {
        return Ok(());
    }
    let library = libpython::promote_to_global()?;
    let executable = executable(settings)?;
    start(&executable)?;
    INITIALIZED.store(true, Ordering::Release);
    // SAFETY: `Py_InitializeFromConfig` left this thread attached with the GIL held.
    let setup = unsafe { Python::attach_unchecked(|py| configure(py, settings)) };
    // SAFETY: this thread holds the GIL; releasing it keeps the thread state registered.
    unsafe { ffi::PyEval_SaveThread() };
    thread_state::mark_kept();
    let version = setup.map_err(|e| Error::Init(format!("cannot set up sys.path: {e}")))?;
    tracing::info!(
        "Python {version} from {} (executable {})",
        library.display(),
        executable.display()
    );
    if FREE_THREADED {
        match thread_state::attach(gil_enabled) {
            Some(true) => tracing::warn!(
                "free-threaded Python {BUILD_PYTHON}, but the GIL is enabled (PYTHON_GIL=1 or \
                 -X gil=1?): request threads will not run Python in parallel"
            ),
            _ => tracing::info!(
                "free-threaded Python {BUILD_PYTHON}: the GIL is disabled, request threads run \
                 Python in parallel"
            ),
        }
    }
    Ok(())
}

/// Whether the GIL is enabled right now (`sys._is_gil_enabled()`, Python 3.13+; `None` on
/// older versions, which always have one). On a free-threaded build importing an extension
/// module that does not declare free-threading support turns it back on.
pub fn gil_enabled(py: Python<'_>) -> Option<bool> {
    py.import(intern!(py, "sys"))
        .and_then(|sys| sys.call_method0(intern!(py, "_is_gil_enabled")))
        .and_then(|enabled| enabled.extract())
        .ok()
}

/// `--gc-freeze`: one full collection, then `gc.freeze()`: every object alive now (the
/// app, its modules) moves to the permanent generation, which the collector never
/// traverses, so its pages stay shared with the workers forked afterwards instead of being
/// copied when a collection in a worker touches their headers (Instagram's finding;
/// gunicorn users call it by hand in a hook). Logs how many objects were frozen.
pub fn gc_freeze(py: Python<'_>) -> Result<(), Error> {
    let frozen = (|| {
        let gc = py.import(intern!(py, "gc"))?;
        gc.call_method0(intern!(py, "collect"))?;
        gc.call_method0(intern!(py, "freeze"))?;
        gc.call_method0(intern!(py, "get_freeze_count"))?
            .extract::<u64>()
    })()
    .map_err(|e| Error::AppLoad(format!("--gc-freeze: {e}")))?;
    tracing::info!("gc.freeze(): {frozen} objects moved to the permanent generation");
    Ok(())
}

/// `PyConfig.executable`: the virtualenv's `bin/python`, or the build-time interpreter.
fn executable(settings: &Settings) -> Result<PathBuf, Error> {
    let Some(venv) = &settings.virtualenv else {
        return Ok(PathBuf::from(BUILD_EXECUTABLE));
    };
    let python = venv.join("bin").join("python");
    if !python.exists() {
        return Err(Error::Config(format!(
            "--virtualenv {}: no bin/python there (is it a virtualenv?)",
            venv.display()
        )));
    }
    Ok(python)
}

/// `Py_InitializeFromConfig` with our executable and no Python signal handlers.
fn start(executable: &Path) -> Result<(), Error> {
    let executable = CString::new(executable.as_os_str().as_bytes())
        .map_err(|_| Error::Config(format!("{}: path contains NUL", executable.display())))?;
    // SAFETY: the config is initialised by `PyConfig_InitPythonConfig` before any field is
    // touched, fields are only set through the C API, and it is cleared on every path.
    unsafe {
        let mut config = MaybeUninit::<ffi::PyConfig>::uninit();
        ffi::PyConfig_InitPythonConfig(config.as_mut_ptr());
        let config = config.as_mut_ptr();
        (*config).install_signal_handlers = 0;
        let mut status = ffi::PyConfig_SetBytesString(
            config,
            std::ptr::addr_of_mut!((*config).executable),
            executable.as_ptr(),
        );
        if ffi::PyStatus_Exception(status) == 0 {
            status = ffi::Py_InitializeFromConfig(config);
        }
        ffi::PyConfig_Clear(config);
        if ffi::PyStatus_Exception(status) != 0 {
            return Err(Error::Init(status_message(&status)));
        }
    }
    Ok(())
}

/// The message of a failed `PyStatus`.
fn status_message(status: &ffi::PyStatus) -> String {
    let text = |p: *const std::ffi::c_char| {
        // SAFETY: CPython fills these with static NUL-terminated strings or null.
        (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    };
    match (text(status.func), text(status.err_msg)) {
        (Some(func), Some(msg)) => format!("{func}: {msg}"),
        (None, Some(msg)) => msg,
        _ => format!("initialisation failed (exit code {})", status.exitcode),
    }
}

/// Puts `--pythonpath` entries, then the current directory, at the front of `sys.path`
/// (so `--module app` finds `./app.py`, as with uWSGI); returns the Python version.
fn configure(py: Python<'_>, settings: &Settings) -> PyResult<String> {
    let sys = py.import(intern!(py, "sys"))?;
    let path = sys.getattr(intern!(py, "path"))?;
    let mut front: Vec<String> = settings
        .pythonpath
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if let Ok(cwd) = std::env::current_dir() {
        let cwd = cwd.to_string_lossy().into_owned();
        if !path.contains(&cwd)? {
            front.push(cwd);
        }
    }
    for entry in front.iter().rev() {
        path.call_method1(intern!(py, "insert"), (0, entry))?;
    }
    if let Some(venv) = &settings.virtualenv {
        let prefix: String = sys.getattr(intern!(py, "prefix"))?.extract()?;
        tracing::debug!("virtualenv {} (sys.prefix {prefix})", venv.display());
    }
    Ok(sys
        .getattr(intern!(py, "version"))?
        .to_string()
        .replace('\n', " "))
}

/// Master, right before `fork()`: take the GIL and let CPython prepare (its locks, the
/// `os.register_at_fork` hooks). Must run on the thread that initialised Python.
pub fn before_fork() {
    if !is_initialized() {
        return;
    }
    // SAFETY: called from the master's thread, which keeps a thread state and does not hold
    // the GIL between hooks.
    let state = unsafe {
        let state = ffi::PyGILState_Ensure();
        ffi::PyOS_BeforeFork();
        state
    };
    *lock_fork_gil() = Some(state);
}

/// Master, right after `fork()`.
pub fn after_fork_parent() {
    if let Some(state) = lock_fork_gil().take() {
        // SAFETY: pairs with `before_fork` on the same thread.
        unsafe {
            ffi::PyOS_AfterFork_Parent();
            ffi::PyGILState_Release(state);
        }
    }
}

/// New worker, right after `fork()`: reset CPython's locks and threads for this process.
pub fn after_fork_child() {
    if let Some(state) = lock_fork_gil().take() {
        // SAFETY: the forking thread's state was copied into the child, holding the GIL.
        unsafe {
            ffi::PyOS_AfterFork_Child();
            ffi::PyGILState_Release(state);
        }
    }
}

fn lock_fork_gil() -> std::sync::MutexGuard<'static, Option<ffi::PyGILState_STATE>> {
    FORK_GIL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs the app's `atexit` callbacks and flushes its output; Python is not finalised (a
/// non-daemon thread of the app would make that hang).
pub fn at_exit() {
    if !is_initialized() {
        return;
    }
    thread_state::attach(|py| {
        let result = py
            .import(intern!(py, "atexit"))
            .and_then(|atexit| atexit.call_method0(intern!(py, "_run_exitfuncs")));
        if let Err(err) = result {
            tracing::warn!("atexit callbacks failed: {err}");
        }
        if let Ok(sys) = py.import(intern!(py, "sys")) {
            for stream in [intern!(py, "stdout"), intern!(py, "stderr")] {
                if let Ok(stream) = sys.getattr(stream) {
                    let _ = stream.call_method0(intern!(py, "flush"));
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::python;

    #[test]
    fn runs_the_interpreter_it_was_built_against() {
        python(|py| {
            let sys = py.import("sys").unwrap();
            let base: String = sys.getattr("base_prefix").unwrap().extract().unwrap();
            let build = Path::new(BUILD_EXECUTABLE);
            let build_prefix = build.parent().and_then(Path::parent).unwrap();
            assert_eq!(
                Path::new(&base).canonicalize().unwrap(),
                build_prefix.canonicalize().unwrap()
            );
        });
    }

    #[test]
    fn extension_modules_import() {
        python(|py| {
            for name in [
                "math", "_ssl", "_sqlite3", "_ctypes", "_decimal", "_json", "hashlib",
            ] {
                py.import(name)
                    .unwrap_or_else(|e| panic!("import {name}: {e}"));
            }
        });
    }

    #[test]
    fn current_directory_is_on_sys_path() {
        python(|py| {
            let path: Vec<String> = py
                .import("sys")
                .unwrap()
                .getattr("path")
                .unwrap()
                .extract()
                .unwrap();
            let cwd = std::env::current_dir()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            assert!(path.contains(&cwd), "{path:?}");
        });
    }

    /// Compares the dispositions after the start with those before it, not with `SIG_DFL`:
    /// the test process inherits its caller's (SIGINT is ignored when the tests run in the
    /// background or under `nohup`). SIGXFSZ keeps the check meaningful there: neither a
    /// shell nor Rust ignores it, and CPython does when it installs its handlers.
    #[test]
    fn python_installs_no_signal_handlers() {
        let before = crate::testing::signal_dispositions_before_start();
        assert_eq!(crate::testing::signal_dispositions(), before);
    }

    #[test]
    fn the_gil_state_matches_the_build() {
        let enabled = python(gil_enabled);
        if FREE_THREADED {
            assert_eq!(enabled, Some(false), "free-threaded build with the GIL on");
            assert!(BUILD_PYTHON.ends_with('t'), "{BUILD_PYTHON}");
        } else {
            assert_ne!(enabled, Some(false));
            assert!(!BUILD_PYTHON.ends_with('t'), "{BUILD_PYTHON}");
        }
    }

    #[test]
    fn missing_virtualenv_is_a_config_error() {
        let settings = Settings {
            virtualenv: Some(PathBuf::from("/nonexistent/venv")),
            ..Settings::default()
        };
        let err = executable(&settings).unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err}");
    }
}
