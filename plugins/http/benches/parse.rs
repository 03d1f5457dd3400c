//! Parsing cost of a typical browser request head (10 headers), and of encoding a
//! typical response head.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use rsgi_http::config::Limits;
use rsgi_http::parse::{parse_request, Parsed};
use rsgi_http::response::encode_head;
use rsgi_plugin_api::abi_stable::std_types::{RSlice, RStr};
use rsgi_plugin_api::protocol::{HeaderSpan, ResponseContext, Version};
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
