//! A request copied out of the host's buffer on the host's thread, for the event loop's
//! thread to turn into a scope: the host's view is valid during `call` only, and the host's
//! thread never takes the GIL (it would wait for the loop's thread, which holds it while
//! Python runs).

use rsgi_plugin_api::{Header, NameStyle, Request};

use crate::path_info;

/// What an ASGI `http` scope is made of, owned.
pub struct Incoming {
    /// `GET`, ...
    pub method: Vec<u8>,
    /// The path, percent-decoded.
    pub path: Vec<u8>,
    /// The path as sent.
    pub raw_path: Vec<u8>,
    /// The query string as sent, without `?`.
    pub query: Vec<u8>,
    /// `1.0` or `1.1`.
    pub http_version: &'static str,
    /// `http` or `https`.
    pub scheme: &'static str,
    /// Header names lower-cased, values as sent; order and duplicates kept.
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    /// The client's address and port.
    pub client: (String, u16),
    /// The server's name and port.
    pub server: (String, u16),
    /// `SCRIPT_NAME` from a front server (nginx's `uwsgi_param`), else empty.
    pub root_path: Vec<u8>,
    /// The request has an `Upgrade` header (HTTP's names only: a front server over the
    /// uwsgi protocol passes no upgrade on). Only then is the host asked for an offer.
    pub asks_upgrade: bool,
    /// A WebSocket upgrade the host offers (`rsgi.exchange` v3): the subprotocols the
    /// client offered, in its order. Set by [`super::serve::call`]; the request gets a
    /// `websocket` scope.
    pub websocket: Option<Vec<String>>,
}

impl Incoming {
    /// Copies what the scope needs from `request`.
    pub fn from_request(request: &Request<'_>) -> Incoming {
        let var = |name: &[u8]| {
            request
                .vars
                .iter()
                .find(|v| v.name.as_slice() == name)
                .map(|v| v.value.as_slice())
        };
        let mut asks_upgrade = false;
        let headers = match request.names {
            NameStyle::Http => request
                .headers
                .iter()
                .map(|h| {
                    let name = h.name.as_slice().to_ascii_lowercase();
                    asks_upgrade |= name == b"upgrade";
                    (name, h.value.as_slice().to_vec())
                })
                .collect(),
            _ => request.headers.iter().filter_map(cgi_header).collect(),
        };
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
                    Some(info) => info.to_vec(),
                    None => path_info::decode(path).into_owned(),
                };
                (decoded, raw.to_vec())
            }
            _ => (path_info::decode(path).into_owned(), path.to_vec()),
        };
        Incoming {
            method: request.method.as_slice().to_vec(),
            path: decoded,
            raw_path,
            query: request.query.as_slice().to_vec(),
            http_version: match request.protocol.as_str() {
                "HTTP/1.0" => "1.0",
                _ => "1.1",
            },
            scheme: if https { "https" } else { "http" },
            headers,
            // A front server's variables name the client and the server it was asked as.
            client: match var(b"REMOTE_ADDR") {
                Some(addr) => (
                    String::from_utf8_lossy(addr).into_owned(),
                    port(var(b"REMOTE_PORT")),
                ),
                None => (request.remote_addr.as_str().to_owned(), request.remote_port),
            },
            server: match var(b"SERVER_NAME") {
                Some(name) => (
                    String::from_utf8_lossy(name).into_owned(),
                    port(var(b"SERVER_PORT")),
                ),
                None => (request.server_name.as_str().to_owned(), request.server_port),
            },
            root_path: var(b"SCRIPT_NAME").unwrap_or_default().to_vec(),
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
/// HTTP header name (`x-forwarded-for`, `content-type`).
fn cgi_header(h: &Header<'_>) -> Option<(Vec<u8>, Vec<u8>)> {
    let name = h.name.as_slice();
    let bare = match name {
        b"CONTENT_TYPE" | b"CONTENT_LENGTH" => name,
        _ => name.strip_prefix(b"HTTP_")?,
    };
    let lowered = bare
        .iter()
        .map(|&b| {
            if b == b'_' {
                b'-'
            } else {
                b.to_ascii_lowercase()
            }
        })
        .collect();
    Some((lowered, h.value.as_slice().to_vec()))
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
        assert_eq!(incoming.path, "/café/x".as_bytes());
        assert_eq!(incoming.raw_path, b"/caf%C3%A9/x");
        assert_eq!(incoming.query, b"q=1");
        let names: Vec<_> = incoming
            .headers
            .iter()
            .map(|(n, v)| (n.as_slice(), v.as_slice()))
            .collect();
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
        let h = Header::new(b"HTTP_X_FORWARDED_FOR", b"1.2.3.4");
        assert_eq!(cgi_header(&h).unwrap().0, b"x-forwarded-for");
        let h = Header::new(b"CONTENT_TYPE", b"text/plain");
        assert_eq!(cgi_header(&h).unwrap().0, b"content-type");
        assert!(cgi_header(&Header::new(b"SERVER_NAME", b"x")).is_none());
    }
}
