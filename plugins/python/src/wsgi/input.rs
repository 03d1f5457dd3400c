//! `wsgi.input`: a file-like object over the request body, read from the host as the app
//! asks for it (never buffered whole), with the GIL released while blocked.
//!
//! How much memory a body costs: the host reads a Content-Length body from the socket
//! straight into this object's buffer, and decodes a chunked one through a 16 KiB buffer
//! of its own. Here, each host read asks for 8–64 KiB, and what the app has not taken yet
//! stays in one buffer that is compacted as it is consumed. So `read(65536)` in a loop,
//! `readline()` on ordinary lines and iteration hold O(64 KiB) whatever the body's size
//! (a 48 MiB upload is measured end to end in tests/wsgi.rs). Only what the app asks for
//! is held whole: `read()` without a size returns the entire rest of the body, and one
//! "line" with no newline for megabytes is buffered until its end.
//!
//! It borrows the host's body reader for the duration of one `handle` call only. When the
//! call ends the object is invalidated; an app that keeps it gets an error, never a read
//! through a dangling pointer. It may only be used on the thread serving the request.

use std::ptr::NonNull;
use std::thread::ThreadId;

use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};

pyo3::create_exception!(
    rsgi,
    BodyReadError,
    PyOSError,
    "The request body could not be read: the client sent a malformed body, stalled or went away."
);

/// The exception `exc.<attribute>` names (`__cause__`, `__context__`), if any.
fn linked<'py>(
    exc: &Bound<'py, pyo3::exceptions::PyBaseException>,
    attribute: &str,
) -> Option<Bound<'py, pyo3::exceptions::PyBaseException>> {
    exc.getattr(attribute)
        .ok()
        .filter(|c| !c.is_none())
        .and_then(|c| c.cast_into::<pyo3::exceptions::PyBaseException>().ok())
}

/// True when `err`, or an exception it was raised from or during (`__cause__`,
/// `__context__`), is a [`BodyReadError`]: the app gave up because of the client's body.
pub fn caused_by_the_body(py: Python<'_>, err: &PyErr) -> bool {
    let mut current = Some(err.value(py).clone());
    for _ in 0..16 {
        let Some(exc) = current else { return false };
        if exc.is_instance_of::<BodyReadError>() {
            return true;
        }
        current = linked(&exc, "__cause__").or_else(|| linked(&exc, "__context__"));
    }
    false
}
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};
use rsgi_plugin_api::BodyReader;

use crate::interp::thread_state;
use crate::wsgi::request_number;

/// Bytes asked of the host at least per read (fewer arrive when fewer are there).
const MIN_READ: usize = 8 * 1024;
/// Bytes asked of the host at most per read.
const MAX_READ: usize = 64 * 1024;

/// The host's body reader, valid while the request it belongs to is being handled.
#[derive(Clone, Copy)]
struct ReaderPtr(NonNull<BodyReader<'static>>);

// SAFETY: the pointer is only dereferenced on the thread that serves the request (checked
// against `WsgiInput::owner`) and only before `invalidate`, i.e. while that thread is inside
// `handle` and the reader is alive.
unsafe impl Send for ReaderPtr {}
// SAFETY: as above; shared references never dereference it.
unsafe impl Sync for ReaderPtr {}

impl ReaderPtr {
    /// # Safety
    /// The reader must still be alive and not used elsewhere during the call.
    unsafe fn read(self, buf: &mut [u8]) -> Result<usize, &'static str> {
        unsafe { (*self.0.as_ptr()).read(buf) }
    }
}

/// The `wsgi.input` object.
#[pyclass(module = "rsgi", name = "Input")]
pub struct WsgiInput {
    reader: Option<ReaderPtr>,
    owner: ThreadId,
    /// The owner thread's request this belongs to (`request_number`).
    request: u64,
    /// Bytes read from the host and not yet given to the app: `buf[pos..]`.
    buf: Vec<u8>,
    pos: usize,
    eof: bool,
}

impl WsgiInput {
    /// An input over `reader`; call [`WsgiInput::invalidate`] before the reader goes away.
    pub fn new(reader: &mut BodyReader<'_>) -> WsgiInput {
        WsgiInput {
            reader: Some(ReaderPtr(NonNull::from(reader).cast())),
            owner: thread_state::current_id(),
            request: request_number::current(),
            buf: Vec::new(),
            pos: 0,
            eof: false,
        }
    }

    /// Forgets the reader: later reads raise.
    pub fn invalidate(&mut self) {
        self.reader = None;
    }

