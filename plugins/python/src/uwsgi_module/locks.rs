//! uWSGI's user locks: `uwsgi.lock(num=0)`, `uwsgi.unlock(num=0)`, `uwsgi.is_locked(num=0)`,
//! and with them `uwsgidecorators.lock`. Locks 0 to N (`--locks N`, default 0: one lock)
//! are process-shared robust mutexes made by the master before the first fork, so they
//! exclude every thread of every worker. A worker that dies holding one (harakiri, a
//! crash) does not wedge the others: the next `lock()` gets it and logs a warning.

use std::io;
use std::sync::OnceLock;

use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use rsgi_process_lock::{Locked, ProcessLocks};

static LOCKS: OnceLock<ProcessLocks> = OnceLock::new();

/// Makes locks 0..=`highest` (master, before forking). A second call does nothing.
pub fn create(highest: usize) -> io::Result<()> {
    if LOCKS.get().is_none() {
        let _ = LOCKS.set(ProcessLocks::new(highest + 1)?);
    }
    Ok(())
}

fn error(num: usize, err: io::Error) -> PyErr {
    let count = LOCKS.get().map_or(0, ProcessLocks::len);
    match err.kind() {
        io::ErrorKind::InvalidInput => PyValueError::new_err(format!(
            "Invalid lock number {num}: locks are 0 to {} (--locks N makes 0 to N)",
            count.saturating_sub(1)
        )),
        _ if err.raw_os_error() == Some(libc::EPERM) => {
            PyRuntimeError::new_err(format!("lock {num} is not held by this thread"))
        }
        _ => PyOSError::new_err(format!("lock {num}: {err}")),
    }
}

fn locks() -> PyResult<&'static ProcessLocks> {
    LOCKS
        .get()
        .ok_or_else(|| PyRuntimeError::new_err("the uwsgi locks were not created"))
}

fn recovered(num: usize, locked: Locked) {
    if locked.recovered {
        tracing::warn!("uwsgi lock {num}: its holder died holding it; taken over");
    }
}

/// `uwsgi.lock(num=0)`: waits for lock `num` (without holding up the app's other threads).
#[pyfunction]
#[pyo3(signature = (num = 0))]
pub fn lock(py: Python<'_>, num: usize) -> PyResult<()> {
    let locks = locks()?;
    let locked = py.detach(|| locks.lock(num)).map_err(|e| error(num, e))?;
    recovered(num, locked);
    Ok(())
}

/// `uwsgi.unlock(num=0)`: releases lock `num`, which this thread must hold.
#[pyfunction]
#[pyo3(signature = (num = 0))]
pub fn unlock(num: usize) -> PyResult<()> {
    locks()?.unlock(num).map_err(|e| error(num, e))
}

/// `uwsgi.is_locked(num=0)`: whether some thread (this one included) holds lock `num`.
#[pyfunction]
#[pyo3(signature = (num = 0))]
pub fn is_locked(num: usize) -> PyResult<bool> {
    let locks = locks()?;
    match locks.try_lock(num).map_err(|e| error(num, e))? {
        None => Ok(true),
        Some(locked) => {
            recovered(num, locked);
            locks.unlock(num).map_err(|e| error(num, e))?;
            Ok(false)
        }
    }
}
