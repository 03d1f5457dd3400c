//! # rsgi-plugin-uwsgi-proto
//!
//! The uwsgi binary protocol, as nginx's `uwsgi_pass` speaks it, as an rsgi protocol plugin
//! named `uwsgi`. Sans-I/O: the host reads and writes; this crate only turns bytes into a
//! request head and a response head into bytes.
//!
//! A request is one packet, then the body:
//!
//! ```text
//! modifier1 (u8) | datasize (u16 LE) | modifier2 (u8) | vars (datasize bytes) | body
//! ```
//!
//! where each var is `key-length (u16 LE) | key | value-length (u16 LE) | value` and the
//! body is `CONTENT_LENGTH` bytes. The response is raw HTTP/1.1, ended by closing the
//! connection.
//!
//! * [`header`] decodes the 4-byte header, [`vars`] iterates over the vars,
//!   [`request`] maps them to a [`RequestHead`](rsgi_plugin_api::protocol::RequestHead);
//!   [`manage_path_info`] serves uWSGI's legacy modifier1 30.
//! * [`response`] writes the response head (and error responses).
//! * [`encode`] builds packets (tests, proxying).
//! * [`config`] holds the `buffer-size` and `max-vars` options; [`error`] the error enum.
//!
//! ```
//! use rsgi_plugin_api::protocol::HeaderSpan;
//! use rsgi_uwsgi::{config::Config, encode::encode_packet, request};
//!
//! let packet = encode_packet(0, 0, [("REQUEST_METHOD", "GET"), ("REQUEST_URI", "/hi?x=1"), ("HTTP_HOST", "a")]).unwrap();
//! let (mut headers, mut vars) = ([HeaderSpan::default(); 256], [HeaderSpan::default(); 256]);
//! let head = request::parse(&packet, &mut headers, &mut vars, &Config::default()).unwrap().unwrap();
//! assert_eq!(head.path.get(&packet), b"/hi");
//! assert_eq!(head.query.get(&packet), b"x=1");
//! assert_eq!(head.header_count, 1);
//! ```
#![deny(missing_docs)]

use abi_stable::{
    export_root_module,
    prefix_type::PrefixTypeTrait,
    sabi_extern_fn,
    std_types::{RErr, RNone, ROk, RResult, RSlice, RSliceMut, RSome, RStr, RVec},
};
use rsgi_plugin_api::{
    guard::{guard, guard_or},
    protocol::{
        DecodeOutcome, DecoderState, HeaderSpan, ParseOutcome, ProtocolError, ProtocolMod,
        ResponseContext, ResponseFraming, Version,
    },
    Header, HostApi, OptionSpec, OptionValue, PluginError, PluginKind, PluginMod, PluginModRef,
};

pub mod config;
pub mod encode;
pub mod error;
pub mod header;
pub mod manage_path_info;
pub mod request;
pub mod response;
pub mod vars;

#[cfg(test)]
mod mutation_tests;
#[cfg(test)]
mod testing;

use crate::error::UwsgiError;

/// The plugin's name, as `--plugin uwsgi` refers to it.
pub const NAME: &str = "uwsgi";

#[sabi_extern_fn]
fn options() -> RVec<OptionSpec> {
    guard_or("uwsgi options", RVec::new(), config::specs)
}

#[sabi_extern_fn]
fn init(host: &HostApi, options: RSlice<'_, OptionValue>) -> RResult<(), PluginError> {
    guard("uwsgi init", || {
        rsgi_plugin_api::log::install(host);
        let config = config::Config::from_options(options.as_slice())?;
        if !config::install(config) {
            tracing::warn!("uwsgi: init called twice; keeping the first options");
        }
        Ok(())
    })
    .into()
}

