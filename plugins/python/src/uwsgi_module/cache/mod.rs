//! uWSGI's cache (`--cache2 name=NAME,items=N[,blocksize=B][,keysize=K]`, repeatable):
//! tables of bytes shared by every worker, through `uwsgi.cache_get(key[, cache])`,
//! `cache_set(key, value[, expires, cache])` (only when the key is not there),
//! `cache_update` (always), `cache_del`, `cache_exists`, `cache_clear`, `cache_keys`.
//! `expires` is in seconds (0: until removed); without a cache name the first cache
//! given serves. As in uWSGI, a refused store returns None (the key exists for
//! `cache_set`, the value is larger than `blocksize`, the cache is full) and a found one
//! True; `cache_exists` answers True or None. Caches on other servers (`name@host:port`)
//! are not available. What cachelib's and Flask-Caching's `UWSGICache` use works.

pub mod table;

use std::sync::OnceLock;

use pyo3::exceptions::{PyOSError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyModule, PyString};

use table::{Refused, Shape, Table};

/// One `--cache2` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheSpec {
    /// `name=`.
    pub name: String,
    /// `items=`, `blocksize=` (default 65536), `keysize=` (default 2048).
    pub shape: Shape,
}

/// Reads `name=NAME,items=N[,blocksize=B][,keysize=K]`; other keys are refused by name.
pub fn parse_spec(spec: &str) -> Result<CacheSpec, String> {
    let bad = |why: String| format!("--cache2 '{spec}': {why}");
    let mut name = None;
    let mut shape = Shape {
        items: 0,
        blocksize: 65_536,
        keysize: 2_048,
    };
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = part
            .split_once('=')
            .ok_or_else(|| bad(format!("'{part}' is not KEY=VALUE")))?;
        let number = || {
            value
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| bad(format!("{key}={value} is not a positive number")))
        };
        match key.trim() {
            "name" => name = Some(value.trim().to_owned()),
            "items" | "maxitems" => shape.items = number()?,
            "blocksize" => shape.blocksize = number()?,
            "keysize" => shape.keysize = number()?,
            other => {
                return Err(bad(format!(
                "'{other}' is not available (rsgi's cache takes name, items, blocksize, keysize)"
            )))
            }
        }
    }
    let name = name
        .filter(|n| !n.is_empty())
        .ok_or_else(|| bad("no name=".into()))?;
    if shape.items == 0 {
        return Err(bad("no items=".into()));
    }
    Ok(CacheSpec { name, shape })
}

static CACHES: OnceLock<Vec<(String, Table)>> = OnceLock::new();

/// Maps the caches (master, before forking) and adds the functions to `module`.
pub fn install(module: &Bound<'_, PyModule>, specs: &[CacheSpec]) -> PyResult<()> {
    if CACHES.get().is_none() {
        let mut caches = Vec::with_capacity(specs.len());
        for spec in specs {
            let table = Table::new(spec.shape).map_err(|e| {
                PyOSError::new_err(format!("cannot map uwsgi cache '{}': {e}", spec.name))
            })?;
            tracing::info!(
                "uwsgi cache '{}': {} items of up to {} bytes",
                spec.name,
                spec.shape.items,
                spec.shape.blocksize
            );
            caches.push((spec.name.clone(), table));
        }
        let _ = CACHES.set(caches);
    }
    module.add_function(wrap_pyfunction!(cache_get, module)?)?;
    module.add_function(wrap_pyfunction!(cache_set, module)?)?;
    module.add_function(wrap_pyfunction!(cache_update, module)?)?;
    module.add_function(wrap_pyfunction!(cache_del, module)?)?;
    module.add_function(wrap_pyfunction!(cache_exists, module)?)?;
    module.add_function(wrap_pyfunction!(cache_clear, module)?)?;
    module.add_function(wrap_pyfunction!(cache_keys, module)?)?;
    Ok(())
}

fn table(cache: Option<&str>) -> PyResult<&'static Table> {
    let caches = CACHES.get().map(Vec::as_slice).unwrap_or_default();
    let found = match cache.filter(|c| !c.is_empty()) {
        None => caches.first(),
        Some(name) if name.contains('@') => {
            return Err(PyValueError::new_err(format!(
                "uwsgi cache '{name}': caches on other servers are not available in rsgi"
            )))
        }
        Some(name) => caches.iter().find(|(n, _)| n == name),
    };
    found.map(|(_, t)| t).ok_or_else(|| {
        PyValueError::new_err(match cache {
            Some(name) if !name.is_empty() => format!("no uwsgi cache named '{name}' (--cache2)"),
            _ => "no uwsgi cache: give --cache2 name=NAME,items=N".into(),
        })
    })
}

