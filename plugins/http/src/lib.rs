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
//! Every entry point exported through the root module ([`get_library`]) runs inside a
//! panic guard, so a bug here costs a request, not the worker.
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

use abi_stable::{
    export_root_module,
    prefix_type::PrefixTypeTrait,
    std_types::{RErr, RNone, ROk, RResult, RSlice, RSliceMut, RSome, RStr, RVec},
};
use rsgi_plugin_api::guard::guard_or;
use rsgi_plugin_api::protocol::{
    DecodeOutcome, DecoderState, HeaderSpan, ParseOutcome, ProtocolError, ProtocolMod,
    ResponseContext, ResponseFraming, Version,
};
use rsgi_plugin_api::{
    ErrorKind, Header, HostApi, OptionSpec, OptionValue, PluginError, PluginKind, PluginMod,
    PluginModRef,
};

use crate::parse::Parsed;

pub use root::get_library;

/// The exported root module. It lives in a private module because the export macro also
/// emits the library-header static, which cannot carry a doc comment.
mod root {
    use super::*;

    /// The plugin's root module: name `http`, a protocol plugin.
    #[export_root_module]
    pub fn get_library() -> PluginModRef {
        PluginMod {
            name: RStr::from_str("http"),
            version: RStr::from_str(env!("CARGO_PKG_VERSION")),
            kind: PluginKind::Protocol,
            options,
            init,
            protocol: RSome(
                ProtocolMod {
                    parse,
                    decode_body,
                    encode_head,
                    body_prefix,
                    body_suffix,
                    body_end,
                    encode_error,
                    encode_continue,
                }
                .leak_into_prefix(),
            ),
            app: RNone,
        }
        .leak_into_prefix()
    }
}

extern "C" fn options() -> RVec<OptionSpec> {
    guard_or("http options", RVec::new(), || RVec::from(config::specs()))
}

extern "C" fn init(host: &HostApi, opts: RSlice<'_, OptionValue>) -> RResult<(), PluginError> {
    let panicked = RErr(PluginError::new(ErrorKind::Panic, "panic in http init"));
    guard_or("http init", panicked, || {
        rsgi_plugin_api::log::install(host);
        let installed = config::from_options(opts.as_slice()).and_then(|limits| {
            config::install(limits)?;
            Ok(limits)
        });
        match installed {
            Ok(limits) => {
                tracing::debug!("http limits: {limits:?}");
                ROk(())
            }
            Err(message) => RErr(PluginError::new(ErrorKind::Config, message)),
        }
    })
}

extern "C" fn parse(
    buf: RSlice<'_, u8>,
    mut headers: RSliceMut<'_, HeaderSpan>,
    _vars: RSliceMut<'_, HeaderSpan>,
) -> ParseOutcome {
    let panicked = ParseOutcome::invalid(ProtocolError::new(500, "panic in the http parser"));
    guard_or("http parse", panicked, || {
        match parse::parse_request(buf.as_slice(), headers.as_mut_slice(), config::limits()) {
            Ok(Parsed::Complete(head)) => ParseOutcome::complete(head),
            Ok(Parsed::Partial) => ParseOutcome::partial(),
            Err(e) => ParseOutcome::invalid(e.into()),
        }
    })
}

extern "C" fn decode_body(
    state: &mut DecoderState,
    input: RSlice<'_, u8>,
    mut out: RSliceMut<'_, u8>,
) -> DecodeOutcome {
    let panicked = DecodeOutcome {
        consumed: 0,
        produced: 0,
        done: false,
        error: ProtocolError::new(500, "panic in the chunked decoder"),
    };
    guard_or("http decode_body", panicked, || {
        chunked::decode_body(state, input.as_slice(), out.as_mut_slice())
    })
}

extern "C" fn encode_head(
    ctx: &ResponseContext<'_>,
    status: u16,
    reason: RStr<'_>,
    headers: RSlice<'_, Header<'_>>,
    out: &mut RVec<u8>,
) -> RResult<ResponseFraming, ProtocolError> {
    let panicked = RErr(ProtocolError::new(
        500,
        "panic while encoding the response head",
    ));
    guard_or(
        "http encode_head",
        panicked,
        || match response::encode_head(ctx, status, reason.as_str(), headers.as_slice(), out) {
            Ok(framing) => ROk(framing),
            Err(e) => RErr(e.into()),
        },
    )
}

extern "C" fn body_prefix(framing: &ResponseFraming, len: u64, out: &mut RVec<u8>) {
    guard_or("http body_prefix", (), || body::prefix(framing, len, out))
}

extern "C" fn body_suffix(framing: &ResponseFraming, out: &mut RVec<u8>) {
    guard_or("http body_suffix", (), || body::suffix(framing, out))
}

extern "C" fn body_end(framing: &ResponseFraming, out: &mut RVec<u8>) {
    guard_or("http body_end", (), || body::end(framing, out))
}

extern "C" fn encode_error(version: Version, status: u16, out: &mut RVec<u8>) -> bool {
    guard_or("http encode_error", false, || {
        error_response::encode_error(version, status, out)
    })
}

extern "C" fn encode_continue(version: Version, out: &mut RVec<u8>) -> bool {
    guard_or("http encode_continue", false, || {
        response::encode_continue(version, out)
    })
}

#[cfg(test)]
mod tests;