#[sabi_extern_fn]
fn parse(
    buf: RSlice<'_, u8>,
    mut headers: RSliceMut<'_, HeaderSpan>,
    mut vars: RSliceMut<'_, HeaderSpan>,
) -> ParseOutcome {
    let fallback = ParseOutcome::invalid(ProtocolError::new(0, "uwsgi parser panicked"));
    guard_or("uwsgi parse", fallback, || {
        let config = config::current();
        match request::parse(
            buf.as_slice(),
            headers.as_mut_slice(),
            vars.as_mut_slice(),
            &config,
        ) {
            Ok(None) => ParseOutcome::partial(),
            Ok(Some(head)) => ParseOutcome::complete(head),
            Err(e) => {
                if let UwsgiError::TooLarge { .. } = e {
                    tracing::warn!("{e}");
                }
                ParseOutcome::invalid(e.to_protocol_error())
            }
        }
    })
}

/// The uwsgi protocol has no chunked request bodies: the host never needs this, and a call
/// is answered with an error.
#[sabi_extern_fn]
fn decode_body(
    _state: &mut DecoderState,
    _input: RSlice<'_, u8>,
    _out: RSliceMut<'_, u8>,
) -> DecodeOutcome {
    let error = ProtocolError::new(0, "the uwsgi protocol has no chunked request bodies");
    guard_or(
        "uwsgi decode_body",
        DecodeOutcome {
            consumed: 0,
            produced: 0,
            done: true,
            error,
        },
        || DecodeOutcome {
            consumed: 0,
            produced: 0,
            done: true,
            error,
        },
    )
}

#[sabi_extern_fn]
fn encode_head(
    ctx: &ResponseContext<'_>,
    status: u16,
    reason: RStr<'_>,
    headers: RSlice<'_, Header<'_>>,
    out: &mut RVec<u8>,
) -> RResult<ResponseFraming, ProtocolError> {
    let fallback = RErr(ProtocolError::new(500, "uwsgi response encoder panicked"));
    guard_or(
        "uwsgi encode_head",
        fallback,
        || match response::encode_head(ctx, status, reason.as_str(), headers.as_slice(), out) {
            Ok(framing) => ROk(framing),
            Err(e) => RErr(e.to_protocol_error()),
        },
    )
}

/// The body goes out as is: no framing around chunks.
#[sabi_extern_fn]
fn body_prefix(_framing: &ResponseFraming, _len: u64, _out: &mut RVec<u8>) {
    guard_or("uwsgi body_prefix", (), || ())
}

/// Nothing follows a body chunk.
#[sabi_extern_fn]
fn body_suffix(_framing: &ResponseFraming, _out: &mut RVec<u8>) {
    guard_or("uwsgi body_suffix", (), || ())
}

/// The end of the body is the end of the connection: nothing to write.
#[sabi_extern_fn]
fn body_end(_framing: &ResponseFraming, _out: &mut RVec<u8>) {
    guard_or("uwsgi body_end", (), || ())
}

#[sabi_extern_fn]
fn encode_error(_version: Version, status: u16, out: &mut RVec<u8>) -> bool {
    guard_or("uwsgi encode_error", false, || {
        response::encode_error(status, out);
        true
    })
}

/// The front end handles `Expect: 100-continue` itself; there is no interim response here.
#[sabi_extern_fn]
fn encode_continue(_version: Version, _out: &mut RVec<u8>) -> bool {
    guard_or("uwsgi encode_continue", false, || false)
}

pub use root::get_library;

/// Holds the export alone: the macro adds an undocumented static next to it.
#[allow(missing_docs)]
mod root {
    use super::*;

