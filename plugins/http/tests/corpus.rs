//! Replays the request corpus (`tests/corpus/http/` at the repository root) through the
//! parser and the chunked decoder the way the host drives them, and checks the statuses
//! each `.expect` file lists. A complete request counts as `200` (the app's answer); the
//! end-to-end replay over a socket lives with the host's tests.

use std::path::{Path, PathBuf};

use rsgi_http::chunked::decode_body;
use rsgi_http::config::Limits;
use rsgi_http::parse::{parse_request, Parsed};
use rsgi_plugin_api::protocol::{BodyKind, DecoderState, HeaderSpan};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus/http")
}

/// The statuses the plugin leads to for one connection's bytes, after which the client
/// sends nothing more (a body cut short by that end is an incomplete request: 400, as the
/// host answers a client that closes its sending side in the middle of a body).
fn replay(mut rest: &[u8]) -> Vec<u16> {
    let mut statuses = Vec::new();
    let mut headers = [HeaderSpan::default(); 256];
    while !rest.is_empty() {
        let head = match parse_request(rest, &mut headers, &Limits::DEFAULT) {
            Ok(Parsed::Complete(head)) => head,
            Ok(Parsed::Partial) => panic!("corpus request is incomplete"),
            Err(e) => {
                statuses.push(e.status());
                break;
            }
        };
        rest = &rest[head.head_len as usize..];
        match head.body.kind {
            BodyKind::Empty => {}
            BodyKind::Length if (rest.len() as u64) < head.body.length => {
                statuses.push(400);
                break;
            }
            BodyKind::Length => rest = &rest[head.body.length as usize..],
            BodyKind::Chunked => {
                let mut state = DecoderState::default();
                let mut out = [0u8; 7];
                loop {
                    let o = decode_body(&mut state, rest, &mut out);
                    rest = &rest[o.consumed..];
                    if o.error.status != 0 {
                        statuses.push(o.error.status);
                        return statuses;
                    }
                    if o.done {
                        break;
                    }
                    if o.consumed + o.produced == 0 {
                        // The decoder needs more and the client sent everything.
                        assert!(rest.is_empty(), "the decoder is stuck");
                        statuses.push(400);
                        return statuses;
                    }
                }
            }
        }
        statuses.push(200);
        if !head.keep_alive {
            break;
        }
    }
    statuses
}

fn expected(path: &Path) -> Vec<u16> {
    let text = std::fs::read_to_string(path).unwrap();
    let line = text
        .lines()
        .find(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .unwrap_or_else(|| panic!("{} lists no status", path.display()));
    line.split_whitespace()
        .map(|s| s.parse().unwrap())
        .collect()
}

#[test]
fn every_corpus_case_gets_its_expected_statuses() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "http"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 30, "only {} corpus cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let input = std::fs::read(case).unwrap();
        let want = expected(&case.with_extension("expect"));
        let got = replay(&input);
        if got != want {
            failures.push(format!(
                "{}: expected {want:?}, got {got:?}",
                case.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_corpus_case_gives_the_same_answer_one_byte_at_a_time() {
    // The head must be decided at the same point whatever the read sizes: grow the buffer
    // one byte at a time until the parser stops saying Partial.
    let mut headers = [HeaderSpan::default(); 256];
    for entry in std::fs::read_dir(corpus_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "http") {
            continue;
        }
        let input = std::fs::read(&path).unwrap();
        let whole = parse_request(&input, &mut headers, &Limits::DEFAULT);
        let mut decided = None;
        for end in 1..=input.len() {
            match parse_request(&input[..end], &mut headers, &Limits::DEFAULT) {
                Ok(Parsed::Partial) => continue,
                outcome => {
                    decided = Some(outcome);
                    break;
                }
            }
        }
        assert_eq!(decided, Some(whole), "{}", path.display());
    }
}
