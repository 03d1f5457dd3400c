//! Every protocol rule, each as a client's bytes and the close code they earn.

use super::*;

/// Feeds `wire`: the last event must be an error with `code`, a close frame with that code
/// queued, and the session closed, ignoring input.
fn fails_with(mut s: Session, wire: &[u8], code: u16) -> ProtocolError {
    let events: Vec<_> = s.events(wire).collect();
    let Some(Event::Error(error)) = events.last() else {
        panic!("expected close {code}, got {events:?}");
    };
    assert_eq!(error.close_code(), code, "{error:?}");
    assert!(s.is_closed());
    let frames = server_frames(&s.take_output());
    let (op, _, payload) = frames.last().expect("a close frame queued");
    assert_eq!((*op, &payload[..2]), (OP_CLOSE, &code.to_be_bytes()[..]));
    assert_eq!(s.feed(&frame(true, OP_TEXT, b"more")), (10, None));
    *error
}

fn plain_fails(wire: &[u8], code: u16) -> ProtocolError {
    fails_with(plain(), wire, code)
}

#[test]
fn unmasked_client_frame_is_1002() {
    let e = plain_fails(b"\x81\x05Hello", 1002);
    assert_eq!(e, ProtocolError::Unmasked);
}

#[test]
fn reserved_bits_without_an_extension_are_1002() {
    for first in [0xc1, 0xa1, 0x91] {
        assert_eq!(
            plain_fails(&raw_frame(first, b"x"), 1002),
            ProtocolError::ReservedBits
        );
    }
}

#[test]
fn rsv1_is_allowed_only_on_the_first_frame_of_a_compressed_message() {
    let deflate = || compressed(DeflateParams::default());
    // RSV2/RSV3 stay reserved under permessage-deflate.
    assert_eq!(
        fails_with(deflate(), &raw_frame(0xa1, b"x"), 1002),
        ProtocolError::ReservedBits
    );
    // RSV1 on a continuation frame.
    let mut wire = frame_rsv1(false, OP_TEXT, &[0xf2, 0x48]);
    wire.extend(frame_rsv1(
        true,
        OP_CONTINUATION,
        &[0xcd, 0xc9, 0xc9, 0x07, 0x00],
    ));
    assert_eq!(
        fails_with(deflate(), &wire, 1002),
        ProtocolError::ReservedBits
    );
    // RSV1 on a control frame.
    assert_eq!(
        fails_with(deflate(), &frame_rsv1(true, OP_PING, b""), 1002),
        ProtocolError::ReservedBits
    );
}

#[test]
fn unknown_opcodes_are_1002() {
    for op in [3u8, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf] {
        assert_eq!(
            plain_fails(&frame(true, op, b""), 1002),
            ProtocolError::UnknownOpcode(op)
        );
    }
}

#[test]
fn control_frames_over_125_bytes_are_1002() {
    for op in [OP_PING, OP_PONG, OP_CLOSE] {
        assert_eq!(
            plain_fails(&frame(true, op, &[b'a'; 126]), 1002),
            ProtocolError::ControlTooLong
        );
    }
}

#[test]
fn fragmented_control_frames_are_1002() {
    for op in [OP_PING, OP_PONG, OP_CLOSE] {
        assert_eq!(
            plain_fails(&frame(false, op, b""), 1002),
            ProtocolError::FragmentedControl
        );
    }
}

#[test]
fn a_continuation_without_a_start_is_1002() {
    let e = plain_fails(&frame(true, OP_CONTINUATION, b"x"), 1002);
    assert_eq!(e, ProtocolError::UnexpectedContinuation);
    // Also after a message has ended.
    let mut wire = frame(true, OP_TEXT, b"done");
    wire.extend(frame(true, OP_CONTINUATION, b"x"));
    assert_eq!(
        plain_fails(&wire, 1002),
        ProtocolError::UnexpectedContinuation
    );
}

#[test]
fn a_new_message_before_the_last_one_ended_is_1002() {
    for op in [OP_TEXT, OP_BINARY] {
        let mut wire = frame(false, OP_TEXT, b"a");
        wire.extend(frame(true, op, b"b"));
        assert_eq!(
            plain_fails(&wire, 1002),
            ProtocolError::ExpectedContinuation
        );
    }
}

#[test]
fn a_64_bit_length_with_the_top_bit_set_is_1002() {
    let wire = b"\x82\xff\x80\x00\x00\x00\x00\x00\x00\x05\x00\x00\x00\x00hello";
    assert_eq!(plain_fails(wire, 1002), ProtocolError::LengthOutOfRange);
}

#[test]
fn lengths_in_a_longer_form_than_needed_are_accepted() {
    let mut wire = b"\x81\xfe\x00\x02\x00\x00\x00\x00hi".to_vec();
    wire.extend(b"\x81\xff\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00yo");
    wire.extend(b"\x89\xfe\x00\x01\x00\x00\x00\x00!");
    let events: Vec<_> = plain().events(&wire).collect::<Vec<_>>();
    assert_eq!(events, [text("hi"), text("yo"), Event::Ping(b"!".to_vec())]);
}

#[test]
fn invalid_utf8_text_is_1007_as_soon_as_the_bad_byte_arrives() {
    // The first fragment is bad: the error comes before the rest of the message is sent.
    let mut s = plain();
    let (_, event) = s.feed(&frame(false, OP_TEXT, b"ok \xc3\x28"));
    assert_eq!(event, Some(Event::Error(ProtocolError::TextNotUtf8)));
    // Within one frame, before its end: only part of the payload has arrived.
    let mut s = plain();
    let wire = frame(true, OP_TEXT, &[b"\xff".as_slice(), &[b'a'; 1000]].concat());
    let (_, event) = s.feed(&wire[..9]); // a 16-bit length: 8 header bytes
    assert_eq!(event, Some(Event::Error(ProtocolError::TextNotUtf8)));
}

