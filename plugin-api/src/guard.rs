//! Keep panics on the plugin's side of the boundary.
//!
//! A panic that unwinds through an `extern "C"` function aborts the whole worker, so every
//! entry point the export macros generate runs its method inside [`guard_hook`] or
//! [`guard_hook_or`]: a panic becomes an error value or a fallback, and one log line that
//! names the plugin, the hook, the panic's message and where it happened. While a guarded
//! hook runs, the plugin's panic hook stays quiet (Rust's default hook would print several
//! more lines to stderr); outside guarded hooks (a plugin's unit tests, say) panics print
//! as usual.

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

use crate::error::{ErrorKind, PluginError};

thread_local! {
    /// True while this thread runs a guarded hook.
    static GUARDED: Cell<bool> = const { Cell::new(false) };
    /// Where the last panic of a guarded hook on this thread happened.
    static LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs, once per plugin library, a panic hook that records where a guarded hook
/// panicked and prints nothing for it, and leaves every other panic to the previous hook.
fn quiet_inside_guards() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if GUARDED.with(Cell::get) {
                let at = info
                    .location()
                    .map(|l| format!("{}:{}", l.file(), l.line()));
                LOCATION.with(|slot| *slot.borrow_mut() = at);
            } else {
                previous(info)
            }
        }));
    });
}

/// Runs `f` as a guarded hook: `Err(line)` when it panicked.
fn run_guarded<T>(plugin: &str, hook: &str, f: impl FnOnce() -> T) -> Result<T, String> {
    quiet_inside_guards();
    let outer = GUARDED.with(|g| g.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(outer));
    result.map_err(|payload| {
        let at = LOCATION
            .with(|slot| slot.borrow_mut().take())
            .map_or(String::new(), |at| format!(" (at {at})"));
        format!(
            "plugin {plugin} panicked in {hook}: {}{at}",
            panic_message(&payload)
        )
    })
}

/// Runs hook `hook` of plugin `plugin`, turning a panic into an error of kind
/// [`ErrorKind::Panic`] whose message names both (`plugin echo panicked in init: ...`).
/// The host prints it; nothing is logged here.
pub fn guard_hook<T>(
    plugin: &str,
    hook: &str,
    f: impl FnOnce() -> Result<T, PluginError>,
) -> Result<T, PluginError> {
    match run_guarded(plugin, hook, f) {
        Ok(result) => result,
        Err(line) => Err(PluginError::new(ErrorKind::Panic, line)),
    }
}

/// Runs hook `hook` of plugin `plugin`; on a panic logs one line naming both (through the
/// log bridge once `init` installed it, to stderr before) and returns `fallback` (which
/// tells the host to answer 500, close, or do without). Costs nothing more than
/// `catch_unwind` and two thread-local flag writes when there is no panic.
pub fn guard_hook_or<T>(plugin: &str, hook: &str, fallback: T, f: impl FnOnce() -> T) -> T {
    match run_guarded(plugin, hook, f) {
        Ok(value) => value,
        Err(line) => {
            crate::log::error_line(&line);
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
