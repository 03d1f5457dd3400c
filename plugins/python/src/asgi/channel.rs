//! One request's exchange as the event loop's thread sees it: `receive()` and `send()`
//! of the ASGI `http` protocol, over the host's exchange (`rsgi.exchange`). Nothing here
//! waits: when the host has nothing to read or no room to write, the glue coroutines wait
//! on a future that [`Channel::woken`] resolves when the host wakes the exchange.

use std::sync::{Mutex, OnceLock};

use pyo3::exceptions::{PyOSError, PyRuntimeError, PyStopIteration, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyTuple};
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

/// A response head: the status and the header pairs, packed in one buffer (each name and
/// each value as its length, 4 bytes, then its bytes) rather than two vectors a header.
struct Head {
    status: u16,
    packed: Vec<u8>,
    count: usize,
}

impl Head {
    fn push(&mut self, name: &[u8], value: &[u8]) {
        for part in [name, value] {
            self.packed
                .extend_from_slice(&(part.len() as u32).to_ne_bytes());
            self.packed.extend_from_slice(part);
        }
        self.count += 1;
    }

    /// The pairs, as the exchange takes them.
    fn views(&self) -> Vec<Header<'_>> {
        let mut views = Vec::with_capacity(self.count);
        let mut rest = self.packed.as_slice();
        let mut take = || {
            let (len, tail) = rest.split_at(4);
            let len = u32::from_ne_bytes(len.try_into().unwrap_or_default()) as usize;
            let (part, tail) = tail.split_at(len);
            rest = tail;
            part
        };
        for _ in 0..self.count {
            let name = take();
            let value = take();
            views.push(Header::new(name, value));
        }
        views
    }
}

/// One response header of `http.response.start` into `head`: a tuple of two `bytes` read
/// in place, anything else as a pair of byte sequences.
fn header_pair(head: &mut Head, pair: &Bound<'_, PyAny>) -> PyResult<()> {
    if let Ok(tuple) = pair.cast::<PyTuple>() {
        if tuple.len() == 2 {
            let (name, value) = (tuple.get_item(0)?, tuple.get_item(1)?);
            if let (Ok(name), Ok(value)) = (name.cast::<PyBytes>(), value.cast::<PyBytes>()) {
                head.push(name.as_bytes(), value.as_bytes());
                return Ok(());
            }
        }
    }
    let (name, value) = pair
        .extract::<(Vec<u8>, Vec<u8>)>()
        .map_err(|_| PyTypeError::new_err("each ASGI response header is a pair of bytes"))?;
    head.push(&name, &value);
    Ok(())
}

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
    /// The event loop (the glue's waits make their futures on it).
    event_loop: Py<PyAny>,
}

impl Channel {
    /// A channel over `exchange` for request `id`, `request` (named by it in log lines).
    pub fn new(
        exchange: Exchange,
        id: u64,
        request: Box<Incoming>,
        event_loop: Py<PyAny>,
    ) -> Channel {
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
            event_loop,
        }
    }

    /// `METHOD PATH`, for log lines.
    fn what(&self) -> String {
        format!(
            "{} {}",
            String::from_utf8_lossy(self.request.method()),
            String::from_utf8_lossy(self.request.raw_path())
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
        let Some(head) = s.head.take() else {
            return Ok(());
        };
        let Some(exchange) = s.exchange.as_ref() else {
            return Err(PyOSError::new_err("the response is over"));
        };
        let views = head.views();
        match exchange.start(head.status, "", &views) {
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

/// The glue's coroutines for a `receive` or a `send` that must wait for the host:
/// `receive(x, loop)` and `writable(x, loop)`.
pub struct Waits {
    /// `receive(x, loop)`: waits until a message comes, and answers it.
    pub receive: Py<PyAny>,
    /// `writable(x, loop)`: waits until the client has read enough.
    pub writable: Py<PyAny>,
}

/// Set when the loop starts (the glue's functions).
pub static WAITS: OnceLock<Waits> = OnceLock::new();

/// What `send` answers when it needs no wait: awaiting it ends at once with None. It
/// holds nothing, so one serves every request.
#[pyclass(frozen, module = "rsgi_asgi", name = "Done")]
pub struct Done;

#[pymethods]
impl Done {
    fn __await__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __iter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __next__(&self) -> Option<()> {
        None
    }
}

/// The one [`Done`].
static DONE: OnceLock<Py<Done>> = OnceLock::new();

fn done(py: Python<'_>) -> PyResult<Py<PyAny>> {
    if let Some(done) = DONE.get() {
        return Ok(done.clone_ref(py).into_any());
    }
    let done = Py::new(py, Done)?;
    let _ = DONE.set(done.clone_ref(py));
    Ok(done.into_any())
}

/// An answer known when `receive` or `send` was called: awaiting it ends at once with the
/// message (or raises the error), without a coroutine.
#[pyclass(module = "rsgi_asgi", name = "Ready")]
pub struct Ready(Option<PyResult<Py<PyAny>>>);

impl Ready {
    fn make(py: Python<'_>, answer: PyResult<Py<PyAny>>) -> PyResult<Py<PyAny>> {
        Ok(Py::new(py, Ready(Some(answer)))?.into_any())
    }
}

#[pymethods]
impl Ready {
    fn __await__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __iter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __next__(&mut self) -> PyResult<Option<()>> {
        match self.0.take() {
            Some(Ok(value)) => Err(PyStopIteration::new_err((value,))),
            Some(Err(err)) => Err(err),
            None => Ok(None),
        }
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

    /// ASGI's `receive`: an awaitable of the next message (the message itself when the
    /// host has it, else the glue's coroutine that waits for it).
    fn asgi_receive(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let this = slf.get();
        match this.receive(py) {
            Ok(Some(message)) => Ready::make(py, Ok(message.into_any().unbind())),
            Ok(None) => match WAITS.get() {
                Some(waits) => waits.receive.call1(py, (slf, this.event_loop.bind(py))),
                None => Err(PyRuntimeError::new_err("the ASGI glue is not loaded")),
            },
            Err(err) => Ready::make(py, Err(err)),
        }
    }

    /// ASGI's `send`: sends `message` at once and answers an awaitable that waits, when
    /// the client must read first (back-pressure), or ends at once; a refused message
    /// raises when awaited.
    fn asgi_send(slf: &Bound<'_, Self>, message: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let this = slf.get();
        match this.send(py, message) {
            Ok(false) => done(py),
            Ok(true) => match WAITS.get() {
                Some(waits) => waits.writable.call1(py, (slf, this.event_loop.bind(py))),
                None => Err(PyRuntimeError::new_err("the ASGI glue is not loaded")),
            },
            Err(err) => Ready::make(py, Err(err)),
        }
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
                let mut head = Head {
                    status,
                    packed: Vec::with_capacity(256),
                    count: 0,
                };
                if let Some(list) = message.get_item(intern!(py, "headers"))? {
                    for pair in list.try_iter()? {
                        header_pair(&mut head, &pair?)?;
                    }
                }
                s.head = Some(head);
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
    /// connection when the body did not end), and the loop forgets the request.
    fn returned(&self) {
        super::event_loop::forget_request(self.id);
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
    /// and the app only heard of it), and the exchange ends as for `returned` (the loop
    /// forgets the request).
    fn failed(&self, py: Python<'_>, exc: Bound<'_, PyAny>) {
        super::event_loop::forget_request(self.id);
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
