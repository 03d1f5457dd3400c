//! One WebSocket request as the event loop's thread sees it: `receive()` and `send()` of
//! the ASGI `websocket` protocol (spec 2.4) over the host's exchange (`rsgi.exchange` v3),
//! for a request the host offered to upgrade.
//!
//! The handshake is the app's: `websocket.accept` upgrades the exchange (the `101` goes
//! out), `websocket.close` before it denies with a 403, and the `websocket.http.response`
//! extension denies with the app's own response. Once accepted, messages go both ways
//! through the host's codec (which answers pings, reassembles fragments, inflates, and
//! enforces `--websocket-max-size`). Nothing here waits: as for `http`
//! ([`super::channel`]), the glue's coroutines wait on futures that
//! [`WebSocket::woken`] (or the accept) resolves, with the same glue: `receive()` answers
//! None when the glue must wait, `send()` True when it must wait for room.
//!
//! Errors follow uvicorn's: a message out of order raises `RuntimeError` with uvicorn's
//! words; a send once the client went away (or closed) raises `OSError` (uvicorn's
//! `ClientDisconnected`, which Starlette turns into `WebSocketDisconnect`).

use std::cell::RefCell;
use std::sync::Mutex;

use pyo3::exceptions::{PyOSError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};
use rsgi_plugin_api::abi_stable::std_types::RVec;
use rsgi_plugin_api::sdk::exchange::{Exchange, MessageKind, Readiness, Recv, WriteStatus};
use rsgi_plugin_api::{Header, SendError};

use super::incoming::Incoming;
use crate::traceback;

/// The code `websocket.disconnect` has when the connection went away without a close
/// (and after a denial, as uvicorn gives).
const ABNORMAL: u16 = 1006;

/// A receive buffer bigger than this is not kept for the next message.
const KEEP_BUF: usize = 1024 * 1024;

/// The longest close reason (a control frame's 125 bytes less the code).
const MAX_REASON: usize = 123;

/// Where the handshake, then the connection, is.
enum Phase {
    /// Neither accepted nor denied yet.
    Connecting,
    /// The app denies with a response of its own (`websocket.http.response.start`): its
    /// head, and its body so far (sent whole, with a Content-Length, once it ended).
    Denying {
        status: u16,
        headers: Vec<(Vec<u8>, Vec<u8>)>,
        body: Vec<u8>,
    },
    /// Denied (the 403 of a close before accept, or the app's response): the exchange is
    /// finished.
    Denied,
    /// Accepted: messages both ways.
    Open,
    /// The app sent `websocket.close`: it receives on until the peer's close.
    Closing,
}

struct State {
    exchange: Option<Exchange>,
    phase: Phase,
    /// `websocket.connect` was delivered.
    connect_sent: bool,
    /// The connection went away (the host's GONE, or a call that answered it).
    gone: bool,
    /// `websocket.disconnect` was delivered after the peer's close or the connection's end:
    /// a send raises `OSError`.
    disconnected: bool,
    /// Futures the glue waits on to read, to write.
    readers: Vec<Py<PyAny>>,
    writers: Vec<Py<PyAny>>,
}

/// The Rust half of an ASGI WebSocket (the glue's `Channel.x`).
#[pyclass(frozen, module = "rsgi_asgi", name = "WebSocket")]
pub struct WebSocket {
    state: Mutex<State>,
    /// The request (its path names it in log lines; its offered subprotocols).
    request: Box<Incoming>,
    /// The request's id in this worker.
    id: u64,
}

thread_local! {
    /// Where a message is taken before it becomes a `str` or `bytes` (the loop's thread
    /// receives one message at a time).
    static RECV_BUF: RefCell<RVec<u8>> = const { RefCell::new(RVec::new()) };
}

