//! Request header names as environ keys: `Content-Type` → `CONTENT_TYPE`,
//! `X-Real-IP` → `HTTP_X_REAL_IP`, cached as Python strings.
//!
//! The cache is keyed by the name exactly as it arrived, so the common case (a client that
//! always spells `User-Agent` the same way) costs one hash lookup and no conversion. It is
//! bounded: past [`MAX_ENTRIES`] names are converted on every request instead of cached, so
//! a client inventing header names cannot grow it.
//!
//! Values are remembered too, one per name: a front server (nginx's fixed `uwsgi_params`)
//! or a client sends the same `SERVER_NAME`, `DOCUMENT_ROOT`, `HTTP_HOST` or `HTTP_ACCEPT`
//! on every request, and handing out the string made last time costs a byte comparison
//! where a new one costs an allocation, a copy and a free. Values that differ per request
//! by nature (the URI, the client's port) and secrets (cookies, credentials) are not kept.

use std::collections::HashMap;
use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::sync::MutexExt;
use pyo3::types::PyString;
use rsgi_plugin_api::{Header, NameStyle};

use crate::latin1;

/// How many distinct spellings are cached per name style.
pub const MAX_ENTRIES: usize = 1024;

/// The longest value remembered for its name (bounds the memory the values hold).
const MAX_VALUE: usize = 128;

/// An environ key for a header, and how repeated values of it are joined.
pub struct CgiKey {
    /// The key, e.g. `HTTP_ACCEPT`.
    pub key: Py<PyString>,
    /// `"; "` for cookies, `", "` for every other header (RFC 9110 list syntax).
    pub separator: &'static [u8],
    /// Its bit in [`derived`] if it is a variable the plugin derives from the request.
    pub derived: u16,
    /// Whether values of this name are remembered ([`remembers_values`]).
    remember: bool,
    /// The value given for this name last time, if remembered.
    last_value: Option<Py<PyString>>,
}

/// False for names whose value differs on every request (remembering it would only cost)
/// or is a secret (it would stay in memory after its request).
fn remembers_values(name: &[u8]) -> bool {
    !matches!(
        name,
        b"REQUEST_URI"
            | b"PATH_INFO"
            | b"QUERY_STRING"
            | b"REMOTE_PORT"
            | b"CONTENT_LENGTH"
            | b"HTTP_COOKIE"
            | b"HTTP_AUTHORIZATION"
            | b"HTTP_PROXY_AUTHORIZATION"
            | b"HTTP_X_REQUEST_ID"
    )
}

impl CgiKey {
    /// `value` as a Python string: the one made last time if it is the same bytes.
    fn value<'py>(&mut self, py: Python<'py>, value: &[u8]) -> Bound<'py, PyString> {
        if let Some(last) = &self.last_value {
            let last = last.bind(py);
            if latin1::from_str(last) == Some(value) {
                return last.clone();
            }
        }
        let made = latin1::to_str(py, value);
        if self.remember && value.len() <= MAX_VALUE {
            self.last_value = Some(made.clone().unbind());
        }
        made
    }
}

/// What a name of a request becomes in the environ: its key, the separator that joins
/// repeated values, and the value as a string.
pub struct Item<'py> {
    /// The environ key.
    pub key: Bound<'py, PyString>,
    /// `"; "` for cookies, `", "` otherwise.
    pub separator: &'static [u8],
    /// The value, latin-1 decoded.
    pub value: Bound<'py, PyString>,
}

/// The CGI variables the plugin derives from the request itself, and those it reads to
/// derive `wsgi.url_scheme`, one bit each. A protocol that sends its own (nginx's
/// `uwsgi_params` sends most of these) makes deriving them wasted work, and looking for
/// variables that were not sent is wasted too: [`keys`] reports which ones a request's
/// variables hold.
pub mod derived {
    /// `REQUEST_METHOD`.
    pub const REQUEST_METHOD: u16 = 1;
    /// `PATH_INFO`.
    pub const PATH_INFO: u16 = 1 << 1;
    /// `QUERY_STRING`.
    pub const QUERY_STRING: u16 = 1 << 2;
    /// `REQUEST_URI`.
    pub const REQUEST_URI: u16 = 1 << 3;
    /// `SERVER_PROTOCOL`.
    pub const SERVER_PROTOCOL: u16 = 1 << 4;
    /// `SERVER_NAME`.
    pub const SERVER_NAME: u16 = 1 << 5;
    /// `SERVER_PORT`.
    pub const SERVER_PORT: u16 = 1 << 6;
    /// `REMOTE_ADDR`.
    pub const REMOTE_ADDR: u16 = 1 << 7;
    /// `REMOTE_PORT`.
    pub const REMOTE_PORT: u16 = 1 << 8;
    /// `CONTENT_LENGTH`.
    pub const CONTENT_LENGTH: u16 = 1 << 9;
    /// `UWSGI_SCHEME` (read for `wsgi.url_scheme`).
    pub const UWSGI_SCHEME: u16 = 1 << 10;
    /// `HTTPS` (read for `wsgi.url_scheme`).
    pub const HTTPS: u16 = 1 << 11;
    /// `REQUEST_SCHEME` (read for `wsgi.url_scheme`).
    pub const REQUEST_SCHEME: u16 = 1 << 12;

