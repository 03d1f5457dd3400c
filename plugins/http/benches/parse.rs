//! Parsing cost of a typical browser request head (10 headers), and of encoding a
//! typical response head.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use rsgi_http::config::Limits;
use rsgi_http::parse::{parse_request, Parsed};
use rsgi_http::response::encode_head;
use rsgi_plugin_api::abi_stable::std_types::{RSlice, RSliceMut, RStr};
use rsgi_plugin_api::protocol::{
    HeaderSpan, ParseOutcome, ParseStatus, ProtocolError, ResponseContext, Version,
};
use rsgi_plugin_api::Header;

const BROWSER_REQUEST: &[u8] =
    b"GET /articles/2024/sans-io-parsers?utm_source=feed&page=2 HTTP/1.1\r\n\
Host: www.example.com\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\
Accept-Language: en-US,en;q=0.5\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Referer: https://www.example.com/articles/\r\n\
Connection: keep-alive\r\n\
Cookie: session=3f9a1c2e7b5d4a8f; theme=dark; _ga=GA1.2.1234567890.1700000000\r\n\
Upgrade-Insecure-Requests: 1\r\n\
Priority: u=0, i\r\n\
\r\n";

fn parse_browser_request(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(1));
    group.bench_function("browser_request_10_headers", |b| {
        let mut headers = [HeaderSpan::default(); 256];
        b.iter(|| {
            let parsed = parse_request(black_box(BROWSER_REQUEST), &mut headers, &Limits::DEFAULT);
            assert!(matches!(parsed, Ok(Parsed::Complete(_))));
            parsed
        })
    });
    // The same request through the plugin's exported entry point, as the host calls it:
    // what the SDK's shim (panic guard, the plugin's value behind a OnceLock) adds.
    group.bench_function(
        "browser_request_10_headers_through_the_exported_shim",
        |b| {
            let module = rsgi_http::get_library();
            (module.init())(rsgi_plugin_api::testing::host(), RSlice::from_slice(&[])).unwrap();
            let parse = module.protocol().unwrap().parse();
            let mut headers = [HeaderSpan::default(); 256];
            let mut vars = [HeaderSpan::default(); 8];
            b.iter(|| {
                let outcome = parse(
                    RSlice::from_slice(black_box(BROWSER_REQUEST)),
                    RSliceMut::from_mut_slice(&mut headers),
                    RSliceMut::from_mut_slice(&mut vars),
                );
                assert_eq!(outcome.status, ParseStatus::Complete);
                outcome
            })
        },
    );
    // The same through a shim written as plugins of ABI 0.1 wrote theirs by hand (a
    // fallback built up front, the body in catch_unwind, the limits from a static): the
    // 0.1 cost of the line above.
    group.bench_function("browser_request_10_headers_through_a_0_1_style_shim", |b| {
        let mut headers = [HeaderSpan::default(); 256];
        let mut vars = [HeaderSpan::default(); 8];
        b.iter(|| {
            let outcome = shim_0_1(
                RSlice::from_slice(black_box(BROWSER_REQUEST)),
                RSliceMut::from_mut_slice(&mut headers),
                RSliceMut::from_mut_slice(&mut vars),
            );
            assert_eq!(outcome.status, ParseStatus::Complete);
            outcome
        })
    });
    // The same request through httparse alone: what the checks above cost on top of it.
    group.bench_function("httparse_baseline", |b| {
        let mut headers = [httparse::EMPTY_HEADER; 100];
        b.iter(|| {
            let mut req = httparse::Request::new(&mut headers);
            let status = req.parse(black_box(BROWSER_REQUEST)).unwrap();
            assert!(status.is_complete());
            status
        })
    });
    group.finish();
}

/// The http plugin's `parse` entry point as ABI 0.1 had it (before the SDK), for the
/// comparison above.
extern "C" fn shim_0_1(
    buf: RSlice<'_, u8>,
    mut headers: RSliceMut<'_, HeaderSpan>,
    _vars: RSliceMut<'_, HeaderSpan>,
) -> ParseOutcome {
    static LIMITS: std::sync::OnceLock<Limits> = std::sync::OnceLock::new();
    let panicked = ParseOutcome::invalid(ProtocolError::new(500, "panic in the http parser"));
    let limits = LIMITS.get_or_init(Limits::default);
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        match parse_request(buf.as_slice(), headers.as_mut_slice(), limits) {
            Ok(Parsed::Complete(head)) => ParseOutcome::complete(head),
            Ok(Parsed::Partial) => ParseOutcome::partial(),
            Err(e) => ParseOutcome::invalid(e.into()),
        }
    }))
    .unwrap_or(panicked)
}

fn encode_response_head(c: &mut Criterion) {
    let ctx = ResponseContext {
        version: Version::Http11,
        keep_alive: true,
        head_request: false,
        date: RStr::from_str("Sun, 06 Nov 1994 08:49:37 GMT"),
        server: RStr::from_str("rsgi"),
    };
    let header = |n: &'static str, v: &'static str| Header {
        name: RSlice::from_slice(n.as_bytes()),
        value: RSlice::from_slice(v.as_bytes()),
    };
    let headers = [
        header("Content-Type", "text/html; charset=utf-8"),
        header("Content-Length", "5120"),
        header("Cache-Control", "max-age=60"),
        header("Set-Cookie", "session=3f9a1c2e7b5d4a8f; Path=/; HttpOnly"),
    ];
    let mut out = Vec::with_capacity(512);
    c.bench_function("encode/response_head_4_headers", |b| {
        b.iter(|| {
            out.clear();
            encode_head(&ctx, black_box(200), "", &headers, &mut out).unwrap()
        })
    });
}

criterion_group!(benches, parse_browser_request, encode_response_head);
criterion_main!(benches);
