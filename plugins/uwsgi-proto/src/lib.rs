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

use abi_stable::std_types::RVec;
use rsgi_plugin_api::{
    protocol::{
        HeaderSpan, ParseOutcome, ProtocolError, ResponseContext, ResponseFraming, Version,
    },
    Header, OptionSpec, OptionValue, PluginError, Protocol,
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

/// The uwsgi protocol plugin: its options, as `init` read them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Uwsgi {
    config: config::Config,
}

rsgi_plugin_api::export_protocol!(Uwsgi, name = NAME);

impl Protocol for Uwsgi {
    fn options() -> Vec<OptionSpec> {
        config::specs().into_vec()
    }

    fn init(options: &[OptionValue]) -> Result<Uwsgi, PluginError> {
        Ok(Uwsgi {
            config: config::Config::from_options(options)?,
        })
    }

    fn parse(
        &self,
        buf: &[u8],
        headers: &mut [HeaderSpan],
        vars: &mut [HeaderSpan],
    ) -> ParseOutcome {
        match request::parse(buf, headers, vars, &self.config) {
            Ok(None) => ParseOutcome::partial(),
            Ok(Some(head)) => ParseOutcome::complete(head),
            Err(e) => {
                if let UwsgiError::TooLarge { .. } = e {
                    tracing::warn!("{e}");
                }
                ParseOutcome::invalid(e.to_protocol_error())
            }
        }
    }

    // No chunked request bodies: the default `decode_body` answers with an error.

    fn encode_head(
        &self,
        ctx: &ResponseContext<'_>,
        status: u16,
        reason: &str,
        headers: &[Header<'_>],
        out: &mut RVec<u8>,
    ) -> Result<ResponseFraming, ProtocolError> {
        response::encode_head(ctx, status, reason, headers, out).map_err(|e| e.to_protocol_error())
    }

    // The body goes out as is and ends with the connection: the default `body_prefix`,
    // `body_suffix` and `body_end` write nothing.

    fn encode_error(&self, _version: Version, status: u16, out: &mut RVec<u8>) -> bool {
        response::encode_error(status, out);
        true
    }

    // The front end handles `Expect: 100-continue` itself: the default `encode_continue`
    // has no interim response.
}

#[cfg(test)]
mod tests {
    use abi_stable::std_types::{RSlice, RSliceMut, RStr};
    use rsgi_plugin_api::{
        protocol::{BodyKind, DecoderState, ParseStatus, ResponseBody},
        testing::{host, option},
        ErrorKind, PluginKind,
    };

    use super::*;
    use crate::encode::encode_packet;

    fn run_parse(bytes: &[u8]) -> ParseOutcome {
        let mut headers = [HeaderSpan::default(); 256];
        let mut vars = [HeaderSpan::default(); 256];
        Uwsgi::default().parse(bytes, &mut headers, &mut vars)
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
        assert!(Uwsgi::init(&[]).is_ok());
        let err = Uwsgi::init(&[option("max-vars", &["1000"])]).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Config);
        // The same through the exported entry point, as the host calls it.
        let init = get_library().init();
        let bad = [option("max-vars", &["1000"])];
        assert_eq!(
            init(host(), RSlice::from_slice(&bad)).unwrap_err().kind,
            ErrorKind::Config
        );
    }

    #[test]
    fn parse_answers_partial_complete_and_invalid() {
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

    /// The only test that gives the exported `init` options it accepts: the value it makes
    /// is the library's for the rest of the test binary, so no other test relies on it.
    #[test]
    fn the_exported_parse_uses_the_options_init_was_given() {
        let module = get_library();
        let init = module.init();
        init(
            host(),
            RSlice::from_slice(&[option("buffer-size", &["16"])]),
        )
        .unwrap();
        let packet =
            encode_packet(0, 0, [("REQUEST_METHOD", "GET"), ("REQUEST_URI", "/x")]).unwrap();
        let parse = module.protocol().unwrap().parse();
        let mut headers = [HeaderSpan::default(); 8];
        let mut vars = [HeaderSpan::default(); 8];
        let outcome = parse(
            RSlice::from_slice(&packet),
            RSliceMut::from_mut_slice(&mut headers),
            RSliceMut::from_mut_slice(&mut vars),
        );
        assert_eq!(outcome.status, ParseStatus::Invalid, "{outcome:?}");
    }

    #[test]
    fn decode_body_refuses_with_an_error() {
        let mut state = DecoderState::default();
        let mut out = [0u8; 8];
        let outcome = Uwsgi::default().decode_body(&mut state, b"5\r\nhello\r\n", &mut out);
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
        let uwsgi = Uwsgi::default();
        let mut out = RVec::new();
        uwsgi.body_prefix(&framing, 10, &mut out);
        uwsgi.body_suffix(&framing, &mut out);
        uwsgi.body_end(&framing, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn encode_error_answers_and_continue_does_not() {
        let uwsgi = Uwsgi::default();
        let mut out = RVec::new();
        assert!(uwsgi.encode_error(Version::Http10, 413, &mut out));
        assert!(out
            .as_slice()
            .starts_with(b"HTTP/1.1 413 Content Too Large\r\n"));
        let mut out = RVec::new();
        assert!(!uwsgi.encode_continue(Version::Http11, &mut out));
        assert!(out.is_empty());
    }

    #[test]
    fn encode_head_maps_errors_to_500() {
        let ctx = ResponseContext {
            version: Version::Http11,
            keep_alive: false,
            head_request: false,
            date: RStr::from_str(""),
            server: RStr::from_str(""),
        };
        let bad = [Header::new(b"X", b"a\r\nb")];
        let mut out = RVec::new();
        let err = Uwsgi::default()
            .encode_head(&ctx, 200, "OK", &bad, &mut out)
            .unwrap_err();
        assert_eq!(err.status, 500);
        assert!(out.is_empty());
    }
}
