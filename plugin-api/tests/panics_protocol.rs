//! A protocol plugin that panics in each hook in turn, driven through the root module the
//! export macro generates, as the host drives it: every panic stays inside the library and
//! becomes the fallback the host understands (parse: refused with 500; encode_head: an
//! error, so the host answers 500; framing: nothing more written; encode_error: false, so
//! the host closes), and one log line names the plugin and the hook.

use std::sync::Mutex;

use rsgi_plugin_api::abi_stable::std_types::{RSlice, RSliceMut, RStr, RVec};
use rsgi_plugin_api::protocol::{
    DecodeOutcome, DecoderState, HeaderSpan, ParseOutcome, ParseStatus, ProtocolError, RequestHead,
    ResponseBody, ResponseContext, ResponseFraming, Version,
};
use rsgi_plugin_api::testing::{host, logged};
use rsgi_plugin_api::{ErrorKind, Header, OptionValue, PluginError, Protocol};

/// The hook that panics now.
static PANIC_IN: Mutex<&str> = Mutex::new("");

fn panic_in(hook: &'static str) {
    *PANIC_IN.lock().unwrap() = hook;
}

fn maybe_panic(hook: &str) {
    if *PANIC_IN.lock().unwrap() == hook {
        panic!("boom in {hook}");
    }
}

struct Panicky;

rsgi_plugin_api::export_protocol!(Panicky, name = "panicky");

impl Protocol for Panicky {
    fn init(_options: &[OptionValue]) -> Result<Panicky, PluginError> {
        maybe_panic("init");
        Ok(Panicky)
    }
    fn parse(&self, _buf: &[u8], _h: &mut [HeaderSpan], _v: &mut [HeaderSpan]) -> ParseOutcome {
        maybe_panic("parse");
        ParseOutcome::complete(RequestHead::default())
    }
    fn decode_body(&self, _s: &mut DecoderState, _i: &[u8], _o: &mut [u8]) -> DecodeOutcome {
        maybe_panic("decode_body");
        DecodeOutcome {
            consumed: 0,
            produced: 0,
            done: true,
            error: ProtocolError::new(0, ""),
        }
    }
    fn encode_head(
        &self,
        _c: &ResponseContext<'_>,
        _s: u16,
        _r: &str,
        _h: &[Header<'_>],
        out: &mut RVec<u8>,
    ) -> Result<ResponseFraming, ProtocolError> {
        maybe_panic("encode_head");
        out.extend_from_copy_slice(b"HTTP/1.1 200 OK\r\n\r\n");
        Ok(framing())
    }
    fn body_prefix(&self, _f: &ResponseFraming, _len: u64, out: &mut RVec<u8>) {
        out.push(b'<');
        maybe_panic("body_prefix");
    }
    fn body_end(&self, _f: &ResponseFraming, out: &mut RVec<u8>) {
        maybe_panic("body_end");
        out.push(b'>');
    }
    fn encode_error(&self, _v: Version, _s: u16, out: &mut RVec<u8>) -> bool {
        maybe_panic("encode_error");
        out.extend_from_copy_slice(b"HTTP/1.1 500\r\n\r\n");
        true
    }
}

fn framing() -> ResponseFraming {
    ResponseFraming {
        body: ResponseBody::Close,
        length: 0,
        keep_alive: false,
    }
}

fn ctx() -> ResponseContext<'static> {
    ResponseContext {
        version: Version::Http11,
        keep_alive: false,
        head_request: false,
        date: RStr::from_str(""),
        server: RStr::from_str(""),
    }
}

/// Calls one hook through the exported table: true when it gave its normal answer.
fn call(hook: &str) -> bool {
    let p = get_library().protocol().unwrap();
    match hook {
        "parse" => {
            let (mut h, mut v) = ([HeaderSpan::default(); 4], [HeaderSpan::default(); 4]);
            let o = (p.parse())(
                RSlice::from_slice(b"x"),
                RSliceMut::from_mut_slice(&mut h),
                RSliceMut::from_mut_slice(&mut v),
            );
            match o.status {
                ParseStatus::Complete => true,
                // The fallback: refused with a 500.
                _ => {
                    assert_eq!((o.status, o.error.status), (ParseStatus::Invalid, 500));
                    false
                }
            }
        }
        "decode_body" => {
            let mut out = [0u8; 4];
            let o = (p.decode_body())(
                &mut DecoderState::default(),
                RSlice::from_slice(b"1\r\n"),
                RSliceMut::from_mut_slice(&mut out),
            );
            o.error.reason.is_empty()
        }
        "encode_head" => {
            let mut out = RVec::new();
            let r = (p.encode_head())(
                &ctx(),
                200,
                RStr::from_str(""),
                RSlice::from_slice(&[]),
                &mut out,
            );
            match r.into_result() {
                Ok(_) => true,
                Err(e) => {
                    assert_eq!(e.status, 500);
                    false
                }
            }
        }
        "body_prefix" => {
            let mut out = RVec::new();
            (p.body_prefix())(&framing(), 1, &mut out);
            out.as_slice() == b"<" && *PANIC_IN.lock().unwrap() != "body_prefix"
        }
        "body_end" => {
            let mut out = RVec::new();
            (p.body_end())(&framing(), &mut out);
            out.as_slice() == b">"
        }
        "encode_error" => {
            let mut out = RVec::new();
            (p.encode_error())(Version::Http11, 500, &mut out)
        }
        other => panic!("no hook {other}"),
    }
}

/// One test: the library's value and its log are one per test binary.
#[test]
fn a_panic_in_any_hook_becomes_its_fallback_and_one_line_naming_plugin_and_hook() {
    let init = get_library().init();
    // init: an error of kind Panic naming plugin and hook, for the host to print.
    panic_in("init");
    let err = init(host(), RSlice::from_slice(&[])).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Panic);
    assert!(
        err.message
            .starts_with("plugin panicky panicked in init: boom in init (at "),
        "{}",
        err.message
    );
    panic_in("");
    init(host(), RSlice::from_slice(&[])).unwrap();

    for hook in [
        "parse",
        "decode_body",
        "encode_head",
        "body_prefix",
        "body_end",
        "encode_error",
    ] {
        assert!(call(hook), "{hook} fails without a panic");
        panic_in(hook);
        assert!(!call(hook), "{hook}: the panic went unnoticed");
        panic_in("");
        let line = format!("Error plugin panicky panicked in {hook}: boom in {hook} (at ");
        let lines = logged();
        assert_eq!(
            lines.iter().filter(|l| l.starts_with(&line)).count(),
            1,
            "{hook}: {lines:#?}"
        );
        assert!(call(hook), "{hook} fails after the panic");
    }
}
