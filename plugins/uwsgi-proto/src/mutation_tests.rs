//! 10,000 deterministic mutations of valid packets: the parser must never panic, never
//! point outside the buffer, and give the same answer however the bytes arrive.

use rsgi_plugin_api::protocol::{HeaderSpan, ParseStatus, RequestHead, Span};
use rsgi_plugin_api::Protocol;

use crate::config::{Config, HOST_TABLE_LEN};
use crate::encode::encode_packet;
use crate::error::UwsgiError;
use crate::request::parse;

/// Marsaglia's xorshift64: deterministic and dependency-free.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

fn seeds() -> Vec<Vec<u8>> {
    let get = encode_packet(
        0,
        0,
        [
            ("QUERY_STRING", "a=1"),
            ("REQUEST_METHOD", "GET"),
            ("CONTENT_TYPE", ""),
            ("CONTENT_LENGTH", ""),
            ("REQUEST_URI", "/x?a=1"),
            ("PATH_INFO", "/x"),
            ("SERVER_PROTOCOL", "HTTP/1.0"),
            ("REMOTE_ADDR", "10.0.0.1"),
            ("HTTP_HOST", "example.com"),
            ("HTTP_COOKIE", "session=abcdef; theme=dark"),
        ],
    )
    .unwrap();
    let mut post = encode_packet(
        0,
        0,
        [
            ("REQUEST_METHOD", "POST"),
            ("REQUEST_URI", "http://example.com/form"),
            ("CONTENT_LENGTH", "7"),
            ("CONTENT_TYPE", "application/x-www-form-urlencoded"),
        ],
    )
    .unwrap();
    post.extend_from_slice(b"a=1&b=2");
    let raw = encode_packet(
        5,
        9,
        [
            (&b"REQUEST_METHOD"[..], &b"GET"[..]),
            (b"PATH_INFO", b"/\xe9\xff"),
            (b"HTTP_X", b"\x00\r\n"),
        ],
    )
    .unwrap();
    vec![get, post, raw]
}

fn mutate(rng: &mut XorShift, packet: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(2) {
        let len = packet.len();
        match rng.below(9) {
            0 if len > 0 => {
                let at = rng.below(len);
                packet[at] = rng.byte();
            }
            1 if len > 1 => {
                // Corrupt what is likely a length field: two bytes at once.
                let at = rng.below(len - 1);
                let n = if rng.below(2) == 0 {
                    rng.byte() as u16
                } else {
                    rng.next() as u16
                };
                packet[at..at + 2].copy_from_slice(&n.to_le_bytes());
            }
            2 => packet.truncate(rng.below(len + 1)),
            3 => {
                let at = rng.below(len + 1);
                let extra: Vec<u8> = (0..1 + rng.below(8)).map(|_| rng.byte()).collect();
                packet.splice(at..at, extra);
            }
            4 if len > 0 => {
                let at = rng.below(len);
                let end = at + rng.below(len - at + 1);
                packet.drain(at..end);
            }
            5 if len > 0 => {
                let at = rng.below(len);
                let end = at + rng.below(len - at + 1);
                let copy = packet[at..end].to_vec();
                let to = rng.below(len + 1);
                packet.splice(to..to, copy);
            }
            6 if len >= 3 => {
                let datasize = rng.below(len + 8) as u16;
                packet[1..3].copy_from_slice(&datasize.to_le_bytes());
            }
            7 if len > 0 => {
                // Likely inside the last value: keeps the packet well formed more often.
                let at = len - 1 - rng.below(len.min(16));
                packet[at] = b' ' + rng.below(95) as u8;
            }
            _ => packet.push(rng.byte()),
        }
    }
}

fn config(rng: &mut XorShift) -> Config {
    match rng.below(6) {
        0..=2 => Config::default(),
        3 => Config {
            buffer_size: 1 + rng.below(128),
            ..Config::default()
        },
        4 => Config {
            max_vars: 1 + rng.below(6),
            ..Config::default()
        },
        _ => Config {
            buffer_size: 64 + rng.below(256),
            max_vars: 1 + rng.below(HOST_TABLE_LEN),
        },
    }
}

fn inside(span: Span, len: usize) -> bool {
    span.start as usize + span.len as usize <= len
}

fn assert_spans_inside(
    head: &RequestHead,
    headers: &[HeaderSpan],
    vars: &[HeaderSpan],
    buf: &[u8],
    case: usize,
) {
    let len = buf.len();
    assert!(
        head.head_len as usize <= len,
        "case {case}: head_len past buf"
    );
    for span in [head.method, head.uri, head.path, head.query] {
        assert!(
            inside(span, head.head_len as usize),
            "case {case}: {span:?} outside the packet"
        );
    }
    assert!(
        head.header_count as usize <= headers.len(),
        "case {case}: header_count"
    );
    assert!(
        head.var_count as usize <= vars.len(),
        "case {case}: var_count"
    );
    let filled = headers[..head.header_count as usize]
        .iter()
        .chain(&vars[..head.var_count as usize]);
    for entry in filled {
        assert!(
            inside(entry.name, len) && inside(entry.value, len),
            "case {case}: {entry:?}"
        );
    }
}

type Answer = Result<Option<RequestHead>, UwsgiError>;

fn answer(buf: &[u8], table_len: usize, config: &Config, case: usize) -> Answer {
    let mut headers = vec![HeaderSpan::default(); table_len];
    let mut vars = vec![HeaderSpan::default(); table_len];
    let result = parse(buf, &mut headers, &mut vars, config);
    if let Ok(Some(head)) = &result {
        assert_spans_inside(head, &headers, &vars, buf, case);
    }
    result
}

#[test]
fn ten_thousand_mutated_packets_never_panic_or_escape_the_buffer() {
    let seeds = seeds();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut complete = 0;
    let mut invalid = 0;
    for case in 0..10_000 {
        let mut packet = seeds[case % seeds.len()].clone();
        mutate(&mut rng, &mut packet);
        let config = config(&mut rng);
        let table_len = if rng.below(8) == 0 {
            rng.below(4)
        } else {
            HOST_TABLE_LEN
        };

        let whole = answer(&packet, table_len, &config, case);
        match whole {
            Ok(Some(_)) => complete += 1,
            Err(_) => invalid += 1,
            Ok(None) => {}
        }
        // However the bytes arrive, a shorter buffer says "more" or the same thing.
        let cut = rng.below(packet.len() + 1);
        let early = answer(&packet[..cut], table_len, &config, case);
        assert!(
            early == Ok(None) || early == whole,
            "case {case}: {cut} bytes gave {early:?}, all gave {whole:?}"
        );
    }
    // The mutations must exercise all three answers, or the test proves little.
    eprintln!(
        "complete {complete}, invalid {invalid}, partial {}",
        10_000 - complete - invalid
    );
    assert!(
        complete > 1500 && invalid > 1500,
        "complete {complete}, invalid {invalid}"
    );
}

#[test]
fn the_plugins_parse_survives_the_same_mutations() {
    let seeds = seeds();
    let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
    for case in 0..2_000 {
        let mut packet = seeds[case % seeds.len()].clone();
        mutate(&mut rng, &mut packet);
        let mut headers = [HeaderSpan::default(); HOST_TABLE_LEN];
        let mut vars = [HeaderSpan::default(); HOST_TABLE_LEN];
        let outcome = crate::Uwsgi::default().parse(&packet, &mut headers, &mut vars);
        if outcome.status == ParseStatus::Complete {
            assert_spans_inside(&outcome.head, &headers, &vars, &packet, case);
        }
    }
}