    /// The bit of the variable `name` (0 for any other name).
    pub fn bit(name: &[u8]) -> u16 {
        match name {
            b"REQUEST_METHOD" => REQUEST_METHOD,
            b"PATH_INFO" => PATH_INFO,
            b"QUERY_STRING" => QUERY_STRING,
            b"REQUEST_URI" => REQUEST_URI,
            b"SERVER_PROTOCOL" => SERVER_PROTOCOL,
            b"SERVER_NAME" => SERVER_NAME,
            b"SERVER_PORT" => SERVER_PORT,
            b"REMOTE_ADDR" => REMOTE_ADDR,
            b"REMOTE_PORT" => REMOTE_PORT,
            b"CONTENT_LENGTH" => CONTENT_LENGTH,
            b"UWSGI_SCHEME" => UWSGI_SCHEME,
            b"HTTPS" => HTTPS,
            b"REQUEST_SCHEME" => REQUEST_SCHEME,
            _ => 0,
        }
    }
}

/// The CGI name for an HTTP header name, or `None` for a name that contains `_`.
///
/// Such headers are dropped (as gunicorn does): `X_Forwarded_For` would otherwise become
/// the same key as `X-Forwarded-For`, letting a client spoof a header a proxy sets.
pub fn http_to_cgi(name: &[u8]) -> Option<Vec<u8>> {
    if name.contains(&b'_') {
        return None;
    }
    let bare =
        name.eq_ignore_ascii_case(b"content-type") || name.eq_ignore_ascii_case(b"content-length");
    let mut key = Vec::with_capacity(name.len() + 5);
    if !bare {
        key.extend_from_slice(b"HTTP_");
    }
    key.extend(name.iter().map(|&b| {
        if b == b'-' {
            b'_'
        } else {
            b.to_ascii_uppercase()
        }
    }));
    Some(key)
}

/// False for the `HTTP_*` names PEP 3333 does not allow: `HTTP_CONTENT_TYPE` and
/// `HTTP_CONTENT_LENGTH`. nginx's uwsgi module sends them next to `CONTENT_TYPE` and
/// `CONTENT_LENGTH` (which arrive as protocol variables and are the ones kept).
pub fn cgi_header_kept(name: &[u8]) -> bool {
    name != b"HTTP_CONTENT_TYPE" && name != b"HTTP_CONTENT_LENGTH"
}

/// Which list of a request a name comes from: the positions of each are remembered
/// apart (see [`NameCache`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum List {
    /// `Request::headers`.
    Headers,
    /// `Request::vars`.
    Vars,
}

/// How many positions of each list are remembered.
const POSITIONS: usize = 128;

/// Cached conversions, one [`StyleCache`] per [`NameStyle`].
#[derive(Default)]
pub struct NameCache {
    http: StyleCache,
    cgi: StyleCache,
}

/// The conversions of one [`NameStyle`].
///
/// A client (or nginx, with its fixed `uwsgi_params`) sends the same names in the same
/// order on every request, so the entry found at each position of a list last time is
/// tried first: a byte comparison instead of hashing the name. The hash map (SipHash,
/// randomly keyed, so chosen names cannot make it slow) is the fallback.
#[derive(Default)]
struct StyleCache {
    /// Index into `entries` by name.
    index: HashMap<Box<[u8]>, usize>,
    /// The names and their keys (`None` marks a dropped name); at most [`MAX_ENTRIES`].
    entries: Vec<(Box<[u8]>, Option<CgiKey>)>,
    /// Per [`List`]: the entry seen at each position (up to [`POSITIONS`]) last time.
    recent: [Vec<usize>; 2],
}