    fn available(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    /// Reads more body from the host into the buffer; `false` at the end of the body.
    fn fill(&mut self, py: Python<'_>, wanted: usize) -> PyResult<bool> {
        if self.eof {
            return Ok(false);
        }
        let reader = self
            .reader
            .ok_or_else(|| PyValueError::new_err("wsgi.input used after its request finished"))?;
        if self.owner != thread_state::current_id() {
            return Err(PyRuntimeError::new_err(
                "wsgi.input used from another thread",
            ));
        }
        if self.request != request_number::current() {
            return Err(PyValueError::new_err(
                "wsgi.input used after its request finished",
            ));
        }
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        } else if self.pos > self.buf.len() / 2 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        let start = self.buf.len();
        self.buf.resize(start + wanted.clamp(MIN_READ, MAX_READ), 0);
        let space = &mut self.buf[start..];
        // SAFETY: checked above: valid (not invalidated) and on the serving thread.
        let result = py.detach(|| unsafe { reader.read(space) });
        let got = *result.as_ref().unwrap_or(&0);
        self.buf.truncate(start + got);
        match result {
            Ok(0) => {
                self.eof = true;
                Ok(false)
            }
            Ok(_) => Ok(true),
            Err(msg) => Err(BodyReadError::new_err(format!(
                "reading the request body failed: {msg}"
            ))),
        }
    }

    /// Hands `n` buffered bytes to Python.
    fn take<'py>(&mut self, py: Python<'py>, n: usize) -> Bound<'py, PyBytes> {
        let bytes = PyBytes::new(py, &self.available()[..n]);
        self.pos += n;
        bytes
    }

    /// Up to `limit` bytes ending with the first newline.
    fn line<'py>(
        &mut self,
        py: Python<'py>,
        limit: Option<usize>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let mut scanned = 0;
        loop {
            let available = self.available();
            let end = limit.map_or(available.len(), |l| l.min(available.len()));
            if let Some(nl) = available[scanned..end].iter().position(|&b| b == b'\n') {
                return Ok(self.take(py, scanned + nl + 1));
            }
            if limit.is_some_and(|l| available.len() >= l) {
                return Ok(self.take(py, end));
            }
            scanned = end;
            if !self.fill(py, MIN_READ)? {
                let rest = self.available().len();
                return Ok(self.take(py, rest));
            }
        }
    }
}

/// A negative or missing size means "all".
fn limit(size: Option<isize>) -> Option<usize> {
    size.and_then(|s| usize::try_from(s).ok())
}

