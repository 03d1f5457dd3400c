//! `start_response` (PEP 3333) and the response state of one request.
//!
//! The object the app receives as `start_response` also owns the host's responder for the
//! request: the head is stored when the app calls it and sent at the first non-empty body
//! chunk (or at the end); `write(data)`, the legacy callable it returns, sends at once.
//! Like `wsgi.input` it is invalidated when the request ends and may only be used on the
//! thread serving the request.

use std::ptr::NonNull;
use std::thread::ThreadId;

use pyo3::exceptions::{PyOSError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};
use rsgi_plugin_api::{Responder, SendError};

use crate::error::RequestError;
use crate::interp::thread_state;
use crate::wsgi::request_number;
use crate::wsgi::response_head::ResponseHead;

/// Writes at least this large release the GIL: the host may flush them to the socket.
const DETACH_WRITE: usize = 64 * 1024;

/// The host's responder, valid while the request it belongs to is being handled.
#[derive(Clone, Copy)]
struct ResponderPtr(NonNull<Responder<'static>>);

// SAFETY: only dereferenced on the serving thread (checked against `StartResponse::owner`)
// and before `invalidate`, i.e. while `handle` is running and the responder is alive.
unsafe impl Send for ResponderPtr {}
// SAFETY: as above; shared references never dereference it.
unsafe impl Sync for ResponderPtr {}

impl ResponderPtr {
    /// # Safety
    /// The responder must be alive and not used elsewhere during the call.
    unsafe fn get(self) -> &'static mut Responder<'static> {
        unsafe { &mut *self.0.as_ptr() }
    }
}

/// The `start_response` callable and the state of the response.
#[pyclass(module = "rsgi", name = "StartResponse")]
pub struct StartResponse {
    responder: Option<ResponderPtr>,
    owner: ThreadId,
    /// The owner thread's request this belongs to (`request_number`).
    request: u64,
    head: Option<ResponseHead>,
    head_sent: bool,
    failed: Option<SendError>,
}

#[pymethods]
impl StartResponse {
    /// `start_response(status, headers, exc_info=None)` → `write`.
    #[pyo3(signature = (status, headers, exc_info = None))]
    fn __call__<'py>(
        slf: &Bound<'py, Self>,
        status: &Bound<'py, PyAny>,
        headers: &Bound<'py, PyAny>,
        exc_info: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        {
            let mut this = slf.borrow_mut();
            this.check_thread()?;
            match exc_info.filter(|e| !e.is_none()) {
                Some(exc_info) if this.head_sent => return Err(reraise(exc_info)),
                Some(_) => {}
                None if this.head.is_some() => {
                    return Err(PyRuntimeError::new_err(
                        "start_response called a second time without exc_info",
                    ))
                }
                None => {}
            }
            let head = ResponseHead::parse(status, headers).map_err(|reason| {
                if reason.contains(" must be ") {
                    PyTypeError::new_err(reason)
                } else {
                    PyValueError::new_err(reason)
                }
            })?;
            this.head = Some(head);
        }
        slf.getattr(intern!(py, "write"))
    }

    /// `write(data)`: sends `data` now (the head first, if not yet sent).
    fn write(&mut self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        self.check_thread()?;
        let data = data.cast::<PyBytes>().map_err(|_| {
            PyTypeError::new_err(format!("write() takes bytes, not {}", type_name(data)))
        })?;
        let data = data.as_bytes();
        if data.is_empty() {
            return Ok(());
        }
        let sent = self
            .send_head()
            .and_then(|()| self.write_body(py, data))
            .and_then(|()| self.flush(py));
        // --disable-write-exception: the failure stays noted (the request's end still says
        // the client went away); the app carries on, its writes dropped.
        if matches!(sent, Err(RequestError::Send(SendError::Disconnected)))
            && !crate::wsgi::write_errors::policy().raise
        {
            return Ok(());
        }
        sent.map_err(|err| match err {
            RequestError::Send(e) => PyOSError::new_err(e.describe()),
            other => PyRuntimeError::new_err(other.to_string()),
        })
    }
}

impl StartResponse {
    /// Response state over `responder`; call [`StartResponse::invalidate`] before it goes away.
    pub fn new(responder: &mut Responder<'_>) -> StartResponse {
        StartResponse {
            responder: Some(ResponderPtr(NonNull::from(responder).cast())),
            owner: thread_state::current_id(),
            request: request_number::current(),
            head: None,
            head_sent: false,
            failed: None,
        }
    }

    /// The send that failed, if one did (later sends fail the same way).
    pub fn failure(&self) -> Option<SendError> {
        self.failed
    }

    /// Forgets the responder: later calls raise.
    pub fn invalidate(&mut self) {
        self.responder = None;
    }

    /// The head the app gave, while it can still be changed (not sent yet).
    pub fn pending_head(&mut self) -> Option<&mut ResponseHead> {
        if self.head_sent {
            None
        } else {
            self.head.as_mut()
        }
    }