#[test]
fn invalid_utf8_across_a_fragment_boundary_is_1007() {
    let mut wire = frame(false, OP_TEXT, b"\xe2\x82");
    wire.extend(frame(true, OP_CONTINUATION, b"\x41"));
    assert_eq!(plain_fails(&wire, 1007), ProtocolError::TextNotUtf8);
    // A character cut by the message's end.
    assert_eq!(
        plain_fails(&frame(true, OP_TEXT, b"\xe2\x82"), 1007),
        ProtocolError::TextNotUtf8
    );
    // Valid when the character is completed in the next fragment.
    let mut wire = frame(false, OP_TEXT, b"\xe2\x82");
    wire.extend(frame(true, OP_CONTINUATION, b"\xac"));
    assert_eq!(plain().events(&wire).collect::<Vec<_>>(), [text("€")]);
}

#[test]
fn invalid_utf8_in_a_compressed_text_is_1007() {
    let mut client = Deflater::new(&DeflateParams::default());
    let mut packed = Vec::new();
    client.compress_message(b"bad \xff text", &mut packed);
    let wire = frame_rsv1(true, OP_TEXT, &packed);
    assert_eq!(
        fails_with(compressed(DeflateParams::default()), &wire, 1007),
        ProtocolError::TextNotUtf8
    );
}

#[test]
fn binary_messages_are_not_checked_for_utf8() {
    assert_eq!(
        plain()
            .events(&frame(true, OP_BINARY, b"\xff\xfe"))
            .collect::<Vec<_>>(),
        [binary(b"\xff\xfe")]
    );
}

fn small(max: usize, deflate: Option<DeflateParams>) -> Session {
    Session::new(
        &Config {
            max_message_size: max,
            ..Config::DEFAULT
        },
        deflate,
    )
}

#[test]
fn a_message_over_the_limit_is_1009_before_its_payload_arrives() {
    assert!(plain_ok(small(10, None), &frame(true, OP_BINARY, &[0; 10])));
    let wire = frame(true, OP_BINARY, &[0; 11]);
    let mut s = small(10, None);
    // The header alone is enough to know.
    let (_, event) = s.feed(&wire[..6]);
    assert_eq!(event, Some(Event::Error(ProtocolError::MessageTooBig)));
    // Over the limit only when the fragments add up.
    let mut wire = frame(false, OP_TEXT, &[b'a'; 6]);
    wire.extend(frame(true, OP_CONTINUATION, &[b'a'; 5]));
    assert_eq!(
        fails_with(small(10, None), &wire, 1009),
        ProtocolError::MessageTooBig
    );
}

fn plain_ok(mut s: Session, wire: &[u8]) -> bool {
    s.events(wire).all(|e| matches!(e, Event::Message { .. }))
}

#[test]
fn a_decompression_bomb_is_1009() {
    let mut client = Deflater::new(&DeflateParams::default());
    let mut bomb = Vec::new();
    client.compress_message(&vec![b'a'; 4 << 20], &mut bomb);
    let wire = frame_rsv1(true, OP_BINARY, &bomb);
    let params = Some(DeflateParams::default());
    assert_eq!(
        fails_with(small(1 << 20, params), &wire, 1009),
        ProtocolError::MessageTooBig
    );
    // The same message fits under a larger limit.
    assert!(plain_ok(small(4 << 20, params), &wire));
}

#[test]
fn corrupt_compressed_data_is_1002() {
    let wire = frame_rsv1(true, OP_BINARY, &[0xff, 0xff, 0xff]);
    let e = fails_with(compressed(DeflateParams::default()), &wire, 1002);
    assert_eq!(e, ProtocolError::BadCompression);
}

#[test]
fn a_close_payload_of_one_byte_is_1002() {
    assert_eq!(
        plain_fails(&frame(true, OP_CLOSE, b"\x03"), 1002),
        ProtocolError::CloseTooShort
    );
}

#[test]
fn invalid_close_codes_are_1002() {
    for code in [
        0u16, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
    ] {
        let wire = frame(true, OP_CLOSE, &code.to_be_bytes());
        assert_eq!(
            plain_fails(&wire, 1002),
            ProtocolError::InvalidCloseCode(code)
        );
    }
    for code in [
        1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999,
    ] {
        let events: Vec<_> = plain()
            .events(&frame(true, OP_CLOSE, &code.to_be_bytes()))
            .collect();
        assert_eq!(
            events,
            [Event::Close {
                code: Some(code),
                reason: String::new()
            }]
        );
    }
}

#[test]
fn a_close_reason_that_is_not_utf8_is_1007() {
    let wire = frame(true, OP_CLOSE, b"\x03\xe8\xce\xba\xe1\xbd");
    assert_eq!(plain_fails(&wire, 1007), ProtocolError::CloseReasonNotUtf8);
}

#[test]
fn an_error_after_our_close_queues_no_second_close() {
    let mut s = plain();
    let mut out = Vec::new();
    s.close(1000, "", &mut out).unwrap();
    let events: Vec<_> = s.events(b"\x81\x05Hello").collect();
    assert_eq!(events, [Event::Error(ProtocolError::Unmasked)]);
    assert!(s.is_closed());
    assert!(s.take_output().is_empty());
}
