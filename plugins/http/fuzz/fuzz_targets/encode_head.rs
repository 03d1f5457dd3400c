//! The response-head encoder on arbitrary headers: it either refuses, or writes a head that
//! a strict parser reads back as exactly one response with the headers it was given.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rsgi_http::response::encode_head;
use rsgi_plugin_api::abi_stable::std_types::{RSlice, RStr};
use rsgi_plugin_api::protocol::{ResponseContext, Version};
use rsgi_plugin_api::Header;

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let status = u16::from_le_bytes([data[0], data[1]]) % 1100;
    let flags = data[2];
    // Fields are separated by 0xff: name, value, name, value...
    let fields: Vec<&[u8]> = data[3..].split(|&b| b == 0xff).collect();
    let headers: Vec<Header<'_>> = fields
        .chunks(2)
        .filter(|pair| pair.len() == 2)
        .map(|pair| Header {
            name: RSlice::from_slice(pair[0]),
            value: RSlice::from_slice(pair[1]),
        })
        .collect();
    let ctx = ResponseContext {
        version: if flags & 1 == 0 {
            Version::Http11
        } else {
            Version::Http10
        },
        keep_alive: flags & 2 != 0,
        head_request: flags & 4 != 0,
        date: RStr::from_str("Thu, 01 Jan 1970 00:00:00 GMT"),
        server: RStr::from_str("rsgi"),
    };
    let mut out = Vec::new();
    let Ok(framing) = encode_head(&ctx, status, "", &headers, &mut out) else {
        assert!(out.is_empty());
        return;
    };
    // Room for every header given and the ones the encoder adds (Server, Date,
    // Transfer-Encoding, Connection): a fixed array was too small for inputs with over 500
    // headers, which the encoder rightly accepts.
    let mut parsed = vec![httparse::EMPTY_HEADER; headers.len() + 8];
    let mut response = httparse::Response::new(&mut parsed);
    let status_read = response.parse(&out).expect("encoded head parses");
    assert_eq!(status_read, httparse::Status::Complete(out.len()));
    assert_eq!(response.code, Some(status));
    if framing.body == rsgi_plugin_api::protocol::ResponseBody::Chunked {
        assert!(response
            .headers
            .iter()
            .any(|h| h.name == "Transfer-Encoding" && h.value == b"chunked"));
    }
});
