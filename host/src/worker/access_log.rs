//! `--log-requests`: one line per request once its response is done, in the spirit of a
//! web server's access log: client address, request line, status, body bytes, duration,
//! worker. Off by default, as in gunicorn and granian (uWSGI logs every request unless
//! `--disable-logging`); the lines are logged at `info` from this module, which the log
//! filter always lets through, so `--log-level warn` quiets the rest but not these.

use rsgi_plugin_api::Header;

/// The log target of request lines (this module's path), for the log filter.
pub const TARGET: &str = module_path!();

/// One finished request, borrowed from the connection for the length of the call.
pub struct Entry<'a> {
    /// The socket peer's address (nginx's, behind the uwsgi protocol).
    pub peer: &'a str,
    /// The protocol's variables (the uwsgi protocol's, with nginx's `REMOTE_ADDR`; none
    /// over HTTP).
    pub vars: &'a [Header<'a>],
    /// The request method as received.
    pub method: &'a [u8],
    /// The request target (path and query).
    pub uri: &'a [u8],
    /// `HTTP/1.1` and the like.
    pub protocol: &'a str,
    /// The status sent (an error status when the app failed).
    pub status: u16,
    /// Body bytes the app produced.
    pub bytes: u64,
    /// From the request's start to now.
    pub micros: u64,
    /// The worker's id.
    pub worker: u32,
}

impl Entry<'_> {
    /// The client: `REMOTE_ADDR` from a front server's variables when there is one (the
    /// last, which is the one the app sees), else the socket peer.
    fn client(&self) -> std::borrow::Cow<'_, str> {
        match self
            .vars
            .iter()
            .rev()
            .find(|v| v.name.as_slice() == b"REMOTE_ADDR")
        {
            Some(var) => String::from_utf8_lossy(var.value.as_slice()),
            None => self.peer.into(),
        }
    }

    /// Writes the line. Bytes outside printable ASCII (and quotes) in the method and URI
    /// are escaped, so a request cannot forge log lines.
    pub fn log(&self) {
        tracing::info!(
            target: TARGET,
            "{} \"{} {} {}\" {} {} {}.{:03} ms worker {}",
            self.client(),
            self.method.escape_ascii(),
            self.uri.escape_ascii(),
            self.protocol,
            self.status,
            self.bytes,
            self.micros / 1000,
            self.micros % 1000,
            self.worker
        );
    }
}
