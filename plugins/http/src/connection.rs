//! What a request says about the connection: `Connection` (keep-alive or close) and
//! `Expect: 100-continue`.

use rsgi_plugin_api::protocol::Version;

use crate::field;

/// Connection-related facts gathered from the request headers, one header at a time.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionHeaders {
    close: bool,
    keep_alive: bool,
    expect_continue: bool,
}

impl ConnectionHeaders {
    /// Looks at one header; returns true when it was a header this type cares about.
    pub fn header(&mut self, name: &[u8], value: &[u8]) -> bool {
        if name.eq_ignore_ascii_case(b"connection") {
            for token in field::list(value) {
                if token.eq_ignore_ascii_case(b"close") {
                    self.close = true;
                } else if token.eq_ignore_ascii_case(b"keep-alive") {
                    self.keep_alive = true;
                }
            }
            true
        } else if name.eq_ignore_ascii_case(b"expect") {
            // Only 100-continue means anything; other expectations are ignored (RFC 9110
            // lets a server answer 417 to them; ignoring them is what most servers do).
            if value.eq_ignore_ascii_case(b"100-continue") {
                self.expect_continue = true;
            }
            true
        } else {
            false
        }
    }

    /// Whether the client lets the connection stay open: HTTP/1.1 unless it said
    /// `close`; HTTP/1.0 only when it said `keep-alive` (and not `close`).
    pub fn keep_alive(&self, version: Version) -> bool {
        match version {
            Version::Http11 => !self.close,
            Version::Http10 => self.keep_alive && !self.close,
        }
    }

    /// Whether the client waits for `100 Continue` before sending the body: HTTP/1.1 only
    /// (a 1.0 client cannot understand an interim response), and only when there is a body
    /// to wait for.
    pub fn expect_continue(&self, version: Version, has_body: bool) -> bool {
        self.expect_continue && version == Version::Http11 && has_body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gather(headers: &[(&[u8], &[u8])]) -> ConnectionHeaders {
        let mut c = ConnectionHeaders::default();
        for (n, v) in headers {
            c.header(n, v);
        }
        c
    }

    #[test]
    fn http11_keeps_alive_unless_close() {
        assert!(gather(&[]).keep_alive(Version::Http11));
        assert!(!gather(&[(b"Connection", b"close")]).keep_alive(Version::Http11));
        assert!(!gather(&[(b"connection", b"Upgrade, CLOSE")]).keep_alive(Version::Http11));
    }

    #[test]
    fn http10_keeps_alive_only_when_asked() {
        assert!(!gather(&[]).keep_alive(Version::Http10));
        assert!(gather(&[(b"Connection", b"Keep-Alive")]).keep_alive(Version::Http10));
        assert!(
            !gather(&[(b"Connection", b"keep-alive"), (b"Connection", b"close")])
                .keep_alive(Version::Http10)
        );
    }

    #[test]
    fn expect_continue_needs_http11_and_a_body() {
        let c = gather(&[(b"Expect", b"100-Continue")]);
        assert!(c.expect_continue(Version::Http11, true));
        assert!(!c.expect_continue(Version::Http10, true));
        assert!(!c.expect_continue(Version::Http11, false));
        assert!(!gather(&[(b"Expect", b"200-ok")]).expect_continue(Version::Http11, true));
    }

    #[test]
    fn ignores_unrelated_headers() {
        let mut c = ConnectionHeaders::default();
        assert!(!c.header(b"Host", b"close"));
        assert_eq!(c, ConnectionHeaders::default());
    }
}
