//! `Session::feed` on arbitrary bytes: never panics, and reads the same whether the bytes
//! come whole or in reads of any size. The first byte picks the session: bit 0 a 1 KiB
//! message limit (else the default 16 MiB), bit 1 permessage-deflate, bit 2 the client's
//! no_context_takeover; the rest picks the read size.
//!
//! Invariants checked: `feed` consumes everything when it returns no event, never more
//! than it was given; text messages are UTF-8; no message is over the limit; the
//! session's own output is whole unmasked server frames, control frames only, and a
//! session that failed or was closed by the peer ends its output with one close frame
//! and ignores further input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rsgi_websocket::deflate::DeflateParams;
use rsgi_websocket::frame::{parse_header, OpCode};
use rsgi_websocket::{Config, Event, MessageKind, Session};

fn session(selector: u8) -> (Session, usize) {
    let limit = if selector & 1 != 0 {
        1024
    } else {
        Config::DEFAULT.max_message_size
    };
    let config = Config {
        max_message_size: limit,
        ..Config::DEFAULT
    };
    let deflate = (selector & 2 != 0).then(|| DeflateParams {
        client_no_context_takeover: selector & 4 != 0,
        ..DeflateParams::default()
    });
    (Session::new(&config, deflate), limit)
}

/// Feeds `wire` in reads of `step` bytes; the events, the output and the final session.
fn run(selector: u8, wire: &[u8], step: usize) -> (Vec<Event>, Vec<u8>, Session) {
    let (mut s, limit) = session(selector);
    let (mut events, mut output) = (Vec::new(), Vec::new());
    for mut piece in wire.chunks(step) {
        loop {
            let (n, event) = s.feed(piece);
            assert!(n <= piece.len());
            piece = &piece[n..];
            output.extend(s.take_output());
            let Some(event) = event else {
                assert!(piece.is_empty());
                break;
            };
            if let Event::Message { kind, data } = &event {
                assert!(data.len() <= limit);
                if *kind == MessageKind::Text {
                    assert!(std::str::from_utf8(data).is_ok());
                }
            }
            events.push(event);
        }
    }
    (events, output, s)
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, wire)) = data.split_first() else {
        return;
    };
    let (events, output, mut whole) = run(selector, wire, wire.len().max(1));
    let step = 1 + usize::from(selector >> 3);
    let (split_events, split_output, _) = run(selector, wire, step);
    assert_eq!(events, split_events, "reads of {step} bytes");
    assert_eq!(output, split_output, "reads of {step} bytes");

    // The session's own frames: whole, unmasked, control only, a close only at the end.
    let mut rest = &output[..];
    let mut last = None;
    while !rest.is_empty() {
        let (h, n) = parse_header(rest).unwrap().expect("whole frames");
        assert!(h.fin && h.mask.is_none() && !h.rsv1);
        assert!(matches!(h.opcode, OpCode::Pong | OpCode::Close));
        assert_ne!(last, Some(OpCode::Close), "nothing after a close");
        last = Some(h.opcode);
        rest = &rest[n + h.payload_len as usize..];
    }
    let ended = matches!(events.last(), Some(Event::Close { .. } | Event::Error(_)));
    assert_eq!(ended, whole.is_closed());
    if ended {
        assert_eq!(last, Some(OpCode::Close));
        assert_eq!(whole.feed(b"\x81\x80\0\0\0\0"), (6, None));
    }
});