/// The bytes of a key or value given as bytes or str (UTF-8).
fn bytes_of(value: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<u8>> {
    if let Ok(b) = value.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(s) = value.cast::<PyString>() {
        return Ok(s.to_str()?.as_bytes().to_vec());
    }
    Err(PyTypeError::new_err(format!(
        "a uwsgi cache {what} must be bytes or str"
    )))
}

fn io_error(err: std::io::Error) -> PyErr {
    PyOSError::new_err(format!("uwsgi cache: {err}"))
}

/// Runs `op` on the named cache's table with the key's bytes, the interpreter released
/// while it waits for the table's lock.
fn with_key<R: Send>(
    py: Python<'_>,
    key: &Bound<'_, PyAny>,
    cache: Option<&str>,
    op: impl FnOnce(&Table, &[u8]) -> std::io::Result<R> + Send,
) -> PyResult<R> {
    let table = table(cache)?;
    let key = bytes_of(key, "key")?;
    py.detach(|| op(table, &key)).map_err(io_error)
}

fn store(
    py: Python<'_>,
    key: &Bound<'_, PyAny>,
    value: &Bound<'_, PyAny>,
    expires: u64,
    cache: Option<&str>,
    overwrite: bool,
) -> PyResult<Option<bool>> {
    let table = table(cache)?;
    let (key, value) = (bytes_of(key, "key")?, bytes_of(value, "value")?);
    let stored = py
        .detach(|| table.store(&key, &value, expires, overwrite))
        .map_err(io_error)?;
    match stored {
        Ok(()) => Ok(Some(true)),
        Err(Refused::Exists) => Ok(None),
        Err(why) => {
            let shape = table.shape();
            tracing::warn!(
                "uwsgi cache: item not stored: {}",
                match why {
                    Refused::Full => format!("the cache is full ({} items)", shape.items),
                    Refused::KeyTooLong => format!("key longer than keysize {}", shape.keysize),
                    _ => format!(
                        "{} bytes, more than blocksize {}",
                        value.len(),
                        shape.blocksize
                    ),
                }
            );
            Ok(None)
        }
    }
}

/// `uwsgi.cache_get(key, cache=None)`: the value, or None.
#[pyfunction]
#[pyo3(signature = (key, cache = None))]
fn cache_get<'py>(
    py: Python<'py>,
    key: &Bound<'py, PyAny>,
    cache: Option<&str>,
) -> PyResult<Option<Bound<'py, PyBytes>>> {
    let value = with_key(py, key, cache, Table::get)?;
    Ok(value.map(|v| PyBytes::new(py, &v)))
}

/// `uwsgi.cache_set(key, value, expires=0, cache=None)`: stores only a new key.
#[pyfunction]
#[pyo3(signature = (key, value, expires = 0, cache = None))]
fn cache_set(
    py: Python<'_>,
    key: &Bound<'_, PyAny>,
    value: &Bound<'_, PyAny>,
    expires: u64,
    cache: Option<&str>,
) -> PyResult<Option<bool>> {
    store(py, key, value, expires, cache, false)
}

/// `uwsgi.cache_update(key, value, expires=0, cache=None)`: stores, replacing.
#[pyfunction]
#[pyo3(signature = (key, value, expires = 0, cache = None))]
fn cache_update(
    py: Python<'_>,
    key: &Bound<'_, PyAny>,
    value: &Bound<'_, PyAny>,
    expires: u64,
    cache: Option<&str>,
) -> PyResult<Option<bool>> {
    store(py, key, value, expires, cache, true)
}

/// `uwsgi.cache_del(key, cache=None)`: True when it was there, else None.
#[pyfunction]
#[pyo3(signature = (key, cache = None))]
fn cache_del(
    py: Python<'_>,
    key: &Bound<'_, PyAny>,
    cache: Option<&str>,
) -> PyResult<Option<bool>> {
    Ok(with_key(py, key, cache, Table::delete)?.then_some(true))
}

/// `uwsgi.cache_exists(key, cache=None)`: True, or None.
#[pyfunction]
#[pyo3(signature = (key, cache = None))]
fn cache_exists(
    py: Python<'_>,
    key: &Bound<'_, PyAny>,
    cache: Option<&str>,
) -> PyResult<Option<bool>> {
    Ok(with_key(py, key, cache, Table::exists)?.then_some(true))
}

/// `uwsgi.cache_clear(cache=None)`: removes every item.
#[pyfunction]
#[pyo3(signature = (cache = None))]
fn cache_clear(py: Python<'_>, cache: Option<&str>) -> PyResult<bool> {
    let table = table(cache)?;
    py.detach(|| table.clear()).map_err(io_error)?;
    Ok(true)
}

/// `uwsgi.cache_keys(cache=None)`: the keys of the live items, as bytes.
#[pyfunction]
#[pyo3(signature = (cache = None))]
fn cache_keys<'py>(py: Python<'py>, cache: Option<&str>) -> PyResult<Vec<Bound<'py, PyBytes>>> {
    let table = table(cache)?;
    let keys = py.detach(|| table.keys()).map_err(io_error)?;
    Ok(keys.iter().map(|k| PyBytes::new(py, k)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_take_uwsgi_keys_and_refuse_others_by_name() {
        let spec = parse_spec("name=pages,items=100,blocksize=4096").unwrap();
        assert_eq!(spec.name, "pages");
        assert_eq!(
            spec.shape,
            Shape {
                items: 100,
                blocksize: 4096,
                keysize: 2048
            }
        );
        for (bad, needle) in [
            ("items=10", "no name="),
            ("name=x", "no items="),
            ("name=x,items=0", "positive number"),
            (
                "name=x,items=10,purge_lru=1",
                "'purge_lru' is not available",
            ),
            ("name=x,items", "not KEY=VALUE"),
        ] {
            let err = parse_spec(bad).unwrap_err();
            assert!(err.contains(needle) && err.starts_with("--cache2"), "{err}");
        }
    }
}