    /// True once the status line and headers went to the host.
    pub fn head_sent(&self) -> bool {
        self.head_sent
    }

    fn check_thread(&self) -> PyResult<()> {
        if self.owner == thread_state::current_id() {
            Ok(())
        } else {
            Err(PyRuntimeError::new_err(
                "start_response used from another thread",
            ))
        }
    }

    /// The responder, unless the request is over or an earlier send failed.
    fn responder(&self) -> Result<ResponderPtr, RequestError> {
        if let Some(err) = self.failed {
            return Err(RequestError::Send(err));
        }
        self.responder
            .filter(|_| {
                self.owner == thread_state::current_id()
                    && self.request == request_number::current()
            })
            .ok_or_else(|| {
                RequestError::Invalid("the response was used after its request finished".into())
            })
    }

    /// Remembers a failed send so later calls fail the same way.
    fn note<T>(&mut self, result: Result<T, SendError>) -> Result<T, RequestError> {
        result.map_err(|err| {
            self.failed = Some(err);
            RequestError::Send(err)
        })
    }

    /// Sends the head if it was not sent yet.
    pub fn send_head(&mut self) -> Result<(), RequestError> {
        if self.head_sent {
            return Ok(());
        }
        let responder = self.responder()?;
        let head = self.head.as_ref().ok_or_else(|| {
            RequestError::Invalid(
                "the app sent a response body without calling start_response".into(),
            )
        })?;
        // SAFETY: `responder()` checked it is valid and this is the serving thread.
        let result = unsafe { responder.get() }.start(head.status, &head.reason, &head.headers());
        self.note(result)?;
        self.head_sent = true;
        Ok(())
    }

    /// Queues body bytes (the head must have been sent).
    pub fn write_body(&mut self, py: Python<'_>, data: &[u8]) -> Result<(), RequestError> {
        let responder = self.responder()?;
        // SAFETY: valid and on the serving thread, checked by `responder()`.
        let write = move || unsafe { responder.get() }.write(data);
        let result = if data.len() >= DETACH_WRITE {
            py.detach(write)
        } else {
            write()
        };
        self.note(result)
    }

    /// Sends what is queued, with the GIL released.
    pub fn flush(&mut self, py: Python<'_>) -> Result<(), RequestError> {
        let responder = self.responder()?;
        // SAFETY: valid and on the serving thread, checked by `responder()`.
        let result = py.detach(move || unsafe { responder.get() }.flush());
        self.note(result)
    }

    /// Sends `len` bytes of `fd` from `offset`, with the GIL released.
    pub fn sendfile(
        &mut self,
        py: Python<'_>,
        fd: i32,
        offset: u64,
        len: u64,
    ) -> Result<(), RequestError> {
        let responder = self.responder()?;
        // SAFETY: valid and on the serving thread, checked by `responder()`.
        let result = py.detach(move || unsafe { responder.get() }.sendfile(fd, offset, len));
        self.note(result)
    }
}

