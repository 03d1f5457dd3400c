//! Field values as RFC 9110 §5.6 defines them: comma-separated lists and tokens.

/// Byte-class tables, built at compile time from the grammar's predicates.
macro_rules! byte_table {
    ($class:ident) => {{
        let mut t = [false; 256];
        let mut i = 0;
        while i < 256 {
            t[i] = $class(i as u8);
            i += 1;
        }
        t
    }};
}

const fn tchar_class(b: u8) -> bool {
    matches!(b,
        b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9'
        | b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+'
        | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~')
}

const fn value_class(b: u8) -> bool {
    b == b'\t' || (b >= b' ' && b <= b'~') || b >= 0x80
}

static TCHAR: [bool; 256] = byte_table!(tchar_class);
static VALUE: [bool; 256] = byte_table!(value_class);

/// True for a `tchar` (RFC 9110 §5.6.2): the bytes a token (a header name, a method, a
/// transfer coding) may contain.
pub fn is_tchar(b: u8) -> bool {
    TCHAR[b as usize]
}

/// True when `s` is a non-empty token.
pub fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// True for a byte allowed in a field value (RFC 9110 §5.5): HTAB, SP, VCHAR, obs-text.
/// Everything else (NUL, CR, LF, other controls, DEL) could split or confuse a message.
pub fn is_value_byte(b: u8) -> bool {
    VALUE[b as usize]
}

/// True when every byte of `s` is allowed in a field value.
pub fn is_value(s: &[u8]) -> bool {
    s.iter().all(|&b| is_value_byte(b))
}

/// True when `s` is one or more ASCII digits and nothing else.
pub fn is_digits(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(u8::is_ascii_digit)
}

/// Parses a `Content-Length`-style number: digits only (no sign, no spaces, no commas);
/// `None` when it is not, or when it does not fit in a `u64`.
pub fn parse_length(s: &[u8]) -> Option<u64> {
    if !is_digits(s) {
        return None;
    }
    s.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// The elements of a comma-separated list value, with the optional whitespace around
/// each element removed. Empty elements are yielded as empty slices (callers decide
/// whether they are harmless).
pub fn list(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(trim_ows)
}

/// True when the list `value` holds `token` (compared case-insensitively).
pub fn list_has(value: &[u8], token: &[u8]) -> bool {
    list(value).any(|e| e.eq_ignore_ascii_case(token))
}

/// `s` without leading and trailing spaces and tabs.
pub fn trim_ows(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |i| i + 1);
    &s[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_classes_match_the_grammar() {
        for b in 0..=255u8 {
            assert_eq!(
                is_tchar(b),
                b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b),
                "{b}"
            );
            assert_eq!(
                is_value_byte(b),
                b == b'\t' || (0x20..0x7f).contains(&b) || b >= 0x80,
                "{b}"
            );
        }
    }

    #[test]
    fn tokens_are_tchars_only() {
        assert!(is_token(b"Content-Type"));
        assert!(is_token(b"x_y.z~1"));
        assert!(!is_token(b""));
        assert!(!is_token(b"a b"));
        assert!(!is_token(b"a:b"));
        assert!(!is_token(b"caf\xc3\xa9"));
    }

    #[test]
    fn values_refuse_controls_but_allow_tab_and_obs_text() {
        assert!(is_value(b"text/html; charset=\"utf-8\"\tx"));
        assert!(is_value(b"caf\xc3\xa9"));
        assert!(is_value(b""));
        for bad in [&b"a\rb"[..], b"a\nb", b"a\0b", b"a\x7fb", b"a\x1bb"] {
            assert!(!is_value(bad), "{bad:?}");
        }
    }

    #[test]
    fn parses_lengths_made_of_digits_only() {
        assert_eq!(parse_length(b"0"), Some(0));
        assert_eq!(parse_length(b"0042"), Some(42));
        assert_eq!(parse_length(b"18446744073709551615"), Some(u64::MAX));
        for bad in [
            &b""[..],
            b"+5",
            b"-5",
            b" 5",
            b"5 ",
            b"5,5",
            b"0x10",
            b"18446744073709551616",
        ] {
            assert_eq!(parse_length(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn splits_lists_and_trims_each_element() {
        let parts: Vec<&[u8]> = list(b"gzip , \tchunked,,x").collect();
        assert_eq!(parts, [&b"gzip"[..], b"chunked", b"", b"x"]);
        assert!(list_has(b"Keep-Alive, Upgrade", b"upgrade"));
        assert!(!list_has(b"keep-alive-ish", b"keep-alive"));
        assert_eq!(trim_ows(b" \t "), b"");
    }
}
