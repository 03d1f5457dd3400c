//! Test helpers: feed a packet the way the host does, in every split.
//!
//! The host calls `parse` each time bytes arrive, with everything received so far, and stops
//! at the first answer that is not `Partial`. These helpers replay that with the SDK's
//! `every_split` (the whole packet at once, one byte at a time, every two-piece split) and
//! check that all of them end with the same answer.

use rsgi_plugin_api::protocol::{HeaderSpan, RequestHead, Span};
use rsgi_plugin_api::testing::every_split;

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
    match parse_prefix(bytes, config) {
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

/// The answer for the whole packet, after checking (the SDK's `every_split`: whole, one
/// byte at a time, every two-piece split) that no split changes it.
fn answer_in_every_split(bytes: &[u8]) -> Result<Parsed, UwsgiError> {
    let config = Config::default();
    let every = every_split(bytes, |prefix| {
        parse_prefix(prefix, &config).map(|answer| summary(&answer))
    });
    let whole = parse_with(bytes, &config);
    assert_eq!(summary(&whole), every);
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

/// The answer for `buf`, everything received so far: `None` while the packet is partial.
fn parse_prefix(buf: &[u8], config: &Config) -> Option<Result<Parsed, UwsgiError>> {
    let mut headers = vec![HeaderSpan::default(); HOST_TABLE_LEN];
    let mut vars = vec![HeaderSpan::default(); HOST_TABLE_LEN];
    match parse(buf, &mut headers, &mut vars, config) {
        Ok(None) => None,
        Err(e) => Some(Err(e)),
        Ok(Some(head)) => {
            headers.truncate(head.header_count as usize);
            vars.truncate(head.var_count as usize);
            assert!(head.head_len as usize <= buf.len());
            Some(Ok(Parsed {
                head,
                buf: buf.to_vec(),
                headers,
                vars,
            }))
        }
    }
}
