//! The ASGI scopes of a request: `http` (ASGI 3.0, HTTP spec 2.3) and `websocket`
//! (WebSocket spec 2.4, for a request the host offers to upgrade).

use std::cell::RefCell;

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

/// The keys of an `http` scope, in the order the scope has them.
const HTTP_KEYS: usize = 14;

/// What every scope of a worker shares: the `asgi` and `extensions` entries (the same
/// objects each time: apps read them), the lifespan's state (each request gets a shallow
/// copy, as uvicorn gives), and what makes a scope cheaper to build on the loop's thread:
/// an `http` scope with every key in place, copied per request (one allocation of the
/// right size, no resizing as keys go in), and the header pairs of the last request by
/// position (a keep-alive client sends the same ones each time: the same immutable
/// `(bytes, bytes)` tuples are handed out again).
pub struct Shared {
    /// `asgi` of `http` scopes.
    pub asgi: Py<PyDict>,
    /// `extensions` of `http` scopes.
    pub extensions: Py<PyDict>,
    /// `asgi` of `websocket` scopes.
    pub ws_asgi: Py<PyDict>,
    /// `extensions` of `websocket` scopes.
    pub ws_extensions: Py<PyDict>,
    /// The lifespan's state.
    pub state: Py<PyDict>,
    /// An `http` scope whose per-request values are None.
    template: Py<PyDict>,
    /// The last header pairs seen, by position.
    headers: RefCell<Vec<CachedHeader>>,
    /// The last `server` pair.
    server: RefCell<Option<CachedServer>>,
    /// The last client address.
    client_host: RefCell<Option<(Vec<u8>, Py<PyString>)>>,
}

/// A header pair remembered: the name's length, the name and value's bytes, the tuple.
type CachedHeader = (usize, Vec<u8>, Py<PyTuple>);

/// The `server` pair remembered: the name, the port, the tuple.
type CachedServer = (Vec<u8>, u16, Py<PyTuple>);

/// Most header positions remembered.
const CACHED_HEADERS: usize = 32;

/// Longest header pair (name and value) remembered.
const CACHED_HEADER_BYTES: usize = 256;

impl Shared {
    /// The shared parts of this worker's scopes, with `state` the lifespan's.
    pub fn new(py: Python<'_>, state: Bound<'_, PyDict>) -> PyResult<Shared> {
        let asgi = asgi_versions(py)?;
        let extensions = extensions(py)?;
        let template = PyDict::new(py);
        let none = py.None();
        for (key, value) in [
            (intern!(py, "type"), intern!(py, "http").as_any()),
            (intern!(py, "asgi"), asgi.as_any()),
            (intern!(py, "http_version"), none.bind(py)),
            (intern!(py, "method"), none.bind(py)),
            (intern!(py, "scheme"), none.bind(py)),
            (intern!(py, "path"), none.bind(py)),
            (intern!(py, "raw_path"), none.bind(py)),
            (intern!(py, "query_string"), none.bind(py)),
            (intern!(py, "root_path"), none.bind(py)),
            (intern!(py, "headers"), none.bind(py)),
            (intern!(py, "client"), none.bind(py)),
            (intern!(py, "server"), none.bind(py)),
            (intern!(py, "state"), none.bind(py)),
            (intern!(py, "extensions"), extensions.as_any()),
        ] {
            template.set_item(key, value)?;
        }
        debug_assert_eq!(template.len(), HTTP_KEYS);
        Ok(Shared {
            asgi: asgi.unbind(),
            extensions: extensions.unbind(),
            ws_asgi: websocket_asgi_versions(py)?.unbind(),
            ws_extensions: websocket_extensions(py)?.unbind(),
            state: state.unbind(),
            template: template.unbind(),
            headers: RefCell::new(Vec::new()),
            server: RefCell::new(None),
            client_host: RefCell::new(None),
        })
    }

