//! Options that act only together with another one. Given alone they would be accepted
//! and change nothing, so they are refused by name (exit 2); those an existing uWSGI ini
//! carries for a reason rsgi does not share (uWSGI logs every request by default) are
//! accepted with a warning that says so.

use super::sources::Values;
use super::{flag, last};
use crate::error::HostError;

/// A value option counts as given when it is set and not 0; a flag when it is on.
fn given(values: &Values, name: &str) -> bool {
    match last(values, name) {
        None => false,
        Some(v) if v.trim() == "0" => false,
        Some(_) => flag(values, name),
    }
}

fn any(values: &Values, names: &[&str]) -> bool {
    names.iter().any(|n| given(values, n))
}

/// Refusals: (the option, the ones it needs (one of), what to say).
const NEEDS: [(&str, &[&str], &str); 12] = [
    ("static-index", &["static-map", "check-static"], "applies to directories --static-map (or --check-static) serves: add one"),
    ("static-gzip-all", &["static-map", "check-static"], "applies to files --static-map (or --check-static) serves: add one"),
    ("static-skip-ext", &["static-map", "check-static"], "applies to files --static-map (or --check-static) serves: add one"),
    ("static-safe", &["static-map", "check-static"], "applies to files --static-map (or --check-static) serves: add one"),
    ("max-requests-delta", &["max-requests"], "spreads --max-requests over the workers: give --max-requests"),
    ("max-worker-lifetime-delta", &["max-worker-lifetime"], "spreads --max-worker-lifetime over the workers: give --max-worker-lifetime"),
    ("min-worker-lifetime", &["max-requests", "reload-on-rss", "reload-on-as"], "holds back --max-requests, --reload-on-rss and --reload-on-as: give one of them"),
    ("touch-logreopen", &["logto", "daemonize", "logger", "req-logger"], "opens the log file again: give --logto (or --daemonize, --logger file:PATH, --req-logger file:PATH)"),
    ("cheaper-initial", &["cheaper"], "tunes --cheaper: give --cheaper N too"),
    ("cheaper-step", &["cheaper"], "tunes --cheaper: give --cheaper N too"),
    ("cheaper-overload", &["cheaper"], "tunes --cheaper: give --cheaper N too"),
    ("cheaper-algo", &["cheaper"], "chooses how --cheaper adapts the workers: give --cheaper N too"),
];

/// The options that make request lines.
const REQUEST_LOGGING: [&str; 7] = [
    "log-requests",
    "log-4xx",
    "log-5xx",
    "log-slow",
    "log-big",
    "log-zero",
    "log-format",
];

/// Refuses an option given without what it needs; returns the warnings for options that
/// change nothing in this configuration.
pub fn check(values: &Values) -> Result<Vec<String>, HostError> {
    for (option, needs, why) in NEEDS {
        if given(values, option) && !any(values, needs) {
            return Err(HostError::Usage(format!("--{option} {why}")));
        }
    }
    let mut warnings = Vec::new();
    if !any(values, &REQUEST_LOGGING) {
        for option in ["log-x-forwarded-for", "req-logger"] {
            if given(values, option) && last(values, option) != Some("stdio") {
                warnings.push(format!(
                    "--{option} changes nothing: no request gets a line (uWSGI logs every request by default, rsgi only with --log-requests, --log-4xx, --log-5xx, --log-slow, --log-big, --log-zero or --log-format)"
                ));
            }
        }
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> Values {
        let mut v = Values::new();
        for (k, val) in pairs {
            v.entry(k.to_string()).or_default().push(val.to_string());
        }
        v
    }

    #[test]
    fn an_option_without_the_one_it_needs_is_refused_by_name() {
        for (pairs, message) in [
            (
                &[("static-index", "index.html")][..],
                "--static-index applies to directories --static-map (or --check-static) serves: add one",
            ),
            (
                &[("max-requests-delta", "10"), ("max-requests", "0")],
                "--max-requests-delta spreads --max-requests over the workers: give --max-requests",
            ),
            (
                &[("min-worker-lifetime", "60")],
                "--min-worker-lifetime holds back --max-requests, --reload-on-rss and --reload-on-as: give one of them",
            ),
            (
                &[("cheaper-step", "2"), ("cheaper", "0")],
                "--cheaper-step tunes --cheaper: give --cheaper N too",
            ),
            (
                &[("touch-logreopen", "/tmp/t")],
                "--touch-logreopen opens the log file again: give --logto (or --daemonize, --logger file:PATH, --req-logger file:PATH)",
            ),
        ] {
            assert_eq!(check(&values(pairs)).unwrap_err().to_string(), message);
        }
    }

    #[test]
    fn with_what_they_need_or_switched_off_they_pass() {
        for pairs in [
            &[("static-index", "index.html"), ("check-static", "/srv")][..],
            &[("max-requests-delta", "10"), ("max-requests", "100")],
            &[("min-worker-lifetime", "60"), ("reload-on-rss", "512")],
            &[("static-gzip-all", "false")],
            &[("max-requests-delta", "0")],
            &[
                ("touch-logreopen", "/tmp/t"),
                ("req-logger", "file:/tmp/r"),
                ("log-requests", "true"),
            ],
        ] {
            assert_eq!(
                check(&values(pairs)).unwrap(),
                Vec::<String>::new(),
                "{pairs:?}"
            );
        }
    }

    #[test]
    fn request_log_options_without_request_lines_are_warned_about() {
        let w = check(&values(&[
            ("log-x-forwarded-for", "true"),
            ("req-logger", "file:/x"),
        ]))
        .unwrap();
        assert_eq!(w.len(), 2);
        assert!(w[0].starts_with("--log-x-forwarded-for changes nothing: no request gets a line"));
        let w = check(&values(&[
            ("log-x-forwarded-for", "true"),
            ("log-5xx", "true"),
        ]))
        .unwrap();
        assert!(w.is_empty());
    }
}
