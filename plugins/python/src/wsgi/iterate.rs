//! Walking the app's response iterable, and closing it on every path, exactly once.
//!
//! Three shapes:
//! - a list or tuple (the common "simple" response): every item is checked to be bytes
//!   before anything is sent, `Content-Length` is added when the app set none, and the
//!   bytes are queued for the host to send in one go;
//! - a `wsgi.file_wrapper` over a regular file: the host's `sendfile`, GIL released;
//! - anything else (generators...): each non-empty chunk is written and flushed as it is
//!   produced; the head goes out with the first non-empty chunk or at the end.

use std::os::fd::RawFd;

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

use crate::error::RequestError;
use crate::traceback;
use crate::wsgi::file_wrapper::FileWrapper;
use crate::wsgi::start_response::StartResponse;

/// Sends the response `result` through `start`, then calls `result.close()` if it has one.
pub fn send_response(
    py: Python<'_>,
    result: &Bound<'_, PyAny>,
    start: &Bound<'_, StartResponse>,
    request: &RequestInfo<'_>,
) -> Result<(), RequestError> {
    let sent = walk(py, result, start, request);
    let closed = close(py, result);
    match (sent, closed) {
        (Err(first), Err(RequestError::Raised(late))) => {
            traceback::log(
                py,
                &late,
                &format!("{}: close() of the response raised too", request.label),
            );
            Err(first)
        }
        (sent, closed) => sent.and(closed),
    }
}

/// What the walker needs to know about the request.
pub struct RequestInfo<'a> {
    /// `METHOD URI`, for log lines (formatted only when one is written).
    pub label: &'a dyn std::fmt::Display,
    /// A HEAD request: an empty body says nothing about the length, so none is added.
    pub is_head: bool,
}

fn walk(
    py: Python<'_>,
    result: &Bound<'_, PyAny>,
    start: &Bound<'_, StartResponse>,
    request: &RequestInfo<'_>,
) -> Result<(), RequestError> {
    let is_head = request.is_head;
    if let Ok(wrapper) = result.cast_exact::<FileWrapper>() {
        if send_file(py, wrapper, start, request)? {
            return Ok(());
        }
    }
    if let Ok(list) = result.cast::<PyList>() {
        return send_sized(py, list.iter(), start, is_head);
    }
    if let Ok(tuple) = result.cast::<PyTuple>() {
        return send_sized(py, tuple.iter(), start, is_head);
    }
    send_streamed(py, result, start)
}

/// A list or tuple of bytes: checked whole, sized, queued.
fn send_sized<'py>(
    py: Python<'py>,
    items: impl Iterator<Item = Bound<'py, PyAny>>,
    start: &Bound<'py, StartResponse>,
    is_head: bool,
) -> Result<(), RequestError> {
    let chunks = items
        .map(|item| as_bytes(&item))
        .collect::<Result<Vec<_>, _>>()?;
    let total: usize = chunks.iter().map(|c| c.as_bytes().len()).sum();
    let mut start = start.borrow_mut();
    if !start.head_sent() {
        let head = start.pending_head().ok_or_else(no_start_response)?;
        if !(is_head && total == 0) {
            head.add_content_length(total as u64);
        }
    }
    start.send_head()?;
    for chunk in chunks
        .iter()
        .map(|c| c.as_bytes())
        .filter(|c| !c.is_empty())
    {
        start.write_body(py, chunk)?;
    }
    Ok(())
}

/// Any other iterable: each chunk is sent as soon as it is produced.
fn send_streamed(
    py: Python<'_>,
    result: &Bound<'_, PyAny>,
    start: &Bound<'_, StartResponse>,
) -> Result<(), RequestError> {
    for item in result.try_iter().map_err(RequestError::Raised)? {
        let chunk = as_bytes(&item.map_err(RequestError::Raised)?)?;
        let data = chunk.as_bytes();
        if data.is_empty() {
            continue;
        }
        let mut start = start.borrow_mut();
        start.send_head()?;
        start.write_body(py, data)?;
        start.flush(py)?;
    }
    let mut start = start.borrow_mut();
    if !start.head_sent() && start.pending_head().is_none() {
        return Err(no_start_response());
    }
    start.send_head()
}

