//! The session against byte streams a client would send: the protocol rules (each with
//! the close code it earns), round trips, and the same stream in every split.

use super::*;
use crate::deflate::Deflater;

mod client;
mod rules;
mod streams;

use client::*;

fn config() -> Config {
    Config::DEFAULT
}

fn plain() -> Session {
    Session::new(&config(), None)
}

fn compressed(params: DeflateParams) -> Session {
    Session::new(&config(), Some(params))
}

fn text(s: &str) -> Event {
    Event::Message {
        kind: MessageKind::Text,
        data: s.as_bytes().to_vec(),
    }
}

fn binary(b: &[u8]) -> Event {
    Event::Message {
        kind: MessageKind::Binary,
        data: b.to_vec(),
    }
}

#[test]
fn reads_a_masked_text_message() {
    let mut s = plain();
    let events: Vec<_> = s.events(&frame(true, OP_TEXT, b"Hello")).collect();
    assert_eq!(events, [text("Hello")]);
    assert_eq!(s.state(), State::Open);
    assert!(s.output().is_empty());
}

#[test]
fn answers_a_ping_with_a_pong_of_the_same_payload() {
    let mut s = plain();
    let events: Vec<_> = s.events(&frame(true, OP_PING, b"are you there")).collect();
    assert_eq!(events, [Event::Ping(b"are you there".to_vec())]);
    assert_eq!(
        server_frames(&s.take_output()),
        [(OP_PONG, false, b"are you there".to_vec())]
    );
}

#[test]
fn reports_a_pong_and_answers_nothing() {
    let mut s = plain();
    let events: Vec<_> = s.events(&frame(true, OP_PONG, b"beat")).collect();
    assert_eq!(events, [Event::Pong(b"beat".to_vec())]);
    assert!(s.output().is_empty());
}

#[test]
fn joins_fragments_with_control_frames_between_them() {
    let mut s = plain();
    let mut wire = frame(false, OP_TEXT, b"Hel");
    wire.extend(frame(true, OP_PING, b"1"));
    wire.extend(frame(false, OP_CONTINUATION, b""));
    wire.extend(frame(true, OP_PONG, b"2"));
    wire.extend(frame(true, OP_CONTINUATION, b"lo"));
    wire.extend(frame(true, OP_BINARY, b"\xff\x00"));
    let events: Vec<_> = s.events(&wire).collect();
    assert_eq!(
        events,
        [
            Event::Ping(b"1".to_vec()),
            Event::Pong(b"2".to_vec()),
            text("Hello"),
            binary(b"\xff\x00")
        ]
    );
}

#[test]
fn echoes_a_close_and_ignores_what_follows() {
    let mut s = plain();
    let mut wire = frame(true, OP_CLOSE, b"\x03\xe8bye");
    wire.extend(frame(true, OP_TEXT, b"late"));
    let (n, event) = s.feed(&wire);
    assert_eq!(
        event,
        Some(Event::Close {
            code: Some(1000),
            reason: "bye".into()
        })
    );
    assert!(s.is_closed());
    assert_eq!(
        server_frames(&s.take_output()),
        [(OP_CLOSE, false, b"\x03\xe8".to_vec())]
    );
    assert_eq!(s.feed(&wire[n..]), (wire.len() - n, None));
    assert!(s.take_output().is_empty());
}

#[test]
fn echoes_a_close_without_a_code_with_an_empty_close() {
    let mut s = plain();
    let events: Vec<_> = s.events(&frame(true, OP_CLOSE, b"")).collect();
    assert_eq!(
        events,
        [Event::Close {
            code: None,
            reason: String::new()
        }]
    );
    assert_eq!(
        server_frames(&s.take_output()),
        [(OP_CLOSE, false, Vec::new())]
    );
}

#[test]
fn a_close_we_started_ends_with_the_peers_close_and_no_echo() {
    let mut s = plain();
    let mut out = Vec::new();
    s.close(1001, "going away", &mut out).unwrap();
    assert_eq!(
        server_frames(&out),
        [(OP_CLOSE, false, b"\x03\xe9going away".to_vec())]
    );
    assert_eq!(s.state(), State::CloseSent);
    assert_eq!(
        s.encode(MessageKind::Text, b"x", &mut out),
        Err(SendError::Closing)
    );
    assert_eq!(s.ping(b"", &mut out), Err(SendError::Closing));
    // Messages in flight are still read; a ping is reported but not answered.
    let mut wire = frame(true, OP_TEXT, b"in flight");
    wire.extend(frame(true, OP_PING, b"p"));
    wire.extend(frame(true, OP_CLOSE, b"\x03\xe9"));
    let events: Vec<_> = s.events(&wire).collect();
    assert_eq!(
        events,
        [
            text("in flight"),
            Event::Ping(b"p".to_vec()),
            Event::Close {
                code: Some(1001),
                reason: String::new()
            }
        ]
    );
    assert!(s.is_closed());
    assert!(s.take_output().is_empty());
}

