//! modifier1 30 (`UWSGI_MODIFIER_MANAGE_PATH_INFO`): `PATH_INFO` without the `SCRIPT_NAME`
//! prefix.
//!
//! nginx configs written for uWSGI mount an app under a prefix with
//!
//! ```nginx
//! location /app/ { include uwsgi_params; uwsgi_param SCRIPT_NAME /app; uwsgi_modifier1 30; uwsgi_pass ...; }
//! ```
//!
//! and mean the app to see `SCRIPT_NAME=/app`, `PATH_INFO=/x` for `/app/x` (nginx's
//! `PATH_INFO` is the whole path). Such a packet is otherwise a WSGI request, modifier1 0.
//! uWSGI 1.x cut `len(SCRIPT_NAME)` bytes off `PATH_INFO` whatever they were, and 2.0
//! leaves `PATH_INFO` whole; here the prefix is removed only where it is one, at a segment
//! boundary (`/app` from `/app` and `/app/x`, not from `/apple`), and `PATH_INFO` is left
//! as sent otherwise. Done on the spans: nothing is copied.

use rsgi_plugin_api::protocol::HeaderSpan;

/// The modifier1 value that asks for this.
pub const MODIFIER1: u8 = 30;

/// Shortens every `PATH_INFO` value among `vars` (spans into `buf`) that starts with the
/// last `SCRIPT_NAME` value (without a trailing `/`) at a segment boundary. Returns that
/// `SCRIPT_NAME` (`None`: none, or empty), for a request without `PATH_INFO`, whose path
/// the app runtime derives it from: see [`below`].
pub fn strip_script_name<'a>(buf: &'a [u8], vars: &mut [HeaderSpan]) -> Option<&'a [u8]> {
    let script = vars
        .iter()
        .rev()
        .find(|v| v.name.get(buf) == b"SCRIPT_NAME")
        .map(|v| v.value.get(buf))?;
    let script = script.strip_suffix(b"/").unwrap_or(script);
    if script.is_empty() {
        return None;
    }
    for var in vars.iter_mut() {
        if var.name.get(buf) != b"PATH_INFO" {
            continue;
        }
        let cut = below(var.value.get(buf), script).len();
        let dropped = var.value.len - cut as u32;
        var.value.start += dropped;
        var.value.len -= dropped;
    }
    Some(script)
}

/// `path` without the `script` prefix when it is one at a segment boundary (`/app` from
/// `/app` and `/app/x`, not from `/apple`); `path` itself otherwise.
pub fn below<'a>(path: &'a [u8], script: &[u8]) -> &'a [u8] {
    match path.strip_prefix(script) {
        Some(rest) if rest.is_empty() || rest[0] == b'/' => rest,
        _ => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsgi_plugin_api::protocol::Span;

    /// `vars` laid out in one buffer, with their spans.
    fn layout(vars: &[(&str, &str)]) -> (Vec<u8>, Vec<HeaderSpan>) {
        let mut buf = Vec::new();
        let mut spans = Vec::new();
        let mut put = |s: &str| {
            let span = Span {
                start: buf.len() as u32,
                len: s.len() as u32,
            };
            buf.extend_from_slice(s.as_bytes());
            span
        };
        for (name, value) in vars {
            let name = put(name);
            let value = put(value);
            spans.push(HeaderSpan { name, value });
        }
        (buf, spans)
    }

    fn path_info_after(vars: &[(&str, &str)]) -> String {
        let (buf, mut spans) = layout(vars);
        strip_script_name(&buf, &mut spans);
        let span = spans
            .iter()
            .rev()
            .find(|v| v.name.get(&buf) == b"PATH_INFO")
            .unwrap();
        String::from_utf8(span.value.get(&buf).to_vec()).unwrap()
    }

    #[test]
    fn the_prefix_is_removed_at_a_segment_boundary() {
        let at = |script, path| path_info_after(&[("PATH_INFO", path), ("SCRIPT_NAME", script)]);
        assert_eq!(at("/app", "/app/x/y"), "/x/y");
        assert_eq!(at("/app", "/app"), "");
        assert_eq!(at("/app/", "/app/x"), "/x");
        assert_eq!(at("/a/b", "/a/b/c"), "/c");
    }

    #[test]
    fn path_info_stays_whole_where_the_prefix_is_not_one() {
        let at = |script, path| path_info_after(&[("SCRIPT_NAME", script), ("PATH_INFO", path)]);
        assert_eq!(at("/app", "/apple"), "/apple");
        assert_eq!(at("/app", "/other/app"), "/other/app");
        assert_eq!(at("", "/app/x"), "/app/x");
        assert_eq!(at("/", "/app/x"), "/app/x");
        assert_eq!(path_info_after(&[("PATH_INFO", "/app/x")]), "/app/x");
    }

    #[test]
    fn below_cuts_whole_segments_only() {
        assert_eq!(below(b"/app/x", b"/app"), b"/x");
        assert_eq!(below(b"/app", b"/app"), b"");
        assert_eq!(below(b"/apple", b"/app"), b"/apple");
        assert_eq!(below(b"/x", b"/app"), b"/x");
    }

    #[test]
    fn the_last_script_name_counts_and_every_path_info_is_cut() {
        let (buf, mut spans) = layout(&[
            ("SCRIPT_NAME", "/old"),
            ("PATH_INFO", "/app/a"),
            ("SCRIPT_NAME", "/app"),
            ("PATH_INFO", "/app/b"),
        ]);
        strip_script_name(&buf, &mut spans);
        assert_eq!(spans[1].value.get(&buf), b"/a");
        assert_eq!(spans[3].value.get(&buf), b"/b");
    }
}
