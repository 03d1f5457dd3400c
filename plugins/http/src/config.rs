//! The plugin's options (`http-max-header-size` and friends, and uWSGI's `buffer-size`
//! and `max-vars`, which the uwsgi protocol plugin declares too): declared, parsed once in `init`, read by
//! the parser for every request.

use abi_stable::std_types::RStr;
use rsgi_plugin_api::{options, OptionKind, OptionSpec, OptionValue};

/// Upper bound for `http-max-headers`: the parser keeps its header array on the stack, and
/// the host's array holds 256 entries.
pub const HEADER_ARRAY_CAPACITY: usize = 256;

/// Size limits applied while parsing a request head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Total bytes of the request head (request line, headers, final CRLF):
    /// `http-max-header-size`, default 32 KiB (nginx's 4 buffers of 8 KiB).
    pub max_head: usize,
    /// Bytes of one header line (and of the request line, beyond the URI allowance):
    /// `http-max-line-size`, default 8 KiB (nginx's `large_client_header_buffers` size).
    pub max_line: usize,
    /// Bytes of the request target: `http-max-uri-size`, default 8 KiB.
    pub max_uri: usize,
    /// Number of header lines: `http-max-headers`, default 100 (gunicorn's default).
    pub max_headers: usize,
}

impl Limits {
    /// The defaults documented on each field.
    pub const DEFAULT: Limits = Limits {
        max_head: 32 * 1024,
        max_line: 8 * 1024,
        max_uri: 8 * 1024,
        max_headers: 100,
    };

    /// The longest request line accepted: a full-size URI plus room for the method and the
    /// version, or the per-line limit when that is larger. Beyond it, a request line whose
    /// URI is within bounds gets 431 (its method is absurd); a long URI gets 414.
    pub fn max_request_line(&self) -> usize {
        self.max_line.max(self.max_uri + 64)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// The options this plugin declares.
pub fn specs() -> Vec<OptionSpec> {
    let spec = |name: &'static str, value_name: &'static str, help: &'static str| OptionSpec {
        name: RStr::from_str(name),
        aliases: RStr::from_str(""),
        value_name: RStr::from_str(value_name),
        help: RStr::from_str(help),
        kind: OptionKind::Value,
    };
    vec![
        // Declared the same way as the uwsgi plugin's (name, kind, no aliases): the host
        // makes them one option that both plugins get.
        spec(
            "buffer-size",
            "BYTES",
            "uWSGI's request buffer: over HTTP, the largest request head, header line and request target (the http-max-* options, when given, win)",
        ),
        spec(
            "max-vars",
            "N",
            "uWSGI's variable limit: over HTTP, the most header lines in one request (1-256; --http-max-headers, when given, wins)",
        ),
        spec(
            "http-max-header-size",
            "BYTES",
            "largest HTTP request head (request line + headers) in bytes, k/m suffixes allowed; larger gets 431 (default 32k)",
        ),
        spec(
            "http-max-line-size",
            "BYTES",
            "longest single HTTP header line in bytes, k/m suffixes allowed; longer gets 431 (default 8k)",
        ),
        spec(
            "http-max-uri-size",
            "BYTES",
            "longest HTTP request target in bytes, k/m suffixes allowed; longer gets 414 (default 8k)",
        ),
        spec(
            "http-max-headers",
            "N",
            "most header lines in one HTTP request (1-256); more gets 431 (default 100)",
        ),
    ]
}

/// Reads the user's option values into [`Limits`]; the error names the option and says
/// what is accepted.
pub fn from_options(values: &[OptionValue]) -> Result<Limits, String> {
    let mut limits = Limits::default();
    // uWSGI's one buffer bounds the whole head, so a big cookie fits once it is raised.
    if let Some(v) = options::find(values, "buffer-size") {
        let bytes = size("buffer-size", v, 256, 16 * 1024 * 1024)?;
        limits.max_head = bytes;
        limits.max_line = bytes;
        limits.max_uri = bytes;
    }
    if let Some(v) = options::find(values, "max-vars") {
        limits.max_headers = count("max-vars", v, 1, HEADER_ARRAY_CAPACITY)?;
    }
    if let Some(v) = options::find(values, "http-max-header-size") {
        limits.max_head = size("http-max-header-size", v, 256, 16 * 1024 * 1024)?;
    }
    if let Some(v) = options::find(values, "http-max-line-size") {
        limits.max_line = size("http-max-line-size", v, 64, 16 * 1024 * 1024)?;
    }
    if let Some(v) = options::find(values, "http-max-uri-size") {
        limits.max_uri = size("http-max-uri-size", v, 16, 16 * 1024 * 1024)?;
    }
    if let Some(v) = options::find(values, "http-max-headers") {
        limits.max_headers = count("http-max-headers", v, 1, HEADER_ARRAY_CAPACITY)?;
    }
    Ok(limits)
}

/// A byte size: digits with an optional `k`/`K` (KiB) or `m`/`M` (MiB) suffix.
fn size(name: &str, value: &str, min: usize, max: usize) -> Result<usize, String> {
    let trimmed = value.trim();
    let (digits, unit) = match trimmed.as_bytes().last() {
        Some(b'k' | b'K') => (&trimmed[..trimmed.len() - 1], 1024),
        Some(b'm' | b'M') => (&trimmed[..trimmed.len() - 1], 1024 * 1024),
        _ => (trimmed, 1),
    };
    let parsed = parse_digits(digits)
        .and_then(|n| n.checked_mul(unit))
        .filter(|n| (min..=max).contains(n));
    parsed.ok_or_else(|| {
        format!(
            "invalid value {value:?} for --{name}: expected a size in bytes between {min} and {max} (suffix k or m allowed)"
        )
    })
}

/// A plain count between `min` and `max`.
fn count(name: &str, value: &str, min: usize, max: usize) -> Result<usize, String> {
    parse_digits(value.trim())
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| {
            format!(
                "invalid value {value:?} for --{name}: expected a number between {min} and {max}"
            )
        })
}

