//! The host's table for plugins: its ABI release, the extensions it offers, and the host
//! end of the logging bridge (plugin log lines re-emitted through `tracing`).

use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::std_types::RStr;
use rsgi_plugin_api::{Host, HostRef, LogLevel, LogSink, ABI_VERSION};

use super::offered;

extern "C" fn log(level: LogLevel, target: RStr<'_>, message: RStr<'_>) {
    let _ = std::panic::catch_unwind(|| {
        let source = target.as_str().split("::").next().unwrap_or("plugin");
        let message = message.as_str();
        match level {
            LogLevel::Trace => tracing::trace!(target: "plugin", "[{source}] {message}"),
            LogLevel::Debug => tracing::debug!(target: "plugin", "[{source}] {message}"),
            LogLevel::Info => tracing::info!(target: "plugin", "[{source}] {message}"),
            LogLevel::Warn => tracing::warn!(target: "plugin", "[{source}] {message}"),
            LogLevel::Error => tracing::error!(target: "plugin", "[{source}] {message}"),
        }
    });
}

/// The table handed to every plugin's `init` (made once per process: it lives as long).
pub fn host_table(max_level: LogLevel) -> HostRef {
    Host {
        abi_version: RStr::from_str(ABI_VERSION),
        log: LogSink { log },
        max_level,
        extensions: offered::list,
        extension: offered::lookup,
    }
    .leak_into_prefix()
}
