//! The PROXY protocol header parser on arbitrary bytes: never panics; a complete header
//! lies within the buffer, within the version's limits, and is found at the same point
//! with the same addresses whatever follows it and however the bytes arrive; every
//! shorter prefix of it is `Partial`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../src/proxy/proxy_protocol.rs"]
#[allow(dead_code)]
mod proxy_protocol;

use proxy_protocol::{parse, Parsed, V1_MAX, V2_MAX, V2_SIGNATURE};

fuzz_target!(|data: &[u8]| {
    let whole = parse(data);
    if let Parsed::Done { consumed, .. } = whole {
        assert!(consumed <= data.len());
        if data.starts_with(&V2_SIGNATURE) {
            assert!((16..=V2_MAX).contains(&consumed));
        } else {
            assert!(data.starts_with(b"PROXY ") && consumed <= V1_MAX);
            assert!(data[..consumed].ends_with(b"\r\n"));
        }
        // Bytes after the header cannot change it.
        assert_eq!(parse(&data[..consumed]), whole);
        // Every shorter prefix is Partial.
        for end in 0..consumed {
            assert_eq!(parse(&data[..end]), Parsed::Partial, "prefix of {end}");
        }
    }
    // Reads of any size: Partial until the answer, which is the same as for the whole.
    let step = 1 + data.first().map_or(0, |b| *b as usize % 32);
    let mut end = 0;
    while end < data.len() {
        end = (end + step).min(data.len());
        match parse(&data[..end]) {
            Parsed::Partial => continue,
            answer => {
                match (answer, whole) {
                    (Parsed::Done { .. }, _) => assert_eq!(answer, whole),
                    (Parsed::Invalid(_), w) => assert!(matches!(w, Parsed::Invalid(_))),
                    _ => unreachable!(),
                }
                break;
            }
        }
    }
});
