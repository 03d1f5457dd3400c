//! The opening handshake, server side (RFC 6455 §4.2): check the client's request
//! headers, negotiate permessage-deflate and the subprotocol, and produce the headers of
//! the `101 Switching Protocols` answer along with the [`Session`].
//!
//! Two steps, because the application chooses the subprotocol after seeing the offer
//! (ASGI's `websocket.connect` → `websocket.accept`): [`ClientHandshake::parse`] checks the
//! request, [`ClientHandshake::accept`] answers it. [`accept`] does both at once. That the
//! method is `GET` over HTTP/1.1 is the caller's business.

use base64::prelude::{Engine, BASE64_STANDARD};
use sha1::{Digest, Sha1};

use crate::config::Config;
use crate::deflate::DeflateParams;
use crate::extension::{self, is_tchar, ExtensionOffer};
use crate::session::Session;

/// The GUID appended to the key before hashing (RFC 6455 §1.3).
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/// The only protocol version spoken (RFC 6455 §4.1).
pub const VERSION: &str = "13";

/// Why a request is not answered with `101`; [`Refusal::status`] and
/// [`Refusal::headers`] make the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No `websocket` token in `Upgrade`.
    #[error("Upgrade header without websocket")]
    NotWebSocket,
    /// No `upgrade` token in `Connection`.
    #[error("Connection header without upgrade")]
    NoConnectionUpgrade,
    /// `Sec-WebSocket-Version` missing or not 13.
    #[error("unsupported WebSocket version")]
    UnsupportedVersion,
    /// No `Sec-WebSocket-Key`.
    #[error("missing Sec-WebSocket-Key")]
    MissingKey,
    /// A `Sec-WebSocket-Key` that is not base64 of 16 bytes, or more than one.
    #[error("invalid Sec-WebSocket-Key")]
    BadKey,
    /// The application chose a subprotocol the client did not offer (the app's error,
    /// not the client's).
    #[error("subprotocol not offered by the client")]
    SubprotocolNotOffered,
}

impl Refusal {
    /// The status to answer with: 426 for a version other than 13, 500 for an
    /// application's bad choice of subprotocol, else 400.
    pub fn status(self) -> u16 {
        match self {
            Refusal::UnsupportedVersion => 426,
            Refusal::SubprotocolNotOffered => 500,
            _ => 400,
        }
    }

    /// Headers the refusal must carry: `Sec-WebSocket-Version: 13` with a 426 (RFC 6455
    /// §4.4).
    pub fn headers(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Refusal::UnsupportedVersion => &[("Sec-WebSocket-Version", VERSION)],
            _ => &[],
        }
    }
}

/// A client's opening handshake that checked out, waiting for the application's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHandshake {
    key: String,
    subprotocols: Vec<String>,
    extensions: Vec<ExtensionOffer>,
}

