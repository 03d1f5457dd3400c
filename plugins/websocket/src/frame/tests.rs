use super::*;

fn parse(bytes: &[u8]) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
    parse_header(bytes)
}

#[test]
fn reads_the_rfc_single_frame_unmasked_text() {
    // RFC 6455 §5.7: a single-frame unmasked text message "Hello".
    let (h, n) = parse(b"\x81\x05Hello").unwrap().unwrap();
    assert_eq!(n, 2);
    assert!(h.fin && !h.rsv1 && h.mask.is_none());
    assert_eq!((h.opcode, h.payload_len), (OpCode::Text, 5));
}

#[test]
fn reads_the_rfc_masked_text_and_unmasks_it() {
    // RFC 6455 §5.7: a single-frame masked text message "Hello".
    let wire = b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";
    let (h, n) = parse(wire).unwrap().unwrap();
    assert_eq!((n, h.payload_len), (6, 5));
    let mut payload = wire[n..].to_vec();
    apply_mask(&mut payload, h.mask.unwrap(), 0);
    assert_eq!(payload, b"Hello");
}

#[test]
fn reads_16_and_64_bit_lengths() {
    // RFC 6455 §5.7: 256 bytes in one unmasked binary frame, then 64 KiB.
    let (h, n) = parse(b"\x82\x7e\x01\x00").unwrap().unwrap();
    assert_eq!((n, h.payload_len), (4, 256));
    let (h, n) = parse(b"\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00")
        .unwrap()
        .unwrap();
    assert_eq!((n, h.payload_len), (10, 65536));
}

#[test]
fn accepts_lengths_in_a_longer_form_than_needed() {
    let (h, _) = parse(b"\x82\x7e\x00\x05").unwrap().unwrap();
    assert_eq!(h.payload_len, 5);
    let (h, _) = parse(b"\x82\x7f\x00\x00\x00\x00\x00\x00\x00\x05")
        .unwrap()
        .unwrap();
    assert_eq!(h.payload_len, 5);
}

#[test]
fn refuses_a_64_bit_length_with_the_top_bit_set() {
    let wire = b"\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00";
    assert_eq!(parse(wire), Err(ProtocolError::LengthOutOfRange));
}

#[test]
fn refuses_reserved_opcodes() {
    for op in [3u8, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf] {
        assert_eq!(
            parse(&[0x80 | op, 0x80]),
            Err(ProtocolError::UnknownOpcode(op))
        );
    }
}

#[test]
fn refuses_long_or_fragmented_control_frames() {
    assert_eq!(
        parse(b"\x89\xfe\x00\x7e"),
        Err(ProtocolError::ControlTooLong)
    );
    assert_eq!(parse(b"\x89\xfe"), Ok(None)); // the length is not known yet
    assert!(parse(b"\x89\xfe\x00\x05").unwrap().is_none()); // 5, in the long form: fine
    assert!(parse(b"\x89\xfd").unwrap().is_none()); // 125 is fine
    assert_eq!(parse(b"\x09\x80"), Err(ProtocolError::FragmentedControl));
}

#[test]
fn a_short_header_is_incomplete_not_an_error() {
    let wire = b"\x82\xff\x00\x00\x00\x00\x00\x01\x00\x00\x01\x02\x03\x04";
    for n in 0..wire.len() {
        assert_eq!(parse(&wire[..n]), Ok(None), "{n} bytes");
    }
    let (h, n) = parse(wire).unwrap().unwrap();
    assert_eq!((n, h.mask), (14, Some([1, 2, 3, 4])));
    assert_eq!(header_len(wire[1]), 14);
}

#[test]
fn writes_the_shortest_length_form() {
    for (len, header_bytes) in [(0u64, 2), (125, 2), (126, 4), (65535, 4), (65536, 10)] {
        let mut out = Vec::new();
        write_header(true, false, OpCode::Binary, len, None, &mut out);
        assert_eq!(out.len(), header_bytes, "{len}");
        let (h, n) = parse(&out).unwrap().unwrap();
        assert_eq!((h.payload_len, n), (len, header_bytes));
    }
}

#[test]
fn masking_piecewise_equals_masking_whole() {
    let key = [0x11, 0x22, 0x33, 0x44];
    let data: Vec<u8> = (0..=255).collect();
    let mut whole = data.clone();
    apply_mask(&mut whole, key, 0);
    for split in [1usize, 3, 5, 7, 8, 13, 100] {
        let mut pieces = data.clone();
        let mut offset = 0;
        for chunk in pieces.chunks_mut(split) {
            apply_mask(chunk, key, offset);
            offset += chunk.len() as u64;
        }
        assert_eq!(pieces, whole, "split {split}");
    }
    apply_mask(&mut whole, key, 0);
    assert_eq!(whole, data);
}
