//! `uwsgi.workers()`: every worker as the host's scoreboard holds it, read through the
//! host's `rsgi.scoreboard` v1 extension (a tuple of dicts, as uWSGI returns).
//!
//! The keys are uWSGI's that have a meaning here: `id`, `pid`, `requests`, `exceptions`,
//! `status` (uWSGI's `idle` / `busy`, and rsgi's `starting`, `recycling`, `stopping`),
//! `tx` (body bytes sent), `avg_rt` (mean response time, µs) and `last_spawn` (when the
//! worker started, Unix seconds). A host of the series that lacks the extension leaves the
//! function out of the module (`hasattr(uwsgi, "workers")` is False).

use std::sync::OnceLock;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyModule, PyTuple};
use rsgi_plugin_api::scoreboard::ScoreboardV1;
use rsgi_plugin_api::sdk::extensions;

/// The host's table, when it offers one.
static TABLE: OnceLock<&'static ScoreboardV1> = OnceLock::new();

/// Adds `workers()` to the module when the host offers `rsgi.scoreboard` v1.
pub fn add_to(m: &Bound<'_, PyModule>) -> PyResult<()> {
    match extensions::from_host::<ScoreboardV1>() {
        Ok(Some(table)) => {
            let _ = TABLE.set(table);
            m.add_function(wrap_pyfunction!(workers, m)?)
        }
        Ok(None) => Ok(()),
        Err(e) => {
            tracing::warn!("uwsgi.workers() left out: {e}");
            Ok(())
        }
    }
}

/// `uwsgi.workers()`.
#[pyfunction]
fn workers(py: Python<'_>) -> PyResult<Bound<'_, PyTuple>> {
    let Some(table) = TABLE.get() else {
        return PyTuple::new(py, Vec::<Bound<'_, PyDict>>::new());
    };
    let rows = (table.workers)();
    let dicts = rows
        .iter()
        .map(|w| {
            let d = PyDict::new(py);
            d.set_item("id", w.id)?;
            d.set_item("pid", w.pid)?;
            d.set_item("requests", w.requests)?;
            d.set_item("exceptions", w.exceptions)?;
            d.set_item("status", w.status.as_str())?;
            d.set_item("tx", w.tx)?;
            d.set_item("avg_rt", w.avg_rt_us)?;
            d.set_item("last_spawn", w.spawned_at_us / 1_000_000)?;
            Ok(d)
        })
        .collect::<PyResult<Vec<_>>>()?;
    PyTuple::new(py, dicts)
}
