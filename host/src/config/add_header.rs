//! `--add-header 'Name: value'` (uWSGI's): headers added to every response, the app's
//! and the static files' alike, after the ones the response has (a header the app also
//! sets is then sent twice, as with uWSGI).

/// Reads one `Name: value`; the error says what is wrong with it.
pub fn parse(spec: &str) -> Result<(Vec<u8>, Vec<u8>), String> {
    let bad = |why: &str| format!("--add-header '{spec}': {why} (want 'Name: value')");
    let (name, value) = spec.split_once(':').ok_or_else(|| bad("no ':'"))?;
    let (name, value) = (name.trim(), value.trim());
    // RFC 9110 token characters.
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(token) {
        return Err(bad("the name is not an HTTP header name"));
    }
    if value.chars().any(|c| c.is_ascii_control() && c != '\t') {
        return Err(bad("the value holds a control character"));
    }
    Ok((name.as_bytes().to_vec(), value.as_bytes().to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_is_a_name_and_a_trimmed_value() {
        assert_eq!(
            parse("X-Frame-Options:  DENY "),
            Ok((b"X-Frame-Options".to_vec(), b"DENY".to_vec()))
        );
        assert_eq!(
            parse("Content-Security-Policy: default-src 'self'; img-src *"),
            Ok((
                b"Content-Security-Policy".to_vec(),
                b"default-src 'self'; img-src *".to_vec()
            ))
        );
        assert_eq!(parse("X-Empty:"), Ok((b"X-Empty".to_vec(), Vec::new())));
    }

    #[test]
    fn malformed_headers_are_refused_with_the_reason() {
        for (spec, why) in [
            ("X-Frame-Options DENY", "no ':'"),
            ("Bad Name: x", "not an HTTP header name"),
            (": x", "not an HTTP header name"),
            ("X-A: a\r\nX-Injected: b", "control character"),
        ] {
            let err = parse(spec).unwrap_err();
            assert!(err.contains(why), "{spec}: {err}");
        }
    }
}