/// A name's conversion: the cache's own entry, or one made for this call only (past
/// [`MAX_ENTRIES`]). `None` inside marks a dropped name.
enum Slot<'a> {
    Cached(&'a mut Option<CgiKey>),
    Uncached(Option<CgiKey>),
}

impl Slot<'_> {
    fn key(&mut self) -> Option<&mut CgiKey> {
        match self {
            Slot::Cached(key) => key.as_mut(),
            Slot::Uncached(key) => key.as_mut(),
        }
    }
}

impl NameCache {
    /// The environ key for a header named `raw` in `style` (`None`: drop the header).
    pub fn key<'py>(&mut self, py: Python<'py>, style: NameStyle, raw: &[u8]) -> EnvironKey<'py> {
        let mut slot = self.lookup(py, style, raw, List::Headers, POSITIONS);
        slot.key().map(|k| (k.key.bind(py).clone(), k.separator))
    }

    /// The conversion of the name `raw` at `position` of `list`.
    fn lookup(
        &mut self,
        py: Python<'_>,
        style: NameStyle,
        raw: &[u8],
        list: List,
        position: usize,
    ) -> Slot<'_> {
        let cache = match style {
            NameStyle::Http => &mut self.http,
            NameStyle::Cgi => &mut self.cgi,
        };
        let recent = &mut cache.recent[list as usize];
        let last_time = recent.get(position).copied();
        if let Some(i) = last_time.filter(|&i| cache.entries.get(i).is_some_and(|e| *e.0 == *raw)) {
            return Slot::Cached(&mut cache.entries[i].1);
        }
        let index = match cache.index.get(raw) {
            Some(&i) => i,
            None => {
                let converted = match style {
                    NameStyle::Http => http_to_cgi(raw).map(|name| make_key(py, &name)),
                    NameStyle::Cgi => cgi_header_kept(raw).then(|| make_key(py, raw)),
                };
                if cache.entries.len() >= MAX_ENTRIES {
                    return Slot::Uncached(converted);
                }
                let i = cache.entries.len();
                cache.entries.push((raw.into(), converted));
                cache.index.insert(raw.into(), i);
                i
            }
        };
        if position < POSITIONS {
            if recent.len() <= position {
                recent.resize(position + 1, usize::MAX);
            }
            recent[position] = index;
        }
        Slot::Cached(&mut cache.entries[index].1)
    }
}

/// An interned key string for a CGI name.
fn make_key(py: Python<'_>, name: &[u8]) -> CgiKey {
    let key = match std::str::from_utf8(name) {
        Ok(text) => PyString::intern(py, text),
        Err(_) => latin1::to_str(py, name),
    };
    let separator: &'static [u8] = if name == b"HTTP_COOKIE" { b"; " } else { b", " };
    CgiKey {
        key: key.unbind(),
        separator,
        derived: derived::bit(name),
        remember: remembers_values(name),
        last_value: None,
    }
}

static CACHE: Mutex<Option<NameCache>> = Mutex::new(None);

/// An environ key and the separator that joins repeated values (`None`: drop the name).
pub type EnvironKey<'py> = Option<(Bound<'py, PyString>, &'static [u8])>;

