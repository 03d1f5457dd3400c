//! The request head: `&[u8]` in, [`RequestHead`] out, as spans into the same bytes.
//!
//! A push parser over [`httparse`]: the caller hands in every byte of the request read so
//! far, and gets [`Parsed::Partial`] (read more and call again with the longer buffer),
//! [`Parsed::Complete`] or an [`HttpError`] naming the status to answer. Nothing is copied:
//! the method, the target and every header are [`Span`]s into `buf`.
//!
//! Size limits ([`Limits`]) are enforced on partial heads too, so a client cannot make the
//! host buffer more than `max_head` bytes, and an over-long target is reported as 414 even
//! before the request line is complete.

use std::mem::MaybeUninit;

use rsgi_plugin_api::protocol::{BodyKind, HeaderSpan, RequestHead, Span, Version};
use rsgi_plugin_api::NameStyle;

use crate::config::{Limits, HEADER_ARRAY_CAPACITY};
use crate::connection::ConnectionHeaders;
use crate::error::HttpError;
use crate::framing::BodyHeaders;

/// The outcome of [`parse_request`] when the bytes are not (yet) invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed {
    /// The head is not complete; call again when more bytes have arrived.
    Partial,
    /// A whole head; its headers are in the first `header_count` entries of the array.
    Complete(RequestHead),
}

/// Parses the request head at the start of `buf`, writing header spans into `headers`.
///
/// At most `min(limits.max_headers, headers.len(), 256)` headers are accepted; one more is
/// [`HttpError::TooManyHeaders`].
pub fn parse_request(
    buf: &[u8],
    headers: &mut [HeaderSpan],
    limits: &Limits,
) -> Result<Parsed, HttpError> {
    if buf.len() > PARSE_EVERY_CALL_UP_TO && !holds_empty_line(buf) {
        check_partial(buf, limits)?;
        return Ok(Parsed::Partial);
    }
    let cap = limits
        .max_headers
        .min(headers.len())
        .min(HEADER_ARRAY_CAPACITY);
    let mut raw = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; HEADER_ARRAY_CAPACITY];
    let mut req = httparse::Request::new(&mut []);
    match req.parse_with_uninit_headers(buf, &mut raw[..cap]) {
        Err(httparse::Error::Version) => match later_http1_minor(buf) {
            Some(digit) => parse_as_http11(buf, digit, headers, limits),
            None => Err(map_error(httparse::Error::Version, buf)),
        },
        Err(e) => Err(map_error(e, buf)),
        Ok(httparse::Status::Partial) => {
            check_partial(buf, limits)?;
            Ok(Parsed::Partial)
        }
        Ok(httparse::Status::Complete(head_len)) => {
            complete(buf, head_len, &req, headers, limits).map(Parsed::Complete)
        }
    }
}

/// A partial head up to this size goes through httparse on every call, so a bad header
/// line is answered as soon as it arrives. A longer one goes through it only once it holds
/// an empty line (its possible end): the host calls again with the whole buffer for every
/// read, and a head trickled in a byte at a time was parsed from the start once per byte.
/// Measured on a 28.8 KB head of 250 short lines sent one byte per TCP segment: the
/// worker's CPU time went from 0.80 s to 0.53 s, most of what is left being the kernel's
/// work for 28,800 reads (with 100 lines, the default limit, the gain is within noise:
/// `bench/slow_clients.py`).
/// Looking for the empty line is a `memchr` over the buffer.
pub const PARSE_EVERY_CALL_UP_TO: usize = 4096;

/// True when `buf` holds an empty line (LF LF or LF CR LF): a request head can only be
/// complete once one has arrived. (Empty lines before the request line, which httparse
/// skips, count too: they only cost a parse.)
fn holds_empty_line(buf: &[u8]) -> bool {
    memchr::memchr_iter(b'\n', buf).any(|i| {
        let next = &buf[i + 1..];
        next.first() == Some(&b'\n') || next.starts_with(b"\r\n")
    })
}