fn parse_digits(s: &str) -> Option<usize> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi_stable::std_types::{RString, RVec};

    fn opt(name: &str, value: &str) -> OptionValue {
        OptionValue {
            name: RString::from(name),
            values: RVec::from(vec![RString::from(value)]),
        }
    }

    #[test]
    fn buffer_size_bounds_head_line_and_uri_unless_they_are_given() {
        let limits = from_options(&[opt("buffer-size", "32768")]).unwrap();
        assert_eq!(
            (limits.max_head, limits.max_line, limits.max_uri),
            (32768, 32768, 32768)
        );
        let limits =
            from_options(&[opt("http-max-line-size", "4k"), opt("buffer-size", "65535")]).unwrap();
        assert_eq!((limits.max_head, limits.max_line), (65535, 4096));
        assert!(from_options(&[opt("buffer-size", "10")])
            .unwrap_err()
            .contains("buffer-size"));
        assert_eq!(
            from_options(&[opt("max-vars", "40")]).unwrap().max_headers,
            40
        );
        let both = from_options(&[opt("http-max-headers", "20"), opt("max-vars", "40")]);
        assert_eq!(both.unwrap().max_headers, 20);
    }

    #[test]
    fn defaults_apply_when_no_option_is_set() {
        assert_eq!(from_options(&[]).unwrap(), Limits::DEFAULT);
    }

    #[test]
    fn sizes_accept_plain_bytes_and_k_m_suffixes() {
        let limits = from_options(&[
            opt("http-max-header-size", "64k"),
            opt("http-max-uri-size", "4096"),
            opt("http-max-line-size", "1M"),
            opt("http-max-headers", "256"),
        ])
        .unwrap();
        assert_eq!(limits.max_head, 64 * 1024);
        assert_eq!(limits.max_uri, 4096);
        assert_eq!(limits.max_line, 1024 * 1024);
        assert_eq!(limits.max_headers, 256);
    }

    #[test]
    fn rejects_bad_values_with_a_message_naming_the_option() {
        for (name, value) in [
            ("http-max-header-size", "lots"),
            ("http-max-header-size", "-1"),
            ("http-max-header-size", "10"),
            ("http-max-header-size", "1g"),
            ("http-max-uri-size", ""),
            ("http-max-line-size", "+8k"),
            ("http-max-headers", "0"),
            ("http-max-headers", "257"),
            ("http-max-headers", "1k"),
        ] {
            let err = from_options(&[opt(name, value)]).unwrap_err();
            assert!(err.contains(name), "{err}");
            assert!(err.contains(&format!("{value:?}")), "{err}");
        }
    }

    #[test]
    fn request_line_allows_a_full_size_uri() {
        let l = Limits::DEFAULT;
        assert!(l.max_request_line() >= l.max_uri + "DELETE  HTTP/1.1".len());
    }

    #[test]
    fn declares_six_value_options() {
        let names: Vec<_> = specs().iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "buffer-size",
                "max-vars",
                "http-max-header-size",
                "http-max-line-size",
                "http-max-uri-size",
                "http-max-headers"
            ]
        );
    }
}
