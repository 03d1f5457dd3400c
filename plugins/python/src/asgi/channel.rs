//! One request's exchange as the event loop's thread sees it: `receive()` and `send()`
//! of the ASGI `http` protocol, over the host's exchange (`rsgi.exchange`). Nothing here
//! waits: when the host has nothing to read or no room to write, the glue coroutines wait
//! on a future that [`Channel::woken`] resolves when the host wakes the exchange.

use std::sync::Mutex;

use pyo3::exceptions::{PyOSError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use rsgi_plugin_api::sdk::exchange::{Exchange, Read, Readiness, WriteStatus};
use rsgi_plugin_api::{Header, SendError};

use super::incoming::Incoming;
use crate::traceback;

/// Most request body bytes handed over in one `http.request` message.
const READ_CHUNK: usize = 16 * 1024;

/// What the response is at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No `http.response.start` yet.
    Waiting,
    /// The head is known and goes out with the first body message.
    Started,
    /// Body messages are going out.
    Streaming,
    /// The last body message went out, or the exchange ended.
    Done,
}

/// A response head: the status and the header pairs.
type Head = (u16, Vec<(Vec<u8>, Vec<u8>)>);

struct State {
    exchange: Option<Exchange>,
    phase: Phase,
    /// The head of `http.response.start`, until the first body message.
    head: Option<Head>,
    /// The client went away.
    gone: bool,
    /// `more_body: False` was delivered.
    body_ended: bool,
    /// Futures the glue waits on: a read, a write.
    waiters: [Option<Py<PyAny>>; 2],
}

/// The Rust half of an ASGI request (the glue's `Channel.x`).
#[pyclass(frozen, module = "rsgi_asgi", name = "Exchange")]
pub struct Channel {
    state: Mutex<State>,
    /// The request (its method and path name it in log lines).
    request: Box<Incoming>,
    /// The request's id in this worker.
    id: u64,
}

impl Channel {
    /// A channel over `exchange` for request `id`, `request` (named by it in log lines).
    pub fn new(exchange: Exchange, id: u64, request: Box<Incoming>) -> Channel {
        Channel {
            state: Mutex::new(State {
                exchange: Some(exchange),
                phase: Phase::Waiting,
                head: None,
                gone: false,
                body_ended: false,
                waiters: [None, None],
            }),
            request,
            id,
        }
    }

    /// `METHOD PATH`, for log lines.
    fn what(&self) -> String {
        format!(
            "{} {}",
            String::from_utf8_lossy(&self.request.method),
            String::from_utf8_lossy(&self.request.raw_path)
        )
    }

    /// The request's id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Sets the exchange's waker.
    pub fn set_waker<F: Fn(Readiness) + Send + Sync + 'static>(&self, wake: F) {
        if let Some(exchange) = self.lock().exchange.as_ref() {
            exchange.set_waker(wake);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The host woke the exchange: resolve the futures waiting for it.
    pub fn woken(&self, py: Python<'_>, events: Readiness) {
        let waiters = {
            let mut s = self.lock();
            if events.contains(Readiness::GONE) {
                s.gone = true;
            }
            let read = events.0 & (Readiness::READABLE.0 | Readiness::GONE.0) != 0;
            let write = events.0 & (Readiness::WRITABLE.0 | Readiness::GONE.0) != 0;
            [
                if read { s.waiters[0].take() } else { None },
                if write { s.waiters[1].take() } else { None },
            ]
        };
        for waiter in waiters.into_iter().flatten() {
            resolve(py, waiter.bind(py));
        }
    }

    /// Ends the exchange (`finish`), if it is still held.
    fn finish(s: &mut State) {
        s.phase = Phase::Done;
        if let Some(exchange) = s.exchange.take() {
            exchange.finish();
        }
    }

    /// Gives the exchange up: a 500 if no head went out, else a closed connection.
    fn abort(s: &mut State, why: &str) {
        s.phase = Phase::Done;
        if let Some(exchange) = s.exchange.take() {
            exchange.abort(why);
        }
    }

    /// Sends the head `http.response.start` gave, with the first body message.
    fn emit_head(s: &mut State) -> PyResult<()> {
        let Some((status, headers)) = s.head.take() else {
            return Ok(());
        };
        let Some(exchange) = s.exchange.as_ref() else {
            return Err(PyOSError::new_err("the response is over"));
        };
        let views: Vec<Header<'_>> = headers.iter().map(|(n, v)| Header::new(n, v)).collect();
        match exchange.start(status, "", &views) {
            Ok(()) => {
                s.phase = Phase::Streaming;
                Ok(())
            }
            Err(SendError::InvalidHead) => Err(PyValueError::new_err(
                "invalid response head (a header name or value that cannot be sent, or a bad status)",
            )),
            Err(SendError::Disconnected) => {
                s.gone = true;
                Err(PyOSError::new_err("the client went away (http.disconnect)"))
            }
            Err(e) => Err(PyRuntimeError::new_err(e.describe())),
        }
    }

    /// What a write answered: Ok(true) when the glue must wait for room.
    fn written(s: &mut State, status: WriteStatus) -> PyResult<bool> {
        match status {
            WriteStatus::Queued => Ok(false),
            WriteStatus::Full => Ok(true),
            WriteStatus::Gone => {
                s.gone = true;
                Err(PyOSError::new_err("the client went away (http.disconnect)"))
            }
            WriteStatus::Misuse => Err(PyRuntimeError::new_err(
                "http.response.body longer than the response's Content-Length",
            )),
        }
    }

    fn message<'py>(py: Python<'py>, body: &[u8], more: bool) -> PyResult<Bound<'py, PyDict>> {
        let m = PyDict::new(py);
        m.set_item(intern!(py, "type"), intern!(py, "http.request"))?;
        m.set_item(intern!(py, "body"), PyBytes::new(py, body))?;
        m.set_item(intern!(py, "more_body"), more)?;
        Ok(m)
    }

    fn disconnect(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
        let m = PyDict::new(py);
        m.set_item(intern!(py, "type"), intern!(py, "http.disconnect"))?;
        Ok(m)
    }
}

