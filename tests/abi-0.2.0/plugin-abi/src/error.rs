//! Errors that cross the plugin boundary.

use abi_stable::{std_types::RString, StableAbi};

/// What kind of failure a plugin reports.
///
/// `#[repr(u8)]` and append-only: new variants are only ever added at the end.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad configuration or option value (the host exits with status 2).
    Config = 0,
    /// The application could not be loaded (import error, missing callable).
    /// With `--need-app` the host exits with status 22.
    AppLoad = 1,
    /// A failure while serving one request; the worker keeps serving.
    Request = 2,
    /// The plugin panicked; the panic was caught at the boundary.
    Panic = 3,
    /// Any other runtime failure.
    Runtime = 4,
}

/// An error returned by a plugin entry point: a kind and a human-readable message.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct PluginError {
    /// What kind of failure this is; decides what the host does next.
    pub kind: ErrorKind,
    /// One line that says what went wrong and where.
    pub message: RString,
}

impl PluginError {
    /// Builds an error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        PluginError {
            kind,
            message: RString::from(message.into()),
        }
    }
}

impl std::fmt::Display for PluginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PluginError {}