/// A file wrapper over a regular file: the head, then `sendfile`. `Ok(false)` when the
/// wrapped object is not such a file (the caller then iterates it).
fn send_file(
    py: Python<'_>,
    wrapper: &Bound<'_, FileWrapper>,
    start: &Bound<'_, StartResponse>,
    request: &RequestInfo<'_>,
) -> Result<bool, RequestError> {
    let filelike = wrapper.borrow().filelike.clone_ref(py).into_bound(py);
    let Some(fd) = file_descriptor(py, &filelike) else {
        return Ok(false);
    };
    let Some(size) = regular_file_size(fd) else {
        return Ok(false);
    };
    let offset = match filelike
        .call_method0(intern!(py, "tell"))
        .and_then(|p| p.extract::<u64>())
    {
        Ok(offset) => offset,
        Err(_) => return Ok(false),
    };
    let mut len = size.saturating_sub(offset);
    let mut start = start.borrow_mut();
    if !start.head_sent() {
        let head = start.pending_head().ok_or_else(no_start_response)?;
        head.add_content_length(len);
        if let Some(declared) = head.declared_length() {
            len = len.min(declared);
        }
    }
    start.send_head()?;
    tracing::debug!(
        "{}: sendfile of {len} bytes from offset {offset} (wsgi.file_wrapper)",
        request.label
    );
    if len > 0 {
        start.sendfile(py, fd, offset, len)?;
    }
    Ok(true)
}

/// `filelike.fileno()`, if it has one that works.
fn file_descriptor(py: Python<'_>, filelike: &Bound<'_, PyAny>) -> Option<RawFd> {
    let fileno = filelike.getattr_opt(intern!(py, "fileno")).ok().flatten()?;
    fileno.call0().ok()?.extract::<RawFd>().ok()
}

/// The size of `fd` when it is a regular file.
fn regular_file_size(fd: RawFd) -> Option<u64> {
    // SAFETY: `fstat` only writes into `stat`; an invalid descriptor just fails.
    let stat = unsafe {
        let mut stat: libc::stat = std::mem::zeroed();
        if libc::fstat(fd, &mut stat) != 0 {
            return None;
        }
        stat
    };
    (stat.st_mode & libc::S_IFMT == libc::S_IFREG).then_some(stat.st_size as u64)
}

/// `result.close()`, if the iterable has one.
pub fn close(py: Python<'_>, result: &Bound<'_, PyAny>) -> Result<(), RequestError> {
    // The usual response, a plain list (or tuple) of bytes, has no `close`: skip the lookup,
    // whose AttributeError (built, formatted, cleared) cost more than the rest of this.
    if result.is_exact_instance_of::<PyList>() || result.is_exact_instance_of::<PyTuple>() {
        return Ok(());
    }
    match result.getattr_opt(intern!(py, "close")) {
        Ok(Some(close)) => close.call0().map(drop).map_err(RequestError::Raised),
        Ok(None) => Ok(()),
        Err(err) => Err(RequestError::Raised(err)),
    }
}

/// A body chunk, which must be bytes.
fn as_bytes<'py>(item: &Bound<'py, PyAny>) -> Result<Bound<'py, PyBytes>, RequestError> {
    item.cast::<PyBytes>().cloned().map_err(|_| {
        let kind = item
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "?".into());
        RequestError::Invalid(format!(
            "the app's response contained a {kind} where bytes were expected"
        ))
    })
}

