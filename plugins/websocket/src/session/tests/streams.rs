//! One stream of frames fed whole, a byte at a time and in seeded random chunks: the
//! events and the queued output are the same however the bytes arrive.

use super::*;

/// A small xorshift generator: the chunk sizes are random but the same on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Feeds `wire` in the given chunk sizes (cycled); returns the events and the output,
/// and checks that `feed` consumed everything it did not stop at an event for.
fn run(mut s: Session, wire: &[u8], mut chunk: impl FnMut() -> usize) -> (Vec<Event>, Vec<u8>) {
    let mut events = Vec::new();
    let mut output = Vec::new();
    let mut pos = 0;
    while pos < wire.len() {
        let end = pos.saturating_add(chunk()).min(wire.len());
        let mut piece = &wire[pos..end];
        loop {
            let (n, event) = s.feed(piece);
            assert!(n <= piece.len());
            piece = &piece[n..];
            output.extend(s.take_output());
            match event {
                Some(event) => events.push(event),
                None => {
                    assert!(piece.is_empty(), "no event but input left");
                    break;
                }
            }
        }
        pos = end;
    }
    (events, output)
}

fn every_split_agrees(session: impl Fn() -> Session, wire: &[u8]) -> Vec<Event> {
    let whole = run(session(), wire, || usize::MAX);
    let bytewise = run(session(), wire, || 1);
    assert_eq!(bytewise, whole, "one byte at a time");
    for seed in 1..=20u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let chunks = run(session(), wire, || 1 + rng.below(40));
        assert_eq!(chunks, whole, "seed {seed}");
    }
    // Every single cut point, on streams short enough for it.
    if wire.len() < 2000 {
        for cut in 1..wire.len() {
            let mut first = true;
            let two = run(session(), wire, || {
                if std::mem::take(&mut first) {
                    cut
                } else {
                    usize::MAX
                }
            });
            assert_eq!(two, whole, "cut at {cut}");
        }
    }
    whole.0
}

fn mixed_stream() -> Vec<u8> {
    let mut wire = frame(true, OP_TEXT, "héllo".as_bytes());
    wire.extend(frame(false, OP_TEXT, b"frag\xe2\x82"));
    wire.extend(frame(true, OP_PING, b"ping!"));
    wire.extend(frame(false, OP_CONTINUATION, b""));
    wire.extend(frame(true, OP_PONG, b""));
    wire.extend(frame(true, OP_CONTINUATION, b"\xacmented"));
    wire.extend(frame(true, OP_BINARY, &[0xab; 300]));
    wire.extend(frame(true, OP_BINARY, b""));
    wire.extend(frame(true, OP_CLOSE, b"\x03\xe8done"));
    wire
}

#[test]
fn a_mixed_stream_reads_the_same_in_every_split() {
    let events = every_split_agrees(plain, &mixed_stream());
    assert_eq!(
        events,
        [
            text("héllo"),
            Event::Ping(b"ping!".to_vec()),
            Event::Pong(Vec::new()),
            text("frag€mented"),
            binary(&[0xab; 300]),
            binary(b""),
            Event::Close {
                code: Some(1000),
                reason: "done".into()
            },
        ]
    );
}

#[test]
fn large_frames_read_the_same_in_every_split() {
    let big: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
    let mut wire = frame(true, OP_BINARY, &big);
    wire.extend(frame(false, OP_TEXT, &[b'x'; 300]));
    wire.extend(frame(true, OP_CONTINUATION, &[b'y'; 70_000]));
    let events = every_split_agrees(plain, &wire);
    assert_eq!(events.len(), 2);
    assert_eq!(events[0], binary(&big));
}

#[test]
fn an_error_mid_stream_is_found_at_the_same_event_in_every_split() {
    let mut wire = mixed_stream();
    let close_at = wire.len() - frame(true, OP_CLOSE, b"\x03\xe8done").len();
    wire.truncate(close_at);
    wire.extend(frame(false, OP_TEXT, b"good"));
    wire.extend(frame(true, OP_CONTINUATION, b"\xc0\xaf bad"));
    wire.extend(frame(true, OP_TEXT, b"never read"));
    let events = every_split_agrees(plain, &wire);
    assert_eq!(
        events.last(),
        Some(&Event::Error(ProtocolError::TextNotUtf8))
    );
    assert_eq!(events.len(), 7);
}

#[test]
fn compressed_streams_read_the_same_in_every_split() {
    for client_nct in [false, true] {
        let params = DeflateParams {
            client_no_context_takeover: client_nct,
            ..DeflateParams::default()
        };
        let mut client = Deflater::new(&DeflateParams {
            server_no_context_takeover: client_nct,
            ..DeflateParams::default()
        });
        let mut wire = Vec::new();
        let messages = ["Hello", "Hello", "", &"lorem ipsum ".repeat(500)];
        for m in messages {
            let mut packed = Vec::new();
            client.compress_message(m.as_bytes(), &mut packed);
            let half = packed.len() / 2;
            wire.extend(frame_rsv1(false, OP_TEXT, &packed[..half]));
            wire.extend(frame(true, OP_PING, b""));
            wire.extend(frame(true, OP_CONTINUATION, &packed[half..]));
        }
        let events = every_split_agrees(|| compressed(params), &wire);
        let texts: Vec<_> = events
            .into_iter()
            .filter(|e| !matches!(e, Event::Ping(_)))
            .collect();
        let expected: Vec<_> = messages.iter().map(|m| text(m)).collect();
        assert_eq!(texts, expected, "{params:?}");
    }
}

#[test]
fn bad_text_before_bad_compression_is_reported_first_in_every_split() {
    // Found by the fuzz target: whole, one inflate call met the corrupt block before the
    // text was checked; a byte at a time, the bad text came first.
    let mut client = Deflater::new(&DeflateParams::default());
    let mut packed = Vec::new();
    client.compress_message(b"ok \xff then garbage", &mut packed);
    packed.extend([0xff, 0xff, 0xff]); // a block of the reserved type
    let wire = frame_rsv1(true, OP_TEXT, &packed);
    let events = every_split_agrees(|| compressed(DeflateParams::default()), &wire);
    assert_eq!(events, [Event::Error(ProtocolError::TextNotUtf8)]);
    // As binary, the corrupt block is what fails.
    let wire = frame_rsv1(true, OP_BINARY, &packed);
    let events = every_split_agrees(|| compressed(DeflateParams::default()), &wire);
    assert_eq!(events, [Event::Error(ProtocolError::BadCompression)]);
}