    /// The plugin's root module: a protocol plugin named [`NAME`].
    #[export_root_module]
    pub fn get_library() -> PluginModRef {
        PluginMod {
            name: RStr::from_str(NAME),
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

#[cfg(test)]
mod tests {
    use abi_stable::std_types::RString;
    use rsgi_plugin_api::{
        protocol::{BodyKind, ParseStatus, ResponseBody},
        LogLevel, LogSink,
    };

    use super::*;
    use crate::encode::encode_packet;

    extern "C" fn discard(_level: LogLevel, _target: RStr<'_>, _message: RStr<'_>) {}

    fn host() -> HostApi {
        HostApi {
            log: LogSink { log: discard },
            max_level: LogLevel::Warn,
        }
    }

    fn run_parse(bytes: &[u8]) -> ParseOutcome {
        let mut headers = [HeaderSpan::default(); 256];
        let mut vars = [HeaderSpan::default(); 256];
        parse(
            RSlice::from_slice(bytes),
            RSliceMut::from_mut_slice(&mut headers),
            RSliceMut::from_mut_slice(&mut vars),
        )
    }

    #[test]
    fn exports_a_protocol_plugin_named_uwsgi() {
        let module = get_library();
        assert_eq!(module.name().as_str(), "uwsgi");
        assert_eq!(module.kind(), PluginKind::Protocol);
        assert!(module.protocol().is_some());
        assert!(module.app().is_none());
        let names: Vec<_> = (module.options())()
            .iter()
            .map(|o| o.name.as_str().to_string())
            .collect();
        assert_eq!(names, ["buffer-size", "max-vars"]);
    }

    #[test]
    fn init_accepts_defaults_and_refuses_bad_options() {
        assert!(init(&host(), RSlice::from_slice(&[])).is_ok());
        let bad = [OptionValue {
            name: RString::from("max-vars"),
            values: RVec::from(vec![RString::from("1000")]),
        }];
        let err = init(&host(), RSlice::from_slice(&bad)).unwrap_err();
        assert_eq!(err.kind, rsgi_plugin_api::ErrorKind::Config);
    }

    #[test]
    fn parse_entry_point_answers_partial_complete_and_invalid() {
        let packet =
            encode_packet(0, 0, [("REQUEST_METHOD", "POST"), ("CONTENT_LENGTH", "4")]).unwrap();
        assert_eq!(run_parse(&packet[..2]).status, ParseStatus::Partial);
        assert_eq!(
            run_parse(&packet[..packet.len() - 1]).status,
            ParseStatus::Partial
        );
        let outcome = run_parse(&packet);
        assert_eq!(outcome.status, ParseStatus::Complete);
        assert_eq!(outcome.head.body.kind, BodyKind::Length);
        let outcome = run_parse(b"\x00\x00\x00\x00");
        assert_eq!(outcome.status, ParseStatus::Invalid);
        assert_eq!(outcome.error.status, 0);
        assert_eq!(
            outcome.error.reason.as_str(),
            "uwsgi packet without REQUEST_METHOD"
        );
    }

    #[test]
    fn decode_body_refuses_with_an_error() {
        let mut state = DecoderState::default();
        let mut out = [0u8; 8];
        let outcome = decode_body(
            &mut state,
            RSlice::from_slice(b"5\r\nhello\r\n"),
            RSliceMut::from_mut_slice(&mut out),
        );
        assert_eq!((outcome.consumed, outcome.produced), (0, 0));
        assert!(!outcome.error.reason.is_empty());
    }

    #[test]
    fn body_framing_adds_nothing() {
        let framing = ResponseFraming {
            body: ResponseBody::Close,
            length: 0,
            keep_alive: false,
        };
        let mut out = RVec::new();
        body_prefix(&framing, 10, &mut out);
        body_suffix(&framing, &mut out);
        body_end(&framing, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn encode_error_answers_and_continue_does_not() {
        let mut out = RVec::new();
        assert!(encode_error(Version::Http10, 413, &mut out));
        assert!(out
            .as_slice()
            .starts_with(b"HTTP/1.1 413 Content Too Large\r\n"));
        let mut out = RVec::new();
        assert!(!encode_continue(Version::Http11, &mut out));
        assert!(out.is_empty());
    }

    #[test]
    fn encode_head_entry_point_maps_errors_to_500() {
        let ctx = ResponseContext {
            version: Version::Http11,
            keep_alive: false,
            head_request: false,
            date: RStr::from_str(""),
            server: RStr::from_str(""),
        };
        let bad = [Header {
            name: RSlice::from_slice(b"X"),
            value: RSlice::from_slice(b"a\r\nb"),
        }];
        let mut out = RVec::new();
        let err = encode_head(
            &ctx,
            200,
            RStr::from_str("OK"),
            RSlice::from_slice(&bad),
            &mut out,
        )
        .unwrap_err();
        assert_eq!(err.status, 500);
        assert!(out.is_empty());
    }
}
