//! A request copied out of the host's buffer on the host's thread, for the event loop's
//! thread to turn into a scope: the host's view is valid during `call` only, and the host's
//! thread never takes the GIL (it would wait for the loop's thread, which holds it while
//! Python runs).

use rsgi_plugin_api::{NameStyle, Request};

use crate::path_info;

/// Where a field lies in [`Incoming`]'s buffer.
#[derive(Clone, Copy, Default)]
struct Span(u32, u32);

/// What an ASGI `http` scope is made of, owned: every byte string in one buffer (one
/// allocation for them all, and one for the header spans, whatever the header count).
pub struct Incoming {
    buf: Vec<u8>,
    method: Span,
    path: Span,
    raw_path: Span,
    query: Span,
    root_path: Span,
    client_host: Span,
    server_name: Span,
    /// Header names lower-cased, values as sent; order and duplicates kept.
    headers: Vec<(Span, Span)>,
    client_port: u16,
    server_port: u16,
    /// `1.0` or `1.1`.
    pub http_version: &'static str,
    /// `http` or `https`.
    pub scheme: &'static str,
    /// The request has an `Upgrade` header (HTTP's names only: a front server over the
    /// uwsgi protocol passes no upgrade on). Only then is the host asked for an offer.
    pub asks_upgrade: bool,
    /// A WebSocket upgrade the host offers (`rsgi.exchange` v3): the subprotocols the
    /// client offered, in its order. Set by [`super::serve::call`]; the request gets a
    /// `websocket` scope.
    pub websocket: Option<Vec<String>>,
}

/// Appends `bytes` to `buf`, answering where they lie.
fn push(buf: &mut Vec<u8>, bytes: &[u8]) -> Span {
    let at = buf.len();
    buf.extend_from_slice(bytes);
    Span(at as u32, buf.len() as u32)
}

impl Incoming {
    fn get(&self, span: Span) -> &[u8] {
        &self.buf[span.0 as usize..span.1 as usize]
    }

    /// `GET`, ...
    pub fn method(&self) -> &[u8] {
        self.get(self.method)
    }

    /// The path, percent-decoded.
    pub fn path(&self) -> &[u8] {
        self.get(self.path)
    }

    /// The path as sent.
    pub fn raw_path(&self) -> &[u8] {
        self.get(self.raw_path)
    }

    /// The query string as sent, without `?`.
    pub fn query(&self) -> &[u8] {
        self.get(self.query)
    }

    /// `SCRIPT_NAME` from a front server (nginx's `uwsgi_param`), else empty.
    pub fn root_path(&self) -> &[u8] {
        self.get(self.root_path)
    }

    /// The headers: names lower-cased, values as sent; order and duplicates kept.
    pub fn headers(&self) -> impl ExactSizeIterator<Item = (&[u8], &[u8])> + '_ {
        self.headers
            .iter()
            .map(|&(name, value)| (self.get(name), self.get(value)))
    }

    /// The client's address (UTF-8) and port.
    pub fn client(&self) -> (&[u8], u16) {
        (self.get(self.client_host), self.client_port)
    }

    /// The server's name (UTF-8) and port.
    pub fn server(&self) -> (&[u8], u16) {
        (self.get(self.server_name), self.server_port)
    }

    /// Copies what the scope needs from `request`.
    pub fn from_request(request: &Request<'_>) -> Incoming {
        let var = |name: &[u8]| {
            request
                .vars
                .iter()
                .find(|v| v.name.as_slice() == name)
                .map(|v| v.value.as_slice())
        };
        let headers_len: usize = request
            .headers
            .iter()
            .map(|h| h.name.len() + h.value.len())
            .sum();
        let mut buf =
            Vec::with_capacity(headers_len + 2 * request.path.len() + request.query.len() + 64);
        let mut asks_upgrade = false;
        let mut headers = Vec::with_capacity(request.headers.len());
        match request.names {
            NameStyle::Http => {
                for h in request.headers.iter() {
                    let at = buf.len();
                    buf.extend(h.name.as_slice().iter().map(u8::to_ascii_lowercase));
                    let name = Span(at as u32, buf.len() as u32);
                    asks_upgrade |= &buf[at..] == b"upgrade";
                    let value = push(&mut buf, h.value.as_slice());
                    headers.push((name, value));
                }
            }
            _ => {
                for h in request.headers.iter() {
                    if let Some(name) = cgi_header(&mut buf, h.name.as_slice()) {
                        let value = push(&mut buf, h.value.as_slice());
                        headers.push((name, value));
                    }
                }
            }
        }
        let https = var(b"HTTPS").is_some_and(|v| v.eq_ignore_ascii_case(b"on"))
            || var(b"UWSGI_SCHEME")
                .or_else(|| var(b"REQUEST_SCHEME"))
                .is_some_and(|v| v.eq_ignore_ascii_case(b"https"))
            || request.scheme.as_str() == "https";
        let path = request.path.as_slice();
        let (decoded, raw_path) = match request.names {
            // Behind a front server: the path is its PATH_INFO (nginx sends it decoded),
            // the raw one REQUEST_URI's path.
            NameStyle::Cgi => {
                let raw = var(b"REQUEST_URI")
                    .map(|uri| uri.split(|&b| b == b'?').next().unwrap_or(uri))
                    .unwrap_or(path);
                let decoded = match var(b"PATH_INFO") {
                    Some(info) => push(&mut buf, info),
                    None => push(&mut buf, &path_info::decode(path)),
                };
                (decoded, push(&mut buf, raw))
            }
            _ => {
                let raw = push(&mut buf, path);
                let decoded = match path_info::decode(path) {
                    // Nothing to decode: the same bytes.
                    std::borrow::Cow::Borrowed(_) => raw,
                    std::borrow::Cow::Owned(d) => push(&mut buf, &d),
                };
                (decoded, raw)
            }
        };
        let method = push(&mut buf, request.method.as_slice());
        let query = push(&mut buf, request.query.as_slice());
        // A front server's variables name the client and the server it was asked as.
        let (client_host, client_port) = match var(b"REMOTE_ADDR") {
            Some(addr) => (
                push(&mut buf, String::from_utf8_lossy(addr).as_bytes()),
                port(var(b"REMOTE_PORT")),
            ),
            None => (
                push(&mut buf, request.remote_addr.as_str().as_bytes()),
                request.remote_port,
            ),
        };
        let (server_name, server_port) = match var(b"SERVER_NAME") {
            Some(name) => (
                push(&mut buf, String::from_utf8_lossy(name).as_bytes()),
                port(var(b"SERVER_PORT")),
            ),
            None => (
                push(&mut buf, request.server_name.as_str().as_bytes()),
                request.server_port,
            ),
        };
        let root_path = push(&mut buf, var(b"SCRIPT_NAME").unwrap_or_default());
        Incoming {
            buf,
            method,
            path: decoded,
            raw_path,
            query,
            root_path,
            client_host,
            server_name,
            headers,
            client_port,
            server_port,
            http_version: match request.protocol.as_str() {
                "HTTP/1.0" => "1.0",
                _ => "1.1",
            },
            scheme: if https { "https" } else { "http" },
            asks_upgrade,
            websocket: None,
        }
    }
}

