//! From a request packet to a [`RequestHead`]: which var goes where.
//!
//! * `REQUEST_METHOD` → method (required), `REQUEST_URI` → uri and, up to the `?`, path;
//!   `QUERY_STRING` → query (else the part of `REQUEST_URI` after the `?`). Without
//!   `REQUEST_URI`, `PATH_INFO` stands in for uri and path.
//! * `SERVER_PROTOCOL` → version: `HTTP/1.0` is HTTP/1.0, anything else HTTP/1.1.
//! * `CONTENT_LENGTH` → body framing (absent or empty: no body).
//! * `HTTP_*` vars → the `headers` array, names as sent ([`NameStyle::Cgi`]).
//! * Every other var, the ones above included, → the `vars` array: the app runtime lets
//!   them override what it derives, so the app sees exactly what the front end sent
//!   (`SERVER_PROTOCOL = HTTP/2.0`, `HTTPS = on`, `SCRIPT_NAME`...).
//! * modifier1 30 (uWSGI's "manage PATH_INFO") is reported as 0, with the `PATH_INFO`
//!   vars shortened by the `SCRIPT_NAME` prefix, or, without `PATH_INFO`, the path
//!   ([`manage_path_info`]).
//!
//! Nothing is copied: every span points into the buffer the host passed in.

use rsgi_plugin_api::{
    protocol::{BodyFraming, BodyKind, HeaderSpan, RequestHead, Span, Version},
    NameStyle,
};

use crate::config::Config;
use crate::error::UwsgiError;
use crate::header::{PacketHeader, HEADER_LEN};
use crate::manage_path_info;
use crate::vars::Vars;

/// Parses the request packet at the start of `buf`.
///
/// Returns `Ok(None)` until the header and the whole vars block have arrived (a packet
/// bigger than `config.buffer_size` is refused as soon as its header is in). On success,
/// `head.head_len` is the packet length; the body, `head.body.length` bytes, follows it.
pub fn parse(
    buf: &[u8],
    headers: &mut [HeaderSpan],
    vars: &mut [HeaderSpan],
    config: &Config,
) -> Result<Option<RequestHead>, UwsgiError> {
    let Some(header) = PacketHeader::parse(buf) else {
        return Ok(None);
    };
    if usize::from(header.datasize) > config.buffer_size {
        return Err(UwsgiError::TooLarge {
            size: header.datasize,
            limit: config.buffer_size,
        });
    }
    let Some(block) = buf.get(HEADER_LEN..header.packet_len()) else {
        return Ok(None);
    };

    let mut known = KnownVars::default();
    let mut header_count = 0;
    let mut var_count = 0;
    for (index, pair) in Vars::new(block).enumerate() {
        let (key, value) = pair?;
        if index >= config.max_vars {
            return Err(UwsgiError::TooManyVars {
                limit: config.max_vars,
            });
        }
        let entry = HeaderSpan {
            name: Span::of(buf, key),
            value: Span::of(buf, value),
        };
        if key.starts_with(b"HTTP_") {
            push(headers, &mut header_count, entry)?;
        } else {
            known.note(key, value)?;
            push(vars, &mut var_count, entry)?;
        }
    }

    // modifier1 30 is a WSGI request whose PATH_INFO loses the SCRIPT_NAME prefix.
    let manages_path_info = header.modifier1 == manage_path_info::MODIFIER1;
    let script_name = manages_path_info
        .then(|| manage_path_info::strip_script_name(buf, &mut vars[..var_count]))
        .flatten();
    let method = known
        .method
        .filter(|m| !m.is_empty())
        .ok_or(UwsgiError::MissingMethod)?;
    let body = body_framing(known.content_length)?;
    let (uri, mut path, uri_query) = match known.request_uri {
        Some(uri) => {
            let (path, query) = split_target(uri);
            (uri, path, query)
        }
        None => {
            let path = known.path_info.unwrap_or_default();
            (path, path, None)
        }
    };
    // Without a PATH_INFO var the app runtime derives it from the path: cut that instead.
    if let (Some(script), None) = (script_name, known.path_info) {
        path = manage_path_info::below(path, script);
    }
    let query = known.query_string.or(uri_query).unwrap_or_default();
    let span = |part: &[u8]| {
        if part.is_empty() {
            Span::default()
        } else {
            Span::of(buf, part)
        }
    };

    Ok(Some(RequestHead {
        head_len: header.packet_len() as u32,
        method: span(method),
        uri: span(uri),
        path: span(path),
        query: span(query),
        version: version_of(known.server_protocol),
        header_count: header_count as u32,
        var_count: var_count as u32,
        names: NameStyle::Cgi,
        body,
        keep_alive: false,
        expect_continue: false,
        modifier1: if manages_path_info {
            0
        } else {
            header.modifier1
        },
        modifier2: header.modifier2,
    }))
}

