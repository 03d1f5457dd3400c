//! uWSGI's `static-expires*` options: an `Expires` header on files `--static-map` serves,
//! chosen by the first rule that matches, in this order:
//! - `--static-expires-type MIME=SECONDS` (the file's content type);
//! - `--static-expires 'REGEX SECONDS'` (the file's path);
//! - `--static-expires-uri 'REGEX SECONDS'` (the request URI, query included);
//! - `--static-expires-path-info 'REGEX SECONDS'` (the request path).
//!
//! Each has a `-mtime` form that counts SECONDS from the file's modification time instead
//! of from now. A regex matches anywhere in the text (as uWSGI's PCRE search does); anchor
//! it with `^`/`$` to match the whole.

use std::time::{Duration, SystemTime};

use regex::bytes::Regex;

use crate::error::HostError;

/// What a rule looks at.
#[derive(Debug, Clone)]
enum Matcher {
    Type(String),
    File(Regex),
    Uri(Regex),
    PathInfo(Regex),
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Matcher::Type(a), Matcher::Type(b)) => a == b,
            (Matcher::File(a), Matcher::File(b))
            | (Matcher::Uri(a), Matcher::Uri(b))
            | (Matcher::PathInfo(a), Matcher::PathInfo(b)) => a.as_str() == b.as_str(),
            _ => false,
        }
    }
}

impl Eq for Matcher {}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    matcher: Matcher,
    after: Duration,
    from_mtime: bool,
}

/// The rules, in the order they are tried.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StaticExpires {
    rules: Vec<Rule>,
}

/// The option names, in the order their rules are tried; each with its `-mtime` form.
pub const OPTIONS: [&str; 4] = [
    "static-expires-type",
    "static-expires",
    "static-expires-uri",
    "static-expires-path-info",
];

/// What a served file and its request offer the rules.
#[derive(Debug, Clone, Copy)]
pub struct Served<'a> {
    /// The file's path.
    pub file: &'a [u8],
    /// Its content type.
    pub content_type: &'a str,
    /// The request URI.
    pub uri: &'a [u8],
    /// The request path.
    pub path: &'a [u8],
    /// The file's modification time.
    pub modified: Option<SystemTime>,
}

impl StaticExpires {
    /// Reads the option values: `get(name)` gives the values of option `name`.
    pub fn parse<'a>(get: impl Fn(&str) -> &'a [String]) -> Result<StaticExpires, HostError> {
        let mut rules = Vec::new();
        for (kind, name) in OPTIONS.iter().enumerate() {
            for from_mtime in [false, true] {
                let option = match from_mtime {
                    false => (*name).to_owned(),
                    true => format!("{name}-mtime"),
                };
                for value in get(&option) {
                    rules.push(rule(kind, &option, value, from_mtime)?);
                }
            }
        }
        Ok(StaticExpires { rules })
    }

    /// True when no rule was given.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// When the first matching rule says the file expires, if any rule matches.
    pub fn expires(&self, served: &Served<'_>) -> Option<SystemTime> {
        let rule = self.rules.iter().find(|r| match &r.matcher {
            Matcher::Type(t) => t.eq_ignore_ascii_case(served.content_type),
            Matcher::File(re) => re.is_match(served.file),
            Matcher::Uri(re) => re.is_match(served.uri),
            Matcher::PathInfo(re) => re.is_match(served.path),
        })?;
        let base = match rule.from_mtime {
            true => served.modified?,
            false => SystemTime::now(),
        };
        Some(base + rule.after)
    }
}

fn rule(kind: usize, option: &str, value: &str, from_mtime: bool) -> Result<Rule, HostError> {
    let bad = |why: String| HostError::Usage(format!("--{option} {value:?}: {why}"));
    let (pattern, seconds) = match kind {
        0 => value.rsplit_once('='),
        _ => value.trim().rsplit_once(char::is_whitespace),
    }
    .ok_or_else(|| match kind {
        0 => bad("expected MIME=SECONDS, e.g. text/css=86400".into()),
        _ => bad("expected 'REGEX SECONDS', e.g. '\\.(css|js)$ 86400'".into()),
    })?;
    let seconds: u64 = seconds
        .trim()
        .parse()
        .map_err(|_| bad(format!("'{}' is not a number of seconds", seconds.trim())))?;
    let pattern = pattern.trim();
    let regex = || Regex::new(pattern).map_err(|e| bad(format!("bad regex: {e}")));
    let matcher = match kind {
        0 => Matcher::Type(pattern.to_owned()),
        1 => Matcher::File(regex()?),
        2 => Matcher::Uri(regex()?),
        _ => Matcher::PathInfo(regex()?),
    };
    Ok(Rule {
        matcher,
        after: Duration::from_secs(seconds),
        from_mtime,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(pairs: &[(&str, &str)]) -> Result<StaticExpires, HostError> {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in pairs {
            map.entry(k.to_string()).or_default().push(v.to_string());
        }
        let empty = Vec::new();
        StaticExpires::parse(|name| map.get(name).unwrap_or(&empty).as_slice())
    }

    fn served<'a>(file: &'a str, content_type: &'a str, uri: &'a str) -> Served<'a> {
        Served {
            file: file.as_bytes(),
            content_type,
            uri: uri.as_bytes(),
            path: uri.split('?').next().unwrap().as_bytes(),
            modified: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000)),
        }
    }

    #[test]
    fn the_first_matching_rule_sets_the_time_by_type_then_file_then_uri_then_path() {
        let rules = parse(&[
            ("static-expires-uri", "\\?v=\\d+$ 31536000"),
            ("static-expires-type", "text/css=3600"),
            ("static-expires-mtime", "\\.png$ 60"),
            ("static-expires-path-info", "^/static/fonts/ 600"),
        ])
        .unwrap();
        let now = SystemTime::now();
        let css = rules
            .expires(&served("/srv/a.css", "text/css", "/static/a.css?v=3"))
            .unwrap();
        let hour = css.duration_since(now).unwrap().as_secs();
        assert!((3599..=3600).contains(&hour), "type first: {hour}");
        let png = rules
            .expires(&served("/srv/logo.png", "image/png", "/static/logo.png"))
            .unwrap();
        assert_eq!(
            png,
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_060),
            "mtime + 60"
        );
        let js = rules
            .expires(&served("/srv/a.js", "text/javascript", "/static/a.js?v=9"))
            .unwrap();
        assert!(
            js.duration_since(now).unwrap().as_secs() >= 31_535_999,
            "by uri"
        );
        let font = rules
            .expires(&served(
                "/srv/f.woff2",
                "font/woff2",
                "/static/fonts/f.woff2",
            ))
            .unwrap();
        assert!(
            font.duration_since(now).unwrap().as_secs() >= 599,
            "by path"
        );
        assert_eq!(
            rules.expires(&served("/srv/a.txt", "text/plain", "/static/a.txt")),
            None
        );
    }

    #[test]
    fn bad_rules_are_usage_errors_naming_the_option() {
        for (option, value, needle) in [
            ("static-expires-type", "text/css", "expected MIME=SECONDS"),
            ("static-expires-type", "text/css=soon", "not a number"),
            ("static-expires", "\\.png$", "expected 'REGEX SECONDS'"),
            ("static-expires-uri", "([ 60", "bad regex"),
        ] {
            let err = parse(&[(option, value)]).unwrap_err().to_string();
            assert!(
                err.contains(&format!("--{option}")) && err.contains(needle),
                "{err}"
            );
        }
        assert!(parse(&[]).unwrap().is_empty());
    }
}