/// A port from a front server's variable (0 when absent or not a number).
fn port(value: Option<&[u8]>) -> u16 {
    value
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// A header of a front server's variables (`HTTP_X_FORWARDED_FOR`, `CONTENT_TYPE`) as an
/// HTTP header name (`x-forwarded-for`, `content-type`), appended to `buf`; `None` (and
/// nothing appended) for a variable that is no header.
fn cgi_header(buf: &mut Vec<u8>, name: &[u8]) -> Option<Span> {
    let bare = match name {
        b"CONTENT_TYPE" | b"CONTENT_LENGTH" => name,
        _ => name.strip_prefix(b"HTTP_")?,
    };
    let at = buf.len();
    buf.extend(bare.iter().map(|&b| {
        if b == b'_' {
            b'-'
        } else {
            b.to_ascii_lowercase()
        }
    }));
    Some(Span(at as u32, buf.len() as u32))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::RequestSpec;

    #[test]
    fn copies_the_request_with_lowercased_headers_and_a_decoded_path() {
        let spec = RequestSpec::get("/caf%C3%A9/x?q=1")
            .header("X-Thing", "a")
            .header("x-thing", "b");
        let incoming = spec.with_request(Incoming::from_request);
        assert_eq!(incoming.path(), "/café/x".as_bytes());
        assert_eq!(incoming.raw_path(), b"/caf%C3%A9/x");
        assert_eq!(incoming.query(), b"q=1");
        assert_eq!(incoming.method(), b"GET");
        let names: Vec<_> = incoming.headers().collect();
        assert!(names.ends_with(&[
            (b"x-thing".as_slice(), b"a".as_slice()),
            (b"x-thing".as_slice(), b"b".as_slice())
        ]));
        assert_eq!((incoming.http_version, incoming.scheme), ("1.1", "http"));
        assert!(!incoming.asks_upgrade);
    }

    #[test]
    fn an_upgrade_header_is_noticed_whatever_its_case() {
        let spec = RequestSpec::get("/ws")
            .header("UPGRADE", "websocket")
            .header("Connection", "Upgrade");
        assert!(spec.with_request(Incoming::from_request).asks_upgrade);
    }

    #[test]
    fn front_server_variables_become_header_names() {
        let name = |n: &[u8]| {
            let mut buf = b"x".to_vec();
            let span = cgi_header(&mut buf, n)?;
            Some(buf[span.0 as usize..span.1 as usize].to_vec())
        };
        assert_eq!(name(b"HTTP_X_FORWARDED_FOR").unwrap(), b"x-forwarded-for");
        assert_eq!(name(b"CONTENT_TYPE").unwrap(), b"content-type");
        assert!(name(b"SERVER_NAME").is_none());
    }
}
