//! The status and headers an app passes to `start_response`, checked before anything is sent.
//!
//! Rules (PEP 3333 plus what keeps a response from being split):
//! - the status is a `str`: three digits 100–599, then optionally a space and a reason of
//!   printable ASCII;
//! - the headers are a list (or tuple) of `(str, str)` tuples; a name is an RFC 9110 token,
//!   a value is latin-1 without CR, LF or NUL.

use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};
use rsgi_plugin_api::Header;

use abi_stable::std_types::RSlice;

use crate::latin1;

/// A validated response head, with the header bytes packed in one buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    /// The status code.
    pub status: u16,
    /// The reason phrase (may be empty).
    pub reason: String,
    bytes: Vec<u8>,
    /// `(name_end, value_end)` offsets into `bytes`; each pair starts where the last ended.
    spans: Vec<(usize, usize)>,
    has_content_length: bool,
}

impl ResponseHead {
    /// Checks `status` and `headers` as given to `start_response`; the error says why not.
    pub fn parse(
        status: &Bound<'_, PyAny>,
        headers: &Bound<'_, PyAny>,
    ) -> Result<ResponseHead, String> {
        let (status, reason) = parse_status(status)?;
        let mut head = ResponseHead {
            status,
            reason,
            bytes: Vec::with_capacity(256),
            spans: Vec::new(),
            has_content_length: false,
        };
        let not_a_list = || {
            format!(
                "response headers must be a list, not {}",
                type_name(headers)
            )
        };
        if let Ok(list) = headers.cast::<pyo3::types::PyList>() {
            list.iter().try_for_each(|item| head.push_item(&item))?;
        } else {
            let tuple = headers.cast::<PyTuple>().map_err(|_| not_a_list())?;
            tuple.iter().try_for_each(|item| head.push_item(&item))?;
        }
        Ok(head)
    }

    /// Checks and appends one `(name, value)` item of the app's header list.
    fn push_item(&mut self, item: &Bound<'_, PyAny>) -> Result<(), String> {
        let pair = item
            .cast::<PyTuple>()
            .ok()
            .filter(|t| t.len() == 2)
            .ok_or_else(|| {
                format!(
                    "each response header must be a (name, value) tuple, not {}",
                    short_repr(item)
                )
            })?;
        let name = pair.get_item(0).map_err(|e| e.to_string())?;
        let value = pair.get_item(1).map_err(|e| e.to_string())?;
        self.push_checked(&name, &value)
    }

    fn push_checked(
        &mut self,
        name: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> Result<(), String> {
        let name_str = name
            .cast::<PyString>()
            .map_err(|_| format!("response header name must be str, not {}", type_name(name)))?;
        let name_bytes = latin1::from_str(name_str)
            .filter(|n| !n.is_empty() && n.iter().all(|&b| is_token_byte(b)))
            .ok_or_else(|| format!("invalid response header name {}", short_repr(name)))?;
        let value_str = value.cast::<PyString>().map_err(|_| {
            format!(
                "response header {} value must be str, not {}",
                short_repr(name),
                type_name(value)
            )
        })?;
        let value_bytes = latin1::from_str(value_str)
            .filter(|v| !v.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0)))
            .ok_or_else(|| {
                format!(
                    "invalid value for response header {}: {} (CR, LF, NUL or non-latin-1)",
                    short_repr(name),
                    short_repr(value)
                )
            })?;
        if name_bytes.eq_ignore_ascii_case(b"content-length") {
            self.has_content_length = true;
        }
        self.push(name_bytes, value_bytes);
        Ok(())
    }

    /// Appends a header without checks (for headers the plugin adds itself).
    pub fn push(&mut self, name: &[u8], value: &[u8]) {
        self.bytes.extend_from_slice(name);
        let name_end = self.bytes.len();
        self.bytes.extend_from_slice(value);
        self.spans.push((name_end, self.bytes.len()));
    }

    /// True when the app set `Content-Length` itself.
    pub fn has_content_length(&self) -> bool {
        self.has_content_length
    }

    /// The `Content-Length` the app set, when it is a number.
    pub fn declared_length(&self) -> Option<u64> {
        self.headers()
            .iter()
            .find(|h| h.name.as_slice().eq_ignore_ascii_case(b"content-length"))
            .and_then(|h| {
                std::str::from_utf8(h.value.as_slice())
                    .ok()?
                    .trim()
                    .parse()
                    .ok()
            })
    }

    /// Adds `Content-Length: len` when the app did not set one and the status allows a body.
    pub fn add_content_length(&mut self, len: u64) {
        if self.has_content_length || !status_has_body(self.status) {
            return;
        }
        self.push(b"Content-Length", len.to_string().as_bytes());
        self.has_content_length = true;
    }

    /// The headers as the responder takes them, borrowing from this head.
    pub fn headers(&self) -> Vec<Header<'_>> {
        let mut start = 0;
        self.spans
            .iter()
            .map(|&(name_end, value_end)| {
                let header = Header {
                    name: RSlice::from_slice(&self.bytes[start..name_end]),
                    value: RSlice::from_slice(&self.bytes[name_end..value_end]),
                };
                start = value_end;
                header
            })
            .collect()
    }
}

/// 1xx, 204 and 304 responses have no body, so no `Content-Length` is added to them.
fn status_has_body(status: u16) -> bool {
    !(status < 200 || status == 204 || status == 304)
}

