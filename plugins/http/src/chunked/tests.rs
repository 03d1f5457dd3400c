use super::*;

/// Decodes `pieces` in order through the entry point, with the state round-tripping
/// through `DecoderState` between calls, like the host does. Unconsumed input is carried
/// into the next call. Returns the body, whether it ended, the leftover after the end,
/// and the first error.
fn decode_pieces(pieces: &[&[u8]], out_size: usize) -> (Vec<u8>, bool, Vec<u8>, Option<u16>) {
    let mut state = DecoderState::default();
    let mut body = Vec::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut out = vec![0u8; out_size];
    for (i, piece) in pieces.iter().enumerate() {
        pending.extend_from_slice(piece);
        loop {
            let o = decode_body(&mut state, &pending, &mut out);
            body.extend_from_slice(&out[..o.produced]);
            pending.drain(..o.consumed);
            if o.error.status != 0 {
                // Where the error is noticed depends on how the input was split.
                return (body, false, Vec::new(), Some(o.error.status));
            }
            if o.done {
                // The rest of the input belongs to the next request.
                pending.extend_from_slice(&pieces[i + 1..].concat());
                return (body, true, pending, None);
            }
            if o.consumed == 0 && o.produced == 0 {
                break;
            }
        }
    }
    (body, false, pending, None)
}

/// Every way of feeding `input`: whole, every two-way split, one byte at a time, each with
/// a roomy and a one-byte output buffer. All must agree.
fn decode_all_ways(input: &[u8]) -> (Vec<u8>, bool, Vec<u8>, Option<u16>) {
    let whole = decode_pieces(&[input], 4096);
    for out_size in [4096, 1] {
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(
            decode_pieces(&bytes, out_size),
            whole,
            "one byte at a time, out {out_size}"
        );
        for split in 1..input.len() {
            let (a, b) = input.split_at(split);
            assert_eq!(
                decode_pieces(&[a, b], out_size),
                whole,
                "split at {split}, out {out_size}"
            );
        }
    }
    whole
}

fn body_of(input: &[u8]) -> Vec<u8> {
    let (body, done, rest, error) = decode_all_ways(input);
    assert_eq!(error, None, "{input:?}");
    assert!(done, "{input:?}");
    assert!(rest.is_empty(), "{rest:?}");
    body
}

fn error_of(input: &[u8]) -> u16 {
    let (_, done, _, error) = decode_all_ways(input);
    assert!(!done);
    error.unwrap_or_else(|| panic!("no error for {input:?}"))
}

fn decode_error(input: &[u8]) -> HttpError {
    let mut d = Decoder::default();
    let mut out = vec![0u8; 1024];
    d.decode(input, &mut out).error.unwrap_or_else(|| {
        panic!(
            "no error for {:?}",
            String::from_utf8_lossy(&input[..input.len().min(64)])
        )
    })
}