impl WebSocket {
    /// A WebSocket over `exchange` for request `id`, whose `request.websocket` holds the
    /// subprotocols the client offered.
    pub fn new(exchange: Exchange, id: u64, request: Box<Incoming>) -> WebSocket {
        WebSocket {
            state: Mutex::new(State {
                exchange: Some(exchange),
                phase: Phase::Connecting,
                connect_sent: false,
                gone: false,
                disconnected: false,
                readers: Vec::new(),
                writers: Vec::new(),
            }),
            request,
            id,
        }
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

    /// `WebSocket PATH`, for log lines.
    fn what(&self) -> String {
        format!(
            "WebSocket {}",
            String::from_utf8_lossy(self.request.raw_path())
        )
    }

    /// The host woke the exchange: resolve the futures waiting for it.
    pub fn woken(&self, py: Python<'_>, events: Readiness) {
        let (readers, writers) = {
            let mut s = self.lock();
            let gone = events.contains(Readiness::GONE);
            s.gone |= gone;
            let read = gone || events.contains(Readiness::READABLE);
            let write = gone || events.contains(Readiness::WRITABLE);
            (
                if read {
                    std::mem::take(&mut s.readers)
                } else {
                    Vec::new()
                },
                if write {
                    std::mem::take(&mut s.writers)
                } else {
                    Vec::new()
                },
            )
        };
        for waiter in readers.iter().chain(&writers) {
            resolve(py, waiter.bind(py));
        }
    }

    /// Ends the exchange (`finish`: the host closes with 1000 if the app did not close),
    /// if it is still held.
    fn finish(s: &mut State) {
        if let Some(exchange) = s.exchange.take() {
            exchange.finish();
        }
    }

    /// Gives the exchange up: 500 before a head went out, 1011 once accepted.
    fn abort(s: &mut State, why: &str) {
        if let Some(exchange) = s.exchange.take() {
            exchange.abort(why);
        }
    }

    /// The handshake is over (accepted or denied): a `receive()` waiting for it goes on.
    fn handshake_over(py: Python<'_>, s: &mut State) {
        for waiter in std::mem::take(&mut s.readers) {
            resolve(py, waiter.bind(py));
        }
    }

    fn gone_error() -> PyErr {
        PyOSError::new_err("the client went away (websocket.disconnect)")
    }

    /// `websocket.accept`: the upgrade.
    fn accept(&self, py: Python<'_>, s: &mut State, message: &Bound<'_, PyDict>) -> PyResult<()> {
        let subprotocol = match message.get_item(intern!(py, "subprotocol"))? {
            Some(p) if !p.is_none() => Some(p.extract::<String>().map_err(|_| {
                PyTypeError::new_err("websocket.accept's 'subprotocol' is a str or None")
            })?),
            _ => None,
        };
        let offered = self.request.websocket.as_deref().unwrap_or_default();
        if let Some(chosen) = &subprotocol {
            if !offered.iter().any(|o| o == chosen) {
                return Err(PyValueError::new_err(format!(
                    "websocket.accept's subprotocol {chosen:?} is not one the client offered ({offered:?})"
                )));
            }
        }
        let headers = header_pairs(message, "websocket.accept")?;
        let views: Vec<Header<'_>> = headers.iter().map(|(n, v)| Header::new(n, v)).collect();
        let Some(exchange) = s.exchange.as_ref() else {
            return Err(Self::gone_error());
        };
        match exchange.upgrade(subprotocol.as_deref(), &views) {
            Ok(()) => {
                s.phase = Phase::Open;
                Self::handshake_over(py, s);
                Ok(())
            }
            Err(SendError::Disconnected) => {
                s.gone = true;
                Self::handshake_over(py, s);
                Err(Self::gone_error())
            }
            Err(SendError::InvalidHead) => Err(PyValueError::new_err(
                "websocket.accept: invalid headers (a name or value that cannot be sent)",
            )),
            Err(e) => Err(PyRuntimeError::new_err(format!(
                "websocket.accept: the host refused the upgrade ({})",
                e.describe()
            ))),
        }
    }

    /// A denial's response: its head (a Content-Length added when the app gave none) and
    /// its body, then the end. A client that leaves meanwhile (it may close as soon as it
    /// read a head with `Content-Length: 0`) is no error of the app's: the denial is final
    /// either way, as in uvicorn.
    fn deny(
        s: &mut State,
        status: u16,
        mut headers: Vec<(Vec<u8>, Vec<u8>)>,
        body: &[u8],
    ) -> PyResult<()> {
        s.phase = Phase::Denied;
        if !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(b"content-length"))
        {
            headers.push((
                b"content-length".to_vec(),
                body.len().to_string().into_bytes(),
            ));
        }
        let Some(exchange) = s.exchange.take() else {
            return Ok(());
        };
        let views: Vec<Header<'_>> = headers.iter().map(|(n, v)| Header::new(n, v)).collect();
        match exchange.start(status, "", &views) {
            Ok(()) => {}
            Err(SendError::Disconnected) => {
                s.gone = true;
                exchange.finish();
                return Ok(());
            }
            Err(SendError::InvalidHead) => {
                exchange.abort("the ASGI app's websocket.http.response.start has an invalid head");
                return Err(PyValueError::new_err(
                    "invalid response head (a header name or value that cannot be sent, or a bad status)",
                ));
            }
            Err(e) => {
                exchange.abort("the ASGI app's denial could not be sent");
                return Err(PyRuntimeError::new_err(e.describe()));
            }
        }
        let status = if body.is_empty() {
            WriteStatus::Queued
        } else {
            exchange.write(body)
        };
        exchange.finish();
        match status {
            WriteStatus::Misuse => Err(PyRuntimeError::new_err(
                "websocket.http.response.body longer than the response's Content-Length",
            )),
            WriteStatus::Gone => {
                s.gone = true;
                Ok(())
            }
            WriteStatus::Queued | WriteStatus::Full => Ok(()),
        }
    }

