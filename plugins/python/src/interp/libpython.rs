//! Making libpython's symbols visible to the C extension modules Python loads.
//!
//! The host opens plugins with `RTLD_LOCAL`, so the libpython this plugin links against is
//! loaded into a local scope too, and extension modules (`_ssl`, `_sqlite3`, `math`, numpy)
//! fail with `undefined symbol: PyExc_ValueError`. Re-opening the already mapped library
//! with `RTLD_GLOBAL | RTLD_NOLOAD` promotes its symbols to the global scope.

use std::ffi::{c_void, CStr};
use std::path::PathBuf;

use pyo3::ffi;

use crate::error::Error;

/// Promotes the libpython this plugin is linked against to `RTLD_GLOBAL`; returns its path.
///
/// The handle is never closed: it keeps the library mapped for the life of the process,
/// which it is anyway.
pub fn promote_to_global() -> Result<PathBuf, Error> {
    let symbol = ffi::Py_IsInitialized as *const c_void;
    // SAFETY: `dladdr` only reads the address and fills `info`; `dli_fname` points into the
    // loader's own tables and stays valid while the library is mapped.
    let path = unsafe {
        let mut info: libc::Dl_info = std::mem::zeroed();
        if libc::dladdr(symbol, &mut info) == 0 || info.dli_fname.is_null() {
            return Err(Error::Init(
                "cannot find which library provides Py_IsInitialized".into(),
            ));
        }
        CStr::from_ptr(info.dli_fname).to_owned()
    };
    // SAFETY: RTLD_NOLOAD never loads anything new: it only changes the flags of a library
    // that is already mapped (ours), so no initialiser runs.
    let handle = unsafe {
        libc::dlopen(
            path.as_ptr(),
            libc::RTLD_NOW | libc::RTLD_GLOBAL | libc::RTLD_NOLOAD,
        )
    };
    if handle.is_null() {
        return Err(Error::Init(format!(
            "cannot make {} global: {}",
            path.to_string_lossy(),
            last_dl_error()
        )));
    }
    Ok(PathBuf::from(path.to_string_lossy().into_owned()))
}

/// The text of the last `dl*` failure.
fn last_dl_error() -> String {
    // SAFETY: `dlerror` returns null or a NUL-terminated string owned by libc.
    unsafe {
        let msg = libc::dlerror();
        if msg.is_null() {
            "unknown error".into()
        } else {
            CStr::from_ptr(msg).to_string_lossy().into_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_and_promotes_the_linked_libpython() {
        let path = promote_to_global().unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("libpython3"), "{}", path.display());
        let global = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"PyExc_ValueError".as_ptr()) };
        assert!(!global.is_null());
    }
}
