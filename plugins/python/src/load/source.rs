//! Where an app comes from: a module to import or a file to run, and the
//! `MODULE[:CALLABLE]` spelling of `--module`, `--asgi` and `--mount`.

use std::path::PathBuf;

use crate::error::Error;

/// Where an app (WSGI or ASGI) comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppSource {
    /// `--module pkg.mod[:callable]`: an importable module.
    Module(String),
    /// `--wsgi-file path/app.py` (`--asgi-file`): a file executed as a module.
    File(PathBuf),
}

/// Splits `pkg.mod:callable` into the module and the optional callable.
pub fn split_module_spec(option: &str, spec: &str) -> Result<(String, Option<String>), Error> {
    let (module, callable) = match spec.split_once(':') {
        Some((module, callable)) => (module.trim(), Some(callable.trim())),
        None => (spec, None),
    };
    if module.is_empty() {
        return Err(Error::Config(format!(
            "--{option} '{spec}' names no module"
        )));
    }
    if callable == Some("") {
        return Err(Error::Config(format!(
            "--{option} '{spec}' names no callable after ':'"
        )));
    }
    Ok((module.to_owned(), callable.map(str::to_owned)))
}