    /// The `headers` list of `incoming`.
    fn headers<'py>(&self, py: Python<'py>, incoming: &Incoming) -> PyResult<Bound<'py, PyList>> {
        let mut cache = self.headers.borrow_mut();
        let mut pairs = Vec::with_capacity(incoming.headers().len());
        for (i, (name, value)) in incoming.headers().enumerate() {
            if let Some((name_len, bytes, pair)) = cache.get(i) {
                if *name_len == name.len()
                    && bytes.len() == name.len() + value.len()
                    && bytes[..name.len()] == *name
                    && bytes[name.len()..] == *value
                {
                    pairs.push(pair.clone_ref(py));
                    continue;
                }
            }
            let pair =
                PyTuple::new(py, [PyBytes::new(py, name), PyBytes::new(py, value)])?.unbind();
            let len = name.len() + value.len();
            if i < CACHED_HEADERS && len <= CACHED_HEADER_BYTES {
                let mut bytes = Vec::with_capacity(len);
                bytes.extend_from_slice(name);
                bytes.extend_from_slice(value);
                let entry = (name.len(), bytes, pair.clone_ref(py));
                if i < cache.len() {
                    cache[i] = entry;
                } else if i == cache.len() {
                    cache.push(entry);
                }
            }
            pairs.push(pair);
        }
        PyList::new(py, pairs)
    }

    /// The `server` pair.
    fn server<'py>(&self, py: Python<'py>, incoming: &Incoming) -> PyResult<Bound<'py, PyTuple>> {
        let (name, port) = incoming.server();
        let mut last = self.server.borrow_mut();
        if let Some((n, p, pair)) = last.as_ref() {
            if *p == port && n.as_slice() == name {
                return Ok(pair.bind(py).clone());
            }
        }
        let pair = (String::from_utf8_lossy(name), port).into_pyobject(py)?;
        *last = Some((name.to_vec(), port, pair.clone().unbind()));
        Ok(pair)
    }

    /// The client's address as a string.
    fn client_host<'py>(&self, py: Python<'py>, host: &[u8]) -> Bound<'py, PyString> {
        let mut last = self.client_host.borrow_mut();
        if let Some((h, s)) = last.as_ref() {
            if h.as_slice() == host {
                return s.bind(py).clone();
            }
        }
        let s = PyString::new(py, &String::from_utf8_lossy(host));
        *last = Some((host.to_vec(), s.clone().unbind()));
        s
    }
}

/// `GET`, ... as a Python string, the usual methods without a new object.
fn method<'py>(py: Python<'py>, method: &[u8]) -> Bound<'py, PyString> {
    match method {
        b"GET" => intern!(py, "GET").clone(),
        b"POST" => intern!(py, "POST").clone(),
        b"HEAD" => intern!(py, "HEAD").clone(),
        b"PUT" => intern!(py, "PUT").clone(),
        b"DELETE" => intern!(py, "DELETE").clone(),
        b"PATCH" => intern!(py, "PATCH").clone(),
        b"OPTIONS" => intern!(py, "OPTIONS").clone(),
        other => PyString::new(py, &String::from_utf8_lossy(other)),
    }
}

/// `1.0` or `1.1`, interned.
fn http_version<'py>(py: Python<'py>, version: &str) -> &'py Bound<'py, PyString> {
    match version {
        "1.0" => intern!(py, "1.0"),
        _ => intern!(py, "1.1"),
    }
}

/// The `http` scope of `incoming`.
pub fn http<'py>(
    py: Python<'py>,
    incoming: &Incoming,
    shared: &Shared,
) -> PyResult<Bound<'py, PyDict>> {
    // A copy of the template: its keys in place, the per-request values replace None.
    let scope = shared.template.bind(py).copy()?;
    scope.set_item(
        intern!(py, "http_version"),
        http_version(py, incoming.http_version),
    )?;
    scope.set_item(intern!(py, "method"), method(py, incoming.method()))?;
    let scheme = match incoming.scheme {
        "https" => intern!(py, "https"),
        _ => intern!(py, "http"),
    };
    scope.set_item(intern!(py, "scheme"), scheme)?;
    request_values(py, &scope, incoming, shared)?;
    Ok(scope)
}