impl ClientHandshake {
    /// Checks the request headers (names in any case; a header may come in several
    /// lines): `Upgrade` has the token `websocket`, `Connection` the token `upgrade`,
    /// `Sec-WebSocket-Version` is 13, `Sec-WebSocket-Key` is one base64 value of 16
    /// bytes. Collects the offered subprotocols and extensions (a malformed
    /// `Sec-WebSocket-Extensions` offers none: the connection is just not compressed).
    pub fn parse(headers: &[(&[u8], &[u8])]) -> Result<ClientHandshake, Refusal> {
        let values = |name: &'static str| {
            headers
                .iter()
                .filter(move |(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
                .map(|(_, v)| *v)
        };
        if !values("upgrade").any(|v| has_token(v, "websocket")) {
            return Err(Refusal::NotWebSocket);
        }
        if !values("connection").any(|v| has_token(v, "upgrade")) {
            return Err(Refusal::NoConnectionUpgrade);
        }
        let mut versions = values("sec-websocket-version");
        match (versions.next(), versions.next()) {
            (Some(v), None) if trim(v) == VERSION.as_bytes() => {}
            _ => return Err(Refusal::UnsupportedVersion),
        }
        let mut keys = values("sec-websocket-key");
        let key = match (keys.next(), keys.next()) {
            (None, _) => return Err(Refusal::MissingKey),
            (Some(_), Some(_)) => return Err(Refusal::BadKey),
            (Some(key), None) => trim(key),
        };
        match BASE64_STANDARD.decode(key) {
            Ok(raw) if raw.len() == 16 => {}
            _ => return Err(Refusal::BadKey),
        }
        let subprotocols = values("sec-websocket-protocol")
            .flat_map(|v| v.split(|&b| b == b','))
            .map(trim)
            .filter(|t| !t.is_empty() && t.iter().copied().all(is_tchar))
            .map(|t| String::from_utf8_lossy(t).into_owned())
            .collect();
        let extensions =
            extension::parse_offers(values("sec-websocket-extensions")).unwrap_or_default();
        Ok(ClientHandshake {
            key: String::from_utf8_lossy(key).into_owned(),
            subprotocols,
            extensions,
        })
    }

    /// The subprotocols the client offered (`Sec-WebSocket-Protocol`), in its order of
    /// preference; the application picks one of them, or none.
    pub fn subprotocols(&self) -> &[String] {
        &self.subprotocols
    }

    /// The extensions the client offered.
    pub fn extensions(&self) -> &[ExtensionOffer] {
        &self.extensions
    }

    /// Answers the handshake with `subprotocol` (one of those offered, or `None`):
    /// negotiates permessage-deflate under `config` and returns the `101`'s headers and
    /// the session.
    pub fn accept(&self, subprotocol: Option<&str>, config: &Config) -> Result<Accepted, Refusal> {
        if let Some(chosen) = subprotocol {
            if !self.subprotocols.iter().any(|s| s == chosen) {
                return Err(Refusal::SubprotocolNotOffered);
            }
        }
        let mut headers = vec![
            ("Upgrade", "websocket".to_owned()),
            ("Connection", "Upgrade".to_owned()),
            ("Sec-WebSocket-Accept", accept_key(self.key.as_bytes())),
        ];
        if let Some(chosen) = subprotocol {
            headers.push(("Sec-WebSocket-Protocol", chosen.to_owned()));
        }
        let deflate =
            extension::negotiate_deflate(&self.extensions, config).map(|(params, answer)| {
                headers.push(("Sec-WebSocket-Extensions", answer));
                params
            });
        Ok(Accepted {
            headers,
            subprotocol: subprotocol.map(str::to_owned),
            subprotocols_offered: self.subprotocols.clone(),
            deflate,
            session: Session::new(config, deflate),
        })
    }
}

/// An accepted handshake.
#[derive(Debug)]
pub struct Accepted {
    /// The headers of the `101 Switching Protocols` answer: `Upgrade`, `Connection`,
    /// `Sec-WebSocket-Accept`, then `Sec-WebSocket-Protocol` and
    /// `Sec-WebSocket-Extensions` when agreed. Values are tokens and base64: no CR or LF.
    pub headers: Vec<(&'static str, String)>,
    /// The subprotocol agreed, if any.
    pub subprotocol: Option<String>,
    /// The compression agreed, if any.
    pub deflate: Option<DeflateParams>,
    /// The codec for the connection from here on.
    pub session: Session,
    subprotocols_offered: Vec<String>,
}

impl Accepted {
    /// The subprotocols the client had offered.
    pub fn subprotocols_offered(&self) -> &[String] {
        &self.subprotocols_offered
    }
}

/// [`ClientHandshake::parse`] then [`ClientHandshake::accept`], for a caller that knows
/// its subprotocol choice up front.
pub fn accept(
    headers: &[(&[u8], &[u8])],
    subprotocol: Option<&str>,
    config: &Config,
) -> Result<Accepted, Refusal> {
    ClientHandshake::parse(headers)?.accept(subprotocol, config)
}

/// `Sec-WebSocket-Accept` for a key: base64(SHA-1(key + GUID)) (RFC 6455 §4.2.2).
pub fn accept_key(key: &[u8]) -> String {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(GUID.as_bytes());
    BASE64_STANDARD.encode(sha.finalize())
}

/// True if a comma-separated header value holds `token` (case-insensitively).
fn has_token(value: &[u8], token: &str) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| trim(t).eq_ignore_ascii_case(token.as_bytes()))
}

fn trim(v: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = v.iter().position(|b| !is_ows(b)).unwrap_or(v.len());
    let end = v.iter().rposition(|b| !is_ows(b)).map_or(start, |e| e + 1);
    &v[start..end]
}

#[cfg(test)]
mod tests;
