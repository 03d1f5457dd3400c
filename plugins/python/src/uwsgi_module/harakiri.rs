//! `uwsgi.set_user_harakiri(seconds)` (and `uwsgidecorators.harakiri`): a deadline the
//! app sets for the current thread; when it passes, the worker is killed, as `--harakiri`
//! would kill it, and the master starts another. `0` clears it, and so does the end of
//! the request that set it (as in uWSGI).
//!
//! The host's `--harakiri` is enforced by the master from the scoreboard; this deadline
//! is the app's own, so a watchdog thread in the worker keeps it: started at the first
//! call, it sleeps until the earliest deadline and, if it is still set then, logs what
//! expired, has the app's stacks written to the log (`stack_dump`) and sends SIGKILL to
//! its own process. The master logs the death and respawns.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

use crate::interp::thread_state;

struct Deadline {
    at: Instant,
    seconds: u64,
}

struct Watch {
    deadlines: HashMap<ThreadId, Deadline>,
    /// This process runs the watchdog thread.
    running: bool,
}

static WATCH: Mutex<Option<Watch>> = Mutex::new(None);
/// Wakes the watchdog when a deadline is set or cleared.
static CHANGED: Condvar = Condvar::new();

thread_local! {
    /// This thread has a deadline set (read at the end of each request).
    static ARMED: Cell<bool> = const { Cell::new(false) };
}

fn watch() -> MutexGuard<'static, Option<Watch>> {
    WATCH.lock().unwrap_or_else(|p| p.into_inner())
}

/// `uwsgi.set_user_harakiri(seconds)`: kill this worker if the current thread is still
/// in the same request (or has not cleared it) `seconds` from now; 0 clears.
#[pyfunction]
pub fn set_user_harakiri(seconds: i64) -> PyResult<()> {
    let seconds = u64::try_from(seconds).map_err(|_| {
        PyValueError::new_err(format!(
            "set_user_harakiri needs seconds >= 0, not {seconds}"
        ))
    })?;
    let worker = super::current_worker();
    if worker == 0 {
        return Err(PyRuntimeError::new_err(
            "set_user_harakiri works in workers, not in the master (where the app is imported)",
        ));
    }
    let thread = thread_state::current_id();
    let mut guard = watch();
    let watch = guard.get_or_insert_with(|| Watch {
        deadlines: HashMap::new(),
        running: false,
    });
    if seconds == 0 {
        watch.deadlines.remove(&thread);
        ARMED.with(|a| a.set(false));
    } else {
        let at = Instant::now() + Duration::from_secs(seconds);
        watch.deadlines.insert(thread, Deadline { at, seconds });
        ARMED.with(|a| a.set(true));
        if !watch.running {
            std::thread::Builder::new()
                .name("rsgi-user-harakiri".into())
                .spawn(move || run(worker))
                .map_err(|e| PyRuntimeError::new_err(format!("cannot start the watchdog: {e}")))?;
            watch.running = true;
        }
    }
    CHANGED.notify_all();
    Ok(())
}

/// The end of a request on this thread: a deadline it set no longer applies.
pub fn request_ended() {
    if ARMED.with(|a| a.replace(false)) {
        if let Some(watch) = watch().as_mut() {
            watch.deadlines.remove(&thread_state::current_id());
        }
        CHANGED.notify_all();
    }
}

fn run(worker: u32) {
    let mut guard = watch();
    loop {
        let now = Instant::now();
        let Some(watch) = guard.as_ref() else { return };
        if let Some(expired) = watch.deadlines.values().find(|d| d.at <= now) {
            tracing::error!(
                "user harakiri: worker {worker} (pid {}) is still in the request that called \
                 set_user_harakiri({}): killing it",
                std::process::id(),
                expired.seconds
            );
            crate::interp::stack_dump::dump_own_stacks();
            // SAFETY: kill(2) on this very process; nothing runs after it.
            unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
            return;
        }
        let next = watch.deadlines.values().map(|d| d.at).min();
        guard = match next {
            Some(at) => {
                CHANGED
                    .wait_timeout(guard, at.saturating_duration_since(now))
                    .unwrap_or_else(|p| p.into_inner())
                    .0
            }
            None => CHANGED.wait(guard).unwrap_or_else(|p| p.into_inner()),
        };
    }
}