/// The first limit a head breaks, by where a client sending it a byte at a time would
/// meet it: the partial checks refuse a head as soon as it breaks a limit, so the answer
/// to a complete head must not depend on how its bytes arrived (all at once, or trickled).
#[derive(Default)]
struct FirstOver(Option<(usize, HttpError)>);

impl FirstOver {
    /// The limit behind `e` is broken once the buffer holds `at` bytes. On a tie the first
    /// one noted wins, in the order the partial checks run.
    fn note(&mut self, at: usize, e: HttpError) {
        if self.0.is_none_or(|(first, _)| at < first) {
            self.0 = Some((at, e));
        }
    }
}

/// Checks a complete head against the limits and the framing rules, and fills the spans.
///
/// A broken limit is answered before any other fault (a duplicate Host, a bad
/// Content-Length), since the partial checks would have refused the head before those
/// could be seen; among the limits, the one a trickled head breaks first.
fn complete(
    buf: &[u8],
    head_len: usize,
    req: &httparse::Request<'_, '_>,
    out: &mut [HeaderSpan],
    limits: &Limits,
) -> Result<RequestHead, HttpError> {
    // httparse fills every field of a complete request.
    let (Some(method), Some(uri), Some(minor)) = (req.method, req.path, req.version) else {
        return Err(HttpError::BadRequestLine);
    };
    let method = Span::of(buf, method.as_bytes());
    let uri = Span::of(buf, uri.as_bytes());
    let mut over = FirstOver::default();
    if uri.len as usize > limits.max_uri {
        over.note(
            uri.start as usize + limits.max_uri + 1,
            HttpError::UriTooLong,
        );
    }
    // method SP uri SP "HTTP/1.x"
    let request_line = (uri.start + uri.len) as usize + 9 - method.start as usize;
    if request_line > limits.max_request_line() {
        let at = method.start as usize + limits.max_request_line() + 1;
        over.note(at, HttpError::LineTooLong);
    }
    let version = if minor == 0 {
        Version::Http10
    } else {
        Version::Http11
    };

    let mut body = BodyHeaders::default();
    let mut connection = ConnectionHeaders::default();
    let mut host_seen = false;
    // The first fault that is not a limit: reported only when no limit is broken.
    let mut fault = None;
    // Each header line runs from its name to the next line's start, measured like the
    // partial check does: the bytes before the LF (a CR included) may be `max_line + 1`;
    // a trickled line is refused once `max_line + 2` of its bytes are in.
    let line_ends = |start: u32, next: usize, over: &mut FirstOver| {
        if next - start as usize - 1 > limits.max_line + 1 {
            over.note(start as usize + limits.max_line + 2, HttpError::LineTooLong);
        }
    };
    let mut previous_start = None;
    for (slot, h) in out.iter_mut().zip(req.headers.iter()) {
        let name = Span::of(buf, h.name.as_bytes());
        let value = Span::of(buf, h.value);
        if let Some(p) = previous_start {
            line_ends(p, name.start as usize, &mut over);
        }
        previous_start = Some(name.start);
        *slot = HeaderSpan { name, value };
        if fault.is_some() {
            continue;
        }
        let name = h.name.as_bytes();
        match body.header(name, h.value) {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => {
                fault = Some(e);
                continue;
            }
        }
        if connection.header(name, h.value) {
            continue;
        }
        if name.eq_ignore_ascii_case(b"host") {
            if host_seen {
                fault = Some(HttpError::DuplicateHost);
            }
            host_seen = true;
        }
    }
    // The head ends with an empty line: CRLF, or a bare LF.
    let headers_end = head_len - if buf[head_len - 2] == b'\r' { 2 } else { 1 };
    if let Some(p) = previous_start {
        line_ends(p, headers_end, &mut over);
    }
    if head_len > limits.max_head {
        over.note(limits.max_head + 1, HttpError::HeadTooLarge);
    }
    if let Some((_, e)) = over.0 {
        return Err(e);
    }
    if let Some(e) = fault {
        return Err(e);
    }
    // RFC 9112 §3.2: a server MUST answer 400 to an HTTP/1.1 request without a Host
    // header (HTTP/1.0 did not require one).
    if version == Version::Http11 && !host_seen {
        return Err(HttpError::MissingHost);
    }
    let body = body.finish(version)?;
    let has_body = body.kind == BodyKind::Chunked || body.length > 0;
    let (path, query) = split_target(buf, uri);
    Ok(RequestHead {
        head_len: head_len as u32,
        method,
        uri,
        path,
        query,
        version,
        header_count: req.headers.len() as u32,
        var_count: 0,
        names: NameStyle::Http,
        body,
        keep_alive: connection.keep_alive(version),
        expect_continue: connection.expect_continue(version, has_body),
        modifier1: 0,
        modifier2: 0,
    })
}

