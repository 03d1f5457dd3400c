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

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rsgi_plugin_api::{Header, NameStyle};

use super::log_format::LogFormat;
use super::log_time;
use crate::config::RequestLogging;

/// Pending bytes past this are written at once.
const FLUSH_AT: usize = 32 * 1024;

/// How often the flushing thread writes what the event loop left pending.
pub const FLUSH_EVERY: Duration = Duration::from_millis(200);

/// One finished request, borrowed from the connection for the length of the call.
pub struct Entry<'a> {
    /// The socket peer's address (nginx's, behind the uwsgi protocol).
    pub peer: &'a str,
    /// The protocol's variables (the uwsgi protocol's, with nginx's `REMOTE_ADDR`; none
    /// over HTTP).
    pub vars: &'a [Header<'a>],
    /// The request headers (`HTTP_*` variables behind the uwsgi protocol; see `names`).
    pub headers: &'a [Header<'a>],
    /// How the header names are spelled.
    pub names: NameStyle,
    /// The request method as received (empty for a request the host refused unread:
    /// the line then shows `"-"` for the request).
    pub method: &'a [u8],
    /// The request target (path and query).
    pub uri: &'a [u8],
    /// `HTTP/1.1` and the like.
    pub protocol: &'a str,
    /// The status sent (an error status when the app failed).
    pub status: u16,
    /// Body bytes the app produced.
    pub bytes: u64,
    /// When the request started, µs since the Unix epoch.
    pub started_us: u64,
    /// Now, µs since the Unix epoch.
    pub now_us: u64,
    /// The worker's id.
    pub worker: u32,
}

impl<'a> Entry<'a> {
    /// A request the host answered with `status` without parsing it: `"-"` for its line.
    pub fn unparsed(peer: &'a str, status: u16, now_us: u64, worker: u32) -> Self {
        Entry {
            peer,
            vars: &[],
            headers: &[],
            names: NameStyle::Http,
            method: b"",
            uri: b"",
            protocol: "",
            status,
            bytes: 0,
            started_us: now_us,
            now_us,
            worker,
        }
    }

    /// The client: `REMOTE_ADDR` from a front server's variables when there is one (the
    /// last, which is the one the app sees), else the socket peer.
    pub fn client(&self) -> &[u8] {
        match self
            .vars
            .iter()
            .rev()
            .find(|v| v.name.as_slice() == b"REMOTE_ADDR")
        {
            Some(var) => var.value.as_slice(),
            None => self.peer.as_bytes(),
        }
    }

    /// Appends the line. Bytes outside printable ASCII (and quotes) in the client, method
    /// and URI are escaped, so a request cannot forge log lines.
    fn write_to(&self, out: &mut Vec<u8>) {
        log_time::rfc3339(self.now_us, out);
        let micros = self.now_us.saturating_sub(self.started_us);
        // Writing to a Vec cannot fail.
        let _ = write!(out, "  INFO {} ", self.client().escape_ascii());
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
    pending: Arc<Mutex<Vec<u8>>>,
}

impl RequestLog {
    /// A log for the requests `selection` wants, in `format` (`--log-format`) or rsgi's own.
    pub fn new(selection: RequestLogging, format: Option<LogFormat>) -> Self {
        RequestLog {
            selection,
            format,
            pending: Arc::default(),
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
        if !self.selection.wants(entry.status) {
            return;
        }
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        match &self.format {
            Some(format) => format.write(entry, &mut pending),
            None => entry.write_to(&mut pending),
        }
        if pending.len() >= FLUSH_AT {
            write_out(&mut pending);
        }
    }

    /// Writes the pending lines (the loop calls this before it waits).
    pub fn flush(&self) {
        flush(&self.pending);
    }
}

fn flush(pending: &Mutex<Vec<u8>>) {
    let mut pending = pending.lock().unwrap_or_else(|e| e.into_inner());
    if !pending.is_empty() {
        write_out(&mut pending);
    }
}

fn write_out(pending: &mut Vec<u8>) {
    // Nothing better to do with a failed log write than to drop the lines.
    let _ = std::io::stderr().write_all(pending);
    pending.clear();
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi_stable::std_types::RSlice;

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
        entry.write_to(&mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "1970-01-01T00:00:01.001234Z  INFO 10.0.0.2\\n \"GET /a?\\\"b\\\"\\r\\nX HTTP/1.1\" 200 13 1.234 ms worker 3\n"
        );
    }

    #[test]
    fn a_request_refused_unread_shows_a_dash_for_its_line() {
        let entry = Entry::unparsed("::1", 400, 5, 1);
        let mut out = Vec::new();
        entry.write_to(&mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "1970-01-01T00:00:00.000005Z  INFO ::1 \"-\" 400 0 0.000 ms worker 1\n"
        );
    }
}
