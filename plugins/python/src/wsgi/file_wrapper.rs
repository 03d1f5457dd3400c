//! `wsgi.file_wrapper`: lets an app return a file for the server to send efficiently.
//!
//! When the wrapped object is a regular file with a `fileno()`, the response walker sends it
//! with the host's zero-copy `sendfile`; otherwise the wrapper is iterated in blocks, as
//! PEP 3333 describes. `close()` closes the wrapped object.

use pyo3::intern;
use pyo3::prelude::*;

/// Block size used when the app gives none (or zero).
const DEFAULT_BLOCK: usize = 8192;

/// The `wsgi.file_wrapper` type.
#[pyclass(module = "rsgi", name = "FileWrapper")]
pub struct FileWrapper {
    /// The wrapped file-like object.
    pub filelike: Py<PyAny>,
    block_size: usize,
}

#[pymethods]
impl FileWrapper {
    /// `wsgi.file_wrapper(filelike, block_size=8192)`.
    #[new]
    #[pyo3(signature = (filelike, block_size = DEFAULT_BLOCK))]
    fn new(filelike: Py<PyAny>, block_size: usize) -> FileWrapper {
        FileWrapper {
            filelike,
            block_size: if block_size == 0 {
                DEFAULT_BLOCK
            } else {
                block_size
            },
        }
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let block = self
            .filelike
            .bind(py)
            .call_method1(intern!(py, "read"), (self.block_size,))?;
        Ok(block.is_truthy()?.then_some(block))
    }

    /// Closes the wrapped object, if it can be closed.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        if let Some(close) = self.filelike.bind(py).getattr_opt(intern!(py, "close"))? {
            close.call0()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::python;

    #[test]
    fn iterates_a_file_like_in_blocks_and_closes_it() {
        python(|py| {
            let code = c"import io\nsrc = io.BytesIO(b'abcdefg')\nw = wrapper(src, 3)\nblocks = list(w)\nw.close()\nclosed = src.closed";
            let globals = pyo3::types::PyDict::new(py);
            globals
                .set_item("wrapper", py.get_type::<FileWrapper>())
                .unwrap();
            py.run(code, Some(&globals), None).unwrap();
            let blocks: Vec<Vec<u8>> = globals
                .get_item("blocks")
                .unwrap()
                .unwrap()
                .extract()
                .unwrap();
            assert_eq!(blocks, [b"abc".to_vec(), b"def".to_vec(), b"g".to_vec()]);
            assert!(globals
                .get_item("closed")
                .unwrap()
                .unwrap()
                .extract::<bool>()
                .unwrap());
        });
    }
}
