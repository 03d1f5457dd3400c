//! `--log-requests`: one line per request once its response is done, in the spirit of a
//! web server's access log: client address, request line, status, body bytes, duration,
//! worker. Off by default, as in gunicorn and granian (uWSGI logs every request unless
//! `--disable-logging`), and shown whatever `--log-level` says. `--log-4xx` and `--log-5xx`
//! log only the requests answered with a client or server error, as uWSGI's options of
//! those names do beside `--disable-logging`.
//!
//! The lines look like the rest of the log (`<time>  INFO <line>`) but do not go through
//! `tracing`: they are gathered per worker and written to stderr in one `write` each time
//! the event loop is about to wait (or when 32 KiB are pending). A write and a timestamp
//! format per request cost a hello-world worker a third of its throughput; batched, a few
//! percent. A loop stuck in the app never waits again, so a thread of the worker also
//! writes whatever has been pending for [`FLUSH_EVERY`]: by the time harakiri kills a
//! stuck worker, the lines of the requests it answered before are written. Lines of the
//! last [`FLUSH_EVERY`] are lost only when a busy worker is killed outright (SIGKILL from
//! outside, the OOM killer).
//!
//! With `--req-logger file:PATH` (uWSGI's) the lines go to PATH instead of the log, which
//! every worker opens for appending and opens again when the log is reopened (master
//! FIFO `l`, `--touch-logreopen`).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use super::log_entry::Entry;
use super::log_format::LogFormat;
use super::log_time;
use crate::config::request_log::Outcome;
use crate::config::RequestLogging;

/// Pending bytes past this are written at once.
const FLUSH_AT: usize = 32 * 1024;

/// How often the flushing thread writes what the event loop left pending.
pub const FLUSH_EVERY: Duration = Duration::from_millis(200);

impl Entry<'_> {
    /// Appends the line (`forwarded_for`: see [`Entry::client`]). Bytes outside printable
    /// ASCII (and quotes) in the client, method and URI are escaped, so a request cannot
    /// forge log lines.
    fn write_to(&self, forwarded_for: bool, out: &mut Vec<u8>) {
        log_time::rfc3339(self.now_us, out);
        let micros = self.now_us.saturating_sub(self.started_us);
        // Writing to a Vec cannot fail.
        let _ = write!(out, "  INFO {} ", self.client(forwarded_for).escape_ascii());
        let _ = if self.method.is_empty() {
            write!(out, "\"-\"")
        } else {
            write!(
                out,
                "\"{} {} {}\"",
                self.method.escape_ascii(),
                self.uri.escape_ascii(),
                self.protocol
            )
        };
        let _ = writeln!(
            out,
            " {} {} {}.{:03} ms worker {}",
            self.status,
            self.bytes,
            micros / 1000,
            micros % 1000,
            self.worker
        );
    }
}

/// A worker's pending request lines (the event loop and app threads add to it).
pub struct RequestLog {
    selection: RequestLogging,
    format: Option<LogFormat>,
    pending: Arc<Mutex<Sink>>,
}

/// The lines not yet written, and where they go.
#[derive(Default)]
struct Sink {
    lines: Vec<u8>,
    /// `--req-logger file:PATH`: the file (none: stderr, the log).
    file: Option<(PathBuf, File)>,
}

impl RequestLog {
    /// A log for the requests `selection` wants, in `format` (`--log-format`) or rsgi's own,
    /// written to `file` (`--req-logger`) or to stderr. A file that cannot be opened is
    /// logged, and the lines go to stderr.
    pub fn new(selection: RequestLogging, format: Option<LogFormat>, file: Option<&Path>) -> Self {
        let file = file.and_then(|path| match crate::log_file::open_append(path) {
            Ok(f) => Some((path.to_path_buf(), f)),
            Err(e) => {
                tracing::error!("--req-logger: {e}; request lines go to the log");
                None
            }
        });
        RequestLog {
            selection,
            format,
            pending: Arc::new(Mutex::new(Sink {
                lines: Vec::new(),
                file,
            })),
        }
    }

    /// Writes what is pending, then opens the `--req-logger` file again (it was moved
    /// away); nothing to open without one.
    pub fn reopen(&self) {
        let mut sink = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        sink.write_out();
        if let Some((path, file)) = &mut sink.file {
            match crate::log_file::open_append(path) {
                Ok(f) => *file = f,
                Err(e) => tracing::error!("--req-logger: cannot open it again: {e}"),
            }
        }
    }

