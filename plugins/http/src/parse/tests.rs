use super::*;

const SIMPLE: &[u8] =
    b"GET /index.html?a=1&b=2 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n";

fn parse_with(buf: &[u8], limits: &Limits) -> Result<Parsed, HttpError> {
    let mut headers = [HeaderSpan::default(); 256];
    parse_request(buf, &mut headers, limits)
}

/// Feeds `input` the way the host does — the whole request so far, growing one byte at a
/// time — and returns the first outcome that is not `Partial`, with the prefix length it
/// was decided at. Checks that the full buffer gives the same answer.
fn feed(input: &[u8], limits: &Limits) -> (Result<Parsed, HttpError>, usize) {
    for end in 1..=input.len() {
        match parse_with(&input[..end], limits) {
            Ok(Parsed::Partial) => continue,
            decided => {
                assert_eq!(
                    decided,
                    parse_with(input, limits),
                    "prefix vs whole: {input:?}"
                );
                return (decided, end);
            }
        }
    }
    (Ok(Parsed::Partial), input.len())
}

/// A valid head: partial at every shorter prefix, complete exactly at its end.
fn head(input: &[u8]) -> RequestHead {
    let (outcome, decided_at) = feed(input, &Limits::DEFAULT);
    match outcome {
        Ok(Parsed::Complete(head)) => {
            assert_eq!(decided_at, head.head_len as usize);
            head
        }
        other => panic!("expected a complete head, got {other:?} for {input:?}"),
    }
}

fn error(input: &[u8]) -> HttpError {
    error_with(input, &Limits::DEFAULT)
}

fn error_with(input: &[u8], limits: &Limits) -> HttpError {
    match feed(input, limits).0 {
        Err(e) => e,
        other => panic!("expected an error, got {other:?} for {input:?}"),
    }
}

fn header_pairs<'a>(buf: &'a [u8], input: &[u8]) -> Vec<(&'a [u8], &'a [u8])> {
    let mut spans = [HeaderSpan::default(); 256];
    let Ok(Parsed::Complete(head)) = parse_request(input, &mut spans, &Limits::DEFAULT) else {
        panic!("not complete")
    };
    spans[..head.header_count as usize]
        .iter()
        .map(|h| (h.name.get(buf), h.value.get(buf)))
        .collect()
}

#[test]
fn parses_get_without_body() {
    let h = head(SIMPLE);
    assert_eq!(h.head_len as usize, SIMPLE.len());
    assert_eq!(h.method.get(SIMPLE), b"GET");
    assert_eq!(h.uri.get(SIMPLE), b"/index.html?a=1&b=2");
    assert_eq!(h.path.get(SIMPLE), b"/index.html");
    assert_eq!(h.query.get(SIMPLE), b"a=1&b=2");
    assert_eq!(h.version, Version::Http11);
    assert_eq!(h.header_count, 2);
    assert_eq!(h.var_count, 0);
    assert_eq!(h.names, NameStyle::Http);
    assert_eq!(h.body.kind, BodyKind::Empty);
    assert!(h.keep_alive);
    assert!(!h.expect_continue);
    assert_eq!((h.modifier1, h.modifier2), (0, 0));
}

#[test]
fn headers_are_spans_into_the_buffer_with_names_as_sent() {
    let input = b"GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For:  10.0.0.1 \r\nx-empty:\r\n\r\n";
    assert_eq!(
        header_pairs(input, input),
        [
            (&b"Host"[..], &b"a"[..]),
            (b"X-Forwarded-For", b"10.0.0.1"),
            (b"x-empty", b""),
        ]
    );
}

#[test]
fn reports_partial_at_every_prefix_of_a_head() {
    for end in 0..SIMPLE.len() {
        assert_eq!(
            parse_with(&SIMPLE[..end], &Limits::DEFAULT),
            Ok(Parsed::Partial),
            "{end}"
        );
    }
}

#[test]
fn every_two_way_split_gives_the_same_head() {
    let whole = head(SIMPLE);
    for split in 1..SIMPLE.len() {
        let mut buf = SIMPLE[..split].to_vec();
        assert_eq!(parse_with(&buf, &Limits::DEFAULT), Ok(Parsed::Partial));
        buf.extend_from_slice(&SIMPLE[split..]);
        assert_eq!(
            parse_with(&buf, &Limits::DEFAULT),
            Ok(Parsed::Complete(whole))
        );
    }
}

