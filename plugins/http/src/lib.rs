//! # rsgi-plugin-http
//!
//! The HTTP/1.1 protocol plugin of rsgi, sans-I/O: the host owns the sockets and the
//! buffers, this crate turns bytes into request heads and response heads into bytes.
//!
//! * [`parse`] — request head via `httparse`, spans into the host's buffer, size limits;
//! * [`framing`] — request body length with the request-smuggling rules;
//! * [`connection`] — keep-alive and `Expect: 100-continue`;
//! * [`chunked`] — the chunked-body decoder (a state enum with one `step`);
//! * [`response`] — status line, headers and the response framing;
//! * [`body`] — chunk framing around response body writes;
//! * [`error_response`] — the canned answer to a refused request;
//! * [`config`] — the plugin's options (`http-max-header-size`, ...).
//!
//! [`Http`] is the plugin, written on the SDK's `Protocol` trait; `export_protocol!`
//! exports it ([`get_library`]) with every entry point inside a panic guard, so a bug here
//! costs a request, not the worker.
//!
//! ```
//! use rsgi_http::{config::Limits, parse::{parse_request, Parsed}};
//! use rsgi_plugin_api::protocol::{BodyKind, HeaderSpan};
//!
//! let buf = b"POST /form?x=1 HTTP/1.1\r\nHost: example.com\r\nContent-Length: 3\r\n\r\nabc";
//! let mut headers = [HeaderSpan::default(); 16];
//! let Ok(Parsed::Complete(head)) = parse_request(buf, &mut headers, &Limits::DEFAULT) else {
//!     panic!("a valid request")
//! };
//! assert_eq!(head.path.get(buf), b"/form");
//! assert_eq!(head.query.get(buf), b"x=1");
//! assert_eq!(head.body.kind, BodyKind::Length);
//! assert_eq!(&buf[head.head_len as usize..], b"abc");
//! ```
#![deny(missing_docs)]

pub mod body;
pub mod chunked;
pub mod config;
pub mod connection;
pub mod error;
pub mod error_response;
pub mod field;
pub mod framing;
pub mod parse;
pub mod response;
pub mod sink;

use abi_stable::std_types::RVec;
use rsgi_plugin_api::protocol::{
    DecodeOutcome, DecoderState, HeaderSpan, ParseOutcome, ProtocolError, ResponseContext,
    ResponseFraming, Version,
};
use rsgi_plugin_api::{ErrorKind, Header, OptionSpec, OptionValue, PluginError, Protocol};

use crate::config::Limits;
use crate::parse::Parsed;

/// The HTTP/1.1 plugin: the limits `init` read from its options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Http {
    limits: Limits,
}

rsgi_plugin_api::export_protocol!(Http, name = "http");

impl Http {
    /// The plugin with these limits.
    pub fn new(limits: Limits) -> Http {
        Http { limits }
    }
}

impl Protocol for Http {
    fn options() -> Vec<OptionSpec> {
        config::specs()
    }

    fn init(options: &[OptionValue]) -> Result<Http, PluginError> {
        let limits = config::from_options(options)
            .map_err(|message| PluginError::new(ErrorKind::Config, message))?;
        tracing::debug!("http limits: {limits:?}");
        Ok(Http { limits })
    }

    fn parse(
        &self,
        buf: &[u8],
        headers: &mut [HeaderSpan],
        _vars: &mut [HeaderSpan],
    ) -> ParseOutcome {
        match parse::parse_request(buf, headers, &self.limits) {
            Ok(Parsed::Complete(head)) => ParseOutcome::complete(head),
            Ok(Parsed::Partial) => ParseOutcome::partial(),
            Err(e) => ParseOutcome::invalid(e.into()),
        }
    }

    fn decode_body(&self, state: &mut DecoderState, input: &[u8], out: &mut [u8]) -> DecodeOutcome {
        chunked::decode_body(state, input, out)
    }

    fn encode_head(
        &self,
        ctx: &ResponseContext<'_>,
        status: u16,
        reason: &str,
        headers: &[Header<'_>],
        out: &mut RVec<u8>,
    ) -> Result<ResponseFraming, ProtocolError> {
        response::encode_head(ctx, status, reason, headers, out).map_err(Into::into)
    }

    fn body_prefix(&self, framing: &ResponseFraming, len: u64, out: &mut RVec<u8>) {
        body::prefix(framing, len, out)
    }

    fn body_suffix(&self, framing: &ResponseFraming, out: &mut RVec<u8>) {
        body::suffix(framing, out)
    }

    fn body_end(&self, framing: &ResponseFraming, out: &mut RVec<u8>) {
        body::end(framing, out)
    }

    fn encode_error(&self, version: Version, status: u16, out: &mut RVec<u8>) -> bool {
        error_response::encode_error(version, status, out)
    }

    fn encode_continue(&self, version: Version, out: &mut RVec<u8>) -> bool {
        response::encode_continue(version, out)
    }
}

#[cfg(test)]
mod tests;