    /// Starts the thread that writes the pending lines every [`FLUSH_EVERY`] (for the
    /// worker's life), for when the event loop is stuck in a request and does not.
    pub fn start_flusher(&self) -> std::io::Result<()> {
        let pending = Arc::clone(&self.pending);
        std::thread::Builder::new()
            .name("rsgi-log-flush".into())
            .spawn(move || loop {
                std::thread::sleep(FLUSH_EVERY);
                flush(&pending);
            })
            .map(drop)
    }

    /// Adds the line of a finished request if it is one to log; writes the pending lines
    /// when they are many.
    pub fn record(&self, entry: &Entry<'_>) {
        let outcome = Outcome {
            status: entry.status,
            bytes: entry.bytes,
            micros: entry.now_us.saturating_sub(entry.started_us),
        };
        if !self.selection.wants(outcome) {
            return;
        }
        let forwarded_for = self.selection.forwarded_for;
        let mut sink = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        match &self.format {
            Some(format) => format.write(entry, forwarded_for, &mut sink.lines),
            None => entry.write_to(forwarded_for, &mut sink.lines),
        }
        if sink.lines.len() >= FLUSH_AT {
            sink.write_out();
        }
    }

    /// Writes the pending lines (the loop calls this before it waits).
    pub fn flush(&self) {
        flush(&self.pending);
    }
}

fn flush(pending: &Mutex<Sink>) {
    pending
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .write_out();
}

impl Sink {
    fn write_out(&mut self) {
        if self.lines.is_empty() {
            return;
        }
        // Nothing better to do with a failed log write than to drop the lines.
        let _ = match &mut self.file {
            Some((_, file)) => file.write_all(&self.lines),
            None => std::io::stderr().write_all(&self.lines),
        };
        self.lines.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi_stable::std_types::RSlice;
    use rsgi_plugin_api::{Header, NameStyle};

    #[test]
    fn a_line_names_remote_addr_over_the_peer_and_escapes_what_it_quotes() {
        let vars = [
            Header {
                name: RSlice::from_slice(b"REMOTE_ADDR"),
                value: RSlice::from_slice(b"10.0.0.1"),
            },
            Header {
                name: RSlice::from_slice(b"REMOTE_ADDR"),
                value: RSlice::from_slice(b"10.0.0.2\n"),
            },
        ];
        let entry = Entry {
            peer: "127.0.0.1",
            vars: &vars,
            headers: &[],
            names: NameStyle::Http,
            method: b"GET",
            uri: b"/a?\"b\"\r\nX",
            protocol: "HTTP/1.1",
            status: 200,
            bytes: 13,
            started_us: 1_000_000,
            now_us: 1_001_234,
            worker: 3,
        };
        let mut out = Vec::new();
        entry.write_to(false, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "1970-01-01T00:00:01.001234Z  INFO 10.0.0.2\\n \"GET /a?\\\"b\\\"\\r\\nX HTTP/1.1\" 200 13 1.234 ms worker 3\n"
        );
    }

    #[test]
    fn with_log_x_forwarded_for_the_first_forwarded_address_is_the_client() {
        let header = |name: &'static [u8], value: &'static [u8]| Header {
            name: RSlice::from_slice(name),
            value: RSlice::from_slice(value),
        };
        let http = [header(b"X-Forwarded-For", b" 203.0.113.7 , 10.0.0.1")];
        let cgi = [header(b"HTTP_X_FORWARDED_FOR", b"2001:db8::1")];
        let vars = [header(b"REMOTE_ADDR", b"10.0.0.2")];
        let mut entry = Entry::unparsed("127.0.0.1", 200, 5, 1);
        entry.headers = &http;
        assert_eq!(entry.client(true), b"203.0.113.7");
        assert_eq!(entry.client(false), b"127.0.0.1");
        entry.names = NameStyle::Cgi;
        entry.headers = &cgi;
        entry.vars = &vars;
        assert_eq!(entry.client(true), b"2001:db8::1");
        assert_eq!(entry.client(false), b"10.0.0.2");
        // No header, or an empty one: the usual client.
        let empty = [header(b"HTTP_X_FORWARDED_FOR", b" ,x")];
        entry.headers = &empty;
        assert_eq!(entry.client(true), b"10.0.0.2");
    }

    #[test]
    fn a_request_refused_unread_shows_a_dash_for_its_line() {
        let entry = Entry::unparsed("::1", 400, 5, 1);
        let mut out = Vec::new();
        entry.write_to(false, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "1970-01-01T00:00:00.000005Z  INFO ::1 \"-\" 400 0 0.000 ms worker 1\n"
        );
    }
}