/// The vars the head is built from; for repeated ones the last wins, except
/// `CONTENT_LENGTH`, which must not disagree with itself.
#[derive(Default)]
struct KnownVars<'a> {
    method: Option<&'a [u8]>,
    request_uri: Option<&'a [u8]>,
    query_string: Option<&'a [u8]>,
    path_info: Option<&'a [u8]>,
    server_protocol: Option<&'a [u8]>,
    content_length: Option<&'a [u8]>,
}

impl<'a> KnownVars<'a> {
    fn note(&mut self, key: &[u8], value: &'a [u8]) -> Result<(), UwsgiError> {
        let slot = match key {
            b"REQUEST_METHOD" => &mut self.method,
            b"REQUEST_URI" => &mut self.request_uri,
            b"QUERY_STRING" => &mut self.query_string,
            b"PATH_INFO" => &mut self.path_info,
            b"SERVER_PROTOCOL" => &mut self.server_protocol,
            b"CONTENT_LENGTH" => {
                if matches!(self.content_length, Some(earlier) if earlier != value) {
                    return Err(UwsgiError::ConflictingContentLength);
                }
                &mut self.content_length
            }
            _ => return Ok(()),
        };
        *slot = Some(value);
        Ok(())
    }
}

/// Stores `entry` in the next free slot of a host array.
fn push(table: &mut [HeaderSpan], count: &mut usize, entry: HeaderSpan) -> Result<(), UwsgiError> {
    let limit = table.len();
    let slot = table
        .get_mut(*count)
        .ok_or(UwsgiError::HostTableFull { limit })?;
    *slot = entry;
    *count += 1;
    Ok(())
}

/// `CONTENT_LENGTH`: absent, empty or 0 means no body; otherwise plain decimal digits.
fn body_framing(content_length: Option<&[u8]>) -> Result<BodyFraming, UwsgiError> {
    let digits = content_length.unwrap_or_default();
    if digits.is_empty() {
        return Ok(BodyFraming::default());
    }
    let length = digits.iter().try_fold(0u64, |n, &b| {
        if !b.is_ascii_digit() {
            return None;
        }
        n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    });
    match length {
        None => Err(UwsgiError::InvalidContentLength),
        Some(0) => Ok(BodyFraming::default()),
        Some(length) => Ok(BodyFraming {
            kind: BodyKind::Length,
            length,
        }),
    }
}

/// Splits a request target into its path (still percent-encoded) and its query (after
/// the first `?`). An absolute-form target (`http://host/p?q`) loses its scheme and
/// authority.
fn split_target(uri: &[u8]) -> (&[u8], Option<&[u8]>) {
    let (path_and_query, query) = match uri.iter().position(|&b| b == b'?') {
        Some(at) => (&uri[..at], Some(&uri[at + 1..])),
        None => (uri, None),
    };
    (strip_scheme_and_authority(path_and_query), query)
}

fn strip_scheme_and_authority(target: &[u8]) -> &[u8] {
    let after_scheme = [&b"http://"[..], b"https://"].iter().find_map(|scheme| {
        let head = target.get(..scheme.len())?;
        head.eq_ignore_ascii_case(scheme)
            .then(|| &target[scheme.len()..])
    });
    match after_scheme {
        Some(rest) => match rest.iter().position(|&b| b == b'/') {
            Some(at) => &rest[at..],
            None => &rest[rest.len()..],
        },
        None => target,
    }
}

