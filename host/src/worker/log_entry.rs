//! One finished request as the request log sees it: what the line and `--log-format`'s
//! placeholders are made of.

use rsgi_plugin_api::{Header, NameStyle};

/// One finished request, borrowed from the connection for the length of the call.
pub struct Entry<'a> {
    /// The client's address as the connection knows it: the socket peer (nginx's, behind
    /// the uwsgi protocol), the source a PROXY protocol header named, or the client a
    /// trusted proxy's `X-Forwarded-For` / `Forwarded` named (host/src/proxy).
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

    /// The client: with `forwarded_for` (`--log-x-forwarded-for`), the first address of
    /// the request's `X-Forwarded-For` if it has one; else `REMOTE_ADDR` from a front
    /// server's variables when there is one (the last, which is the one the app sees); else
    /// the socket peer.
    pub fn client(&self, forwarded_for: bool) -> &[u8] {
        if let Some(first) = forwarded_for.then(|| self.forwarded_for()).flatten() {
            return first;
        }
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

    /// The first address of the (first) `X-Forwarded-For` header, trimmed, if not empty.
    fn forwarded_for(&self) -> Option<&[u8]> {
        let name: &[u8] = match self.names {
            NameStyle::Http => b"x-forwarded-for",
            NameStyle::Cgi => b"HTTP_X_FORWARDED_FOR",
        };
        let header = self
            .headers
            .iter()
            .find(|h| h.name.as_slice().eq_ignore_ascii_case(name))?;
        let first = header.value.as_slice().split(|&b| b == b',').next()?;
        Some(first.trim_ascii()).filter(|f| !f.is_empty())
    }
}