#[pymethods]
impl WsgiInput {
    /// `read(size=-1)`: `size` bytes (fewer only at the end of the body), or all the rest.
    #[pyo3(signature = (size = None))]
    fn read<'py>(&mut self, py: Python<'py>, size: Option<isize>) -> PyResult<Bound<'py, PyBytes>> {
        match limit(size) {
            Some(n) => {
                while self.available().len() < n && self.fill(py, n - self.available().len())? {}
                let n = n.min(self.available().len());
                Ok(self.take(py, n))
            }
            None => {
                while self.fill(py, MAX_READ)? {}
                let n = self.available().len();
                Ok(self.take(py, n))
            }
        }
    }

    /// `readline(size=-1)`: one line including its `\n`, at most `size` bytes.
    #[pyo3(signature = (size = None))]
    fn readline<'py>(
        &mut self,
        py: Python<'py>,
        size: Option<isize>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        self.line(py, limit(size))
    }

    /// `readlines(hint=-1)`: lines until the end, or until they total `hint` bytes.
    #[pyo3(signature = (hint = None))]
    fn readlines<'py>(
        &mut self,
        py: Python<'py>,
        hint: Option<isize>,
    ) -> PyResult<Bound<'py, PyList>> {
        let lines = PyList::empty(py);
        let mut total = 0;
        loop {
            let line = self.line(py, None)?;
            let len = line.as_bytes().len();
            if len == 0 {
                break;
            }
            lines.append(line)?;
            total += len;
            if limit(hint).is_some_and(|h| h > 0 && total >= h) {
                break;
            }
        }
        Ok(lines)
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let line = self.line(py, None)?;
        Ok((!line.as_bytes().is_empty()).then_some(line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{python, FakeBody};

    /// Runs `code` with `inp` bound to an input over `body` served in `piece`-byte pieces;
    /// returns `repr` of the variable `out`.
    fn run(body: &[u8], piece: usize, code: &str) -> String {
        let mut fake = FakeBody::new(body, piece);
        let mut reader = fake.reader();
        python(|py| {
            let input = Bound::new(py, WsgiInput::new(&mut reader)).unwrap();
            let locals = pyo3::types::PyDict::new(py);
            locals.set_item("inp", &input).unwrap();
            let code = std::ffi::CString::new(code).unwrap();
            py.run(&code, None, Some(&locals)).unwrap();
            let out = locals
                .get_item("out")
                .unwrap()
                .unwrap()
                .repr()
                .unwrap()
                .to_string();
            input.borrow_mut().invalidate();
            out
        })
    }

    #[test]
    fn read_without_size_returns_everything_then_empty() {
        assert_eq!(
            run(b"hello world", 3, "out = (inp.read(), inp.read())"),
            "(b'hello world', b'')"
        );
    }

    #[test]
    fn read_with_size_blocks_until_that_many_bytes() {
        assert_eq!(
            run(
                b"abcdefgh",
                1,
                "out = (inp.read(5), inp.read(5), inp.read(5))"
            ),
            "(b'abcde', b'fgh', b'')"
        );
    }

    #[test]
    fn read_negative_size_means_all() {
        assert_eq!(run(b"abc", 2, "out = inp.read(-1)"), "b'abc'");
    }

    #[test]
    fn readline_splits_on_newlines_and_respects_size() {
        let code = "out = (inp.readline(), inp.readline(2), inp.readline(), inp.readline(), inp.readline())";
        assert_eq!(
            run(b"one\ntwo\nlast", 2, code),
            "(b'one\\n', b'tw', b'o\\n', b'last', b'')"
        );
    }

    #[test]
    fn readlines_and_iteration_give_every_line() {
        assert_eq!(
            run(b"a\nb\nc", 1, "out = inp.readlines()"),
            "[b'a\\n', b'b\\n', b'c']"
        );
        assert_eq!(
            run(b"a\nb\n", 4, "out = [l for l in inp]"),
            "[b'a\\n', b'b\\n']"
        );
        assert_eq!(
            run(
                b"a\nb\nc\n",
                4,
                "out = (inp.readlines(2), inp.readlines(3))"
            ),
            "([b'a\\n'], [b'b\\n', b'c\\n'])"
        );
    }

    #[test]
    fn mixed_reads_see_each_byte_once() {
        assert_eq!(
            run(
                b"head\nbody-bytes",
                64,
                "out = inp.readline() + b'|' + inp.read(4) + b'|' + inp.read()"
            ),
            "b'head\\n|body|-bytes'"
        );
    }

    #[test]
    fn empty_body_reads_empty() {
        assert_eq!(
            run(
                b"",
                8,
                "out = (inp.read(), inp.read(10), inp.readline(), inp.readlines())"
            ),
            "(b'', b'', b'', [])"
        );
    }

    #[test]
    fn host_read_error_raises_oserror() {
        let mut fake = FakeBody::new(b"x", 1);
        fake.fail = Some("client went away");
        let mut reader = fake.reader();
        python(|py| {
            let input = Bound::new(py, WsgiInput::new(&mut reader)).unwrap();
            let err = input.call_method0("read").unwrap_err();
            assert!(err.is_instance_of::<PyOSError>(py));
            assert!(err.is_instance_of::<BodyReadError>(py));
            assert!(err.to_string().contains("client went away"), "{err}");
            assert!(caused_by_the_body(py, &err));
        });
    }

    /// What an app or a framework makes of a failed read (raised again, wrapped, or with
    /// another error while handling it) still counts as the body's failure; an error of
    /// the app's own does not.
    #[test]
    fn an_error_raised_from_or_during_a_body_failure_is_the_bodys() {
        let mut fake = FakeBody::new(b"x", 1);
        fake.fail = Some("client went away");
        let mut reader = fake.reader();
        python(|py| {
            let input = Bound::new(py, WsgiInput::new(&mut reader)).unwrap();
            let wrap = crate::testing::define(
                py,
                "def wrap(inp, how):\n\
                 \x20   try:\n\
                 \x20       inp.read()\n\
                 \x20   except OSError as e:\n\
                 \x20       if how == 'from':\n\
                 \x20           raise ValueError('bad upload') from e\n\
                 \x20       raise KeyError('while handling')\n",
                "wrap",
            );
            for how in ["from", "during"] {
                let err = wrap.call1((&input, how)).unwrap_err();
                assert!(caused_by_the_body(py, &err), "{how}: {err}");
            }
            let own = pyo3::exceptions::PyValueError::new_err("the app's own");
            assert!(!caused_by_the_body(py, &own));
        });
    }

    #[test]
    fn use_after_invalidate_raises_instead_of_reading() {
        let mut fake = FakeBody::new(b"data", 4);
        let mut reader = fake.reader();
        let kept = python(|py| {
            let input = Bound::new(py, WsgiInput::new(&mut reader)).unwrap();
            input.borrow_mut().invalidate();
            input.unbind()
        });
        python(|py| {
            let err = kept.bind(py).call_method0("read").unwrap_err();
            assert!(err.is_instance_of::<PyValueError>(py), "{err}");
        });
        assert_eq!(fake.reads, 0);
    }

    #[test]
    fn big_body_is_streamed_in_bounded_reads() {
        let body = vec![b'x'; 1_000_000];
        let mut fake = FakeBody::new(&body, usize::MAX);
        let mut reader = fake.reader();
        let total = python(|py| {
            let input = Bound::new(py, WsgiInput::new(&mut reader)).unwrap();
            let first = input.call_method1("read", (10,)).unwrap();
            assert_eq!(first.len().unwrap(), 10);
            let buffered = input.borrow().buf.len();
            assert!(buffered <= MAX_READ, "{buffered}");
            let rest = input.call_method0("read").unwrap();
            10 + rest.len().unwrap()
        });
        assert_eq!(total, 1_000_000);
    }
}
