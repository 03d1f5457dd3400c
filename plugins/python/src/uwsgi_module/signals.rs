//! uWSGI's signal handlers, as far as timers need them: `uwsgi.register_signal(signum,
//! target, handler)` and `uwsgi.signal_registered(signum)`. `uwsgidecorators`' `@timer`,
//! `@rbtimer` and `@cron` register a handler, then add a timer or cron entry
//! ([`super::timers`]) that raises the signal.
//!
//! Targets say which worker runs the handler: `""`, `worker` and `worker0` one worker
//! (worker 1, which always exists), `workers` and `active-workers` every worker, `workerN`
//! worker N. rsgi has no mules, spooler or farms: those targets are refused when the
//! handler is registered, with a message that says so.

use std::collections::BTreeMap;
use std::sync::Mutex;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// Which workers run a handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// One worker: worker 1.
    OneWorker,
    /// Every worker.
    AllWorkers,
    /// Worker N (1-based).
    Worker(u32),
}

impl Target {
    /// Reads uWSGI's target names.
    pub fn parse(name: &str) -> Result<Target, String> {
        match name {
            "" | "worker" | "worker0" => Ok(Target::OneWorker),
            "workers" | "active-workers" => Ok(Target::AllWorkers),
            _ => match name.strip_prefix("worker").map(str::parse::<u32>) {
                Some(Ok(n)) if n > 0 => Ok(Target::Worker(n)),
                _ => Err(format!(
                    "signal target '{name}' is not served by rsgi: it runs handlers in workers \
                     ('', 'worker', 'workers', 'active-workers', 'workerN') and has no mules, \
                     spooler or farms"
                )),
            },
        }
    }

    /// True when worker `worker_id` (0: the master, never) runs handlers for this target.
    pub fn runs_in(self, worker_id: u32) -> bool {
        match self {
            _ if worker_id == 0 => false,
            Target::OneWorker => worker_id == 1,
            Target::AllWorkers => true,
            Target::Worker(n) => n == worker_id,
        }
    }
}

struct Handler {
    target: Target,
    func: Py<PyAny>,
}

/// Handlers by signal number. Lock order: the interpreter (GIL) first, then this.
static HANDLERS: Mutex<BTreeMap<u8, Handler>> = Mutex::new(BTreeMap::new());

fn handlers() -> std::sync::MutexGuard<'static, BTreeMap<u8, Handler>> {
    HANDLERS.lock().unwrap_or_else(|p| p.into_inner())
}

/// Checks a signal number (0-255, as in uWSGI).
pub fn signum(value: i64) -> PyResult<u8> {
    u8::try_from(value)
        .map_err(|_| PyValueError::new_err(format!("signal number {value} is not in 0..=255")))
}

/// `uwsgi.register_signal(signum, target, handler)`.
#[pyfunction]
pub fn register_signal(signum: i64, target: &str, handler: Bound<'_, PyAny>) -> PyResult<()> {
    let num = self::signum(signum)?;
    let target = Target::parse(target).map_err(PyValueError::new_err)?;
    if !handler.is_callable() {
        return Err(PyValueError::new_err(format!(
            "the handler of signal {num} is not callable"
        )));
    }
    let mut handlers = handlers();
    if handlers.contains_key(&num) {
        return Err(PyValueError::new_err(format!(
            "signal {num} already has a handler"
        )));
    }
    handlers.insert(
        num,
        Handler {
            target,
            func: handler.unbind(),
        },
    );
    Ok(())
}

/// `uwsgi.signal_registered(signum)`.
#[pyfunction]
pub fn signal_registered(signum: i64) -> PyResult<bool> {
    let num = self::signum(signum)?;
    Ok(handlers().contains_key(&num))
}

/// Runs the handler of `num` if this worker is its target; an exception it raises is
/// logged with its traceback. Call with the interpreter attached.
pub fn deliver(py: Python<'_>, num: u8, worker_id: u32) {
    let func = match handlers().get(&num) {
        Some(handler) if handler.target.runs_in(worker_id) => handler.func.clone_ref(py),
        Some(_) => return,
        None => {
            tracing::warn!("uwsgi signal {num} was raised but has no handler (register_signal)");
            return;
        }
    };
    if let Err(err) = func.call1(py, (num,)) {
        crate::traceback::log(
            py,
            &err,
            &format!("the handler of uwsgi signal {num} raised"),
        );
    }
}

/// True when some handler would run in worker `worker_id`.
pub fn any_runs_in(worker_id: u32) -> bool {
    handlers().values().any(|h| h.target.runs_in(worker_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_follow_uwsgi_names_and_refuse_what_rsgi_lacks() {
        assert_eq!(Target::parse(""), Ok(Target::OneWorker));
        assert_eq!(Target::parse("worker0"), Ok(Target::OneWorker));
        assert_eq!(Target::parse("workers"), Ok(Target::AllWorkers));
        assert_eq!(Target::parse("active-workers"), Ok(Target::AllWorkers));
        assert_eq!(Target::parse("worker3"), Ok(Target::Worker(3)));
        for lacking in ["mule", "mule1", "mules", "spooler", "farm_x", "workerx"] {
            let err = Target::parse(lacking).unwrap_err();
            assert!(err.contains(&format!("'{lacking}'")), "{err}");
        }
    }

    #[test]
    fn one_worker_is_worker_1_and_the_master_runs_nothing() {
        assert!(Target::OneWorker.runs_in(1));
        assert!(!Target::OneWorker.runs_in(2));
        assert!(Target::AllWorkers.runs_in(2));
        assert!(Target::Worker(2).runs_in(2) && !Target::Worker(2).runs_in(1));
        for target in [Target::OneWorker, Target::AllWorkers, Target::Worker(1)] {
            assert!(!target.runs_in(0));
        }
    }
}