fn no_start_response() -> RequestError {
    RequestError::Invalid("the app returned a response without calling start_response".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{define, python, FakeResponse, Sent};

    /// Runs the app defined as `app` in `code`: calls it, then walks its response.
    fn serve(code: &str) -> (Result<(), String>, FakeResponse) {
        let mut fake = FakeResponse::default();
        let mut responder = fake.responder();
        let result = python(|py| {
            let start = Bound::new(py, StartResponse::new(&mut responder)).unwrap();
            let app = define(py, code, "app");
            let result = app
                .call1((pyo3::types::PyDict::new(py), &start))
                .map_err(RequestError::Raised)
                .and_then(|r| {
                    let info = RequestInfo {
                        label: &"GET /",
                        is_head: false,
                    };
                    send_response(py, &r, &start, &info)
                });
            start.borrow_mut().invalidate();
            result.map_err(|e| e.to_string())
        });
        (result, fake)
    }

    fn closes(py: Python<'_>) -> usize {
        py.import("builtins")
            .unwrap()
            .getattr("CLOSES")
            .map(|c| c.extract().unwrap())
            .unwrap_or(0)
    }

    #[test]
    fn list_response_gets_content_length_and_no_flush() {
        let (result, fake) = serve("def app(e, sr):\n    sr('200 OK', [('Content-Type', 'text/plain')])\n    return [b'Hello, ', b'', b'world']\n");
        result.unwrap();
        assert_eq!(fake.header("Content-Length").as_deref(), Some("12"));
        assert_eq!(fake.body(), b"Hello, world");
        assert!(!fake.sent.contains(&Sent::Flush));
    }

    #[test]
    fn app_content_length_is_kept() {
        let (result, fake) = serve(
            "def app(e, sr):\n    sr('200 OK', [('Content-Length', '2')])\n    return (b'ok',)\n",
        );
        result.unwrap();
        let (_, headers) = fake.head().unwrap();
        assert_eq!(headers, [("Content-Length".to_string(), "2".to_string())]);
    }

    #[test]
    fn generator_chunks_are_flushed_as_they_come() {
        let (result, fake) = serve("def app(e, sr):\n    sr('200 OK', [])\n    yield b''\n    yield b'a'\n    yield b'b'\n");
        result.unwrap();
        assert_eq!(
            fake.sent[1..],
            [
                Sent::Write(b"a".to_vec()),
                Sent::Flush,
                Sent::Write(b"b".to_vec()),
                Sent::Flush
            ]
        );
        assert_eq!(fake.header("Content-Length"), None);
    }

    #[test]
    fn start_response_may_be_called_inside_the_generator() {
        let (result, fake) = serve(
            "def app(e, sr):\n    yield b''\n    sr('202 Accepted', [])\n    yield b'late'\n",
        );
        result.unwrap();
        assert_eq!(fake.head().unwrap().0, 202);
        assert_eq!(fake.body(), b"late");
    }

    #[test]
    fn empty_generator_sends_the_head_at_the_end() {
        let (result, fake) =
            serve("def app(e, sr):\n    sr('204 No Content', [])\n    return iter([])\n");
        result.unwrap();
        assert_eq!(fake.sent, [Sent::Start(204, "No Content".into(), vec![])]);
    }

    #[test]
    fn str_in_a_list_fails_before_anything_is_sent() {
        let (result, fake) =
            serve("def app(e, sr):\n    sr('200 OK', [])\n    return [b'ok', 'text']\n");
        assert_eq!(
            result.unwrap_err(),
            "the app's response contained a str where bytes were expected"
        );
        assert!(fake.sent.is_empty());
    }

    #[test]
    fn str_first_from_a_generator_fails_before_anything_is_sent() {
        let (result, fake) = serve("def app(e, sr):\n    sr('200 OK', [])\n    yield 'text'\n");
        assert!(result.is_err());
        assert!(fake.sent.is_empty());
    }

    #[test]
    fn no_start_response_is_an_error() {
        let (result, fake) = serve("def app(e, sr):\n    return [b'x']\n");
        assert_eq!(
            result.unwrap_err(),
            "the app returned a response without calling start_response"
        );
        assert!(fake.sent.is_empty());
        let (result, _) = serve("def app(e, sr):\n    return iter([])\n");
        assert!(result.is_err());
    }

    #[test]
    fn close_is_called_once_on_success_and_on_every_failure() {
        let prelude = "import builtins\nbuiltins.CLOSES = 0\nclass Body:\n    def __init__(self, items, fail=False):\n        self.items, self.fail = items, fail\n    def __iter__(self):\n        for i in self.items:\n            yield i\n        if self.fail:\n            raise RuntimeError('mid-body')\n    def close(self):\n        builtins.CLOSES += 1\n";
        for (body, ok) in [
            ("Body([b'a', b'b'])", true),
            ("Body([b'a'], fail=True)", false),
            ("Body(['str'])", false),
        ] {
            let code =
                format!("{prelude}def app(e, sr):\n    sr('200 OK', [])\n    return {body}\n");
            let (result, _) = serve(&code);
            assert_eq!(result.is_ok(), ok, "{body}: {result:?}");
            python(|py| assert_eq!(closes(py), 1, "{body}"));
        }
        let code = format!("{prelude}def app(e, sr):\n    return Body([b'a'])\n");
        let (result, _) = serve(&code);
        assert!(result.is_err());
        python(|py| assert_eq!(closes(py), 1, "without start_response"));
    }

    #[test]
    fn close_that_raises_fails_the_request() {
        let (result, _) = serve("class Body(list):\n    def close(self):\n        raise ValueError('close failed')\ndef app(e, sr):\n    sr('200 OK', [])\n    return Body([b'x'])\n");
        assert_eq!(
            result.unwrap_err(),
            "the app raised ValueError: close failed"
        );
    }

    #[test]
    fn file_wrapper_over_a_regular_file_uses_sendfile() {
        let dir = std::env::temp_dir().join(format!("rsgi-py-sendfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("data.txt");
        std::fs::write(&path, b"0123456789").unwrap();
        let code = format!(
            "def app(e, sr):\n    sr('200 OK', [])\n    f = open({:?}, 'rb')\n    f.seek(3)\n    return FileWrapper(f)\n",
            path.to_str().unwrap()
        );
        let (result, fake) = serve(&code);
        result.unwrap();
        assert_eq!(fake.header("Content-Length").as_deref(), Some("7"));
        assert_eq!(fake.sent[1], Sent::Sendfile(3, 7, b"3456789".to_vec()));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn file_wrapper_over_a_non_file_is_iterated() {
        let code = "import io\ndef app(e, sr):\n    sr('200 OK', [])\n    return FileWrapper(io.BytesIO(b'abcdef'), 4)\n";
        let (result, fake) = serve(code);
        result.unwrap();
        assert_eq!(fake.body(), b"abcdef");
        assert!(!fake.sent.iter().any(|s| matches!(s, Sent::Sendfile(..))));
    }
}
