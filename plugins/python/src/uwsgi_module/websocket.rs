//! uWSGI's WebSocket API for WSGI apps: `websocket_handshake()`, `websocket_recv()`,
//! `websocket_recv_nb()`, `websocket_send()`, `websocket_send_binary()`, as uWSGI documents
//! them, over the host's blocking stream (extension `rsgi.handle_upgrade`).
//!
//! As in uWSGI, a request that calls the handshake keeps its worker thread until the app
//! returns: size `--threads` for the WebSockets open at once (an ASGI app holds none). The
//! host answers pings and sends its own (`--websocket-ping-interval`); a peer's close, a
//! protocol error or a dead connection make `websocket_recv()` raise `OSError`, as
//! uWSGI's does. The app's return value is not sent (the `101` was the response); when
//! the app returns, a close 1000 goes out unless the peer closed first.

use std::time::Duration;

use abi_stable::std_types::RVec;
use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use rsgi_plugin_api::exchange::WriteStatus;
use rsgi_plugin_api::sdk::exchange::{MessageKind, Recv};

use crate::wsgi::upgraded::{self, HandshakeError};

/// How long one wait of `websocket_recv()` lasts before Python's signal handlers get a
/// chance to run (the wait then goes on).
const WAIT_SLICE: Duration = Duration::from_millis(500);

/// `uwsgi.websocket_handshake(key=None, origin=None, proto=None)`: answers the request's
/// WebSocket handshake (`101`), with subprotocol `proto` when given. The key and the origin
/// come from the request itself (the arguments are accepted for uWSGI's signature and
/// not needed).
#[pyfunction]
#[pyo3(signature = (key = None, origin = None, proto = None))]
pub fn websocket_handshake(
    key: Option<&Bound<'_, PyAny>>,
    origin: Option<&Bound<'_, PyAny>>,
    proto: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    let _ = (key, origin);
    let proto = match proto {
        None => None,
        Some(p) if p.is_none() => None,
        Some(p) => Some(text_of(p)?),
    };
    let proto = proto.filter(|p| !p.is_empty());
    upgraded::handshake(proto.as_deref()).map_err(|e| {
        PyOSError::new_err(match e {
            HandshakeError::NoRequest => {
                "websocket_handshake() outside a request (or on another thread)".to_string()
            }
            HandshakeError::NotUpgradable => {
                "unable to complete the websocket handshake: the request is not a valid websocket handshake".to_string()
            }
            HandshakeError::Again => "the websocket handshake was already done".to_string(),
            HandshakeError::Failed(err) => format!(
                "unable to complete the websocket handshake: {}",
                err.describe()
            ),
        })
    })
}

/// `uwsgi.websocket_recv()`: waits for the next message and returns its bytes (text
/// messages UTF-8 encoded); raises `OSError` once the peer closed or the connection
/// failed.
#[pyfunction]
#[pyo3(signature = (request_context = None))]
pub fn websocket_recv<'py>(
    py: Python<'py>,
    request_context: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let _ = request_context;
    loop {
        match receive(py, Some(WAIT_SLICE))? {
            Some(bytes) => return Ok(bytes),
            None => py.check_signals()?,
        }
    }
}

/// `uwsgi.websocket_recv_nb()`: the next message if one arrived, else `b""`; raises
/// `OSError` once the peer closed or the connection failed.
#[pyfunction]
#[pyo3(signature = (request_context = None))]
pub fn websocket_recv_nb<'py>(
    py: Python<'py>,
    request_context: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let _ = request_context;
    Ok(receive(py, None)?.unwrap_or_else(|| PyBytes::new(py, b"")))
}

/// `uwsgi.websocket_send(message)`: sends a text message (str, or UTF-8 bytes).
#[pyfunction]
#[pyo3(signature = (message, request_context = None))]
pub fn websocket_send(
    py: Python<'_>,
    message: &Bound<'_, PyAny>,
    request_context: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    let _ = request_context;
    send(py, MessageKind::Text, &bytes_of(message)?)
}

/// `uwsgi.websocket_send_binary(message)`: sends a binary message.
#[pyfunction]
#[pyo3(signature = (message, request_context = None))]
pub fn websocket_send_binary(
    py: Python<'_>,
    message: &Bound<'_, PyAny>,
    request_context: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    let _ = request_context;
    send(py, MessageKind::Binary, &bytes_of(message)?)
}

/// Adds the functions to the `uwsgi` module.
pub fn add_to(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(websocket_handshake, m)?)?;
    m.add_function(wrap_pyfunction!(websocket_recv, m)?)?;
    m.add_function(wrap_pyfunction!(websocket_recv_nb, m)?)?;
    m.add_function(wrap_pyfunction!(websocket_send, m)?)?;
    m.add_function(wrap_pyfunction!(websocket_send_binary, m)?)?;
    Ok(())
}

/// One wait for a message, without the GIL: `Some(bytes)`, `None` when none came in
/// `wait`, an `OSError` when the stream ended.
fn receive<'py>(py: Python<'py>, wait: Option<Duration>) -> PyResult<Option<Bound<'py, PyBytes>>> {
    let got = py.detach(|| {
        upgraded::with_stream(|s| {
            let mut data = RVec::new();
            let r = s.recv(&mut data, wait);
            (r, data)
        })
    });
    match got {
        None => Err(no_websocket()),
        Some((Recv::Message(_), data)) => Ok(Some(PyBytes::new(py, &data))),
        Some((Recv::WouldBlock, _)) => Ok(None),
        Some((Recv::Closed(code), _)) => Err(PyOSError::new_err(format!(
            "unable to receive websocket message: the peer closed ({code})"
        ))),
        Some((Recv::Gone, _)) | Some((Recv::Misuse, _)) => Err(PyOSError::new_err(
            "unable to receive websocket message: the connection is gone",
        )),
    }
}

fn send(py: Python<'_>, kind: MessageKind, data: &[u8]) -> PyResult<()> {
    let status = py.detach(|| upgraded::with_stream(|s| s.send(kind, data)));
    match status {
        None => Err(no_websocket()),
        Some(WriteStatus::Queued | WriteStatus::Full) => Ok(()),
        Some(WriteStatus::Gone) => Err(PyOSError::new_err(
            "unable to send websocket message: the connection is gone",
        )),
        Some(WriteStatus::Misuse) => Err(PyOSError::new_err(
            "unable to send websocket message: the websocket is closing, or the text is not UTF-8",
        )),
    }
}

fn no_websocket() -> PyErr {
    PyOSError::new_err("no websocket: call uwsgi.websocket_handshake() first, in the request")
}

fn bytes_of(message: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(s) = message.cast::<PyString>() {
        return Ok(s.to_str()?.as_bytes().to_vec());
    }
    message.extract::<Vec<u8>>()
}

fn text_of(value: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(String::from_utf8_lossy(&bytes_of(value)?).into_owned())
}
