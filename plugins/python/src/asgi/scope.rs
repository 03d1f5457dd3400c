//! The ASGI `http` scope of a request (ASGI 3.0, HTTP spec 2.3).

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

use super::incoming::Incoming;

/// The `extensions` entry of every scope: `http.response.pathsend` when the host sends
/// files zero-copy (`rsgi.exchange` v2).
pub fn extensions(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let extensions = PyDict::new(py);
    let v2 = rsgi_plugin_api::sdk::extensions::from_host::<rsgi_plugin_api::exchange::ExchangeV2>();
    if matches!(v2, Ok(Some(_))) {
        extensions.set_item(intern!(py, "http.response.pathsend"), PyDict::new(py))?;
    }
    Ok(extensions)
}

/// The `asgi` entry of every scope.
pub fn asgi_versions(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let asgi = PyDict::new(py);
    asgi.set_item(intern!(py, "version"), intern!(py, "3.0"))?;
    asgi.set_item(intern!(py, "spec_version"), intern!(py, "2.3"))?;
    Ok(asgi)
}

/// What every scope of a worker shares: the `asgi` and `extensions` entries (the same
/// objects each time: apps read them), and the lifespan's state (each request gets a
/// shallow copy, as uvicorn gives).
pub struct Shared<'a, 'py> {
    /// `asgi`.
    pub asgi: &'a Bound<'py, PyDict>,
    /// `extensions`.
    pub extensions: &'a Bound<'py, PyDict>,
    /// The lifespan's state.
    pub state: &'a Bound<'py, PyDict>,
}

/// The scope of `incoming`.
pub fn http<'py>(
    py: Python<'py>,
    incoming: &Incoming,
    shared: &Shared<'_, 'py>,
) -> PyResult<Bound<'py, PyDict>> {
    let Shared {
        asgi,
        extensions,
        state,
    } = shared;
    let scope = PyDict::new(py);
    scope.set_item(intern!(py, "type"), intern!(py, "http"))?;
    scope.set_item(intern!(py, "asgi"), asgi)?;
    scope.set_item(intern!(py, "http_version"), incoming.http_version)?;
    scope.set_item(
        intern!(py, "method"),
        PyString::new(py, &String::from_utf8_lossy(&incoming.method)),
    )?;
    scope.set_item(intern!(py, "scheme"), incoming.scheme)?;
    scope.set_item(
        intern!(py, "path"),
        PyString::new(py, &String::from_utf8_lossy(&incoming.path)),
    )?;
    scope.set_item(
        intern!(py, "raw_path"),
        PyBytes::new(py, &incoming.raw_path),
    )?;
    scope.set_item(
        intern!(py, "query_string"),
        PyBytes::new(py, &incoming.query),
    )?;
    scope.set_item(
        intern!(py, "root_path"),
        PyString::new(py, &String::from_utf8_lossy(&incoming.root_path)),
    )?;
    let headers = PyList::empty(py);
    for (name, value) in &incoming.headers {
        headers.append(PyTuple::new(
            py,
            [PyBytes::new(py, name), PyBytes::new(py, value)],
        )?)?;
    }
    scope.set_item(intern!(py, "headers"), headers)?;
    scope.set_item(
        intern!(py, "client"),
        (incoming.client.0.as_str(), incoming.client.1),
    )?;
    scope.set_item(
        intern!(py, "server"),
        (incoming.server.0.as_str(), incoming.server.1),
    )?;
    scope.set_item(intern!(py, "state"), state.copy()?)?;
    scope.set_item(intern!(py, "extensions"), extensions)?;
    Ok(scope)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{python, RequestSpec};

    #[test]
    fn the_scope_has_every_key_of_the_http_spec() {
        let spec = RequestSpec::get("/a%20b?x=1").header("Accept", "*/*");
        let incoming = spec.with_request(Incoming::from_request);
        python(|py| {
            let asgi = asgi_versions(py).unwrap();
            let state = PyDict::new(py);
            state.set_item("db", 1).unwrap();
            let extensions = extensions(py).unwrap();
            let shared = Shared {
                asgi: &asgi,
                extensions: &extensions,
                state: &state,
            };
            let scope = http(py, &incoming, &shared).unwrap();
            let get = |k: &str| scope.get_item(k).unwrap().unwrap();
            assert_eq!(get("type").extract::<String>().unwrap(), "http");
            assert_eq!(get("path").extract::<String>().unwrap(), "/a b");
            assert_eq!(get("raw_path").extract::<Vec<u8>>().unwrap(), b"/a%20b");
            assert_eq!(get("query_string").extract::<Vec<u8>>().unwrap(), b"x=1");
            assert_eq!(get("method").extract::<String>().unwrap(), "GET");
            assert_eq!(get("root_path").extract::<String>().unwrap(), "");
            let headers: Vec<(Vec<u8>, Vec<u8>)> = get("headers").extract().unwrap();
            assert!(headers.contains(&(b"accept".to_vec(), b"*/*".to_vec())));
            // Each request gets its own copy of the state.
            let copy = get("state");
            assert!(!copy.is(&state));
            assert_eq!(copy.get_item("db").unwrap().extract::<i32>().unwrap(), 1);
        });
    }
}