    /// `websocket.send` on an open connection: True when the glue must wait for room.
    fn send_message(s: &mut State, message: &Bound<'_, PyDict>) -> PyResult<bool> {
        let py = message.py();
        let bytes = message
            .get_item(intern!(py, "bytes"))?
            .filter(|b| !b.is_none());
        let text = message
            .get_item(intern!(py, "text"))?
            .filter(|t| !t.is_none());
        let Some(exchange) = s.exchange.as_ref() else {
            return Err(Self::gone_error());
        };
        let status = match (&bytes, &text) {
            (Some(b), _) => {
                let data = b
                    .extract::<&[u8]>()
                    .map_err(|_| PyTypeError::new_err("websocket.send's 'bytes' is bytes"))?;
                exchange.send_message(MessageKind::Binary, data)
            }
            (None, Some(t)) => {
                let t = t
                    .cast::<PyString>()
                    .map_err(|_| PyTypeError::new_err("websocket.send's 'text' is a str"))?;
                exchange.send_message(MessageKind::Text, t.to_str()?.as_bytes())
            }
            (None, None) => {
                return Err(PyValueError::new_err(
                    "websocket.send has neither 'bytes' nor 'text'",
                ))
            }
        };
        match status {
            WriteStatus::Queued => Ok(false),
            WriteStatus::Full => Ok(true),
            WriteStatus::Gone => {
                s.gone = true;
                Err(Self::gone_error())
            }
            // Open, and text is UTF-8 (a str): the peer's close came (the app has not
            // received it yet); the connection is closing.
            WriteStatus::Misuse => Err(PyOSError::new_err(
                "the client closed the connection (websocket.disconnect)",
            )),
        }
    }

    /// `websocket.close` on an open connection.
    fn close(s: &mut State, message: &Bound<'_, PyDict>) -> PyResult<()> {
        let py = message.py();
        let code = match message.get_item(intern!(py, "code"))? {
            Some(c) if !c.is_none() => c.extract::<u16>().map_err(|_| {
                PyValueError::new_err("websocket.close's 'code' is a close code (an int)")
            })?,
            _ => 1000,
        };
        let reason = match message.get_item(intern!(py, "reason"))? {
            Some(r) if !r.is_none() => r
                .extract::<String>()
                .map_err(|_| PyTypeError::new_err("websocket.close's 'reason' is a str or None"))?,
            _ => String::new(),
        };
        if !matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999) {
            return Err(PyValueError::new_err(format!(
                "websocket.close: {code} is not a close code that may be sent (1000-1003, 1007-1014, 3000-4999)"
            )));
        }
        if reason.len() > MAX_REASON {
            return Err(PyValueError::new_err(format!(
                "websocket.close: the reason is {} bytes long, over {MAX_REASON}",
                reason.len()
            )));
        }
        let Some(exchange) = s.exchange.as_ref() else {
            return Err(Self::gone_error());
        };
        match exchange.close(code, &reason) {
            WriteStatus::Queued | WriteStatus::Full => {
                s.phase = Phase::Closing;
                Ok(())
            }
            WriteStatus::Gone => {
                s.gone = true;
                Err(Self::gone_error())
            }
            // A code and reason that may be sent: the peer's close came first.
            WriteStatus::Misuse => Err(PyOSError::new_err(
                "the client closed the connection (websocket.disconnect)",
            )),
        }
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

/// The `headers` of `message` (`what`), pairs of bytes.
fn header_pairs(message: &Bound<'_, PyDict>, what: &str) -> PyResult<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut headers = Vec::new();
    if let Some(list) = message.get_item(intern!(message.py(), "headers"))? {
        for pair in list.try_iter()? {
            let pair = pair?.extract::<(Vec<u8>, Vec<u8>)>().map_err(|_| {
                PyTypeError::new_err(format!("each header of {what} is a pair of bytes"))
            })?;
            headers.push(pair);
        }
    }
    Ok(headers)
}

fn connect(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let m = PyDict::new(py);
    m.set_item(intern!(py, "type"), intern!(py, "websocket.connect"))?;
    Ok(m)
}

fn disconnect<'py>(py: Python<'py>, code: u16, reason: &str) -> PyResult<Bound<'py, PyDict>> {
    let m = PyDict::new(py);
    m.set_item(intern!(py, "type"), intern!(py, "websocket.disconnect"))?;
    m.set_item(intern!(py, "code"), code)?;
    m.set_item(intern!(py, "reason"), reason)?;
    Ok(m)
}