/// The `websocket` scope of `incoming`, whose client offered `subprotocols`.
pub fn websocket<'py>(
    py: Python<'py>,
    incoming: &Incoming,
    subprotocols: &[String],
    shared: &Shared,
) -> PyResult<Bound<'py, PyDict>> {
    let scope = PyDict::new(py);
    scope.set_item(intern!(py, "type"), intern!(py, "websocket"))?;
    scope.set_item(intern!(py, "asgi"), shared.ws_asgi.bind(py))?;
    scope.set_item(
        intern!(py, "http_version"),
        http_version(py, incoming.http_version),
    )?;
    let scheme = match incoming.scheme {
        "https" => intern!(py, "wss"),
        _ => intern!(py, "ws"),
    };
    scope.set_item(intern!(py, "scheme"), scheme)?;
    request_values(py, &scope, incoming, shared)?;
    scope.set_item(intern!(py, "extensions"), shared.ws_extensions.bind(py))?;
    scope.set_item(
        intern!(py, "subprotocols"),
        PyList::new(py, subprotocols.iter().map(String::as_str))?,
    )?;
    Ok(scope)
}

/// The values both scopes have: path, raw_path, query_string, root_path, headers, client,
/// server and state.
#[inline]
fn request_values<'py>(
    py: Python<'py>,
    scope: &Bound<'py, PyDict>,
    incoming: &Incoming,
    shared: &Shared,
) -> PyResult<()> {
    scope.set_item(
        intern!(py, "path"),
        PyString::new(py, &String::from_utf8_lossy(incoming.path())),
    )?;
    scope.set_item(
        intern!(py, "raw_path"),
        PyBytes::new(py, incoming.raw_path()),
    )?;
    scope.set_item(
        intern!(py, "query_string"),
        PyBytes::new(py, incoming.query()),
    )?;
    scope.set_item(
        intern!(py, "root_path"),
        PyString::new(py, &String::from_utf8_lossy(incoming.root_path())),
    )?;
    scope.set_item(intern!(py, "headers"), shared.headers(py, incoming)?)?;
    let (host, port) = incoming.client();
    scope.set_item(intern!(py, "client"), (shared.client_host(py, host), port))?;
    scope.set_item(intern!(py, "server"), shared.server(py, incoming)?)?;
    scope.set_item(intern!(py, "state"), shared.state.bind(py).copy()?)?;
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
            let state = PyDict::new(py);
            state.set_item("db", 1).unwrap();
            let shared = Shared::new(py, state.clone()).unwrap();
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
    fn header_pairs_are_reused_only_where_they_repeat() {
        let first = RequestSpec::get("/")
            .header("Accept", "*/*")
            .header("X-A", "1")
            .with_request(Incoming::from_request);
        // The same names at the same places with one value changed; then that name
        // changed.
        let second = RequestSpec::get("/")
            .header("Accept", "*/*")
            .header("X-A", "2")
            .with_request(Incoming::from_request);
        let third = RequestSpec::get("/")
            .header("Accept", "*/*")
            .header("X-A1", "2")
            .with_request(Incoming::from_request);
        python(|py| {
            let shared = Shared::new(py, PyDict::new(py)).unwrap();
            let headers = |incoming: &Incoming| {
                http(py, incoming, &shared)
                    .unwrap()
                    .get_item("headers")
                    .unwrap()
                    .unwrap()
                    .cast_into::<PyList>()
                    .unwrap()
            };
            let pairs =
                |list: &Bound<'_, PyList>| -> Vec<(Vec<u8>, Vec<u8>)> { list.extract().unwrap() };
            let (a, b, c, again) = (
                headers(&first),
                headers(&second),
                headers(&third),
                headers(&first),
            );
            let last = |list: &Bound<'_, PyList>| pairs(list).last().cloned().unwrap();
            assert_eq!(last(&a), (b"x-a".to_vec(), b"1".to_vec()));
            assert_eq!(last(&b), (b"x-a".to_vec(), b"2".to_vec()));
            assert_eq!(last(&c), (b"x-a1".to_vec(), b"2".to_vec()));
            assert_eq!(pairs(&again), pairs(&a));
            // An unchanged pair is the same tuple; a changed one a new one.
            let n = a.len();
            let same =
                |i: usize| a.get_item(i).unwrap().as_ptr() == b.get_item(i).unwrap().as_ptr();
            assert!(same(n - 2));
            assert!(!same(n - 1));
        });
    }

    #[test]
    fn the_websocket_scope_has_every_key_of_the_websocket_spec() {
        let spec = RequestSpec::get("/chat%21?room=1")
            .header("Upgrade", "websocket")
            .header("Sec-WebSocket-Protocol", "b, a");
        let incoming = spec.with_request(Incoming::from_request);
        python(|py| {
            let state = PyDict::new(py);
            let shared = Shared::new(py, state).unwrap();
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