/// Sets a waiting future's result, unless it is done (cancelled) already.
fn resolve(py: Python<'_>, waiter: &Bound<'_, PyAny>) {
    let done = waiter
        .call_method0(intern!(py, "done"))
        .and_then(|d| d.is_truthy())
        .unwrap_or(true);
    if !done {
        let _ = waiter.call_method1(intern!(py, "set_result"), (py.None(),));
    }
}

thread_local! {
    /// Where body bytes are read before they become a `bytes` object (the loop's thread
    /// reads one request at a time).
    static READ_BUF: std::cell::RefCell<Box<[u8]>> =
        std::cell::RefCell::new(vec![0u8; READ_CHUNK].into_boxed_slice());
}

impl Channel {
    /// Reads what the exchange has of the body into `buf` and makes the message.
    fn read_message<'py>(
        py: Python<'py>,
        s: &mut State,
        buf: &mut [u8],
    ) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(exchange) = s.exchange.as_ref() else {
            return Self::disconnect(py).map(Some);
        };
        let mut len = 0;
        let ended = loop {
            match exchange.read(&mut buf[len..]) {
                Read::Data(n) => {
                    len += n;
                    if len == buf.len() {
                        break false;
                    }
                }
                Read::End => break true,
                Read::WouldBlock if len > 0 => break false,
                Read::WouldBlock => return Ok(None),
                Read::Gone | Read::Malformed => {
                    s.gone = true;
                    return Self::disconnect(py).map(Some);
                }
            }
        };
        s.body_ended = ended;
        Self::message(py, &buf[..len], !ended).map(Some)
    }
}

#[pymethods]
impl Channel {
    /// The request's id (the glue tells the loop to forget it when the app is done).
    #[getter(id)]
    fn py_id(&self) -> u64 {
        self.id
    }