#[test]
fn decodes_chunks_in_every_split() {
    assert_eq!(
        body_of(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
        b"hello world"
    );
}

#[test]
fn decodes_an_empty_body() {
    assert_eq!(body_of(b"0\r\n\r\n"), b"");
}

#[test]
fn decodes_hex_sizes_of_either_case_with_leading_zeros() {
    let mut input = b"0A\r\n0123456789\r\n00000b\r\nabcdefghijk\r\n000\r\n\r\n".to_vec();
    assert_eq!(body_of(&input), b"0123456789abcdefghijk");
    input = b"1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n".to_vec();
    assert_eq!(body_of(&input).len(), 26);
}

#[test]
fn ignores_chunk_extensions() {
    assert_eq!(
        body_of(b"5;name=value\r\nhello\r\n3 ; a=\"q;x\" ;b\r\nabc\r\n0;last\r\n\r\n"),
        b"helloabc"
    );
}

#[test]
fn discards_trailers() {
    assert_eq!(
        body_of(b"3\r\nabc\r\n0\r\nExpires: never\r\nX-Checksum: 1234\r\n\r\n"),
        b"abc"
    );
}

#[test]
fn leaves_the_next_pipelined_request_unconsumed() {
    let input = b"3\r\nabc\r\n0\r\n\r\nGET /next HTTP/1.1\r\n\r\n";
    let (body, done, rest, error) = decode_all_ways(input);
    assert_eq!((body.as_slice(), done, error), (&b"abc"[..], true, None));
    assert_eq!(rest, b"GET /next HTTP/1.1\r\n\r\n");
}

#[test]
fn stops_when_out_is_full_and_resumes() {
    let mut state = DecoderState::default();
    let input = b"a\r\n0123456789\r\n0\r\n\r\n";
    let mut out = [0u8; 4];
    let o = decode_body(&mut state, input, &mut out);
    assert_eq!((o.consumed, o.produced, o.done), (7, 4, false));
    assert_eq!(&out, b"0123");
    let o = decode_body(&mut state, &input[7..], &mut out);
    assert_eq!((o.consumed, o.produced, o.done), (4, 4, false));
    let o = decode_body(&mut state, &input[11..], &mut out);
    assert_eq!((o.produced, o.done), (2, true));
    assert_eq!(&out[..2], b"89");
}

#[test]
fn state_round_trips_through_decoder_state() {
    let mut d = Decoder::default();
    let mut out = [0u8; 8];
    d.decode(b"1f;ext\r\nabc", &mut out);
    let saved = d.to_state();
    assert_eq!(Decoder::from_state(&saved), Ok(d));
    assert_eq!(d.state(), ChunkedState::Body);
    assert_eq!(saved.words[1], 0x1f - 3);
    assert_eq!(
        Decoder::from_state(&DecoderState::default()),
        Ok(Decoder::default())
    );
}

#[test]
fn done_decoder_consumes_nothing_more() {
    let mut state = DecoderState::default();
    let mut out = [0u8; 8];
    assert!(decode_body(&mut state, b"0\r\n\r\n", &mut out).done);
    let o = decode_body(&mut state, b"junk", &mut out);
    assert_eq!(
        (o.consumed, o.produced, o.done, o.error.status),
        (0, 0, true, 0)
    );
}

#[test]
fn rejects_a_corrupt_state() {
    let mut state = DecoderState {
        words: [99, 0, 0, 0],
    };
    let o = decode_body(&mut state, b"0\r\n\r\n", &mut [0u8; 4]);
    assert_eq!(o.error.status, 400);
    assert_eq!(
        o.error.reason.as_str(),
        HttpError::CorruptDecoderState.reason()
    );
}

#[test]
fn rejects_invalid_chunk_sizes() {
    for input in [
        &b"\r\n"[..],
        b"g\r\n",
        b"-1\r\n",
        b"+1\r\n",
        b" 1\r\n",
        b"0x1\r\n",
        b";ext\r\n",
    ] {
        assert_eq!(decode_error(input), HttpError::BadChunkSize);
        assert_eq!(error_of(input), 400);
    }
}

#[test]
fn rejects_whitespace_after_the_size_without_an_extension() {
    assert_eq!(decode_error(b"5 \r\nhello\r\n"), HttpError::BadChunkSize);
    assert_eq!(body_of(b"5 \t;x\r\nhello\r\n0\r\n\r\n"), b"hello");
}

#[test]
fn rejects_an_overflowing_chunk_size() {
    assert_eq!(
        decode_error(b"10000000000000000\r\n"),
        HttpError::ChunkSizeOverflow
    );
    assert_eq!(error_of(b"fffffffffffffffff\r\n"), 400);
    // The largest size still parses (and then waits for data).
    let mut d = Decoder::default();
    let p = d.decode(b"ffffffffffffffff\r\n", &mut []);
    assert_eq!((p.error, d.state()), (None, ChunkedState::Body));
}

#[test]
fn rejects_missing_crlf_after_data() {
    assert_eq!(decode_error(b"3\r\nabcd\r\n"), HttpError::MissingChunkCrlf);
    assert_eq!(decode_error(b"3\r\nabc\rX"), HttpError::MissingChunkCrlf);
    assert_eq!(
        decode_error(b"3\r\nabc\n0\r\n\r\n"),
        HttpError::MissingChunkCrlf
    );
    assert_eq!(error_of(b"3\r\nabcX\r\n0\r\n\r\n"), 400);
}

#[test]
fn rejects_bare_lf_in_the_size_line() {
    assert_eq!(decode_error(b"3\nabc\r\n"), HttpError::BadChunkSize);
    assert_eq!(decode_error(b"3;x\nabc\r\n"), HttpError::BadChunkExtension);
    assert_eq!(decode_error(b"3\rabc\r\n"), HttpError::MissingChunkCrlf);
}

#[test]
fn rejects_a_bare_lf_at_the_end() {
    assert_eq!(decode_error(b"0\r\n\n"), HttpError::BadTrailer);
    assert_eq!(decode_error(b"0\r\n\rX"), HttpError::MissingChunkCrlf);
}

#[test]
fn rejects_control_characters_in_extensions_and_trailers() {
    assert_eq!(
        decode_error(b"1;a\x00b\r\nx\r\n"),
        HttpError::BadChunkExtension
    );
    assert_eq!(
        decode_error(b"0\r\nX: a\x00b\r\n\r\n"),
        HttpError::BadTrailer
    );
    assert_eq!(decode_error(b"0\r\nX: a\nb\r\n\r\n"), HttpError::BadTrailer);
}

#[test]
fn bounds_chunk_extensions() {
    let mut input = b"1;".to_vec();
    input.extend(std::iter::repeat_n(b'e', MAX_EXTENSIONS as usize + 1));
    input.extend_from_slice(b"\r\nx\r\n");
    assert_eq!(decode_error(&input), HttpError::ChunkExtensionTooLong);
    // The bound is per body, not per chunk.
    let mut input = Vec::new();
    for _ in 0..(MAX_EXTENSIONS / 1000 + 1) {
        input.extend_from_slice(b"1;");
        input.extend(std::iter::repeat_n(b'e', 999));
        input.extend_from_slice(b"\r\nx\r\n");
    }
    assert_eq!(decode_error(&input), HttpError::ChunkExtensionTooLong);
}

#[test]
fn bounds_trailers() {
    let mut input = b"0\r\n".to_vec();
    for _ in 0..MAX_TRAILERS / 16 + 1 {
        input.extend_from_slice(b"X-Trailer: 1234\r\n");
    }
    input.extend_from_slice(b"\r\n");
    let e = decode_error(&input);
    assert_eq!((e, e.status()), (HttpError::TrailersTooLarge, 400));
}

#[test]
fn partial_input_is_not_an_error() {
    let input = b"5;e\r\nhello\r\n0\r\nT: 1\r\n\r\n";
    for end in 0..input.len() {
        let mut state = DecoderState::default();
        let o = decode_body(&mut state, &input[..end], &mut [0u8; 64]);
        assert_eq!(
            (o.consumed, o.done, o.error.status),
            (end, false, 0),
            "{end}"
        );
    }
}
