//! The request-head parser on arbitrary bytes: never panics, spans stay inside the head,
//! and the answer does not depend on how the bytes were split into reads.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rsgi_http::config::Limits;
use rsgi_http::parse::{parse_request, Parsed};
use rsgi_plugin_api::protocol::{HeaderSpan, Span};

const SMALL: Limits = Limits {
    max_head: 1024,
    max_line: 256,
    max_uri: 128,
    max_headers: 8,
};

fn within(span: Span, head_len: u32) -> bool {
    span.start
        .checked_add(span.len)
        .is_some_and(|end| end <= head_len)
}

fuzz_target!(|data: &[u8]| {
    let mut headers = [HeaderSpan::default(); 256];
    for limits in [Limits::DEFAULT, SMALL] {
        let whole = parse_request(data, &mut headers, &limits);
        if let Ok(Parsed::Complete(head)) = whole {
            let n = head.head_len;
            assert!(n as usize <= data.len());
            assert!(n as usize <= limits.max_head);
            assert!(head.header_count as usize <= limits.max_headers);
            for span in [head.method, head.uri, head.path, head.query] {
                assert!(within(span, n));
            }
            for h in &headers[..head.header_count as usize] {
                assert!(within(h.name, n) && within(h.value, n));
                assert!(!h.value.get(data).contains(&b'\r'));
                assert!(!h.value.get(data).contains(&b'\n'));
            }
            // Bytes after the head cannot change it.
            let mut again = [HeaderSpan::default(); 256];
            assert_eq!(
                parse_request(&data[..n as usize], &mut again, &limits),
                whole
            );
            // A shorter prefix is never complete.
            if n > 0 {
                let shorter = parse_request(&data[..n as usize - 1], &mut again, &limits);
                assert!(!matches!(shorter, Ok(Parsed::Complete(_))));
            }
        }
        // Reads of any size: a head is complete at the same point, with the same content,
        // however the bytes arrive. (Which error a bad head gets may depend on the read
        // sizes: a line found too long mid-way versus a bad byte found later.)
        let step = 1 + data.first().map_or(0, |b| *b as usize % 64);
        let mut end = 0;
        while end < data.len() {
            end = (end + step).min(data.len());
            match parse_request(&data[..end], &mut headers, &limits) {
                Ok(Parsed::Partial) => continue,
                Ok(Parsed::Complete(head)) => {
                    assert_eq!(whole, Ok(Parsed::Complete(head)));
                    break;
                }
                Err(_) => {
                    assert!(!matches!(whole, Ok(Parsed::Complete(_))));
                    break;
                }
            }
        }
    }
});
