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
