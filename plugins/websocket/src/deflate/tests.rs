use super::*;

const LIMIT: usize = 1 << 20;

fn inflate_message(inflater: &mut Inflater, wire: &[u8]) -> Result<Vec<u8>, ProtocolError> {
    let mut out = Vec::new();
    inflater.inflate(wire, &mut out, LIMIT)?;
    inflater.finish_message(&mut out, LIMIT)?;
    Ok(out)
}

#[test]
fn inflates_the_rfc_7692_hello() {
    // RFC 7692 §7.2.3.1: "Hello" compressed, the tail stripped.
    let mut inflater = Inflater::new(&DeflateParams::default());
    let out = inflate_message(&mut inflater, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
    assert_eq!(out.unwrap(), b"Hello");
}

#[test]
fn compresses_hello_as_the_rfc_shows_then_reuses_the_window() {
    let mut deflater = Deflater::new(&DeflateParams::default());
    let mut out = Vec::new();
    deflater.compress_message(b"Hello", &mut out);
    assert_eq!(out, [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
    // RFC 7692 §7.2.3.2: the same message again, with the window kept, is a back-reference.
    out.clear();
    deflater.compress_message(b"Hello", &mut out);
    assert_eq!(out, [0xf2, 0x00, 0x11, 0x00, 0x00]);
    let mut inflater = Inflater::new(&DeflateParams::default());
    let first = inflate_message(&mut inflater, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
    assert_eq!(first.unwrap(), b"Hello");
    assert_eq!(inflate_message(&mut inflater, &out).unwrap(), b"Hello");
}

#[test]
fn without_context_takeover_every_message_stands_alone() {
    let params = DeflateParams {
        server_no_context_takeover: true,
        ..DeflateParams::default()
    };
    let mut deflater = Deflater::new(&params);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    deflater.compress_message(b"Hello", &mut a);
    deflater.compress_message(b"Hello", &mut b);
    assert_eq!(a, b);
    // A fresh inflater (the client's view with no window) reads the second one.
    let mut inflater = Inflater::new(&DeflateParams::default());
    assert_eq!(inflate_message(&mut inflater, &b).unwrap(), b"Hello");
}

#[test]
fn inflates_the_rfc_7692_block_variants() {
    let cases: [&[u8]; 3] = [
        // §7.2.3.3: a stored (uncompressed) block.
        &[
            0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
        ],
        // §7.2.3.4: a block with BFINAL set.
        &[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00],
        // §7.2.3.5: two blocks in one message.
        &[
            0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00,
        ],
    ];
    for wire in cases {
        let mut inflater = Inflater::new(&DeflateParams::default());
        assert_eq!(
            inflate_message(&mut inflater, wire).unwrap(),
            b"Hello",
            "{wire:02x?}"
        );
        // And the inflater is usable for the next message.
        let again = inflate_message(&mut inflater, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
        assert_eq!(again.unwrap(), b"Hello");
    }
}

#[test]
fn an_empty_message_round_trips() {
    let mut deflater = Deflater::new(&DeflateParams::default());
    let mut out = Vec::new();
    deflater.compress_message(b"", &mut out);
    let mut inflater = Inflater::new(&DeflateParams::default());
    assert_eq!(inflate_message(&mut inflater, &out).unwrap(), b"");
}

#[test]
fn a_decompression_bomb_stops_at_the_limit() {
    let mut deflater = Deflater::new(&DeflateParams::default());
    let mut bomb = Vec::new();
    deflater.compress_message(&vec![0u8; 8 << 20], &mut bomb);
    assert!(bomb.len() < 16 * 1024, "{}", bomb.len());
    let mut inflater = Inflater::new(&DeflateParams::default());
    let mut out = Vec::new();
    assert_eq!(
        inflater.inflate(&bomb, &mut out, 1 << 20),
        Err(ProtocolError::MessageTooBig)
    );
    assert_eq!(out.len(), 1 << 20);
}

#[test]
fn garbage_does_not_inflate() {
    let mut inflater = Inflater::new(&DeflateParams::default());
    // BTYPE 11 is reserved.
    assert_eq!(
        inflate_message(&mut inflater, &[0xff, 0xff, 0xff]),
        Err(ProtocolError::BadCompression)
    );
}

#[test]
fn small_windows_round_trip() {
    for bits in 9..=15 {
        let params = DeflateParams {
            server_max_window_bits: bits,
            ..DeflateParams::default()
        };
        let mut deflater = Deflater::new(&params);
        let mut inflater = Inflater::new(&params);
        let text: Vec<u8> = (0..100_000u32)
            .map(|i| b"abcdefgh"[(i * 7 % 8) as usize])
            .collect();
        let mut wire = Vec::new();
        deflater.compress_message(&text, &mut wire);
        assert_eq!(
            inflate_message(&mut inflater, &wire).unwrap(),
            text,
            "{bits} bits"
        );
    }
}