#[test]
fn encodes_unmasked_frames_in_every_length_form() {
    let mut s = plain();
    for len in [0usize, 125, 126, 65535, 65536, 70_000] {
        let data = vec![b'a'; len];
        let mut out = Vec::new();
        s.encode(MessageKind::Binary, &data, &mut out).unwrap();
        assert_eq!(server_frames(&out), [(OP_BINARY, false, data)]);
    }
}

#[test]
fn refuses_to_send_what_the_protocol_forbids() {
    let mut s = plain();
    let mut out = Vec::new();
    assert_eq!(
        s.encode(MessageKind::Text, b"\xff", &mut out),
        Err(SendError::TextNotUtf8)
    );
    assert_eq!(s.ping(&[0; 126], &mut out), Err(SendError::PingTooLong));
    assert_eq!(
        s.close(1005, "", &mut out),
        Err(SendError::InvalidCloseCode(1005))
    );
    assert_eq!(
        s.close(1000, &"x".repeat(124), &mut out),
        Err(SendError::CloseReasonTooLong)
    );
    assert!(out.is_empty());
    assert_eq!(s.state(), State::Open);
    s.ping(&[7; 125], &mut out).unwrap();
    assert_eq!(server_frames(&out), [(OP_PING, false, vec![7; 125])]);
}

#[test]
fn round_trips_through_a_client_masker() {
    let mut server = plain();
    let mut wire = Vec::new();
    let big: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
    server
        .encode(MessageKind::Text, "héllo wörld".as_bytes(), &mut wire)
        .unwrap();
    server.encode(MessageKind::Binary, &big, &mut wire).unwrap();
    server.encode(MessageKind::Binary, b"", &mut wire).unwrap();
    let mut peer = plain();
    let events: Vec<_> = peer.events(&remask(&wire)).collect();
    assert_eq!(events, [text("héllo wörld"), binary(&big), binary(b"")]);
}

#[test]
fn compressed_round_trips_with_and_without_context_takeover() {
    for (server_nct, client_nct) in [(false, false), (true, false), (false, true), (true, true)] {
        let params = DeflateParams {
            server_no_context_takeover: server_nct,
            client_no_context_takeover: client_nct,
            ..DeflateParams::default()
        };
        let mut server = compressed(params);
        let mut wire = Vec::new();
        let messages = ["Hello", "Hello", "", "Hello, Hello, Hello", "ünïcödé"];
        for m in messages {
            server
                .encode(MessageKind::Text, m.as_bytes(), &mut wire)
                .unwrap();
        }
        let frames = server_frames(&wire);
        assert!(frames.iter().all(|(op, rsv1, _)| *op == OP_TEXT && *rsv1));
        // With the window kept, the second "Hello" is a back-reference (RFC 7692 §7.2.3.2).
        assert_eq!(
            frames[1].2.len() < frames[0].2.len(),
            !server_nct,
            "{params:?}"
        );
        // The server's frames, masked as a client's, read back by a session with the
        // same agreement (its inflater keeps the window unless told otherwise).
        let mut peer = compressed(DeflateParams {
            client_no_context_takeover: server_nct,
            ..DeflateParams::default()
        });
        let events: Vec<_> = peer.events(&remask(&wire)).collect();
        let expected: Vec<_> = messages.iter().map(|m| text(m)).collect();
        assert_eq!(events, expected, "{params:?}");
    }
}

#[test]
fn reads_a_compressed_message_split_into_fragments() {
    let mut client = Deflater::new(&DeflateParams::default());
    let message = "fragmented and compressed ".repeat(50);
    let mut packed = Vec::new();
    client.compress_message(message.as_bytes(), &mut packed);
    let third = packed.len() / 3;
    let mut wire = frame_rsv1(false, OP_TEXT, &packed[..third]);
    wire.extend(frame(true, OP_PING, b""));
    wire.extend(frame(false, OP_CONTINUATION, &packed[third..2 * third]));
    wire.extend(frame(true, OP_CONTINUATION, &packed[2 * third..]));
    // An uncompressed message may follow a compressed one.
    wire.extend(frame(true, OP_TEXT, b"plain"));
    let mut s = compressed(DeflateParams::default());
    let events: Vec<_> = s.events(&wire).collect();
    assert_eq!(
        events,
        [Event::Ping(Vec::new()), text(&message), text("plain")]
    );
}

#[test]
fn inflates_the_rfc_7692_hello() {
    let mut s = compressed(DeflateParams::default());
    let wire = frame_rsv1(true, OP_TEXT, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
    let events: Vec<_> = s.events(&wire).collect();
    assert_eq!(events, [text("Hello")]);
}
