//! Bytes ⇄ Python `str` as latin-1, the encoding WSGI uses for everything on the wire.

use pyo3::ffi;
use pyo3::prelude::*;
#[cfg(not(pyo3_028))]
use pyo3::types::string::PyStringData;
use pyo3::types::PyString;
#[cfg(pyo3_028)]
use pyo3::types::PyStringData;

/// Decodes `bytes` as latin-1 into a new `str` (every byte maps to one code point).
pub fn to_str<'py>(py: Python<'py>, bytes: &[u8]) -> Bound<'py, PyString> {
    // SAFETY: the pointer and length describe a live slice; latin-1 decoding cannot fail
    // except on memory exhaustion, which `from_owned_ptr` turns into a panic we then catch
    // at the boundary.
    unsafe {
        let ptr = ffi::PyUnicode_DecodeLatin1(
            bytes.as_ptr().cast(),
            bytes.len() as ffi::Py_ssize_t,
            std::ptr::null(),
        );
        Bound::from_owned_ptr(py, ptr).cast_into_unchecked()
    }
}

/// The latin-1 bytes of `s`, or `None` when it holds a code point above U+00FF.
///
/// Borrows the string's own storage when it is one byte per character (the common case).
pub fn from_str<'a>(s: &'a Bound<'_, PyString>) -> Option<&'a [u8]> {
    // SAFETY: the returned data borrows `s`, which outlives the result.
    match unsafe { s.data() } {
        Ok(PyStringData::Ucs1(bytes)) => Some(bytes),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::python;

    #[test]
    fn every_byte_round_trips_through_latin1() {
        python(|py| {
            let all: Vec<u8> = (0..=255).collect();
            let s = to_str(py, &all);
            assert_eq!(s.to_string_lossy().chars().count(), 256);
            assert_eq!(from_str(&s), Some(&all[..]));
        });
    }

    #[test]
    fn code_points_above_latin1_have_no_bytes() {
        python(|py| {
            assert_eq!(
                from_str(&PyString::new(py, "caf\u{e9}")),
                Some(&b"caf\xe9"[..])
            );
            assert_eq!(from_str(&PyString::new(py, "\u{20ac}")), None);
            assert_eq!(from_str(&PyString::new(py, "\u{1F600}")), None);
        });
    }
}
