//! The chunked decoder on arbitrary bytes, split at an arbitrary point and drained through
//! an arbitrary small buffer: the same body, end and error as in one call; and a body
//! framed by the response encoder always decodes back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rsgi_http::{body, chunked::decode_body};
use rsgi_plugin_api::protocol::{DecoderState, ResponseBody, ResponseFraming};

/// Decodes `pieces` in order; returns (body, done, error status).
fn decode(pieces: &[&[u8]], out_size: usize) -> (Vec<u8>, bool, u16) {
    let mut state = DecoderState::default();
    let mut body = Vec::new();
    let mut pending = Vec::new();
    let mut out = vec![0u8; out_size];
    for piece in pieces {
        pending.extend_from_slice(piece);
        loop {
            let o = decode_body(&mut state, &pending, &mut out);
            assert!(o.consumed <= pending.len() && o.produced <= out.len());
            body.extend_from_slice(&out[..o.produced]);
            pending.drain(..o.consumed);
            if o.error.status != 0 {
                assert_eq!(o.error.status, 400);
                return (body, false, o.error.status);
            }
            if o.done {
                return (body, true, 0);
            }
            if o.consumed == 0 && o.produced == 0 {
                break;
            }
        }
    }
    (body, false, 0)
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, input)) = data.split_first() else {
        return;
    };
    let whole = decode(&[input], 1 << 16);
    let split = (control as usize * 7) % (input.len() + 1);
    let (a, b) = input.split_at(split);
    let out_size = 1 + (control as usize % 13);
    let pieces = decode(&[a, b], out_size);
    // The body decoded before an error may differ (it stops where the error is seen),
    // but the verdict may not.
    assert_eq!((pieces.1, pieces.2), (whole.1, whole.2));
    if whole.2 == 0 {
        assert_eq!(pieces.0, whole.0);
    }

    // Round trip: frame `input` as writes of `out_size` bytes, then decode.
    let framing = ResponseFraming {
        body: ResponseBody::Chunked,
        length: 0,
        keep_alive: true,
    };
    let mut wire = Vec::new();
    for write in input.chunks(out_size) {
        body::prefix(&framing, write.len() as u64, &mut wire);
        wire.extend_from_slice(write);
        body::suffix(&framing, &mut wire);
    }
    body::end(&framing, &mut wire);
    assert_eq!(decode(&[&wire], 64), (input.to_vec(), true, 0));
});
