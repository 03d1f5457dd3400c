//! Where an exported plugin keeps the value its `init` made.
//!
//! A generic `extern "C"` shim cannot own a static of its own type parameter, so
//! [`crate::export_protocol!`] and [`crate::export_app!`] implement [`Instance`] for the
//! plugin's type with a static of that type: one per plugin library.

use std::sync::OnceLock;

/// The one value of a plugin type in its library, set by `init`. Implemented by the export
/// macros; a plugin author does not implement it.
pub trait Instance: Sized + Send + Sync + 'static {
    /// The plugin's name (`--plugin NAME`), for log lines.
    const NAME: &'static str;

    /// The library's slot for the value.
    fn slot() -> &'static OnceLock<Self>;

    /// The value, once `init` has made it.
    fn get() -> Option<&'static Self> {
        Self::slot().get()
    }

    /// Keeps `made` as the value; a second `init` keeps the first value (and says so).
    fn install(made: Self) {
        if Self::slot().set(made).is_err() {
            tracing::warn!(
                "plugin {}: init called twice; keeping the first options",
                Self::NAME
            );
        }
    }
}
