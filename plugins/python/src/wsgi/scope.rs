//! The WSGI `environ` (PEP 3333, CGI variables) for one request.
//!
//! Built fast, as measured: the per-process constants (`wsgi.version`, `wsgi.errors`,
//! `SCRIPT_NAME`...) live in a base dict that each request copies, keys are interned
//! strings made once, and common values (methods, protocol, scheme) are cached.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString};
use pyo3::{intern, PyTypeInfo};
use rsgi_plugin_api::{AppContext, Header, NameStyle, Request};

use crate::latin1;
use crate::load::mount::Split;
use crate::path_info;
use crate::wsgi::cgi_name::{self, derived, List};
use crate::wsgi::file_wrapper::FileWrapper;

/// Interned keys and cached values, made once per process.
struct Keys {
    request_method: Py<PyString>,
    script_name: Py<PyString>,
    path_info: Py<PyString>,
    query_string: Py<PyString>,
    content_length: Py<PyString>,
    server_name: Py<PyString>,
    server_port: Py<PyString>,
    server_protocol: Py<PyString>,
    remote_addr: Py<PyString>,
    remote_port: Py<PyString>,
    request_uri: Py<PyString>,
    url_scheme: Py<PyString>,
    input: Py<PyString>,
    methods: Vec<(&'static str, Py<PyString>)>,
    protocols: Vec<(&'static str, Py<PyString>)>,
    schemes: Vec<(&'static str, Py<PyString>)>,
}

/// Cached values for these, compared before making a new string.
const METHODS: [&str; 7] = ["GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"];
const PROTOCOLS: [&str; 2] = ["HTTP/1.1", "HTTP/1.0"];
const SCHEMES: [&str; 2] = ["http", "https"];

static KEYS: PyOnceLock<Keys> = PyOnceLock::new();

fn keys(py: Python<'_>) -> &Keys {
    KEYS.get_or_init(py, || {
        let key = |s: &str| PyString::intern(py, s).unbind();
        let cached = |values: &[&'static str]| values.iter().map(|v| (*v, key(v))).collect();
        Keys {
            request_method: key("REQUEST_METHOD"),
            script_name: key("SCRIPT_NAME"),
            path_info: key("PATH_INFO"),
            query_string: key("QUERY_STRING"),
            content_length: key("CONTENT_LENGTH"),
            server_name: key("SERVER_NAME"),
            server_port: key("SERVER_PORT"),
            server_protocol: key("SERVER_PROTOCOL"),
            remote_addr: key("REMOTE_ADDR"),
            remote_port: key("REMOTE_PORT"),
            request_uri: key("REQUEST_URI"),
            url_scheme: key("wsgi.url_scheme"),
            input: key("wsgi.input"),
            methods: cached(&METHODS),
            protocols: cached(&PROTOCOLS),
            schemes: cached(&SCHEMES),
        }
    })
}

/// The cached string equal to `value`, or a new one.
fn cached<'py>(
    py: Python<'py>,
    table: &[(&'static str, Py<PyString>)],
    value: &[u8],
) -> Bound<'py, PyString> {
    match table.iter().find(|(text, _)| text.as_bytes() == value) {
        Some((_, s)) => s.bind(py).clone(),
        None => latin1::to_str(py, value),
    }
}

/// The part of every environ that does not change between requests of this process
/// (`file_wrapper`: offer `wsgi.file_wrapper`).
pub fn base(py: Python<'_>, ctx: &AppContext, file_wrapper: bool) -> PyResult<Py<PyDict>> {
    let env = PyDict::new(py);
    env.set_item(intern!(py, "SCRIPT_NAME"), intern!(py, ""))?;
    env.set_item(intern!(py, "wsgi.version"), (1, 0))?;
    env.set_item(
        intern!(py, "wsgi.errors"),
        py.import("sys")?.getattr("stderr")?,
    )?;
    env.set_item(intern!(py, "wsgi.multithread"), ctx.threads > 1)?;
    env.set_item(intern!(py, "wsgi.multiprocess"), ctx.processes > 1)?;
    env.set_item(intern!(py, "wsgi.run_once"), false)?;
    // `wsgi.input` returns b"" at the end of the body, chunked or not, so an app may read
    // it to the end without CONTENT_LENGTH (werkzeug and Django look for this key).
    env.set_item(intern!(py, "wsgi.input_terminated"), true)?;
    if file_wrapper {
        env.set_item(
            intern!(py, "wsgi.file_wrapper"),
            FileWrapper::type_object(py),
        )?;
    }
    Ok(env.unbind())
}

/// The environ for `request`: a copy of `base`, the headers, the CGI variables derived from
/// the request, then the protocol's own variables (`request.vars`) on top, the mount's
/// `SCRIPT_NAME`/`PATH_INFO` split (if any), and `input`.
pub fn build<'py>(
    py: Python<'py>,
    base: &Bound<'py, PyDict>,
    request: &Request<'_>,
    split: Option<&Split<'_>>,
    input: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyDict>> {
    let k = keys(py);
    let env = base.copy()?;
    let headers = request.headers.as_slice();
    let (header_items, _) = cgi_name::items(py, request.names, List::Headers, headers);
    for (header, item) in headers
        .iter()
        .zip(header_items)
        .filter_map(|(h, i)| Some((h, i?)))
    {
        set_joined(py, &env, item, header.value.as_slice())?;
    }
    // The protocol's own variables go on top of what is derived here; those it sends
    // anyway (nginx sends them all) are not derived first.
    let vars = request.vars.as_slice();
    let (var_items, sent) = cgi_name::items(py, NameStyle::Cgi, List::Vars, vars);
    let derive = |bit: u16| sent & bit == 0;
    let set = |key: &Py<PyString>, value: Bound<'py, PyString>| env.set_item(key.bind(py), value);
    if derive(derived::REQUEST_METHOD) {
        set(
            &k.request_method,
            cached(py, &k.methods, request.method.as_slice()),
        )?;
    }
    if derive(derived::PATH_INFO) {
        set(
            &k.path_info,
            latin1::to_str(py, &path_info::decode(request.path.as_slice())),
        )?;
    }
    if derive(derived::QUERY_STRING) {
        set(
            &k.query_string,
            latin1::to_str(py, request.query.as_slice()),
        )?;
    }
    if derive(derived::REQUEST_URI) {
        set(&k.request_uri, latin1::to_str(py, request.uri.as_slice()))?;
    }
    if derive(derived::SERVER_PROTOCOL) {
        set(
            &k.server_protocol,
            cached(py, &k.protocols, request.protocol.as_str().as_bytes()),
        )?;
    }
    if derive(derived::SERVER_NAME) {
        set(
            &k.server_name,
            PyString::new(py, request.server_name.as_str()),
        )?;
    }
    if derive(derived::SERVER_PORT) {
        set(
            &k.server_port,
            PyString::new(py, &request.server_port.to_string()),
        )?;
    }
    if derive(derived::REMOTE_ADDR) {
        set(
            &k.remote_addr,
            PyString::new(py, request.remote_addr.as_str()),
        )?;
    }
    if request.remote_port != 0 && derive(derived::REMOTE_PORT) {
        set(
            &k.remote_port,
            PyString::new(py, &request.remote_port.to_string()),
        )?;
    }
    // The length the protocol framed the body with is authoritative: it also stands for
    // repeated identical `Content-Length` headers, which joining would turn into "3, 3".
    if let Some(length) = request.content_length.into_option().filter(|&n| n > 0) {
        if derive(derived::CONTENT_LENGTH) {
            set(&k.content_length, PyString::new(py, &length.to_string()))?;
        }
    }
    for item in var_items.into_iter().flatten() {
        env.set_item(item.key, item.value)?;
    }
    if let Some(split) = split {
        set(&k.script_name, latin1::to_str(py, split.script_name))?;
        set(&k.path_info, latin1::to_str(py, &split.path_info))?;
    }
    set(
        &k.url_scheme,
        cached(py, &k.schemes, url_scheme(request, sent).as_bytes()),
    )?;
    env.set_item(k.input.bind(py), input)?;
    Ok(env)
}

/// Sets the header's `item`, joining its value (`raw`) with an earlier value of a repeated
/// header.
fn set_joined(
    py: Python<'_>,
    env: &Bound<'_, PyDict>,
    item: cgi_name::Item<'_>,
    raw: &[u8],
) -> PyResult<()> {
    match env.get_item(&item.key)? {
        Some(previous) => {
            let previous = previous.cast_into::<PyString>()?;
            let mut both = latin1::from_str(&previous).unwrap_or_default().to_vec();
            both.extend_from_slice(item.separator);
            both.extend_from_slice(raw);
            env.set_item(item.key, latin1::to_str(py, &both))
        }
        None => env.set_item(item.key, item.value),
    }
}

/// `wsgi.url_scheme`: `UWSGI_SCHEME` if a front server set it; else `https` when `HTTPS`
/// is on; else `REQUEST_SCHEME`; else the scheme of the connection. `HTTPS` wins over
/// `REQUEST_SCHEME` because nginx's stock `uwsgi_params` always sends
/// `REQUEST_SCHEME $scheme` (`http` when nginx itself sits behind a TLS terminator),
/// while `uwsgi_param HTTPS on` is the operator saying the client used TLS (as uWSGI reads it).
///
/// `sent` holds the [`derived`] bits of the variables the request has: those not sent are
/// not looked for.
fn url_scheme<'a>(request: &Request<'a>, sent: u16) -> &'a str {
    let var = |name: &[u8]| -> Option<&'a [u8]> {
        if sent & derived::bit(name) == 0 {
            return None;
        }
        let vars: &'a [Header<'a>] = request.vars.as_slice();
        vars.iter()
            .rev()
            .find(|v| v.name.as_slice() == name)
            .map(|v| v.value.as_slice())
    };
    let named = |s: Option<&[u8]>| match s {
        Some(s) if s.eq_ignore_ascii_case(b"https") => Some("https"),
        Some(s) if s.eq_ignore_ascii_case(b"http") => Some("http"),
        _ => None,
    };
    if let Some(scheme) = named(var(b"UWSGI_SCHEME")) {
        return scheme;
    }
    let https_on = var(b"HTTPS").is_some_and(|v| {
        [&b"on"[..], b"1", b"yes"]
            .iter()
            .any(|t| v.eq_ignore_ascii_case(t))
    });
    if https_on {
        return "https";
    }
    named(var(b"REQUEST_SCHEME")).unwrap_or_else(|| request.scheme.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{python, RequestSpec};
    use pyo3::types::PyTuple;

    fn environ<'py>(py: Python<'py>, spec: &RequestSpec) -> Bound<'py, PyDict> {
        let ctx = AppContext {
            processes: 4,
            threads: 1,
            lazy: false,
            worker_id: 1,
        };
        let base = base(py, &ctx, true).unwrap().into_bound(py);
        let input = py.None().into_bound(py);
        spec.with_request(|request| build(py, &base, request, None, &input).unwrap())
    }

    fn get(env: &Bound<'_, PyDict>, key: &str) -> Option<String> {
        env.get_item(key)
            .unwrap()
            .map(|v| v.extract::<String>().unwrap())
    }

    #[test]
    fn has_the_cgi_variables_of_the_request() {
        python(|py| {
            let spec = RequestSpec::get("/a%20b/c?x=1&y=%41").header("Host", "example.com:8000");
            let env = environ(py, &spec);
            assert_eq!(get(&env, "REQUEST_METHOD").unwrap(), "GET");
            assert_eq!(get(&env, "SCRIPT_NAME").unwrap(), "");
            assert_eq!(get(&env, "PATH_INFO").unwrap(), "/a b/c");
            assert_eq!(get(&env, "QUERY_STRING").unwrap(), "x=1&y=%41");
            assert_eq!(get(&env, "REQUEST_URI").unwrap(), "/a%20b/c?x=1&y=%41");
            assert_eq!(get(&env, "SERVER_PROTOCOL").unwrap(), "HTTP/1.1");
            assert_eq!(get(&env, "SERVER_NAME").unwrap(), "127.0.0.1");
            assert_eq!(get(&env, "SERVER_PORT").unwrap(), "8000");
            assert_eq!(get(&env, "REMOTE_ADDR").unwrap(), "127.0.0.1");
            assert_eq!(get(&env, "REMOTE_PORT").unwrap(), "54321");
            assert_eq!(get(&env, "HTTP_HOST").unwrap(), "example.com:8000");
            assert_eq!(get(&env, "CONTENT_LENGTH"), None);
        });
    }

    #[test]
    fn has_the_wsgi_keys() {
        python(|py| {
            let env = environ(py, &RequestSpec::get("/"));
            let version = env.get_item("wsgi.version").unwrap().unwrap();
            assert_eq!(
                version
                    .cast::<PyTuple>()
                    .unwrap()
                    .extract::<(i32, i32)>()
                    .unwrap(),
                (1, 0)
            );
            assert_eq!(get(&env, "wsgi.url_scheme").unwrap(), "http");
            let flag = |k: &str| env.get_item(k).unwrap().unwrap().extract::<bool>().unwrap();
            assert!(!flag("wsgi.multithread"));
            assert!(flag("wsgi.multiprocess"));
            assert!(!flag("wsgi.run_once"));
            let stderr = py.import("sys").unwrap().getattr("stderr").unwrap();
            assert!(env.get_item("wsgi.errors").unwrap().unwrap().is(&stderr));
            assert!(env.contains("wsgi.input").unwrap());
            assert!(env.contains("wsgi.file_wrapper").unwrap());
        });
    }

    #[test]
    fn content_headers_have_no_http_prefix() {
        python(|py| {
            let spec = RequestSpec::post("/", b"abc")
                .header("Content-Type", "text/plain")
                .header("Content-Length", "3");
            let env = environ(py, &spec);
            assert_eq!(get(&env, "CONTENT_TYPE").unwrap(), "text/plain");
            assert_eq!(get(&env, "CONTENT_LENGTH").unwrap(), "3");
            assert!(!env.contains("HTTP_CONTENT_TYPE").unwrap());
        });
    }

    #[test]
    fn repeated_identical_content_length_headers_give_one_number() {
        python(|py| {
            let spec = RequestSpec::post("/", b"abc")
                .header("Content-Length", "3")
                .header("Content-Length", "3");
            let env = environ(py, &spec);
            assert_eq!(get(&env, "CONTENT_LENGTH").unwrap(), "3");
        });
    }

    #[test]
    fn known_body_length_without_header_sets_content_length() {
        python(|py| {
            let env = environ(py, &RequestSpec::post("/", b"abcd"));
            assert_eq!(get(&env, "CONTENT_LENGTH").unwrap(), "4");
        });
    }

    #[test]
    fn repeated_headers_are_joined_and_cookies_with_semicolons() {
        python(|py| {
            let spec = RequestSpec::get("/")
                .header("Accept", "a")
                .header("accept", "b")
                .header("Cookie", "x=1")
                .header("Cookie", "y=2");
            let env = environ(py, &spec);
            assert_eq!(get(&env, "HTTP_ACCEPT").unwrap(), "a, b");
            assert_eq!(get(&env, "HTTP_COOKIE").unwrap(), "x=1; y=2");
        });
    }

    #[test]
    fn header_values_are_latin1() {
        python(|py| {
            let spec = RequestSpec::get("/").header_bytes(b"X-Name", b"caf\xe9");
            let env = environ(py, &spec);
            assert_eq!(get(&env, "HTTP_X_NAME").unwrap(), "caf\u{e9}");
        });
    }

    #[test]
    fn headers_with_underscores_are_dropped() {
        python(|py| {
            let env = environ(py, &RequestSpec::get("/").header("X_Evil", "1"));
            assert!(!env
                .keys()
                .iter()
                .any(|k| k.extract::<String>().unwrap().contains("EVIL")));
        });
    }

    #[test]
    fn cgi_style_names_are_used_as_is_and_vars_override() {
        python(|py| {
            let spec = RequestSpec::get("/raw%20path")
                .names(NameStyle::Cgi)
                .header("HTTP_X_TOKEN", "t")
                .var("PATH_INFO", "/decoded by proxy")
                .var("SCRIPT_NAME", "/mount")
                .var("REMOTE_ADDR", "10.0.0.9")
                .var("HTTPS", "on");
            let env = environ(py, &spec);
            assert_eq!(get(&env, "HTTP_X_TOKEN").unwrap(), "t");
            assert_eq!(get(&env, "PATH_INFO").unwrap(), "/decoded by proxy");
            assert_eq!(get(&env, "SCRIPT_NAME").unwrap(), "/mount");
            assert_eq!(get(&env, "REMOTE_ADDR").unwrap(), "10.0.0.9");
            assert_eq!(get(&env, "wsgi.url_scheme").unwrap(), "https");
        });
    }

    #[test]
    fn url_scheme_comes_from_scheme_vars_then_https_then_connection() {
        // The bits `cgi_name::keys` reports for the request's variables.
        let sent = |r: &Request<'_>| {
            r.vars
                .iter()
                .fold(0, |bits, v| bits | derived::bit(v.name.as_slice()))
        };
        let scheme = |spec: RequestSpec| spec.with_request(|r| url_scheme(r, sent(r)).to_owned());
        assert_eq!(scheme(RequestSpec::get("/")), "http");
        assert_eq!(scheme(RequestSpec::get("/").scheme("https")), "https");
        assert_eq!(
            scheme(RequestSpec::get("/").var("REQUEST_SCHEME", "https")),
            "https"
        );
        assert_eq!(
            scheme(RequestSpec::get("/").var("UWSGI_SCHEME", "HTTPS")),
            "https"
        );
        assert_eq!(scheme(RequestSpec::get("/").var("HTTPS", "off")), "http");
        assert_eq!(scheme(RequestSpec::get("/").var("HTTPS", "1")), "https");
        assert_eq!(
            scheme(
                RequestSpec::get("/")
                    .var("REQUEST_SCHEME", "http")
                    .var("HTTPS", "on")
            ),
            "https",
            "an explicit HTTPS=on beats nginx's REQUEST_SCHEME $scheme"
        );
        assert_eq!(
            scheme(
                RequestSpec::get("/")
                    .var("UWSGI_SCHEME", "http")
                    .var("HTTPS", "on")
            ),
            "http"
        );
    }

    #[test]
    fn nginx_style_content_vars_win_over_their_http_copies() {
        python(|py| {
            let spec = RequestSpec::post("/", b"a=1")
                .names(NameStyle::Cgi)
                .header("HTTP_CONTENT_TYPE", "text/plain")
                .header("HTTP_CONTENT_LENGTH", "3")
                .var("CONTENT_TYPE", "application/x-www-form-urlencoded")
                .var("CONTENT_LENGTH", "3");
            let env = environ(py, &spec);
            assert_eq!(
                get(&env, "CONTENT_TYPE").unwrap(),
                "application/x-www-form-urlencoded"
            );
            assert_eq!(get(&env, "CONTENT_LENGTH").unwrap(), "3");
            assert!(!env.contains("HTTP_CONTENT_TYPE").unwrap());
            assert!(!env.contains("HTTP_CONTENT_LENGTH").unwrap());
        });
    }

    #[test]
    fn a_mount_split_sets_script_name_and_path_info() {
        python(|py| {
            let ctx = AppContext {
                processes: 1,
                threads: 1,
                lazy: false,
                worker_id: 1,
            };
            let base = base(py, &ctx, true).unwrap().into_bound(py);
            let input = py.None().into_bound(py);
            let split = Split {
                script_name: b"/api",
                path_info: b"/caf\xe9".to_vec(),
            };
            let env = RequestSpec::get("/api/caf%E9?q=1")
                .with_request(|r| build(py, &base, r, Some(&split), &input).unwrap());
            assert_eq!(get(&env, "SCRIPT_NAME").unwrap(), "/api");
            assert_eq!(get(&env, "PATH_INFO").unwrap(), "/caf\u{e9}");
            assert_eq!(get(&env, "QUERY_STRING").unwrap(), "q=1");
            assert_eq!(get(&env, "REQUEST_URI").unwrap(), "/api/caf%E9?q=1");
        });
    }

    #[test]
    fn each_request_gets_its_own_dict() {
        python(|py| {
            let a = environ(py, &RequestSpec::get("/a"));
            a.set_item("SCRIPT_NAME", "/changed").unwrap();
            let b = environ(py, &RequestSpec::get("/b"));
            assert_eq!(get(&b, "SCRIPT_NAME").unwrap(), "");
        });
    }
}