fn version_of(server_protocol: Option<&[u8]>) -> Version {
    match server_protocol {
        Some(b"HTTP/1.0") => Version::Http10,
        _ => Version::Http11,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::encode_packet;
    use crate::testing::{
        assert_invalid_in_every_split, field, parse_in_every_split, parse_with, var_names, Parsed,
    };

    const NGINX_GET: [(&str, &str); 15] = [
        ("QUERY_STRING", "a=1&b=%20"),
        ("REQUEST_METHOD", "GET"),
        ("CONTENT_TYPE", ""),
        ("CONTENT_LENGTH", ""),
        ("REQUEST_URI", "/caf%C3%A9/x?a=1&b=%20"),
        ("PATH_INFO", "/café/x"),
        ("DOCUMENT_ROOT", "/usr/share/nginx/html"),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("REQUEST_SCHEME", "http"),
        ("REMOTE_ADDR", "127.0.0.1"),
        ("REMOTE_PORT", "51234"),
        ("SERVER_PORT", "80"),
        ("SERVER_NAME", "localhost"),
        ("HTTP_HOST", "localhost"),
        ("HTTP_USER_AGENT", "curl/8.5.0"),
    ];

    fn packet(vars: &[(&str, &str)]) -> Vec<u8> {
        encode_packet(0, 0, vars.iter().copied()).unwrap()
    }

    fn get_with(extra: &[(&str, &str)]) -> Vec<u8> {
        let mut vars = vec![("REQUEST_METHOD", "GET"), ("REQUEST_URI", "/")];
        vars.extend_from_slice(extra);
        packet(&vars)
    }

    #[test]
    fn parses_what_nginx_sends_for_a_get() {
        let bytes = packet(&NGINX_GET);
        let Parsed { head, buf, .. } = parse_in_every_split(&bytes);
        assert_eq!(head.head_len as usize, bytes.len());
        assert_eq!(field(&buf, head.method), b"GET");
        assert_eq!(field(&buf, head.uri), b"/caf%C3%A9/x?a=1&b=%20");
        assert_eq!(field(&buf, head.path), b"/caf%C3%A9/x");
        assert_eq!(field(&buf, head.query), b"a=1&b=%20");
        assert_eq!(head.version, Version::Http11);
        assert_eq!(head.body, BodyFraming::default());
        assert_eq!(head.names, NameStyle::Cgi);
        assert!(!head.keep_alive);
        assert!(!head.expect_continue);
        assert_eq!((head.modifier1, head.modifier2), (0, 0));
    }

    #[test]
    fn http_vars_become_headers_with_names_as_sent() {
        let Parsed {
            head, buf, headers, ..
        } = parse_in_every_split(&packet(&NGINX_GET));
        assert_eq!(head.header_count, 2);
        let pairs: Vec<_> = headers[..2]
            .iter()
            .map(|h| (field(&buf, h.name), field(&buf, h.value)))
            .collect();
        assert_eq!(
            pairs,
            [
                (&b"HTTP_HOST"[..], &b"localhost"[..]),
                (b"HTTP_USER_AGENT", b"curl/8.5.0")
            ]
        );
    }

    #[test]
    fn every_other_var_goes_to_vars_in_order() {
        let parsed = parse_in_every_split(&packet(&NGINX_GET));
        assert_eq!(parsed.head.var_count, 13);
        let expected: Vec<&str> = NGINX_GET[..13].iter().map(|(k, _)| *k).collect();
        assert_eq!(var_names(&parsed), expected);
        let path_info = parsed.vars[5];
        assert_eq!(field(&parsed.buf, path_info.value), "/café/x".as_bytes());
    }

    #[test]
    fn carries_body_length_from_content_length() {
        let mut bytes = packet(&[
            ("REQUEST_METHOD", "POST"),
            ("REQUEST_URI", "/submit"),
            ("CONTENT_LENGTH", "11"),
            ("CONTENT_TYPE", "text/plain"),
        ]);
        let packet_len = bytes.len();
        bytes.extend_from_slice(b"hello world");
        let Parsed { head, .. } = parse_in_every_split(&bytes);
        assert_eq!(head.head_len as usize, packet_len);
        assert_eq!(
            head.body,
            BodyFraming {
                kind: BodyKind::Length,
                length: 11
            }
        );
    }

    #[test]
    fn completes_before_the_body_arrives() {
        let bytes = get_with(&[("CONTENT_LENGTH", "5")]);
        let Parsed { head, .. } = parse_in_every_split(&bytes);
        assert_eq!(head.head_len as usize, bytes.len());
        assert_eq!(head.body.length, 5);
    }

    #[test]
    fn missing_empty_or_zero_content_length_means_no_body() {
        for extra in [
            &[][..],
            &[("CONTENT_LENGTH", "")],
            &[("CONTENT_LENGTH", "0")],
        ] {
            let Parsed { head, .. } = parse_in_every_split(&get_with(extra));
            assert_eq!(head.body, BodyFraming::default(), "{extra:?}");
        }
    }

    #[test]
    fn content_length_up_to_u64_max_is_accepted() {
        let Parsed { head, .. } =
            parse_in_every_split(&get_with(&[("CONTENT_LENGTH", "18446744073709551615")]));
        assert_eq!(head.body.length, u64::MAX);
    }

    #[test]
    fn rejects_invalid_content_length() {
        for value in [
            "abc",
            "-1",
            "+5",
            " 5",
            "5 ",
            "1e3",
            "0x10",
            "18446744073709551616",
        ] {
            let bytes = get_with(&[("CONTENT_LENGTH", value)]);
            assert_invalid_in_every_split(&bytes, UwsgiError::InvalidContentLength);
        }
    }

    #[test]
    fn repeated_equal_content_length_is_accepted() {
        let bytes = get_with(&[("CONTENT_LENGTH", "3"), ("CONTENT_LENGTH", "3")]);
        assert_eq!(parse_in_every_split(&bytes).head.body.length, 3);
    }

    #[test]
    fn rejects_conflicting_content_lengths() {
        let bytes = get_with(&[("CONTENT_LENGTH", "3"), ("CONTENT_LENGTH", "30")]);
        assert_invalid_in_every_split(&bytes, UwsgiError::ConflictingContentLength);
    }

    #[test]
    fn http_1_0_is_reported_as_such() {
        let head = parse_in_every_split(&get_with(&[("SERVER_PROTOCOL", "HTTP/1.0")])).head;
        assert_eq!(head.version, Version::Http10);
    }

    #[test]
    fn other_protocols_are_http_1_1() {
        for protocol in ["HTTP/1.1", "HTTP/2.0", "HTTP/3", "http/1.0", ""] {
            let head = parse_in_every_split(&get_with(&[("SERVER_PROTOCOL", protocol)])).head;
            assert_eq!(head.version, Version::Http11, "{protocol}");
        }
    }

    #[test]
    fn without_request_uri_path_info_is_the_uri_and_path() {
        let bytes = packet(&[
            ("REQUEST_METHOD", "GET"),
            ("PATH_INFO", "/a b"),
            ("QUERY_STRING", "x=1"),
        ]);
        let Parsed { head, buf, .. } = parse_in_every_split(&bytes);
        assert_eq!(field(&buf, head.uri), b"/a b");
        assert_eq!(field(&buf, head.path), b"/a b");
        assert_eq!(field(&buf, head.query), b"x=1");
    }

    #[test]
    fn without_request_uri_or_path_info_the_target_is_empty() {
        let Parsed { head, .. } = parse_in_every_split(&packet(&[("REQUEST_METHOD", "GET")]));
        assert_eq!((head.uri, head.path, head.query), Default::default());
    }

    #[test]
    fn without_query_string_the_query_comes_from_request_uri() {
        let Parsed { head, buf, .. } = parse_in_every_split(&packet(&[
            ("REQUEST_METHOD", "GET"),
            ("REQUEST_URI", "/p?q=1?2"),
        ]));
        assert_eq!(field(&buf, head.path), b"/p");
        assert_eq!(field(&buf, head.query), b"q=1?2");
    }

    #[test]
    fn absolute_form_request_uri_keeps_only_the_path() {
        for (uri, path) in [
            ("http://example.com/a/b?x", "/a/b"),
            ("HTTPS://example.com:8443/", "/"),
            ("http://example.com", ""),
        ] {
            let Parsed { head, buf, .. } =
                parse_in_every_split(&packet(&[("REQUEST_METHOD", "GET"), ("REQUEST_URI", uri)]));
            assert_eq!(field(&buf, head.uri), uri.as_bytes());
            assert_eq!(field(&buf, head.path), path.as_bytes(), "{uri}");
        }
    }

    #[test]
    fn the_last_of_repeated_vars_wins() {
        let bytes = packet(&[
            ("REQUEST_METHOD", "GET"),
            ("REQUEST_URI", "/"),
            ("REQUEST_METHOD", "PUT"),
        ]);
        let Parsed { head, buf, .. } = parse_in_every_split(&bytes);
        assert_eq!(field(&buf, head.method), b"PUT");
    }

    #[test]
    fn modifiers_come_from_the_header() {
        let bytes = encode_packet(5, 7, [("REQUEST_METHOD", "GET")]).unwrap();
        let head = parse_in_every_split(&bytes).head;
        assert_eq!((head.modifier1, head.modifier2), (5, 7));
    }

    #[test]
    fn modifier1_30_is_wsgi_with_path_info_below_script_name() {
        let mut vars = NGINX_GET.to_vec();
        vars[4] = ("REQUEST_URI", "/app/x?a=1&b=%20");
        vars[5] = ("PATH_INFO", "/app/x");
        vars.push(("SCRIPT_NAME", "/app"));
        let bytes = encode_packet(30, 0, vars.iter().copied()).unwrap();
        let parsed = parse_in_every_split(&bytes);
        assert_eq!((parsed.head.modifier1, parsed.head.modifier2), (0, 0));
        let value = |name: &str| {
            let v = parsed
                .vars
                .iter()
                .rev()
                .find(|v| field(&parsed.buf, v.name) == name.as_bytes());
            field(&parsed.buf, v.unwrap().value).to_vec()
        };
        assert_eq!(value("PATH_INFO"), b"/x");
        assert_eq!(value("SCRIPT_NAME"), b"/app");
        // The request's own path is untouched.
        assert_eq!(field(&parsed.buf, parsed.head.path), b"/app/x");
        // Without modifier1 30 PATH_INFO stays whole.
        let plain = parse_in_every_split(&encode_packet(0, 0, vars.iter().copied()).unwrap());
        let path_info = plain
            .vars
            .iter()
            .find(|v| field(&plain.buf, v.name) == b"PATH_INFO");
        assert_eq!(field(&plain.buf, path_info.unwrap().value), b"/app/x");
        // Without PATH_INFO, the path (which the app runtime derives it from) is cut.
        let no_path_info: Vec<_> = vars
            .iter()
            .filter(|(k, _)| *k != "PATH_INFO")
            .copied()
            .collect();
        let parsed = parse_in_every_split(&encode_packet(30, 0, no_path_info).unwrap());
        assert_eq!(field(&parsed.buf, parsed.head.path), b"/x");
        assert_eq!(field(&parsed.buf, parsed.head.uri), b"/app/x?a=1&b=%20");
    }

    #[test]
    fn non_utf8_values_pass_through_as_raw_bytes() {
        let bytes = encode_packet(
            0,
            0,
            [
                (&b"REQUEST_METHOD"[..], &b"GET"[..]),
                (b"REQUEST_URI", b"/\xe9t\xe9"),
                (b"HTTP_X_NAME", b"Jos\xe9 \xff\x00"),
            ],
        )
        .unwrap();
        let Parsed {
            head, buf, headers, ..
        } = parse_in_every_split(&bytes);
        assert_eq!(field(&buf, head.path), b"/\xe9t\xe9");
        assert_eq!(field(&buf, headers[0].value), b"Jos\xe9 \xff\x00");
    }

    #[test]
    fn rejects_missing_request_method() {
        let bytes = packet(&[("REQUEST_URI", "/"), ("HTTP_HOST", "x")]);
        assert_invalid_in_every_split(&bytes, UwsgiError::MissingMethod);
    }

    #[test]
    fn rejects_empty_request_method() {
        assert_invalid_in_every_split(
            &packet(&[("REQUEST_METHOD", "")]),
            UwsgiError::MissingMethod,
        );
    }

    #[test]
    fn rejects_an_empty_packet() {
        assert_invalid_in_every_split(b"\x00\x00\x00\x00", UwsgiError::MissingMethod);
    }

    #[test]
    fn rejects_a_var_length_running_past_the_packet() {
        // datasize 6 covers the key, but the value claims 255 bytes.
        let bytes = b"\x00\x06\x00\x00\x01\x00K\xff\x00v";
        assert_invalid_in_every_split(bytes, UwsgiError::TruncatedVar);
    }

    #[test]
    fn rejects_a_packet_ending_inside_a_length() {
        let bytes = b"\x00\x04\x00\x00\x01\x00K\x01";
        assert_invalid_in_every_split(bytes, UwsgiError::TruncatedVar);
    }

    #[test]
    fn rejects_a_zero_length_key() {
        let mut bytes = get_with(&[]);
        // Append an empty key with a value and fix up datasize.
        bytes.extend_from_slice(b"\x00\x00\x01\x00v");
        let datasize = (bytes.len() - HEADER_LEN) as u16;
        bytes[1..3].copy_from_slice(&datasize.to_le_bytes());
        assert_invalid_in_every_split(&bytes, UwsgiError::EmptyKey);
    }

    #[test]
    fn rejects_more_vars_than_max_vars() {
        let names: Vec<String> = (0..8).map(|i| format!("HTTP_X_{i}")).collect();
        let mut vars = vec![("REQUEST_METHOD", "GET")];
        vars.extend(names.iter().map(|n| (n.as_str(), "v")));
        let bytes = packet(&vars);
        let config = Config {
            max_vars: 8,
            ..Config::default()
        };
        let mut headers = [HeaderSpan::default(); 256];
        let mut table = [HeaderSpan::default(); 256];
        assert_eq!(
            parse(&bytes, &mut headers, &mut table, &config),
            Err(UwsgiError::TooManyVars { limit: 8 })
        );
        let config = Config {
            max_vars: 9,
            ..Config::default()
        };
        assert!(matches!(
            parse(&bytes, &mut headers, &mut table, &config),
            Ok(Some(_))
        ));
    }

    #[test]
    fn rejects_more_vars_than_the_default_max_vars() {
        let names: Vec<String> = (0..128).map(|i| format!("HTTP_X_{i}")).collect();
        let mut vars = vec![("REQUEST_METHOD", "GET")];
        vars.extend(names.iter().map(|n| (n.as_str(), "")));
        assert_invalid_in_every_split(&packet(&vars), UwsgiError::TooManyVars { limit: 128 });
    }

    #[test]
    fn rejects_more_headers_than_the_host_array_holds() {
        let bytes = get_with(&[("HTTP_A", "1"), ("HTTP_B", "2"), ("HTTP_C", "3")]);
        let mut headers = [HeaderSpan::default(); 2];
        let mut vars = [HeaderSpan::default(); 256];
        assert_eq!(
            parse(&bytes, &mut headers, &mut vars, &Config::default()),
            Err(UwsgiError::HostTableFull { limit: 2 })
        );
    }

    #[test]
    fn rejects_more_vars_than_the_host_array_holds() {
        let bytes = get_with(&[("SERVER_NAME", "x")]);
        let mut headers = [HeaderSpan::default(); 256];
        let mut vars = [HeaderSpan::default(); 2];
        assert_eq!(
            parse(&bytes, &mut headers, &mut vars, &Config::default()),
            Err(UwsgiError::HostTableFull { limit: 2 })
        );
    }

    #[test]
    fn refuses_a_packet_over_buffer_size_as_soon_as_the_header_is_in() {
        let big = "x".repeat(5000);
        let bytes = get_with(&[("HTTP_COOKIE", &big)]);
        let config = Config {
            buffer_size: 4096,
            ..Config::default()
        };
        let datasize = (bytes.len() - HEADER_LEN) as u16;
        let mut headers = [HeaderSpan::default(); 256];
        let mut vars = [HeaderSpan::default(); 256];
        assert_eq!(
            parse(&bytes[..3], &mut headers, &mut vars, &config),
            Ok(None)
        );
        for n in HEADER_LEN..=bytes.len() {
            assert_eq!(
                parse(&bytes[..n], &mut headers, &mut vars, &config),
                Err(UwsgiError::TooLarge {
                    size: datasize,
                    limit: 4096
                }),
                "{n} bytes"
            );
        }
    }

    #[test]
    fn accepts_a_packet_exactly_at_buffer_size() {
        let bytes = get_with(&[("HTTP_COOKIE", "abc")]);
        let config = Config {
            buffer_size: bytes.len() - HEADER_LEN,
            ..Config::default()
        };
        assert!(parse_with(&bytes, &config).is_ok());
    }

    #[test]
    fn accepts_the_largest_packet_the_protocol_allows_by_default() {
        let base = get_with(&[("HTTP_COOKIE", "")]).len();
        let cookie = "c".repeat(65535 + HEADER_LEN - base);
        let bytes = get_with(&[("HTTP_COOKIE", &cookie)]);
        assert_eq!(bytes.len(), HEADER_LEN + 65535);
        let Parsed {
            head, buf, headers, ..
        } = parse_with(&bytes, &Config::default()).unwrap();
        assert_eq!(field(&buf, headers[0].value).len(), cookie.len());
        assert_eq!(head.head_len as usize, bytes.len());
    }
}
