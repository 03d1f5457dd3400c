//! A request made of owned parts.

use abi_stable::std_types::{ROption, RSlice, RStr};

use crate::request::{Header, NameStyle, Request};

/// A request made of owned parts; [`RequestSpec::with_request`] lends it out as the
/// borrowed [`Request`] the host passes to `handle`.
#[derive(Debug, Clone)]
pub struct RequestSpec {
    method: String,
    uri: String,
    protocol: String,
    scheme: String,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    vars: Vec<(Vec<u8>, Vec<u8>)>,
    names: NameStyle,
    /// The body a [`crate::testing::FakeBody`] made from it serves; its length is the
    /// request's `content_length` (none when empty).
    pub body: Vec<u8>,
}

impl RequestSpec {
    /// `GET uri` over HTTP/1.1, no headers, no body.
    pub fn get(uri: &str) -> RequestSpec {
        RequestSpec {
            method: "GET".into(),
            uri: uri.into(),
            protocol: "HTTP/1.1".into(),
            scheme: "http".into(),
            headers: Vec::new(),
            vars: Vec::new(),
            names: NameStyle::Http,
            body: Vec::new(),
        }
    }

    /// `POST uri` with a body of known length.
    pub fn post(uri: &str, body: &[u8]) -> RequestSpec {
        RequestSpec {
            method: "POST".into(),
            body: body.to_vec(),
            ..RequestSpec::get(uri)
        }
    }

    /// Another method.
    pub fn method(mut self, method: &str) -> RequestSpec {
        self.method = method.into();
        self
    }

    /// Another protocol (`HTTP/1.0`).
    pub fn protocol(mut self, protocol: &str) -> RequestSpec {
        self.protocol = protocol.into();
        self
    }

    /// Adds a header.
    pub fn header(self, name: &str, value: &str) -> RequestSpec {
        self.header_bytes(name.as_bytes(), value.as_bytes())
    }

    /// Adds a header with raw bytes.
    pub fn header_bytes(mut self, name: &[u8], value: &[u8]) -> RequestSpec {
        self.headers.push((name.to_vec(), value.to_vec()));
        self
    }

    /// Adds a protocol variable (uwsgi's `SCRIPT_NAME`, `REMOTE_ADDR`...).
    pub fn var(mut self, name: &str, value: &str) -> RequestSpec {
        self.vars
            .push((name.as_bytes().to_vec(), value.as_bytes().to_vec()));
        self
    }

    /// Sets how header names are spelled.
    pub fn names(mut self, names: NameStyle) -> RequestSpec {
        self.names = names;
        self
    }

    /// Sets the connection's scheme (`https`).
    pub fn scheme(mut self, scheme: &str) -> RequestSpec {
        self.scheme = scheme.into();
        self
    }

    /// Calls `f` with a [`Request`] borrowing from this spec (peer 127.0.0.1:54321,
    /// server 127.0.0.1:8000, worker 1).
    pub fn with_request<R>(&self, f: impl FnOnce(&Request<'_>) -> R) -> R {
        let headers = pairs(&self.headers);
        let vars = pairs(&self.vars);
        let (path, query) = self.uri.split_once('?').unwrap_or((self.uri.as_str(), ""));
        let request = Request {
            method: RSlice::from_slice(self.method.as_bytes()),
            uri: RSlice::from_slice(self.uri.as_bytes()),
            path: RSlice::from_slice(path.as_bytes()),
            query: RSlice::from_slice(query.as_bytes()),
            protocol: RStr::from_str(&self.protocol),
            scheme: RStr::from_str(&self.scheme),
            headers: RSlice::from_slice(&headers),
            names: self.names,
            vars: RSlice::from_slice(&vars),
            remote_addr: RStr::from_str("127.0.0.1"),
            remote_port: 54321,
            server_name: RStr::from_str("127.0.0.1"),
            server_port: 8000,
            content_length: if self.body.is_empty() {
                ROption::RNone
            } else {
                ROption::RSome(self.body.len() as u64)
            },
            worker_id: 1,
        };
        f(&request)
    }
}

fn pairs(list: &[(Vec<u8>, Vec<u8>)]) -> Vec<Header<'_>> {
    list.iter()
        .map(|(n, v)| Header {
            name: RSlice::from_slice(n),
            value: RSlice::from_slice(v),
        })
        .collect()
}
