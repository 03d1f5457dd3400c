//! `Sec-WebSocket-Extensions` (RFC 6455 §9.1) and the permessage-deflate negotiation
//! (RFC 7692 §7.1).
//!
//! ```text
//! extension-list = 1#extension
//! extension      = token *( ";" param )
//! param          = token [ "=" ( token / quoted-string ) ]
//! ```
//!
//! The offers are tried in the client's order of preference; the first one the server can
//! honour is accepted. An offer with an unknown or repeated parameter, or a value out of
//! range, is declined (RFC 7692 §7.1), and so is `server_max_window_bits=8`, a window
//! flate2's compressor cannot use. A header that does not parse declines every extension
//! in it: the connection goes on uncompressed.

use crate::config::Config;
use crate::deflate::DeflateParams;

/// The registered name of the extension (RFC 7692 §7).
pub const PERMESSAGE_DEFLATE: &str = "permessage-deflate";

/// One extension offered by the client, with its parameters as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionOffer {
    /// The extension's name (compared case-insensitively).
    pub name: String,
    /// The parameters: name and value (unquoted), in order.
    pub params: Vec<(String, Option<String>)>,
}

/// Every extension offered in the header lines given (values of `Sec-WebSocket-Extensions`),
/// or `None` if one of them does not parse.
pub fn parse_offers<'a>(values: impl IntoIterator<Item = &'a [u8]>) -> Option<Vec<ExtensionOffer>> {
    let mut offers = Vec::new();
    for value in values {
        let mut p = Parser { s: value, i: 0 };
        loop {
            p.skip_ows();
            if p.eat(b',') {
                continue; // empty list elements are allowed (RFC 9110 §5.6.1)
            }
            if p.at_end() {
                break;
            }
            let name = p.token()?;
            let mut params = Vec::new();
            p.skip_ows();
            while p.eat(b';') {
                p.skip_ows();
                let param = p.token()?;
                p.skip_ows();
                let value = if p.eat(b'=') {
                    p.skip_ows();
                    let v = if p.peek() == Some(b'"') {
                        p.quoted()?
                    } else {
                        p.token()?
                    };
                    p.skip_ows();
                    Some(v)
                } else {
                    None
                };
                params.push((param, value));
            }
            offers.push(ExtensionOffer { name, params });
            if !p.eat(b',') && !p.at_end() {
                return None;
            }
        }
    }
    Some(offers)
}

/// The first permessage-deflate offer the server can honour under `config`: the
/// parameters to use and the `Sec-WebSocket-Extensions` value to answer with.
pub fn negotiate_deflate(
    offers: &[ExtensionOffer],
    config: &Config,
) -> Option<(DeflateParams, String)> {
    if !config.permessage_deflate {
        return None;
    }
    offers
        .iter()
        .filter(|o| o.name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE))
        .find_map(|o| accept_offer(o, config))
}

/// What the client asked for in one permessage-deflate offer.
#[derive(Default)]
struct Asked {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    client_max_window_bits: bool,
}

fn accept_offer(offer: &ExtensionOffer, config: &Config) -> Option<(DeflateParams, String)> {
    let mut asked = Asked::default();
    let mut seen = Vec::new();
    for (name, value) in &offer.params {
        let name = name.to_ascii_lowercase();
        if seen.contains(&name) {
            return None;
        }
        match (name.as_str(), value) {
            ("server_no_context_takeover", None) => asked.server_no_context_takeover = true,
            ("client_no_context_takeover", None) => asked.client_no_context_takeover = true,
            ("server_max_window_bits", Some(v)) => {
                asked.server_max_window_bits = Some(window_bits(v)?)
            }
            ("client_max_window_bits", None) => asked.client_max_window_bits = true,
            ("client_max_window_bits", Some(v)) => {
                window_bits(v)?;
                asked.client_max_window_bits = true;
            }
            _ => return None,
        }
        seen.push(name);
    }
    if asked.server_max_window_bits == Some(8) {
        return None; // flate2 (like zlib) compresses with 9 to 15 bits only
    }
    let ours = config.deflate_window_bits.clamp(9, 15);
    let server_bits = asked.server_max_window_bits.map_or(ours, |b| b.min(ours));
    let params = DeflateParams {
        server_no_context_takeover: asked.server_no_context_takeover
            || config.server_no_context_takeover,
        client_no_context_takeover: asked.client_no_context_takeover,
        server_max_window_bits: server_bits,
        // We inflate with a 15-bit window, which reads any stream, so we never ask the
        // client for less (and may not answer client_max_window_bits unless offered).
        client_max_window_bits: 15,
        level: config.compression_level.min(9),
    };
    let mut answer = String::from(PERMESSAGE_DEFLATE);
    if params.server_no_context_takeover {
        answer.push_str("; server_no_context_takeover");
    }
    if params.client_no_context_takeover {
        answer.push_str("; client_no_context_takeover");
    }
    if asked.server_max_window_bits.is_some() || server_bits < 15 {
        answer.push_str(&format!("; server_max_window_bits={server_bits}"));
    }
    Some((params, answer))
}

/// A window size value: a decimal 8 to 15 without leading zeros (RFC 7692 §7.1.2).
fn window_bits(v: &str) -> Option<u8> {
    if v.starts_with('0') || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok().filter(|b| (8..=15).contains(b))
}

/// A cursor over one header value.
struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn at_end(&self) -> bool {
        self.i == self.s.len()
    }
    fn eat(&mut self, b: u8) -> bool {
        let hit = self.peek() == Some(b);
        self.i += usize::from(hit);
        hit
    }
    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }
    fn token(&mut self) -> Option<String> {
        let start = self.i;
        while self.peek().is_some_and(is_tchar) {
            self.i += 1;
        }
        (self.i > start).then(|| String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }
    /// A quoted-string; its content must itself be a token (RFC 6455 §9.1).
    fn quoted(&mut self) -> Option<String> {
        self.eat(b'"');
        let mut out = Vec::new();
        loop {
            match self.peek()? {
                b'"' => break,
                b'\\' => {
                    self.i += 1;
                    out.push(self.peek()?);
                }
                b => out.push(b),
            }
            self.i += 1;
        }
        self.i += 1;
        (!out.is_empty() && out.iter().copied().all(is_tchar))
            .then(|| String::from_utf8_lossy(&out).into_owned())
    }
}

/// A token character (RFC 9110 §5.6.2).
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests;