/// `raise exc_info[1].with_traceback(exc_info[2])`.
fn reraise(exc_info: &Bound<'_, PyAny>) -> PyErr {
    let raised = exc_info.cast::<PyTuple>().ok().and_then(|t| {
        let value = t.get_item(1).ok()?;
        let tb = t.get_item(2).ok()?;
        value
            .call_method1(intern!(t.py(), "with_traceback"), (tb,))
            .ok()
    });
    match raised {
        Some(value) => PyErr::from_value(value),
        None => PyTypeError::new_err("exc_info must be a (type, value, traceback) tuple"),
    }
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{define, python, FakeResponse, Sent};

    /// Calls the Python function `name` defined by `code` with a fresh start_response; returns
    /// what it returned (or raised) and what the host saw.
    fn call(code: &str) -> (Result<(), String>, FakeResponse) {
        let mut fake = FakeResponse::default();
        let mut responder = fake.responder();
        let result = python(|py| {
            let sr = Bound::new(py, StartResponse::new(&mut responder)).unwrap();
            let result = define(py, code, "run")
                .call1((&sr,))
                .map(|_| ())
                .map_err(|e| e.to_string());
            let flushed = result.clone().map(|()| sr.borrow_mut().send_head());
            sr.borrow_mut().invalidate();
            match flushed {
                Ok(Err(e)) => Err(e.to_string()),
                _ => result,
            }
        });
        (result, fake)
    }

    #[test]
    fn head_waits_for_the_first_body_bytes() {
        let mut fake = FakeResponse::default();
        let mut responder = fake.responder();
        python(|py| {
            let sr = Bound::new(py, StartResponse::new(&mut responder)).unwrap();
            sr.call1(("200 OK", vec![("X-A", "1")])).unwrap();
            assert!(!sr.borrow().head_sent());
            sr.borrow_mut().invalidate();
        });
        assert!(fake.sent.is_empty());
    }

    #[test]
    fn write_callable_sends_head_then_flushed_bytes() {
        let (result, fake) = call(
            "def run(sr):\n    w = sr('201 Created', [('X-A', '1')])\n    w(b'')\n    w(b'abc')\n",
        );
        result.unwrap();
        assert_eq!(
            fake.sent,
            [
                Sent::Start(201, "Created".into(), vec![("X-A".into(), "1".into())]),
                Sent::Write(b"abc".to_vec()),
                Sent::Flush
            ]
        );
    }

    #[test]
    fn write_callable_rejects_str() {
        let (result, fake) = call("def run(sr):\n    sr('200 OK', [])('text')\n");
        assert_eq!(
            result.unwrap_err(),
            "TypeError: write() takes bytes, not str"
        );
        assert!(fake.sent.iter().all(|s| !matches!(s, Sent::Write(_))));
    }

    #[test]
    fn second_call_without_exc_info_raises() {
        let (result, _) = call("def run(sr):\n    sr('200 OK', [])\n    sr('500 Oops', [])\n");
        assert!(result.unwrap_err().contains("second time without exc_info"));
    }

    #[test]
    fn exc_info_before_the_head_is_sent_replaces_it() {
        let code = "import sys\ndef run(sr):\n    sr('200 OK', [('X-A', '1')])\n    try:\n        1/0\n    except ZeroDivisionError:\n        sr('500 Internal Server Error', [('X-B', '2')], sys.exc_info())\n";
        let (result, fake) = call(code);
        result.unwrap();
        assert_eq!(fake.head(), Some((500, vec![("X-B".into(), "2".into())])));
    }

    #[test]
    fn exc_info_after_the_head_is_sent_reraises() {
        let code = "import sys\ndef run(sr):\n    sr('200 OK', [])(b'x')\n    try:\n        raise KeyError('boom')\n    except KeyError:\n        sr('500 Internal Server Error', [], sys.exc_info())\n";
        let (result, fake) = call(code);
        assert_eq!(result.unwrap_err(), "KeyError: 'boom'");
        assert_eq!(fake.head().unwrap().0, 200);
    }

    #[test]
    fn invalid_heads_raise_in_the_app() {
        let (result, fake) =
            call("def run(sr):\n    sr('200 OK', [('X-A', 'a\\r\\nInjected: 1')])\n");
        assert!(result
            .unwrap_err()
            .starts_with("ValueError: invalid value for response header 'X-A'"));
        assert!(fake.sent.is_empty());
        let (result, _) = call("def run(sr):\n    sr(200, [])\n");
        assert_eq!(
            result.unwrap_err(),
            "TypeError: status must be str, not int"
        );
    }

    #[test]
    fn a_disconnected_client_raises_oserror_in_write() {
        let mut fake = FakeResponse {
            fail: Some(SendError::Disconnected),
            ..FakeResponse::default()
        };
        let mut responder = fake.responder();
        python(|py| {
            let sr = Bound::new(py, StartResponse::new(&mut responder)).unwrap();
            let write = sr
                .call1(("200 OK", Vec::<(String, String)>::new()))
                .unwrap();
            let err = write
                .call1((pyo3::types::PyBytes::new(py, b"x"),))
                .unwrap_err();
            assert!(err.is_instance_of::<PyOSError>(py));
            assert!(matches!(
                sr.borrow_mut().send_head(),
                Err(RequestError::Send(SendError::Disconnected))
            ));
            sr.borrow_mut().invalidate();
        });
    }

    /// Input: the request ends (its number moves on) while the object is borrowed, so
    /// `invalidate` cannot run. Answer: a later write fails as "after its request
    /// finished" and nothing reaches the responder.
    #[test]
    fn the_end_of_its_request_stops_the_object_even_while_borrowed() {
        let mut fake = FakeResponse::default();
        let mut responder = fake.responder();
        python(|py| {
            let sr = Bound::new(py, StartResponse::new(&mut responder)).unwrap();
            let write = sr
                .call1(("200 OK", Vec::<(String, String)>::new()))
                .unwrap();
            {
                let _held = sr.borrow();
                assert!(sr.try_borrow_mut().is_err());
                request_number::end();
            }
            let err = write
                .call1((pyo3::types::PyBytes::new(py, b"late"),))
                .unwrap_err();
            assert!(
                err.to_string().contains("after its request finished"),
                "{err}"
            );
        });
        assert!(fake.sent.is_empty());
    }

    #[test]
    fn use_after_invalidate_raises_instead_of_sending() {
        let mut fake = FakeResponse::default();
        let mut responder = fake.responder();
        let kept = python(|py| {
            let sr = Bound::new(py, StartResponse::new(&mut responder)).unwrap();
            let write = sr
                .call1(("200 OK", Vec::<(String, String)>::new()))
                .unwrap();
            sr.borrow_mut().invalidate();
            write.unbind()
        });
        python(|py| {
            let err = kept
                .bind(py)
                .call1((pyo3::types::PyBytes::new(py, b"late"),))
                .unwrap_err();
            assert!(
                err.to_string().contains("after its request finished"),
                "{err}"
            );
        });
        assert!(fake.sent.is_empty());
    }
}