#[test]
fn body_bytes_after_the_head_are_left_alone() {
    let input = b"POST /submit HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello";
    let h = head(input);
    assert_eq!(h.body.kind, BodyKind::Length);
    assert_eq!(h.body.length, 5);
    assert_eq!(&input[h.head_len as usize..], b"hello");
}

#[test]
fn parses_pipelined_requests_in_one_buffer() {
    let input: &[u8] = b"GET /one HTTP/1.1\r\nHost: a\r\n\r\n\
POST /two HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc\
POST /three HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n\
GET /four HTTP/1.0\r\n\r\n";
    let mut rest = input;
    let mut seen = Vec::new();
    for _ in 0..4 {
        let Ok(Parsed::Complete(h)) = parse_with(rest, &Limits::DEFAULT) else {
            panic!("incomplete at {rest:?}")
        };
        seen.push((h.path.get(rest).to_vec(), h.body.kind));
        let body = match h.body.kind {
            BodyKind::Length => h.body.length as usize,
            BodyKind::Chunked => b"0\r\n\r\n".len(),
            BodyKind::Empty => 0,
        };
        rest = &rest[h.head_len as usize + body..];
    }
    assert!(rest.is_empty());
    assert_eq!(
        seen,
        [
            (b"/one".to_vec(), BodyKind::Empty),
            (b"/two".to_vec(), BodyKind::Length),
            (b"/three".to_vec(), BodyKind::Chunked),
            (b"/four".to_vec(), BodyKind::Empty),
        ]
    );
}

#[test]
fn skips_empty_lines_before_the_request_line() {
    let input = b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
    let h = head(input);
    assert_eq!(h.method.get(input), b"GET");
    assert_eq!(h.head_len as usize, input.len());
}

#[test]
fn accepts_bare_lf_line_endings() {
    let input = b"GET /lf HTTP/1.1\nHost: a\n\n";
    assert_eq!(head(input).path.get(input), b"/lf");
}

#[test]
fn splits_targets_of_every_form() {
    for (target, path, query) in [
        (&b"/"[..], &b"/"[..], &b""[..]),
        (b"/a?", b"/a", b""),
        (b"/a?x=1?y=2", b"/a", b"x=1?y=2"),
        (b"/a%20b?q=%3F", b"/a%20b", b"q=%3F"),
        (b"/a#frag", b"/a", b""),
        (b"/a?q=1#frag", b"/a", b"q=1"),
        (b"http://example.com/p/q?x=y", b"/p/q", b"x=y"),
        (b"https://example.com:8443?x=y", b"", b"x=y"),
        (b"http://example.com", b"", b""),
        (b"*", b"*", b""),
    ] {
        let mut input = b"OPTIONS ".to_vec();
        input.extend_from_slice(target);
        input.extend_from_slice(b" HTTP/1.1\r\nHost: a\r\n\r\n");
        let h = head(&input);
        assert_eq!(h.uri.get(&input), target);
        assert_eq!(h.path.get(&input), path, "{target:?}");
        assert_eq!(h.query.get(&input), query, "{target:?}");
    }
}