/// A `websocket.receive` of `kind` holding `data`.
fn received<'py>(py: Python<'py>, kind: MessageKind, data: &[u8]) -> PyResult<Bound<'py, PyDict>> {
    let m = PyDict::new(py);
    m.set_item(intern!(py, "type"), intern!(py, "websocket.receive"))?;
    match kind {
        // The codec let only UTF-8 through.
        MessageKind::Text => m.set_item(
            intern!(py, "text"),
            PyString::new(py, &String::from_utf8_lossy(data)),
        )?,
        MessageKind::Binary => m.set_item(intern!(py, "bytes"), PyBytes::new(py, data))?,
    }
    Ok(m)
}

#[pymethods]
impl WebSocket {
    /// The request's id (the glue tells the loop to forget it when the app is done).
    #[getter(id)]
    fn py_id(&self) -> u64 {
        self.id
    }

    /// The next message: `websocket.connect` first, then (once accepted) what the peer
    /// sent, then `websocket.disconnect`; None when the glue must wait (for the accept, or
    /// for the host).
    fn receive<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let mut s = self.lock();
        if !s.connect_sent {
            s.connect_sent = true;
            return connect(py).map(Some);
        }
        match s.phase {
            Phase::Connecting if s.gone => disconnect(py, ABNORMAL, "").map(Some),
            Phase::Connecting => Ok(None),
            Phase::Denying { .. } | Phase::Denied => disconnect(py, ABNORMAL, "").map(Some),
            Phase::Open | Phase::Closing => {
                let Some(exchange) = s.exchange.as_ref() else {
                    return disconnect(py, ABNORMAL, "").map(Some);
                };
                let (got, answer) = RECV_BUF.with(|buf| {
                    let mut buf = buf.borrow_mut();
                    let got = exchange.recv(&mut buf);
                    let answer = match got {
                        Recv::Message(kind) => received(py, kind, &buf).map(Some),
                        Recv::WouldBlock => Ok(None),
                        Recv::Closed(code) => {
                            disconnect(py, code, &String::from_utf8_lossy(&buf)).map(Some)
                        }
                        Recv::Gone => disconnect(py, ABNORMAL, "").map(Some),
                        Recv::Misuse => Err(PyRuntimeError::new_err(
                            "the host does not receive on this WebSocket (rsgi.exchange v3)",
                        )),
                    };
                    if buf.capacity() > KEEP_BUF {
                        *buf = RVec::new();
                    }
                    (got, answer)
                });
                match got {
                    Recv::Closed(_) => s.disconnected = true,
                    Recv::Gone => {
                        s.gone = true;
                        s.disconnected = true;
                    }
                    _ => {}
                }
                answer
            }
        }
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
        let s: &mut State = &mut s;
        match (&mut s.phase, kind) {
            (Phase::Connecting, _) if s.gone => Err(Self::gone_error()),
            (Phase::Connecting, "websocket.accept") => {
                self.accept(py, s, message)?;
                Ok(false)
            }
            (Phase::Connecting, "websocket.close") => {
                let denied = Self::deny(s, 403, Vec::new(), b"");
                Self::handshake_over(py, s);
                denied.map(|()| false)
            }
            (Phase::Connecting, "websocket.http.response.start") => {
                let status = message
                    .get_item(intern!(py, "status"))?
                    .ok_or_else(|| {
                        PyValueError::new_err("websocket.http.response.start has no 'status'")
                    })?
                    .extract::<u16>()?;
                if !(100..600).contains(&status) {
                    return Err(PyValueError::new_err(format!(
                        "Invalid HTTP status code '{status}' in response."
                    )));
                }
                let headers = header_pairs(message, "websocket.http.response.start")?;
                s.phase = Phase::Denying {
                    status,
                    headers,
                    body: Vec::new(),
                };
                Self::handshake_over(py, s);
                Ok(false)
            }
            (Phase::Connecting, other) => Err(PyRuntimeError::new_err(format!(
                "Expected ASGI message 'websocket.accept', 'websocket.close' or 'websocket.http.response.start' but got '{other}'."
            ))),
            (Phase::Denying { body, .. }, "websocket.http.response.body") => {
                if let Some(chunk) = message.get_item(intern!(py, "body"))? {
                    body.extend_from_slice(chunk.extract::<&[u8]>().map_err(|_| {
                        PyTypeError::new_err("websocket.http.response.body's 'body' is bytes")
                    })?);
                }
                let more = match message.get_item(intern!(py, "more_body"))? {
                    Some(m) => m.is_truthy()?,
                    None => false,
                };
                if !more {
                    let Phase::Denying {
                        status,
                        headers,
                        body,
                    } = std::mem::replace(&mut s.phase, Phase::Denied)
                    else {
                        unreachable!("the phase was Denying")
                    };
                    Self::deny(s, status, headers, &body)?;
                }
                Ok(false)
            }
            (Phase::Denying { .. }, other) => Err(PyRuntimeError::new_err(format!(
                "Expected ASGI message 'websocket.http.response.body' but got '{other}'."
            ))),
            (Phase::Open, _) if s.gone || s.disconnected => Err(Self::gone_error()),
            (Phase::Open, "websocket.send") => Self::send_message(s, message),
            (Phase::Open, "websocket.close") => {
                Self::close(s, message)?;
                Ok(false)
            }
            (Phase::Open, other) => Err(PyRuntimeError::new_err(format!(
                "Expected ASGI message 'websocket.send' or 'websocket.close', but got '{other}'."
            ))),
            (Phase::Closing, other) => Err(PyRuntimeError::new_err(format!(
                "Unexpected ASGI message '{other}', after sending 'websocket.close'."
            ))),
            (Phase::Denied, other) => Err(PyRuntimeError::new_err(format!(
                "Unexpected ASGI message '{other}', after sending 'websocket.close' or response already completed."
            ))),
        }
    }

    /// The glue waits on `waiter` for `which` (1 read, 2 write).
    fn wait(&self, py: Python<'_>, waiter: Py<PyAny>, which: u8) {
        let mut s = self.lock();
        let over = s.gone
            || s.exchange.is_none()
            || matches!(s.phase, Phase::Denying { .. } | Phase::Denied);
        if over {
            drop(s);
            resolve(py, waiter.bind(py));
            return;
        }
        if which == 2 {
            s.writers.push(waiter);
        } else {
            s.readers.push(waiter);
        }
    }

    /// The app returned: an accepted WebSocket ends (the host closes with 1000 if the app
    /// did not close); one neither accepted nor denied is a 500, as uvicorn answers.
    fn returned(&self) {
        let mut s = self.lock();
        match s.phase {
            Phase::Open | Phase::Closing | Phase::Denied => Self::finish(&mut s),
            Phase::Connecting => Self::abort(
                &mut s,
                "the ASGI app returned without accepting or denying the WebSocket",
            ),
            Phase::Denying { .. } => Self::abort(
                &mut s,
                "the ASGI app returned before its websocket.http.response body ended",
            ),
        }
    }

    /// The app raised `exc`: logged with its traceback (one line when the client had gone
    /// and the app only heard of it); a 500 before the accept, a close with 1011 after.
    fn failed(&self, py: Python<'_>, exc: Bound<'_, PyAny>) {
        let err = PyErr::from_value(exc);
        let gone = {
            let s = self.lock();
            s.gone || s.disconnected
        };
        if gone && err.is_instance_of::<PyOSError>(py) {
            tracing::info!(
                "{}: the client went away; the app stopped: {err}",
                self.what()
            );
        } else {
            traceback::log(py, &err, &format!("{}: the ASGI app raised", self.what()));
        }
        Self::abort(&mut self.lock(), "the ASGI app raised an exception");
    }
}