    /// The next `http.request` (or `http.disconnect`) message, or None when the glue must
    /// wait for the host.
    fn receive<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let mut s = self.lock();
        if s.gone {
            return Self::disconnect(py).map(Some);
        }
        if s.body_ended {
            // The body was all delivered: what comes next is the client's leaving, or
            // the end of the response.
            return match s.phase {
                Phase::Done => Self::disconnect(py).map(Some),
                _ => Ok(None),
            };
        }
        READ_BUF.with(|buf| Self::read_message(py, &mut s, &mut buf.borrow_mut()[..]))
    }

    /// Sends `message`; True when the glue must wait until the client has read more.
    fn send(&self, py: Python<'_>, message: &Bound<'_, PyAny>) -> PyResult<bool> {
        let message = message
            .cast::<PyDict>()
            .map_err(|_| PyTypeError::new_err("an ASGI message is a dict"))?;
        let kind = match message.get_item(intern!(py, "type"))? {
            Some(kind) => kind,
            None => return Err(PyValueError::new_err("an ASGI message has a 'type'")),
        };
        let kind = kind.extract::<&str>()?;
        let mut s = self.lock();
        if s.gone {
            return Err(PyOSError::new_err("the client went away (http.disconnect)"));
        }
        match (kind, s.phase) {
            ("http.response.start", Phase::Waiting) => {
                let status = message
                    .get_item(intern!(py, "status"))?
                    .ok_or_else(|| PyValueError::new_err("http.response.start has no 'status'"))?
                    .extract::<u16>()?;
                let mut headers = Vec::new();
                if let Some(list) = message.get_item(intern!(py, "headers"))? {
                    for pair in list.try_iter()? {
                        let (name, value) =
                            pair?.extract::<(Vec<u8>, Vec<u8>)>().map_err(|_| {
                                PyTypeError::new_err("each ASGI response header is a pair of bytes")
                            })?;
                        headers.push((name, value));
                    }
                }
                s.head = Some((status, headers));
                s.phase = Phase::Started;
                Ok(false)
            }
            ("http.response.start", _) => {
                Err(PyRuntimeError::new_err("http.response.start sent twice"))
            }
            ("http.response.body", Phase::Started | Phase::Streaming) => {
                let s: &mut State = &mut s;
                let body_item = message.get_item(intern!(py, "body"))?;
                let body: &[u8] = match &body_item {
                    Some(b) => b.extract::<&[u8]>().map_err(|_| {
                        PyTypeError::new_err("http.response.body's 'body' is bytes")
                    })?,
                    None => &[],
                };
                let more = match message.get_item(intern!(py, "more_body"))? {
                    Some(m) => m.is_truthy()?,
                    None => false,
                };
                Self::emit_head(s)?;
                let Some(exchange) = s.exchange.as_ref() else {
                    return Err(PyOSError::new_err("the response is over"));
                };
                let status = exchange.write(body);
                let full = Self::written(s, status)?;
                if !more {
                    Self::finish(s);
                    return Ok(false);
                }
                Ok(full)
            }
            ("http.response.pathsend", Phase::Started | Phase::Streaming) => {
                let s: &mut State = &mut s;
                let path = message
                    .get_item(intern!(py, "path"))?
                    .ok_or_else(|| PyValueError::new_err("http.response.pathsend has no 'path'"))?
                    .extract::<std::path::PathBuf>()?;
                Self::emit_head(s)?;
                let file = std::fs::File::open(&path)
                    .map_err(|e| PyOSError::new_err(format!("{}: {e}", path.display())))?;
                let len = file.metadata().map(|m| m.len()).unwrap_or(0);
                let Some(exchange) = s.exchange.as_ref() else {
                    return Err(PyOSError::new_err("the response is over"));
                };
                use std::os::fd::AsRawFd;
                let status = match exchange.sendfile(file.as_raw_fd(), 0, len) {
                    Some(status) => status,
                    // A host without rsgi.exchange v2: the bytes themselves.
                    None => {
                        let bytes = std::fs::read(&path)
                            .map_err(|e| PyOSError::new_err(format!("{}: {e}", path.display())))?;
                        exchange.write(&bytes)
                    }
                };
                Self::written(s, status)?;
                Self::finish(s);
                Ok(false)
            }
            ("http.response.body", Phase::Waiting) => Err(PyRuntimeError::new_err(
                "http.response.body sent before http.response.start",
            )),
            ("http.response.body", Phase::Done) => Err(PyRuntimeError::new_err(
                "a message sent after the response ended",
            )),
            (other, _) => Err(PyRuntimeError::new_err(format!(
                "unexpected ASGI message type '{other}'"
            ))),
        }
    }

    /// The glue waits on `waiter` for `which` (1 read, 2 write).
    fn wait(&self, py: Python<'_>, waiter: Py<PyAny>, which: u8) {
        let mut s = self.lock();
        if s.gone || s.exchange.is_none() {
            drop(s);
            resolve(py, waiter.bind(py));
            return;
        }
        s.waiters[usize::from(which == 2)] = Some(waiter);
    }

    /// The app returned: the exchange ends (a 500 when nothing was sent, a closed
    /// connection when the body did not end).
    fn returned(&self) {
        let mut s = self.lock();
        match s.phase {
            Phase::Done => {}
            Phase::Waiting => {
                Self::abort(&mut s, "the ASGI app returned without sending a response")
            }
            Phase::Started => Self::abort(
                &mut s,
                "the ASGI app returned after http.response.start without a body",
            ),
            Phase::Streaming => Self::abort(
                &mut s,
                "the ASGI app returned before its body ended (more_body was still true)",
            ),
        }
    }

    /// The app raised `exc`: logged with its traceback (one line when the client had gone
    /// and the app only heard of it), and the exchange ends as for `returned`.
    fn failed(&self, py: Python<'_>, exc: Bound<'_, PyAny>) {
        let err = PyErr::from_value(exc);
        let gone = self.lock().gone;
        if gone && err.is_instance_of::<PyOSError>(py) {
            tracing::info!(
                "{}: the client went away; the app stopped: {err}",
                self.what()
            );
        } else {
            traceback::log(py, &err, &format!("{}: the ASGI app raised", self.what()));
        }
        let mut s = self.lock();
        if s.phase != Phase::Done {
            Self::abort(&mut s, "the ASGI app raised an exception");
        }
    }
}
