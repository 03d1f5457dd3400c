//! The plugin through its root module, as the host sees it.

use super::*;
use abi_stable::std_types::{RSlice, RSliceMut, RStr, RString, RVec};
use rsgi_plugin_api::protocol::{BodyKind, ParseStatus, ResponseBody};
use rsgi_plugin_api::testing::host;
use rsgi_plugin_api::PluginKind;

/// The protocol table, after the exported `init` ran once with the defaults (every test
/// of this file that calls an entry point goes through here, so the library's value is
/// always the default one).
fn protocol() -> rsgi_plugin_api::ProtocolModRef {
    static INIT: std::sync::Once = std::sync::Once::new();
    let m = get_library();
    INIT.call_once(|| (m.init())(host(), RSlice::from_slice(&[])).unwrap());
    m.protocol().unwrap()
}

#[test]
fn root_module_names_a_protocol_plugin() {
    let m = get_library();
    assert_eq!(m.name().as_str(), "http");
    assert_eq!(m.kind(), PluginKind::Protocol);
    assert!(m.protocol().is_some());
    assert!(m.app().is_none());
    let names: Vec<String> = (m.options())().iter().map(|o| o.name.to_string()).collect();
    assert!(names.contains(&"http-max-header-size".to_string()));
    assert!(names.contains(&"http-max-uri-size".to_string()));
    assert!(names.contains(&"http-max-headers".to_string()));
}

#[test]
fn init_accepts_defaults_and_refuses_bad_values_as_config_errors() {
    let m = get_library();
    assert!((m.init())(host(), RSlice::from_slice(&[])).is_ok());
    let bad = [OptionValue {
        name: RString::from("http-max-headers"),
        values: RVec::from(vec![RString::from("many")]),
    }];
    let err = (m.init())(host(), RSlice::from_slice(&bad)).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Config);
    assert!(err.message.contains("http-max-headers"));
}

#[test]
fn parse_entry_point_reports_partial_complete_and_invalid() {
    let p = protocol();
    let mut headers = vec![HeaderSpan::default(); 256];
    let mut vars = vec![HeaderSpan::default(); 256];
    let mut call = |buf: &[u8]| {
        (p.parse())(
            RSlice::from_slice(buf),
            RSliceMut::from_mut_slice(&mut headers),
            RSliceMut::from_mut_slice(&mut vars),
        )
    };
    assert_eq!(call(b"GET / HT").status, ParseStatus::Partial);
    let buf = b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    let done = call(buf);
    assert_eq!(done.status, ParseStatus::Complete);
    assert_eq!(done.head.body.kind, BodyKind::Chunked);
    assert_eq!(done.head.head_len as usize, buf.len());
    let bad = call(
        b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    assert_eq!(bad.status, ParseStatus::Invalid);
    assert_eq!(bad.error.status, 400);
    assert!(!bad.error.reason.as_str().is_empty());
}

#[test]
fn decode_body_entry_point_decodes_chunks() {
    let p = protocol();
    let mut state = DecoderState::default();
    let mut out = [0u8; 16];
    let o = (p.decode_body())(
        &mut state,
        RSlice::from_slice(b"2\r\nhi\r\n0\r\n\r\nGET"),
        RSliceMut::from_mut_slice(&mut out),
    );
    assert_eq!(
        (o.consumed, o.produced, o.done, o.error.status),
        (12, 2, true, 0)
    );
    assert_eq!(&out[..2], b"hi");
}

#[test]
fn response_entry_points_frame_a_chunked_body() {
    let p = protocol();
    let ctx = ResponseContext {
        version: Version::Http11,
        keep_alive: true,
        head_request: false,
        date: RStr::from_str("Thu, 01 Jan 1970 00:00:00 GMT"),
        server: RStr::from_str("rsgi"),
    };
    let headers = [Header {
        name: RSlice::from_slice(b"Content-Type"),
        value: RSlice::from_slice(b"text/plain"),
    }];
    let mut out = RVec::new();
    let framing = (p.encode_head())(
        &ctx,
        200,
        RStr::from_str(""),
        RSlice::from_slice(&headers),
        &mut out,
    )
    .unwrap();
    assert_eq!(framing.body, ResponseBody::Chunked);
    (p.body_prefix())(&framing, 5, &mut out);
    out.extend_from_slice(b"hello");
    (p.body_suffix())(&framing, &mut out);
    (p.body_end())(&framing, &mut out);
    let text = String::from_utf8(out.to_vec()).unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"));
    assert!(text.ends_with("Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"));
}

#[test]
fn encode_head_entry_point_refuses_a_split_response() {
    let p = protocol();
    let ctx = ResponseContext {
        version: Version::Http11,
        keep_alive: true,
        head_request: false,
        date: RStr::from_str(""),
        server: RStr::from_str(""),
    };
    let headers = [Header {
        name: RSlice::from_slice(b"Location"),
        value: RSlice::from_slice(b"/\r\nSet-Cookie: x=1"),
    }];
    let mut out = RVec::new();
    let err = (p.encode_head())(
        &ctx,
        302,
        RStr::from_str(""),
        RSlice::from_slice(&headers),
        &mut out,
    )
    .unwrap_err();
    assert_eq!(err.status, 500);
    assert!(out.is_empty());
}

#[test]
fn error_and_continue_entry_points_write_whole_responses() {
    let p = protocol();
    let mut out = RVec::new();
    assert!((p.encode_error())(Version::Http11, 431, &mut out));
    assert!(out
        .as_slice()
        .starts_with(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"));
    let mut out = RVec::new();
    assert!((p.encode_continue())(Version::Http11, &mut out));
    assert_eq!(out.as_slice(), b"HTTP/1.1 100 Continue\r\n\r\n");
}
