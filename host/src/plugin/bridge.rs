//! The host end of the logging bridge: plugin log lines re-emitted through `tracing`.

use abi_stable::std_types::RStr;
use rsgi_plugin_api::{HostApi, LogLevel, LogSink};

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

/// The services handed to every plugin's `init`.
pub fn host_api(max_level: LogLevel) -> HostApi {
    HostApi {
        log: LogSink { log },
        max_level,
    }
}
