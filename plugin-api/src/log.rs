//! The logging bridge, plugin side.
//!
//! Call [`install`] from your plugin's `init`: afterwards `tracing::info!` and friends inside
//! the plugin end up in the host's log, tagged with the plugin's target.

use std::io::Write;
use std::sync::OnceLock;

use abi_stable::std_types::RStr;
use tracing::{Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;

use crate::host::{HostRef, LogLevel, LogSink};

static SINK: OnceLock<LogSink> = OnceLock::new();

/// Installs a global `tracing` subscriber (this cdylib's copy) that forwards to the host.
///
/// Calling it more than once is harmless; the first host API wins.
pub fn install(host: HostRef) {
    if SINK.set(host.log()).is_err() {
        return;
    }
    let max = match host.max_level() {
        LogLevel::Trace => Level::TRACE,
        LogLevel::Debug => Level::DEBUG,
        LogLevel::Info => Level::INFO,
        LogLevel::Warn => Level::WARN,
        LogLevel::Error => Level::ERROR,
    };
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(max)
        .with_ansi(false)
        .without_time()
        .with_level(false)
        .with_target(false)
        .with_writer(HostWriter)
        .finish();
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// Logs `line` at error level: through the host once [`install`] has run, to stderr
/// before (a hook that runs before `init`, like `options`, has no bridge yet).
pub fn error_line(line: &str) {
    if SINK.get().is_some() {
        tracing::error!("{line}");
    } else {
        eprintln!("{line}");
    }
}

/// Sends one already-formatted line to the host, if [`install`] has run.
pub fn emit(level: LogLevel, target: &str, message: &str) {
    if let Some(sink) = SINK.get() {
        (sink.log)(level, RStr::from_str(target), RStr::from_str(message));
    }
}

struct HostWriter;

/// Collects one formatted event and hands it to the host when dropped.
struct LineWriter {
    level: LogLevel,
    target: String,
    buf: Vec<u8>,
}

impl Write for LineWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.buf);
        let text = text.trim_end_matches('\n');
        if !text.is_empty() {
            emit(self.level, &self.target, text);
        }
    }
}

impl<'a> MakeWriter<'a> for HostWriter {
    type Writer = LineWriter;

    fn make_writer(&'a self) -> LineWriter {
        LineWriter {
            level: LogLevel::Info,
            target: String::from("plugin"),
            buf: Vec::new(),
        }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> LineWriter {
        let level = match *meta.level() {
            Level::TRACE => LogLevel::Trace,
            Level::DEBUG => LogLevel::Debug,
            Level::INFO => LogLevel::Info,
            Level::WARN => LogLevel::Warn,
            Level::ERROR => LogLevel::Error,
        };
        LineWriter {
            level,
            target: meta.target().to_string(),
            buf: Vec::with_capacity(128),
        }
    }
}