/// Splits the request target into the path and the query (without `?`; a `#fragment`,
/// which clients must not send, ends both). The absolute form
/// (`http://host/p?q`) yields the path after the authority (empty when there is none);
/// the asterisk and authority forms yield the whole target as the path.
fn split_target(buf: &[u8], uri: Span) -> (Span, Span) {
    let target = uri.get(buf);
    let mut path_start = 0;
    if target.first() != Some(&b'/') {
        if let Some(scheme_end) = find(target, b"://") {
            let authority = scheme_end + 3;
            path_start = target[authority..]
                .iter()
                .position(|&b| matches!(b, b'/' | b'?' | b'#'))
                .map_or(target.len(), |i| authority + i);
        }
    }
    let path_end =
        memchr::memchr2(b'?', b'#', &target[path_start..]).map_or(target.len(), |i| path_start + i);
    let (query_start, query_end) = if target.get(path_end) == Some(&b'?') {
        let end = memchr::memchr(b'#', &target[path_end..]).map_or(target.len(), |i| path_end + i);
        (path_end + 1, end)
    } else {
        (path_end, path_end)
    };
    let at = |start: usize, end: usize| Span {
        start: uri.start + start as u32,
        len: (end - start) as u32,
    };
    (at(path_start, path_end), at(query_start, query_end))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

/// Enforces the limits on a head that is not complete yet: the target (414), the request
/// line and the line being received (431), and the whole (431), so an endless head is
/// refused as soon as it is too long. Each check looks at a window bounded by the limits,
/// not at the whole buffer: the host calls this again for every read. Complete header
/// lines are measured once the head is complete.
fn check_partial(buf: &[u8], limits: &Limits) -> Result<(), HttpError> {
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let window = &buf[start..buf.len().min(start + limits.max_request_line() + 2)];
    let request_line_end = window.iter().position(|&b| b == b'\n');
    let request_line = &window[..request_line_end.unwrap_or(window.len())];
    let request_line = request_line.strip_suffix(b"\r").unwrap_or(request_line);
    // Several limits may be broken at once when many bytes arrived in one read: the
    // answer is the one a head trickled in a byte at a time gets (see `FirstOver`), so a
    // long target gets 414 or 431 whatever the read sizes.
    let mut over = FirstOver::default();
    let mut parts = request_line.splitn(3, |&b| b == b' ');
    let method_len = parts.next().map_or(0, <[u8]>::len);
    if parts.next().is_some_and(|uri| uri.len() > limits.max_uri) {
        let at = start + method_len + 1 + limits.max_uri + 1;
        over.note(at, HttpError::UriTooLong);
    }
    if request_line.len() > limits.max_request_line() {
        over.note(
            start + limits.max_request_line() + 1,
            HttpError::LineTooLong,
        );
    }
    if let Some(end) = request_line_end {
        // The header line being received: it started after the last LF.
        let first_header = start + end + 1;
        let tail_start = buf
            .len()
            .saturating_sub(limits.max_line + 2)
            .max(first_header);
        let unterminated = !buf[tail_start..].contains(&b'\n');
        if unterminated && buf.len() - tail_start > limits.max_line + 1 {
            // Where it started only matters when the head is over its limit too (an
            // error path, once per connection).
            let line_start = if buf.len() > limits.max_head {
                memchr::memrchr(b'\n', &buf[first_header..tail_start])
                    .map_or(first_header, |i| first_header + i + 1)
            } else {
                tail_start
            };
            over.note(line_start + limits.max_line + 2, HttpError::LineTooLong);
        }
    }
    if buf.len() > limits.max_head {
        over.note(limits.max_head + 1, HttpError::HeadTooLarge);
    }
    match over.0 {
        Some((_, e)) => Err(e),
        None => Ok(()),
    }
}

/// Where the minor digit of an `HTTP/1.x` version with `x` above 1 (`HTTP/1.2` to
/// `HTTP/1.9`) is, when the request line at the start of `buf` ends with one (or `buf`
/// ends right after it). httparse only knows `HTTP/1.0` and `HTTP/1.1`.
fn later_http1_minor(buf: &[u8]) -> Option<usize> {
    let start = buf.iter().position(|&b| b != b'\r' && b != b'\n')?;
    let line = &buf[start..];
    let line = &line[..memchr::memchr(b'\n', line).unwrap_or(line.len())];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let version_at = line.len().checked_sub(8)?;
    let version = &line[version_at..];
    let later = version.starts_with(b"HTTP/1.") && matches!(version[7], b'2'..=b'9');
    // The version is its own field: a space before it (httparse accepted what precedes).
    (later && version_at > 0 && line[version_at - 1] == b' ').then_some(start + version_at + 7)
}

/// Parses a request of `HTTP/1.2` to `HTTP/1.9` as HTTP/1.1 (RFC 9110 §2.5: a recipient
/// treats a later minor version of its major version as the highest one it knows; RFC
/// 9112 §2.3). httparse refuses them, so the head (not what follows it) is copied with
/// the minor digit at `digit` written as `1` and parsed again; the spans are offsets, so
/// they hold for `buf` too. Only such requests pay for the copy.
fn parse_as_http11(
    buf: &[u8],
    digit: usize,
    headers: &mut [HeaderSpan],
    limits: &Limits,
) -> Result<Parsed, HttpError> {
    let end = memchr::memchr_iter(b'\n', &buf[digit..])
        .map(|i| digit + i + 1)
        .find(|&i| buf[i..].first() == Some(&b'\n') || buf[i..].starts_with(b"\r\n"))
        .map_or(buf.len(), |i| i + if buf[i] == b'\n' { 1 } else { 2 });
    let mut head = buf[..end].to_vec();
    head[digit] = b'1';
    parse_request(&head, headers, limits)
}

/// Maps httparse's error to ours. A well-formed but unsupported version (`HTTP/2.0`) is
/// 505; anything else wrong in the request line is 400.
fn map_error(e: httparse::Error, buf: &[u8]) -> HttpError {
    match e {
        httparse::Error::HeaderName => HttpError::BadHeaderName,
        httparse::Error::HeaderValue => HttpError::BadHeaderValue,
        httparse::Error::NewLine => HttpError::BadNewLine,
        httparse::Error::TooManyHeaders => HttpError::TooManyHeaders,
        httparse::Error::Version if names_other_version(buf) => HttpError::VersionNotSupported,
        httparse::Error::Version | httparse::Error::Token | httparse::Error::Status => {
            HttpError::BadRequestLine
        }
    }
}

/// True when the version field (what follows the second space of the request line) starts
/// with `HTTP/` and a digit.
fn names_other_version(buf: &[u8]) -> bool {
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let version = buf[start..]
        .splitn(3, |&b| b == b' ')
        .nth(2)
        .unwrap_or_default();
    version.len() > 5 && version.starts_with(b"HTTP/") && version[5].is_ascii_digit()
}

#[cfg(test)]
mod tests;
