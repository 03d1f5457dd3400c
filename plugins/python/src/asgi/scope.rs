//! The ASGI scopes of a request: `http` (ASGI 3.0, HTTP spec 2.3) and `websocket`
//! (WebSocket spec 2.4, for a request the host offers to upgrade).

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

/// The `asgi` entry of every `websocket` scope.
pub fn websocket_asgi_versions(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let asgi = PyDict::new(py);
    asgi.set_item(intern!(py, "version"), intern!(py, "3.0"))?;
    asgi.set_item(intern!(py, "spec_version"), intern!(py, "2.4"))?;
    Ok(asgi)
}

/// The `extensions` entry of every `websocket` scope: `websocket.http.response` (the app
/// may deny the handshake with a response of its own).
pub fn websocket_extensions(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let extensions = PyDict::new(py);
    extensions.set_item(intern!(py, "websocket.http.response"), PyDict::new(py))?;
    Ok(extensions)
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

/// The `http` scope of `incoming`.
pub fn http<'py>(
    py: Python<'py>,
    incoming: &Incoming,
    shared: &Shared<'_, 'py>,
) -> PyResult<Bound<'py, PyDict>> {
    let scope = PyDict::new(py);
    scope.set_item(intern!(py, "type"), intern!(py, "http"))?;
    scope.set_item(intern!(py, "asgi"), shared.asgi)?;
    scope.set_item(intern!(py, "http_version"), incoming.http_version)?;
    scope.set_item(
        intern!(py, "method"),
        PyString::new(py, &String::from_utf8_lossy(&incoming.method)),
    )?;
    scope.set_item(intern!(py, "scheme"), incoming.scheme)?;
    request_keys(py, &scope, incoming, shared)?;
    Ok(scope)
}

/// The `websocket` scope of `incoming`, whose client offered `subprotocols`.
pub fn websocket<'py>(
    py: Python<'py>,
    incoming: &Incoming,
    subprotocols: &[String],
    shared: &Shared<'_, 'py>,
) -> PyResult<Bound<'py, PyDict>> {
    let scope = PyDict::new(py);
    scope.set_item(intern!(py, "type"), intern!(py, "websocket"))?;
    scope.set_item(intern!(py, "asgi"), shared.asgi)?;
    scope.set_item(intern!(py, "http_version"), incoming.http_version)?;
    let scheme = match incoming.scheme {
        "https" => "wss",
        _ => "ws",
    };
    scope.set_item(intern!(py, "scheme"), scheme)?;
    request_keys(py, &scope, incoming, shared)?;
    scope.set_item(
        intern!(py, "subprotocols"),
        PyList::new(py, subprotocols.iter().map(String::as_str))?,
    )?;
    Ok(scope)
}

/// The keys both scopes have: path, raw_path, query_string, root_path, headers, client,
/// server, state and extensions.
#[inline]
fn request_keys<'py>(
    py: Python<'py>,
    scope: &Bound<'py, PyDict>,
    incoming: &Incoming,
    shared: &Shared<'_, 'py>,
) -> PyResult<()> {
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
    scope.set_item(intern!(py, "state"), shared.state.copy()?)?;
    scope.set_item(intern!(py, "extensions"), shared.extensions)?;
    Ok(())
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

    #[test]
    fn the_websocket_scope_has_every_key_of_the_websocket_spec() {
        let spec = RequestSpec::get("/chat%21?room=1")
            .header("Upgrade", "websocket")
            .header("Sec-WebSocket-Protocol", "b, a");
        let incoming = spec.with_request(Incoming::from_request);
        python(|py| {
            let asgi = websocket_asgi_versions(py).unwrap();
            let state = PyDict::new(py);
            let extensions = websocket_extensions(py).unwrap();
            let shared = Shared {
                asgi: &asgi,
                extensions: &extensions,
                state: &state,
            };
            let offered = ["b".to_string(), "a".to_string()];
            let scope = websocket(py, &incoming, &offered, &shared).unwrap();
            let get = |k: &str| scope.get_item(k).unwrap().unwrap();
            assert_eq!(get("type").extract::<String>().unwrap(), "websocket");
            let asgi = get("asgi");
            let version = |k: &str| asgi.get_item(k).unwrap().extract::<String>().unwrap();
            assert_eq!(
                (version("version"), version("spec_version")),
                ("3.0".into(), "2.4".into())
            );
            assert_eq!(get("scheme").extract::<String>().unwrap(), "ws");
            assert_eq!(get("http_version").extract::<String>().unwrap(), "1.1");
            assert_eq!(get("path").extract::<String>().unwrap(), "/chat!");
            assert_eq!(get("raw_path").extract::<Vec<u8>>().unwrap(), b"/chat%21");
            assert_eq!(get("query_string").extract::<Vec<u8>>().unwrap(), b"room=1");
            assert_eq!(
                get("subprotocols").extract::<Vec<String>>().unwrap(),
                ["b", "a"]
            );
            assert!(scope.get_item("method").unwrap().is_none());
            assert!(get("extensions")
                .get_item("websocket.http.response")
                .is_ok());
            for key in ["root_path", "headers", "client", "server", "state"] {
                assert!(scope.contains(key).unwrap(), "{key}");
            }
        });
    }
}