#[test]
fn http11_is_keep_alive_unless_connection_close() {
    assert!(head(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").keep_alive);
    assert!(!head(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").keep_alive);
}

#[test]
fn http10_is_keep_alive_only_with_connection_keep_alive() {
    let h = head(b"GET / HTTP/1.0\r\n\r\n");
    assert_eq!(h.version, Version::Http10);
    assert!(!h.keep_alive);
    assert!(head(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
}

#[test]
fn expect_100_continue_is_reported_for_http11_bodies() {
    let h =
        head(b"PUT /up HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 9\r\n\r\n");
    assert!(h.expect_continue);
    let h = head(b"PUT /up HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 9\r\n\r\n");
    assert!(!h.expect_continue);
    let h =
        head(b"PUT /up HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n");
    assert!(!h.expect_continue, "nothing to wait for");
    let h = head(b"PUT /up HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n");
    assert!(h.expect_continue);
}

#[test]
fn chunked_post_is_chunked() {
    let h = head(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    assert_eq!(h.body.kind, BodyKind::Chunked);
}

#[test]
fn rejects_content_length_with_transfer_encoding() {
    assert_eq!(
        error(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"),
        HttpError::LengthWithTransferEncoding
    );
}

#[test]
fn rejects_transfer_encoding_in_http10() {
    assert_eq!(
        error(b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
        HttpError::TransferEncodingInHttp10
    );
}

#[test]
fn rejects_conflicting_and_malformed_content_length() {
    assert_eq!(
        error(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n"),
        HttpError::ConflictingContentLength
    );
    assert_eq!(
        error(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -4\r\n\r\n"),
        HttpError::BadContentLength
    );
    assert_eq!(
        error(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4 4\r\n\r\n"),
        HttpError::BadContentLength
    );
}

#[test]
fn answers_501_to_unknown_transfer_coding() {
    let e = error(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n");
    assert_eq!((e, e.status()), (HttpError::UnsupportedTransferCoding, 501));
}

#[test]
fn rejects_chunked_that_is_not_the_last_coding() {
    assert_eq!(
        error(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
        HttpError::ChunkedNotLast
    );
}

#[test]
fn rejects_a_second_host_header() {
    assert_eq!(
        error(b"GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"),
        HttpError::DuplicateHost
    );
}

#[test]
fn rejects_malformed_request_lines() {
    for input in [
        &b"GET  / HTTP/1.1\r\n\r\n"[..],
        b"GET /\r\n\r\n",
        b"GET / HTTP/1.1 extra\r\n\r\n",
        b" / HTTP/1.1\r\n\r\n",
        b"G(T / HTTP/1.1\r\n\r\n",
        b"GET / http/1.1\r\n\r\n",
        b"GET /a\x00b HTTP/1.1\r\n\r\n",
        b"GET /\xff HTTP/1.1\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
    ] {
        let e = error(input);
        assert_eq!(e.status(), 400, "{input:?}: {e:?}");
    }
}

#[test]
fn answers_505_to_other_http_versions() {
    assert_eq!(
        error(b"GET / HTTP/2.0\r\n\r\n"),
        HttpError::VersionNotSupported
    );
    assert_eq!(
        error(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
        HttpError::VersionNotSupported
    );
    assert_eq!(
        error(b"GET / HTTP/3.0\r\nHost: t\r\n\r\n"),
        HttpError::VersionNotSupported
    );
}

#[test]
fn serves_a_later_http1_minor_version_as_http11() {
    for input in [
        &b"GET /v?q HTTP/1.2\r\nHost: t\r\nX-A: 1\r\n\r\n"[..],
        b"\r\nGET /v?q HTTP/1.9\r\nHost: t\r\nX-A: 1\r\n\r\n",
        b"GET /v?q HTTP/1.2\nHost: t\nX-A: 1\n\n",
    ] {
        let h = head(input);
        assert_eq!(h.version, Version::Http11, "{input:?}");
        assert_eq!(h.head_len as usize, input.len());
        assert_eq!(h.path.get(input), b"/v");
        assert_eq!(h.query.get(input), b"q");
        assert!(h.keep_alive);
        assert_eq!(
            header_pairs(input, input),
            [(&b"Host"[..], &b"t"[..]), (b"X-A", b"1")]
        );
    }
    // Only the head is looked at again: the body and a pipelined request stay where they are.
    let input = b"POST / HTTP/1.2\r\nHost: t\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n";
    let Ok(Parsed::Complete(h)) = parse_with(input, &Limits::DEFAULT) else {
        panic!("a complete head")
    };
    assert_eq!(&input[h.head_len as usize..][..3], b"abc");
    assert_eq!(h.body.length, 3);
    // Still HTTP/1.1's rules: a Host is required.
    assert_eq!(error(b"GET / HTTP/1.3\r\n\r\n"), HttpError::MissingHost);
}

#[test]
fn refuses_a_version_that_is_not_one_digit_dot_one_digit() {
    for input in [
        &b"GET / HTTP/1.2x\r\nHost: t\r\n\r\n"[..],
        b"GET / HTTP/1.10\r\nHost: t\r\n\r\n",
        b"GET / HTTP/1.\r\nHost: t\r\n\r\n",
        b"GET HTTP/1.2\r\nHost: t\r\n\r\n",
    ] {
        assert!(feed(input, &Limits::DEFAULT).0.is_err(), "{input:?}");
    }
}

#[test]
fn refuses_an_http11_request_without_host() {
    assert_eq!(error(b"GET / HTTP/1.1\r\n\r\n"), HttpError::MissingHost);
    assert_eq!(
        error(b"POST / HTTP/1.1\r\nContent-Length: 0\r\nX-Host: t\r\n\r\n"),
        HttpError::MissingHost
    );
    assert_eq!(HttpError::MissingHost.status(), 400);
    // An empty Host is a Host (RFC 9112 §3.2: for a target without an authority).
    assert_eq!(head(b"GET / HTTP/1.1\r\nHost:\r\n\r\n").header_count, 1);
    assert_eq!(head(b"GET / HTTP/1.1\r\nhOsT: t\r\n\r\n").header_count, 1);
}

#[test]
fn accepts_an_http10_request_without_host() {
    let h = head(b"GET / HTTP/1.0\r\nAccept: */*\r\n\r\n");
    assert_eq!(h.version, Version::Http10);
}

/// The first outcome that is not `Partial` when `input` arrives `step` bytes at a time.
fn feed_in_steps(input: &[u8], limits: &Limits, step: usize) -> Result<Parsed, HttpError> {
    let mut end = 0;
    loop {
        end = (end + step).min(input.len());
        match parse_with(&input[..end], limits) {
            Ok(Parsed::Partial) if end < input.len() => continue,
            decided => return decided,
        }
    }
}

#[test]
fn the_answer_to_a_head_over_several_limits_does_not_depend_on_the_read_sizes() {
    // uWSGI's buffer-size sets the head, line and target limits alike: a 100 KB target
    // breaks the head limit (431) a few bytes before its own (414).
    let same = Limits {
        max_head: 1024,
        max_line: 1024,
        max_uri: 1024,
        max_headers: 100,
    };
    let mut long_target = b"GET /".to_vec();
    long_target.extend_from_slice(&[b'u'; 100 * 1024]);
    long_target.extend_from_slice(b" HTTP/1.1\r\nHost: t\r\n\r\n");
    let mut long_line = b"GET / HTTP/1.1\r\nHost: t\r\nX-Long: ".to_vec();
    long_line.extend_from_slice(&[b'l'; 100 * 1024]);
    long_line.extend_from_slice(b"\r\n\r\n");
    for (input, limits, want) in [
        (&long_target, same, HttpError::HeadTooLarge),
        (&long_target, Limits::DEFAULT, HttpError::UriTooLong),
        // The line would break its limit at byte 25 + 1026, the head at byte 1025.
        (&long_line, same, HttpError::HeadTooLarge),
        (&long_line, Limits::DEFAULT, HttpError::LineTooLong),
    ] {
        for step in [1, 7, 100, 1000, 4096, 8192, 16384, input.len()] {
            assert_eq!(
                feed_in_steps(input, &limits, step),
                Err(want),
                "{step} bytes at a time, {limits:?}"
            );
        }
    }
}

#[test]
fn a_broken_limit_is_answered_before_other_faults_whatever_the_read_sizes() {
    // A duplicate Host (400) and a header line over the limit (431): 431, as a trickled
    // head would have been refused before its second Host arrived.
    let mut input = b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\nX-Long: ".to_vec();
    input.extend_from_slice(&[b'l'; 200]);
    input.extend_from_slice(b"\r\n\r\n");
    assert_eq!(error_with(&input, &small_limits()), HttpError::LineTooLong);
    // A long line and a head over the limit: whichever a trickled head meets first.
    let mut line_first = b"GET / HTTP/1.1\r\nHost: t\r\nX-Long: ".to_vec();
    line_first.extend_from_slice(&[b'l'; 1000]);
    line_first.extend_from_slice(b"\r\n\r\n");
    assert_eq!(
        error_with(&line_first, &small_limits()),
        HttpError::LineTooLong
    );
    let mut head_first = b"GET / HTTP/1.1\r\nHost: t\r\n".to_vec();
    for i in 0..6 {
        head_first.extend_from_slice(format!("X-{i}: {}\r\n", "f".repeat(100)).as_bytes());
    }
    head_first.extend_from_slice(b"X-Long: ");
    head_first.extend_from_slice(&[b'l'; 1000]);
    head_first.extend_from_slice(b"\r\n\r\n");
    let limits = Limits {
        max_headers: 100,
        ..small_limits()
    };
    assert_eq!(error_with(&head_first, &limits), HttpError::HeadTooLarge);
}

#[test]
fn rejects_obs_fold() {
    assert_eq!(
        error(b"GET / HTTP/1.1\r\nHost: a\r\nX-Long: one\r\n two\r\n\r\n"),
        HttpError::BadHeaderName
    );
    assert_eq!(
        error(b"GET / HTTP/1.1\r\nHost: a\r\nX-Long: one\r\n\ttwo\r\n\r\n"),
        HttpError::BadHeaderName
    );
}

#[test]
fn rejects_whitespace_before_the_colon() {
    assert_eq!(
        error(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\nhello"),
        HttpError::BadHeaderName
    );
    assert_eq!(
        error(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding\t: chunked\r\n\r\n"),
        HttpError::BadHeaderName
    );
}

#[test]
fn rejects_leading_whitespace_before_the_first_header() {
    assert_eq!(
        error(b"GET / HTTP/1.1\r\n Host: a\r\n\r\n"),
        HttpError::BadHeaderName
    );
}

#[test]
fn rejects_nul_cr_and_controls_in_header_values() {
    for input in [
        &b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x1bb\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fb\r\n\r\n",
    ] {
        let e = error(input);
        assert_eq!(e.status(), 400, "{input:?}");
        assert!(
            matches!(e, HttpError::BadHeaderValue | HttpError::BadNewLine),
            "{e:?}"
        );
    }
}

#[test]
fn rejects_bad_header_names() {
    for input in [
        &b"GET / HTTP/1.1\r\nHost: a\r\nNo-Colon\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: a\r\n: empty-name\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nBad(Name): x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nX\x00Y: x\r\n\r\n",
    ] {
        assert_eq!(error(input), HttpError::BadHeaderName, "{input:?}");
    }
}

#[test]
fn rejects_cr_not_followed_by_lf() {
    assert_eq!(
        error(b"GET / HTTP/1.1\rHost: a\r\n\r\n"),
        HttpError::BadNewLine
    );
    assert_eq!(
        error(b"GET / HTTP/1.1\r\nHost: a\r\n\rX"),
        HttpError::BadNewLine
    );
}

fn small_limits() -> Limits {
    Limits {
        max_head: 512,
        max_line: 128,
        max_uri: 64,
        max_headers: 4,
    }
}

#[test]
fn answers_431_to_more_headers_than_the_limit() {
    let ok = b"GET / HTTP/1.1\r\nHost: t\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n";
    assert!(matches!(
        feed(ok, &small_limits()).0,
        Ok(Parsed::Complete(_))
    ));
    let too_many = b"GET / HTTP/1.1\r\nHost: t\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n";
    assert_eq!(
        error_with(too_many, &small_limits()),
        HttpError::TooManyHeaders
    );
}

#[test]
fn answers_431_when_the_host_array_is_smaller_than_the_limit() {
    let mut two = [HeaderSpan::default(); 2];
    assert_eq!(
        parse_request(
            b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
            &mut two,
            &Limits::DEFAULT
        ),
        Err(HttpError::TooManyHeaders)
    );
}

#[test]
fn accepts_the_default_hundred_headers_and_refuses_the_hundred_and_first() {
    let mut input = b"GET / HTTP/1.1\r\nHost: t\r\n".to_vec();
    for i in 1..100 {
        input.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    let mut complete = input.clone();
    complete.extend_from_slice(b"\r\n");
    assert!(
        matches!(parse_with(&complete, &Limits::DEFAULT), Ok(Parsed::Complete(h)) if h.header_count == 100)
    );
    input.extend_from_slice(b"X-100: v\r\n\r\n");
    assert_eq!(
        parse_with(&input, &Limits::DEFAULT),
        Err(HttpError::TooManyHeaders)
    );
}

#[test]
fn answers_431_to_a_head_over_the_size_limit() {
    let mut input = b"GET / HTTP/1.1\r\n".to_vec();
    for _ in 0..3 {
        input.extend_from_slice(b"X-Filler: ");
        input.extend_from_slice(&[b'x'; 100]);
        input.extend_from_slice(b"\r\n");
    }
    input.extend_from_slice(b"X-End: 1\r\n\r\n");
    let limits = Limits {
        max_head: 300,
        max_line: 128,
        max_uri: 64,
        max_headers: 100,
    };
    assert_eq!(error_with(&input, &limits), HttpError::HeadTooLarge);
    // A head that never ends is refused once it passes the limit, not buffered forever.
    let endless = vec![b'x'; 10];
    let mut endless_head = b"GET / HTTP/1.1\r\n".to_vec();
    for _ in 0..40 {
        endless_head.extend_from_slice(b"X-A: ");
        endless_head.extend_from_slice(&endless);
        endless_head.extend_from_slice(b"\r\n");
    }
    let (outcome, decided_at) = feed(&endless_head, &limits);
    assert_eq!(outcome, Err(HttpError::HeadTooLarge));
    assert_eq!(decided_at, limits.max_head + 1);
}

#[test]
fn answers_431_to_a_header_line_over_the_line_limit() {
    let mut input = b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: ".to_vec();
    input.extend_from_slice(&[b'y'; 200]);
    input.extend_from_slice(b"\r\n\r\n");
    assert_eq!(error_with(&input, &small_limits()), HttpError::LineTooLong);
    // Also when the whole head arrives at once.
    assert_eq!(
        parse_with(&input, &small_limits()),
        Err(HttpError::LineTooLong)
    );
}

#[test]
fn answers_414_to_a_uri_over_the_limit() {
    let mut input = b"GET /".to_vec();
    input.extend_from_slice(&[b'a'; 100]);
    input.extend_from_slice(b" HTTP/1.1\r\nHost: a\r\n\r\n");
    let (outcome, decided_at) = feed(&input, &small_limits());
    assert_eq!(outcome, Err(HttpError::UriTooLong));
    // Refused while the URI is still arriving.
    assert_eq!(decided_at, "GET ".len() + small_limits().max_uri + 1);
    assert_eq!(
        parse_with(&input, &small_limits()),
        Err(HttpError::UriTooLong)
    );
}

#[test]
fn accepts_a_uri_exactly_at_the_limit() {
    let mut input = b"GET /".to_vec();
    input.extend_from_slice(&[b'a'; 63]);
    input.extend_from_slice(b" HTTP/1.1\r\nHost: a\r\n\r\n");
    assert!(matches!(feed(&input, &small_limits()).0, Ok(Parsed::Complete(h)) if h.uri.len == 64));
}

#[test]
fn answers_414_with_the_default_8k_limit() {
    let mut input = b"GET /".to_vec();
    input.extend_from_slice(&vec![b'a'; 8 * 1024]);
    input.extend_from_slice(b" HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(
        parse_with(&input, &Limits::DEFAULT),
        Err(HttpError::UriTooLong)
    );
}

#[test]
fn answers_431_to_an_absurd_method() {
    let mut input = vec![b'M'; 300];
    input.extend_from_slice(b" / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(error_with(&input, &small_limits()), HttpError::LineTooLong);
}

#[test]
fn counts_trailing_whitespace_against_the_line_limit() {
    let mut input = b"GET / HTTP/1.1\r\nX: a".to_vec();
    input.extend_from_slice(&[b' '; 200]);
    input.extend_from_slice(b"\r\nHost: a\r\n\r\n");
    assert_eq!(error_with(&input, &small_limits()), HttpError::LineTooLong);
}

#[test]
fn accepts_header_lines_exactly_at_the_line_limit() {
    let limits = small_limits();
    for last in [false, true] {
        let mut input = b"GET / HTTP/1.1\r\n".to_vec();
        if last {
            input.extend_from_slice(b"Host: a\r\n");
        }
        input.extend_from_slice(b"X: ");
        input.extend_from_slice(&vec![b'v'; limits.max_line - 3]);
        input.extend_from_slice(b"\r\n");
        if !last {
            input.extend_from_slice(b"Host: a\r\n");
        }
        let mut longer = input.clone();
        input.extend_from_slice(b"\r\n");
        assert!(
            matches!(feed(&input, &limits).0, Ok(Parsed::Complete(_))),
            "last: {last}"
        );
        let at = longer.len() - if last { 2 } else { 11 };
        longer.insert(at, b'v');
        longer.extend_from_slice(b"\r\n");
        assert_eq!(
            error_with(&longer, &limits),
            HttpError::LineTooLong,
            "last: {last}"
        );
    }
}

/// A head over [`PARSE_EVERY_CALL_UP_TO`] with `lines` header lines of `pad` bytes each,
/// ended by `end` (CRLF CRLF or LF LF).
fn long_head(lines: usize, pad: usize, end: &[u8]) -> Vec<u8> {
    let mut input = b"GET /long HTTP/1.1\r\nHost: a\r\n".to_vec();
    for i in 0..lines {
        input.extend_from_slice(format!("X-Pad-{i}: ").as_bytes());
        input.extend_from_slice(&vec![b'p'; pad]);
        input.extend_from_slice(b"\r\n");
    }
    input.truncate(input.len() - 2);
    input.extend_from_slice(end);
    assert!(input.len() > PARSE_EVERY_CALL_UP_TO);
    input
}

#[test]
fn a_long_head_trickled_a_byte_at_a_time_completes_exactly_at_its_end() {
    // `head` feeds every prefix: partial until the last byte, then the same head as whole.
    let h = head(&long_head(60, 150, b"\r\n\r\n"));
    assert_eq!(h.header_count, 61);
    let h = head(&long_head(60, 150, b"\n\n"));
    assert_eq!(h.header_count, 61);
    // Body bytes after the empty line do not hide it.
    let mut with_body = long_head(60, 150, b"\r\n\r\n");
    let head_len = with_body.len();
    with_body.extend_from_slice(b"body bytes");
    assert!(
        matches!(parse_with(&with_body, &Limits::DEFAULT), Ok(Parsed::Complete(h)) if h.head_len as usize == head_len)
    );
}

#[test]
fn a_bad_line_in_a_long_head_is_answered_once_the_head_ends() {
    // Input: a header name with a space, then 5 KB more of head. Answer: 400
    // (BadHeaderName); at once while the head is under 4 KB, and once its empty line
    // arrives beyond that (a long partial head is not parsed again for every read).
    let mut input = b"GET / HTTP/1.1\r\nBad Name: x\r\n".to_vec();
    assert_eq!(
        parse_with(&input, &Limits::DEFAULT),
        Err(HttpError::BadHeaderName)
    );
    while input.len() <= PARSE_EVERY_CALL_UP_TO {
        input.extend_from_slice(b"X-Pad: 0123456789012345678901234567890123456789\r\n");
    }
    assert_eq!(parse_with(&input, &Limits::DEFAULT), Ok(Parsed::Partial));
    input.extend_from_slice(b"\r\n");
    assert_eq!(
        parse_with(&input, &Limits::DEFAULT),
        Err(HttpError::BadHeaderName)
    );
}

#[test]
fn limits_still_apply_to_a_long_head_without_its_end() {
    // Input: 40 KB of header lines and no empty line. Answer: 431 (HeadTooLarge) once the
    // buffer passes the 32 KB limit, without waiting for an end that never comes.
    let mut input = b"GET / HTTP/1.1\r\n".to_vec();
    while input.len() <= Limits::DEFAULT.max_head {
        input.extend_from_slice(b"X-Pad: 0123456789012345678901234567890123456789\r\n");
    }
    assert_eq!(
        parse_with(&input, &Limits::DEFAULT),
        Err(HttpError::HeadTooLarge)
    );
}