/// The environ item of each of `headers` (`None`: drop it), keys and remembered values
/// from the process-wide cache, and the [`derived`] bits of the keys among them.
///
/// The lock is taken once per call, not per header, and nothing done under it can run
/// Python code (strings are made and freed, nothing GC-tracked), so it is never held across
/// a GIL release. A thread that has to wait for it waits detached from the interpreter: on
/// a free-threaded Python nothing else serialises the request threads, and a thread blocked
/// while attached would stall a stop-the-world pause (the garbage collector's) for everyone.
pub fn items<'py>(
    py: Python<'py>,
    style: NameStyle,
    list: List,
    headers: &[Header<'_>],
) -> (Vec<Option<Item<'py>>>, u16) {
    let mut guard = CACHE
        .lock_py_attached(py)
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let cache = guard.get_or_insert_with(NameCache::default);
    let mut bits = 0;
    let items = headers
        .iter()
        .enumerate()
        .map(|(position, h)| {
            let mut slot = cache.lookup(py, style, h.name.as_slice(), list, position);
            slot.key().map(|k| {
                bits |= k.derived;
                Item {
                    key: k.key.bind(py).clone(),
                    separator: k.separator,
                    value: k.value(py, h.value.as_slice()),
                }
            })
        })
        .collect();
    (items, bits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::python;

    #[test]
    fn keys_report_which_derived_variables_a_protocol_sent() {
        python(|py| {
            let var = |name: &'static [u8], value: &'static [u8]| Header {
                name: abi_stable::std_types::RSlice::from_slice(name),
                value: abi_stable::std_types::RSlice::from_slice(value),
            };
            let vars = [
                var(b"REQUEST_METHOD", b"GET"),
                var(b"HTTP_HOST", b"h"),
                var(b"CONTENT_LENGTH", b"3"),
                var(b"DOCUMENT_ROOT", b"/srv"),
            ];
            let (found, bits) = items(py, NameStyle::Cgi, List::Vars, &vars);
            assert_eq!(found.len(), 4);
            assert_eq!(bits, derived::REQUEST_METHOD | derived::CONTENT_LENGTH);
            // Cached the second time, same answer.
            assert_eq!(items(py, NameStyle::Cgi, List::Vars, &vars).1, bits);
            assert_eq!(derived::bit(b"PATH_INFO"), derived::PATH_INFO);
            assert_eq!(derived::bit(b"HTTP_PATH_INFO"), 0);
        });
    }

    #[test]
    fn repeated_values_are_the_same_string_but_never_a_stale_one() {
        python(|py| {
            let header = |name: &'static [u8], value: &'static [u8]| Header {
                name: abi_stable::std_types::RSlice::from_slice(name),
                value: abi_stable::std_types::RSlice::from_slice(value),
            };
            let values = |headers: &[Header<'_>]| {
                let (found, _) = items(py, NameStyle::Http, List::Headers, headers);
                found
                    .into_iter()
                    .map(|i| i.unwrap().value)
                    .collect::<Vec<_>>()
            };
            static LONG: [u8; MAX_VALUE + 1] = [b'a'; MAX_VALUE + 1];
            let first = values(&[
                header(b"X-Value-Test", b"example.com"),
                header(b"Cookie", b"s=1"),
                header(b"X-Long", &LONG),
            ]);
            let again = values(&[
                header(b"X-Value-Test", b"example.com"),
                header(b"Cookie", b"s=1"),
                header(b"X-Long", &LONG),
            ]);
            // (A name of its own: the cache is the process's, shared with other tests.)
            // Its value is remembered; a cookie (a secret) and an over-long value are not.
            assert!(first[0].is(&again[0]));
            assert!(!first[1].is(&again[1]));
            assert!(!first[2].is(&again[2]));
            assert_eq!(again[1].to_str().unwrap(), "s=1");
            assert_eq!(again[2].len().unwrap(), MAX_VALUE + 1);
            // Another value for the same name is a string of its own bytes (as latin-1),
            // and is what is remembered from then on.
            let changed = values(&[header(b"X-Value-Test", b"caf\xe9.example")]);
            assert_eq!(changed[0].to_str().unwrap(), "caf\u{e9}.example");
            assert!(!changed[0].is(&first[0]));
            let back = values(&[header(b"X-Value-Test", b"caf\xe9.example")]);
            assert!(back[0].is(&changed[0]));
            // The URI differs per request: not remembered.
            let (uri, _) = items(
                py,
                NameStyle::Cgi,
                List::Vars,
                &[header(b"REQUEST_URI", b"/a")],
            );
            let (uri2, _) = items(
                py,
                NameStyle::Cgi,
                List::Vars,
                &[header(b"REQUEST_URI", b"/a")],
            );
            assert!(!uri[0]
                .as_ref()
                .unwrap()
                .value
                .is(&uri2[0].as_ref().unwrap().value));
        });
    }

    #[test]
    fn names_in_another_order_still_get_their_own_keys() {
        python(|py| {
            let mut cache = NameCache::default();
            let mut at = |name: &[u8], list, position| {
                let mut slot = cache.lookup(py, NameStyle::Http, name, list, position);
                slot.key()
                    .unwrap()
                    .key
                    .bind(py)
                    .to_str()
                    .unwrap()
                    .to_owned()
            };
            // The first request remembers Host at 0 and Accept at 1 ...
            assert_eq!(at(b"Host", List::Headers, 0), "HTTP_HOST");
            assert_eq!(at(b"Accept", List::Headers, 1), "HTTP_ACCEPT");
            // ... the next sends them the other way round, and a new name.
            assert_eq!(at(b"Accept", List::Headers, 0), "HTTP_ACCEPT");
            assert_eq!(at(b"Host", List::Headers, 1), "HTTP_HOST");
            assert_eq!(at(b"Cookie", List::Headers, 0), "HTTP_COOKIE");
            // Positions of the other list and past POSITIONS are not confused with them.
            assert_eq!(at(b"Host", List::Vars, 0), "HTTP_HOST");
            assert_eq!(at(b"Host", List::Headers, POSITIONS + 5), "HTTP_HOST");
            assert_eq!(at(b"X-A", List::Headers, POSITIONS + 5), "HTTP_X_A");
            // The same order again: served from the positions, same answers.
            assert_eq!(at(b"Cookie", List::Headers, 0), "HTTP_COOKIE");
            assert_eq!(at(b"Host", List::Headers, 1), "HTTP_HOST");
        });
        python(|py| {
            let mut cache = NameCache::default();
            // A dropped name remembered at a position stays dropped there.
            let mut dropped = |name: &[u8]| {
                let mut slot = cache.lookup(py, NameStyle::Http, name, List::Headers, 0);
                slot.key().is_none()
            };
            assert!(dropped(b"X_Y"));
            assert!(dropped(b"X_Y"));
            assert!(!dropped(b"X-Y"));
            assert_eq!(cache.http.recent[List::Headers as usize], [1]);
        });
    }

    #[test]
    fn http_names_become_upper_case_with_underscores() {
        assert_eq!(http_to_cgi(b"User-Agent").unwrap(), b"HTTP_USER_AGENT");
        assert_eq!(http_to_cgi(b"x-real-ip").unwrap(), b"HTTP_X_REAL_IP");
        assert_eq!(http_to_cgi(b"Host").unwrap(), b"HTTP_HOST");
    }

    #[test]
    fn content_type_and_length_have_no_http_prefix() {
        assert_eq!(http_to_cgi(b"content-type").unwrap(), b"CONTENT_TYPE");
        assert_eq!(http_to_cgi(b"Content-Length").unwrap(), b"CONTENT_LENGTH");
        assert_eq!(
            http_to_cgi(b"Content-Encoding").unwrap(),
            b"HTTP_CONTENT_ENCODING"
        );
    }

    #[test]
    fn names_with_underscores_are_dropped() {
        assert_eq!(http_to_cgi(b"X_Forwarded_For"), None);
    }

    #[test]
    fn cache_returns_the_same_interned_key() {
        python(|py| {
            let mut cache = NameCache::default();
            let (a, sep) = cache.key(py, NameStyle::Http, b"Cookie").unwrap();
            let (b, _) = cache.key(py, NameStyle::Http, b"Cookie").unwrap();
            assert!(a.is(&b));
            assert_eq!(a.to_str().unwrap(), "HTTP_COOKIE");
            assert_eq!(sep, b"; ");
            assert!(a.is(PyString::intern(py, "HTTP_COOKIE")));
        });
    }

    #[test]
    fn cgi_style_names_are_used_as_they_are() {
        python(|py| {
            let mut cache = NameCache::default();
            let (key, sep) = cache.key(py, NameStyle::Cgi, b"HTTP_X_A").unwrap();
            assert_eq!(key.to_str().unwrap(), "HTTP_X_A");
            assert_eq!(sep, b", ");
        });
    }

    #[test]
    fn cgi_style_content_headers_are_dropped() {
        python(|py| {
            let mut cache = NameCache::default();
            assert!(cache
                .key(py, NameStyle::Cgi, b"HTTP_CONTENT_TYPE")
                .is_none());
            assert!(cache
                .key(py, NameStyle::Cgi, b"HTTP_CONTENT_LENGTH")
                .is_none());
            assert!(cache
                .key(py, NameStyle::Cgi, b"HTTP_CONTENT_ENCODING")
                .is_some());
        });
    }

    #[test]
    fn cache_stops_growing_at_its_bound_but_still_converts() {
        python(|py| {
            let mut cache = NameCache::default();
            for i in 0..MAX_ENTRIES + 10 {
                let name = format!("X-{i}");
                let (key, _) = cache.key(py, NameStyle::Http, name.as_bytes()).unwrap();
                assert_eq!(key.to_str().unwrap(), format!("HTTP_X_{i}"));
            }
            assert_eq!(cache.http.entries.len(), MAX_ENTRIES);
            assert_eq!(cache.http.index.len(), MAX_ENTRIES);
        });
    }
}
