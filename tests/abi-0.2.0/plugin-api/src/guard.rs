//! Keep panics on the plugin's side of the boundary.
//!
//! A panic that unwinds through an `extern "C"` function aborts the whole worker, so every
//! entry point a plugin exports runs its body inside [`guard`] (or [`guard_or`]).

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::{ErrorKind, PluginError};

/// Runs `f`, turning a panic into a [`PluginError`] of kind [`ErrorKind::Panic`].
pub fn guard<T>(what: &str, f: impl FnOnce() -> Result<T, PluginError>) -> Result<T, PluginError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => Err(PluginError::new(
            ErrorKind::Panic,
            format!("panic in {what}: {}", panic_message(&payload)),
        )),
    }
}

/// Runs `f`, returning `fallback` (and logging the panic) if it panics.
pub fn guard_or<T>(what: &str, fallback: T, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(value) => value,
        Err(payload) => {
            tracing::error!("panic in {what}: {}", panic_message(&payload));
            fallback
        }
    }
}

/// The text of a panic payload (`&str` or `String`), or a placeholder.
pub fn panic_message(payload: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

/// Runs hook `hook` of plugin `plugin`, turning a panic into an error of kind
/// [`ErrorKind::Panic`] whose message names both (`plugin echo panicked in init: ...`).
/// The host prints it; nothing is logged here.
pub fn guard_hook<T>(
    plugin: &str,
    hook: &str,
    f: impl FnOnce() -> Result<T, PluginError>,
) -> Result<T, PluginError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => Err(PluginError::new(
            ErrorKind::Panic,
            format!(
                "plugin {plugin} panicked in {hook}: {}",
                panic_message(&payload)
            ),
        )),
    }
}

/// Runs hook `hook` of plugin `plugin`; on a panic logs one line naming both and returns
/// `fallback` (which tells the host to answer 500 or close). Costs nothing more than
/// `catch_unwind` when there is no panic.
pub fn guard_hook_or<T>(plugin: &str, hook: &str, fallback: T, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(value) => value,
        Err(payload) => {
            tracing::error!(
                "plugin {plugin} panicked in {hook}: {}",
                panic_message(&payload)
            );
            fallback
        }
    }
}
