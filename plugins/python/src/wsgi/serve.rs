//! Serving one request: environ → app → response, and the report when it fails.

use pyo3::prelude::*;
use pyo3::types::PyDict;
use rsgi_plugin_api::{BodyReader, Request, Responder, SendError};

use crate::error::{Error, RequestError};
use crate::load::mount::Split;
use crate::traceback;
use crate::wsgi::app_errors;
use crate::wsgi::input::WsgiInput;
use crate::wsgi::iterate::{self, RequestInfo};
use crate::wsgi::request_number;
use crate::wsgi::scope;
use crate::wsgi::start_response::StartResponse;
use crate::wsgi::text_response;
use crate::wsgi::upgraded;
use crate::wsgi::write_errors;

/// Calls `app` for `request` and sends its response. A failure is logged here (with the
/// traceback when the app raised) and returned as one line.
pub fn serve(
    py: Python<'_>,
    app: &Bound<'_, PyAny>,
    base: &Bound<'_, PyDict>,
    request: &Request<'_>,
    split: Option<&Split<'_>>,
    body: &mut BodyReader<'_>,
    responder: &mut Responder<'_>,
) -> Result<(), Error> {
    let label = Label(request);
    // `uwsgi.websocket_handshake()` reaches the request and its responder through this.
    let upgrade_scope = upgraded::enter(request, responder);
    let outcome = (|| {
        let input = Bound::new(py, WsgiInput::new(body)).map_err(RequestError::Raised)?;
        let start = Bound::new(py, StartResponse::new(responder)).map_err(RequestError::Raised)?;
        let _scope = RequestScope {
            input: &input,
            start: &start,
        };
        let environ =
            scope::build(py, base, request, split, input.as_any()).map_err(RequestError::Raised)?;
        let result = app.call1((environ, &start)).map_err(RequestError::Raised)?;
        if upgraded::is_upgraded() {
            // A WebSocket (uWSGI's API): the 101 is the response; what the app returned
            // is only closed.
            return iterate::close(py, &result);
        }
        let info = RequestInfo {
            label: &label,
            is_head: request.method.as_slice() == b"HEAD",
        };
        let sent = iterate::send_response(py, &result, &start, &info);
        // A statement of its own: the borrow must end before `_scope` invalidates `start`
        // (a temporary of the closure's last expression would outlive it).
        let failure = start.borrow().failure();
        // A write() whose OSError the app caught (or --disable-write-exception kept
        // quiet) failed: the response was cut short all the same.
        match (sent, failure) {
            (Ok(()), Some(err)) => Err(RequestError::Send(err)),
            (sent, _) => sent,
        }
    })();
    let was_upgraded = upgraded::is_upgraded();
    if was_upgraded && outcome.is_err() {
        // The app failed with its WebSocket open: 1011, as an ASGI app's would.
        upgraded::with_stream(|s| s.close(1011, "the application failed"));
    }
    // The stream (if any) is freed here: a close 1000 unless one went out.
    drop(upgrade_scope);
    match outcome {
        Ok(()) => Ok(()),
        Err(RequestError::Raised(exc)) if was_upgraded => {
            // The response (the 101) is out: the traceback, and the connection closes.
            Err(report(py, &label, RequestError::Raised(exc)))
        }
        Err(RequestError::Raised(exc)) => {
            let error = report(py, &label, RequestError::Raised(exc.clone_ref(py)));
            if app_errors::raised(py, &exc, &label.to_string(), responder) {
                Ok(())
            } else {
                Err(error)
            }
        }
        Err(err) => Err(report(py, &label, err)),
    }
}

/// Answers `404 Not Found` to a request no mounted app serves.
pub fn not_found(request: &Request<'_>, responder: &mut Responder<'_>) -> Result<(), Error> {
    let label = Label(request);
    tracing::info!("{label}: no app is mounted for this path: 404");
    text_response::send_text(responder, 404, "Not Found", "text/plain", b"Not Found\n")
        .map_err(|err| Error::Request(format!("{label}: {}", err.describe())))
}

/// `METHOD URI`, for log lines; formatted only when a line is written.
struct Label<'a>(&'a Request<'a>);

impl std::fmt::Display for Label<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}",
            String::from_utf8_lossy(self.0.method.as_slice()),
            String::from_utf8_lossy(self.0.uri.as_slice())
        )
    }
}

/// Invalidates the request's Python objects when the request ends, however it ends, so an
/// app that keeps them cannot reach the host's reader or responder afterwards.
struct RequestScope<'a, 'py> {
    input: &'a Bound<'py, WsgiInput>,
    start: &'a Bound<'py, StartResponse>,
}

impl Drop for RequestScope<'_, '_> {
    fn drop(&mut self) {
        // Works even when an object is borrowed right now (the invalidations below then
        // cannot run): its request number is no longer the thread's.
        request_number::end();
        if let Ok(mut input) = self.input.try_borrow_mut() {
            input.invalidate();
        }
        if let Ok(mut start) = self.start.try_borrow_mut() {
            start.invalidate();
        }
    }
}

