//! What can go wrong in the python plugin, and how it crosses the boundary.

use pyo3::PyErr;
use rsgi_plugin_api::{ErrorKind, PluginError, SendError};

/// A failure of the plugin outside a single request.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A bad option value (the host exits with status 2).
    #[error("{0}")]
    Config(String),
    /// The interpreter could not be started.
    #[error("cannot start Python: {0}")]
    Init(String),
    /// The app could not be imported or found (exit 22 under `--need-app`).
    #[error("{0}")]
    AppLoad(String),
    /// A request arrived but no app is loaded.
    #[error("no WSGI app is loaded (load failed, or neither --module nor --wsgi-file was given)")]
    NoApp,
    /// A request could not be served; the details were logged.
    #[error("{0}")]
    Request(String),
}

impl From<Error> for PluginError {
    fn from(err: Error) -> PluginError {
        let kind = match err {
            Error::Config(_) => ErrorKind::Config,
            Error::AppLoad(_) => ErrorKind::AppLoad,
            Error::NoApp | Error::Request(_) => ErrorKind::Request,
            Error::Init(_) => ErrorKind::Runtime,
        };
        PluginError::new(kind, err.to_string())
    }
}

/// Why one request failed.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The app (or its response iterable) raised.
    #[error("the app raised {0}")]
    Raised(PyErr),
    /// The app broke a WSGI rule (bad status, non-bytes body, no start_response...).
    #[error("{0}")]
    Invalid(String),
    /// The host could not send the response (typically: the client went away).
    #[error("{}", .0.describe())]
    Send(SendError),
}
