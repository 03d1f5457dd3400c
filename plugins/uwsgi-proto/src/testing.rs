//! Test helpers: feed a packet the way the host does, in every split.
//!
//! The host calls `parse` each time bytes arrive, with everything received so far, and stops
//! at the first answer that is not `Partial`. These helpers replay that for the whole packet
//! at once, one byte at a time, and every two-piece split, and check that all of them end
//! with the same answer.

use rsgi_plugin_api::protocol::{HeaderSpan, RequestHead, Span};

use crate::config::{Config, HOST_TABLE_LEN};
use crate::error::UwsgiError;
use crate::request::parse;

/// A complete parse, with the buffer and the host arrays it points into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub head: RequestHead,
    pub buf: Vec<u8>,
    pub headers: Vec<HeaderSpan>,
    pub vars: Vec<HeaderSpan>,
}

/// The bytes `span` covers in `buf`.
pub fn field(buf: &[u8], span: Span) -> &[u8] {
    span.get(buf)
}

/// The names of the vars, as strings.
pub fn var_names(parsed: &Parsed) -> Vec<&str> {
    parsed
        .vars
        .iter()
        .map(|v| std::str::from_utf8(field(&parsed.buf, v.name)).unwrap())
        .collect()
}

/// Parses all of `bytes` at once with `config`; panics on `Partial`.
pub fn parse_with(bytes: &[u8], config: &Config) -> Result<Parsed, UwsgiError> {
    match feed(bytes, [bytes.len()], config) {
        Some(answer) => answer,
        None => panic!("partial after all {} bytes", bytes.len()),
    }
}

/// Parses `bytes` with the default configuration in every split; all must complete alike.
pub fn parse_in_every_split(bytes: &[u8]) -> Parsed {
    match answer_in_every_split(bytes) {
        Ok(parsed) => parsed,
        Err(e) => panic!("expected a complete head, got {e:?}"),
    }
}

/// Parses `bytes` with the default configuration in every split; all must fail with `want`.
pub fn assert_invalid_in_every_split(bytes: &[u8], want: UwsgiError) {
    assert_eq!(answer_in_every_split(bytes), Err(want), "packet {bytes:?}");
}

fn answer_in_every_split(bytes: &[u8]) -> Result<Parsed, UwsgiError> {
    let config = Config::default();
    let n = bytes.len();
    let whole = feed(bytes, [n], &config).expect("partial after the whole packet");
    let one_at_a_time = feed(bytes, 1..=n, &config).expect("partial one byte at a time");
    assert_eq!(
        summary(&one_at_a_time),
        summary(&whole),
        "one byte at a time"
    );
    for split in 1..n {
        let two = feed(bytes, [split, n], &config).expect("partial in two pieces");
        assert_eq!(summary(&two), summary(&whole), "split at {split}");
    }
    whole
}

/// What must not depend on the split: the answer, not how much of the body had arrived.
type Summary = Result<(RequestHead, Vec<HeaderSpan>, Vec<HeaderSpan>), UwsgiError>;

fn summary(answer: &Result<Parsed, UwsgiError>) -> Summary {
    answer
        .as_ref()
        .map(|p| (p.head, p.headers.clone(), p.vars.clone()))
        .map_err(|e| *e)
}

/// Replays arrivals: `cuts` are the buffer lengths after each read. Returns the first
/// answer that is not `Partial`, or `None` if every call was `Partial`.
fn feed(
    bytes: &[u8],
    cuts: impl IntoIterator<Item = usize>,
    config: &Config,
) -> Option<Result<Parsed, UwsgiError>> {
    let mut buf = Vec::new();
    for cut in cuts {
        buf.extend_from_slice(&bytes[buf.len()..cut]);
        let mut headers = vec![HeaderSpan::default(); HOST_TABLE_LEN];
        let mut vars = vec![HeaderSpan::default(); HOST_TABLE_LEN];
        match parse(&buf, &mut headers, &mut vars, config) {
            Ok(None) => continue,
            Err(e) => return Some(Err(e)),
            Ok(Some(head)) => {
                headers.truncate(head.header_count as usize);
                vars.truncate(head.var_count as usize);
                assert!(head.head_len as usize <= buf.len());
                return Some(Ok(Parsed {
                    head,
                    buf,
                    headers,
                    vars,
                }));
            }
        }
    }
    None
}