/// Logs `err` for `label` and turns it into the error returned to the host.
fn report(py: Python<'_>, label: &Label<'_>, err: RequestError) -> Error {
    match &err {
        // The client's body failed (cut short, malformed, stalled): the host answers it
        // 400/408; one line, no traceback, as it is no fault of the app.
        RequestError::Raised(exc) if crate::wsgi::input::caused_by_the_body(py, exc) => {
            tracing::info!(
                "{label}: the app stopped on the request body ({})",
                traceback::summary(py, exc)
            );
        }
        RequestError::Raised(exc) => {
            traceback::log(py, exc, &format!("{label}: the app raised an exception"));
        }
        RequestError::Send(SendError::Disconnected) if write_errors::policy().report => {
            tracing::info!("{label}: {err}")
        }
        RequestError::Send(SendError::Disconnected) => tracing::debug!("{label}: {err}"),
        RequestError::Invalid(_) | RequestError::Send(_) => tracing::error!("{label}: {err}"),
    }
    Error::Request(format!("{label}: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{define, python, FakeBody, FakeResponse, RequestSpec};
    use rsgi_plugin_api::AppContext;

    const CTX: AppContext = AppContext {
        processes: 1,
        threads: 1,
        lazy: false,
        worker_id: 1,
    };

    fn run(code: &str, spec: &RequestSpec) -> (Result<(), String>, FakeResponse) {
        let mut fake = FakeResponse::default();
        let mut body = FakeBody::new(&spec.body, 7);
        let result = python(|py| {
            let app = define(py, code, "application");
            let base = scope::base(py, &CTX, true).unwrap().into_bound(py);
            spec.with_request(|request| {
                serve(
                    py,
                    &app,
                    &base,
                    request,
                    None,
                    &mut body.reader(),
                    &mut fake.responder(),
                )
            })
        });
        (result.map_err(|e| e.to_string()), fake)
    }

    #[test]
    fn echoes_a_posted_body() {
        let code = "def application(environ, start_response):\n    body = environ['wsgi.input'].read()\n    start_response('200 OK', [('Content-Type', 'application/octet-stream')])\n    return [environ['REQUEST_METHOD'].encode(), b' ', body]\n";
        let (result, fake) = run(code, &RequestSpec::post("/echo", b"posted bytes"));
        result.unwrap();
        assert_eq!(fake.head().unwrap().0, 200);
        assert_eq!(fake.body(), b"POST posted bytes");
        assert_eq!(fake.header("Content-Length").as_deref(), Some("17"));
    }

    #[test]
    fn an_app_that_raises_is_an_error_naming_the_request() {
        let code = "def application(environ, start_response):\n    raise RuntimeError('kaboom')\n";
        let (result, fake) = run(code, &RequestSpec::get("/boom?x=1"));
        assert_eq!(
            result.unwrap_err(),
            "GET /boom?x=1: the app raised RuntimeError: kaboom"
        );
        assert!(fake.sent.is_empty());
    }

    #[test]
    fn kept_request_objects_fail_safely_after_the_request() {
        let code = "import builtins\ndef application(environ, start_response):\n    builtins.KEPT = (environ['wsgi.input'], start_response)\n    start_response('200 OK', [])\n    return [b'ok']\n";
        let (result, _) = run(code, &RequestSpec::post("/", b"abc"));
        result.unwrap();
        python(|py| {
            let kept = define(py, "import builtins\nkept = builtins.KEPT\n", "kept");
            let input = kept.get_item(0).unwrap();
            assert!(input.call_method0("read").is_err());
            let start = kept.get_item(1).unwrap();
            let write = start.getattr("write").unwrap();
            assert!(write.call1((pyo3::types::PyBytes::new(py, b"x"),)).is_err());
        });
    }

    #[test]
    fn requests_on_several_threads_at_once_each_get_their_own_answer() {
        let code = "import time\ndef application(environ, start_response):\n    body = environ['wsgi.input'].read()\n    time.sleep(0.001)\n    start_response('200 OK', [])\n    yield body + b'/' + environ['PATH_INFO'].encode()\n";
        let threads: Vec<_> = (0..4)
            .map(|t| {
                std::thread::spawn(move || {
                    for i in 0..25 {
                        let path = format!("/t{t}/r{i}");
                        let (result, fake) = run(
                            code,
                            &RequestSpec::post(&path, format!("b{t}{i}").as_bytes()),
                        );
                        result.unwrap();
                        assert_eq!(fake.body(), format!("b{t}{i}/{path}").as_bytes());
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
    }

    #[test]
    fn a_head_request_with_an_empty_body_gets_no_invented_length() {
        let code = "def application(environ, start_response):\n    start_response('200 OK', [])\n    return []\n";
        let (result, fake) = run(code, &RequestSpec::get("/").method("HEAD"));
        result.unwrap();
        assert_eq!(fake.header("Content-Length"), None);
        let (_, fake) = run(code, &RequestSpec::get("/"));
        assert_eq!(fake.header("Content-Length").as_deref(), Some("0"));
    }

    #[test]
    fn a_disconnected_client_is_an_error_after_cleanup() {
        let code = "import builtins\nbuiltins.CLOSED_ON_DISCONNECT = False\nclass Body(list):\n    def close(self):\n        builtins.CLOSED_ON_DISCONNECT = True\ndef application(environ, start_response):\n    start_response('200 OK', [])\n    return Body([b'x'])\n";
        let mut fake = FakeResponse {
            fail: Some(SendError::Disconnected),
            ..FakeResponse::default()
        };
        let spec = RequestSpec::get("/");
        let mut body = FakeBody::new(b"", 1);
        let (result, closed) = python(|py| {
            let app = define(py, code, "application");
            let base = scope::base(py, &CTX, true).unwrap().into_bound(py);
            let result = spec.with_request(|r| {
                serve(
                    py,
                    &app,
                    &base,
                    r,
                    None,
                    &mut body.reader(),
                    &mut fake.responder(),
                )
            });
            let closed: bool = py
                .import("builtins")
                .unwrap()
                .getattr("CLOSED_ON_DISCONNECT")
                .unwrap()
                .extract()
                .unwrap();
            (result, closed)
        });
        assert_eq!(
            result.unwrap_err().to_string(),
            "GET /: client disconnected"
        );
        assert!(closed);
    }
}