/// `"200 OK"` → `(200, "OK")`.
fn parse_status(status: &Bound<'_, PyAny>) -> Result<(u16, String), String> {
    let text = status
        .cast::<PyString>()
        .map_err(|_| format!("status must be str, not {}", type_name(status)))?;
    let bad = || format!("invalid status {} (want e.g. '200 OK')", short_repr(status));
    let text = text.to_str().map_err(|_| bad())?;
    let bytes = text.as_bytes();
    if bytes.len() < 3 || !bytes[..3].iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    let code: u16 = text[..3].parse().map_err(|_| bad())?;
    if !(100..=599).contains(&code) {
        return Err(bad());
    }
    let reason = match &bytes[3..] {
        [] => "",
        [b' ', rest @ ..]
            if rest
                .iter()
                .all(|&b| b == b'\t' || (0x20..0x7f).contains(&b)) =>
        {
            &text[4..]
        }
        _ => return Err(bad()),
    };
    Ok((code, reason.to_owned()))
}

/// RFC 9110 `tchar`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// `repr(obj)`, cut to a length that fits in a log line.
fn short_repr(obj: &Bound<'_, PyAny>) -> String {
    let repr = obj
        .repr()
        .map(|r| r.to_string())
        .unwrap_or_else(|_| "<unprintable>".into());
    match repr.char_indices().nth(80) {
        Some((cut, _)) => format!("{}...", &repr[..cut]),
        None => repr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::python;

    fn parse(status: &str, headers: &str) -> Result<ResponseHead, String> {
        python(|py| {
            let status = py
                .eval(&std::ffi::CString::new(status).unwrap(), None, None)
                .unwrap();
            let headers = py
                .eval(&std::ffi::CString::new(headers).unwrap(), None, None)
                .unwrap();
            ResponseHead::parse(&status, &headers)
        })
    }

    fn pairs(head: &ResponseHead) -> Vec<(Vec<u8>, Vec<u8>)> {
        head.headers()
            .iter()
            .map(|h| (h.name.to_vec(), h.value.to_vec()))
            .collect()
    }

    #[test]
    fn accepts_a_pep3333_head() {
        let head = parse(
            "'200 OK'",
            "[('Content-Type', 'text/plain'), ('X-A', 'caf\\xe9')]",
        )
        .unwrap();
        assert_eq!((head.status, head.reason.as_str()), (200, "OK"));
        assert_eq!(
            pairs(&head),
            [
                (b"Content-Type".to_vec(), b"text/plain".to_vec()),
                (b"X-A".to_vec(), b"caf\xe9".to_vec())
            ]
        );
        assert!(!head.has_content_length());
    }

    #[test]
    fn status_without_reason_and_with_long_reason() {
        assert_eq!(parse("'204'", "[]").unwrap().reason, "");
        assert_eq!(
            parse("'404 Not Found Here'", "[]").unwrap().reason,
            "Not Found Here"
        );
    }

    #[test]
    fn rejects_bad_statuses() {
        for status in [
            "'OK'",
            "'20 OK'",
            "'2000 OK'",
            "'099 Low'",
            "'600 High'",
            "'200OK'",
            "b'200 OK'",
            "200",
            "'200 O\\r\\nX: y'",
        ] {
            assert!(parse(status, "[]").is_err(), "{status} accepted");
        }
        assert_eq!(
            parse("200", "[]").unwrap_err(),
            "status must be str, not int"
        );
    }

    #[test]
    fn rejects_header_values_that_would_split_the_response() {
        for value in [
            "'a\\r\\nSet-Cookie: x=1'",
            "'a\\nb'",
            "'a\\x00b'",
            "'\\u20ac'",
        ] {
            let err = parse("'200 OK'", &format!("[('X-A', {value})]")).unwrap_err();
            assert!(
                err.starts_with("invalid value for response header 'X-A'"),
                "{err}"
            );
        }
    }

    #[test]
    fn rejects_bad_header_names_and_shapes() {
        assert!(parse("'200 OK'", "[('X A', 'v')]").is_err());
        assert!(parse("'200 OK'", "[('X:A', 'v')]").is_err());
        assert!(parse("'200 OK'", "[('', 'v')]").is_err());
        assert!(parse("'200 OK'", "[('X-\\xe9', 'v')]").is_err());
        assert_eq!(
            parse("'200 OK'", "[(b'X', 'v')]").unwrap_err(),
            "response header name must be str, not bytes"
        );
        assert_eq!(
            parse("'200 OK'", "[('X', 1)]").unwrap_err(),
            "response header 'X' value must be str, not int"
        );
        assert!(parse("'200 OK'", "[('X', 'v', 'w')]").is_err());
        assert!(parse("'200 OK'", "[['X', 'v']]").is_err());
        assert_eq!(
            parse("'200 OK'", "{'X': 'v'}").unwrap_err(),
            "response headers must be a list, not dict"
        );
    }

    #[test]
    fn notices_content_length_in_any_case() {
        assert!(parse("'200 OK'", "[('content-length', '3')]")
            .unwrap()
            .has_content_length());
    }

    #[test]
    fn adds_content_length_only_when_allowed() {
        let mut head = parse("'200 OK'", "[]").unwrap();
        head.add_content_length(12);
        assert_eq!(pairs(&head), [(b"Content-Length".to_vec(), b"12".to_vec())]);
        for status in ["'204 No Content'", "'304 Not Modified'", "'101 Switching'"] {
            let mut head = parse(status, "[]").unwrap();
            head.add_content_length(0);
            assert!(pairs(&head).is_empty(), "{status}");
        }
        let mut head = parse("'200 OK'", "[('Content-Length', '5')]").unwrap();
        head.add_content_length(12);
        assert_eq!(pairs(&head).len(), 1);
    }
}
