//! The host's log: `tracing` to stderr. Plugin lines arrive through the bridge.

use rsgi_plugin_api::LogLevel;
use tracing_subscriber::EnvFilter;

/// Parses a level name (`error`, `warn`, `info`, `debug`, `trace`).
pub fn parse_level(name: &str) -> Option<LogLevel> {
    Some(match name.to_ascii_lowercase().as_str() {
        "error" => LogLevel::Error,
        "warn" | "warning" => LogLevel::Warn,
        "info" => LogLevel::Info,
        "debug" => LogLevel::Debug,
        "trace" => LogLevel::Trace,
        _ => return None,
    })
}

fn filter_name(level: LogLevel) -> &'static str {
    match level {
        LogLevel::Error => "error",
        LogLevel::Warn => "warn",
        LogLevel::Info => "info",
        LogLevel::Debug => "debug",
        LogLevel::Trace => "trace",
    }
}

/// Installs the subscriber for the whole process (master and, after fork, workers).
/// Request lines (`--log-requests`) do not pass through it: see `worker::access_log`.
pub fn init(level: LogLevel) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter_name(level)))
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(false)
        .try_init();
}
