//! gunicorn's names, so a gunicorn command line or settings file comes over.
//!
//! Plain aliases (`--timeout` for `--harakiri`, `--keep-alive`, `--max-requests-jitter`,
//! `--pid`, `--user`, ...) are in `options.rs` with the option they name. Here are the rest:
//!
//! - the short flags `-b`, `-w` and `-t`: [`super::short_flags`];
//! - the options whose gunicorn meaning is more than another name, turned into rsgi's
//!   values after the sources are merged ([`desugar`]): `--bind` (gunicorn's address
//!   forms), `--graceful-timeout` (both mercies), `--access-logfile` and `--error-logfile`
//!   (`-` for the standard streams), `--preload` (what rsgi does anyway).

use super::sources::Values;
use super::{flag, last};
use crate::error::HostError;

/// gunicorn's default port, for a `--bind HOST` without one.
const DEFAULT_PORT: u16 = 8000;

/// One `--bind` address as `--http` takes it: `HOST:PORT`, `:PORT` and `[V6]:PORT` as
/// they are, `HOST` (or `[V6]`) on port 8000, `tcp://HOST:PORT` without its scheme,
/// `unix:PATH` and `unix://PATH` as `unix:PATH`; gunicorn's `fd://N` is refused.
pub fn bind_address(raw: &str) -> Result<String, String> {
    let addr = raw.trim();
    let bad = |why: &str| format!("invalid value '{raw}' for --bind: {why}");
    if addr.is_empty() {
        return Err(bad("expected HOST:PORT or unix:PATH"));
    }
    if let Some(path) = addr
        .strip_prefix("unix://")
        .or_else(|| addr.strip_prefix("unix:"))
    {
        if path.is_empty() {
            return Err(bad("no path after unix:"));
        }
        return Ok(format!("unix:{path}"));
    }
    if addr.starts_with("fd://") {
        return Err(bad(
            "rsgi does not take a socket by its file descriptor; give HOST:PORT or unix:PATH",
        ));
    }
    let addr = addr.strip_prefix("tcp://").unwrap_or(addr);
    let has_port = match addr.rfind(']') {
        Some(end) => addr[end..].contains(':'),
        None => addr.contains(':'),
    };
    Ok(if has_port {
        addr.to_string()
    } else {
        format!("{addr}:{DEFAULT_PORT}")
    })
}

/// `values` with gunicorn's options turned into rsgi's: `--bind` entries appended to
/// `--http`; `--graceful-timeout` as `--reload-mercy` and `--worker-reload-mercy` where
/// those are not given; `--access-logfile` as `--log-requests` (and `--req-logger
/// file:PATH` unless it is `-`); `--error-logfile PATH` as `--logto PATH` (`-`: the log
/// stays on stderr); `--preload` refused beside `--lazy-apps`, which asks the opposite.
pub fn desugar(values: &Values) -> Result<Values, HostError> {
    let mut out = values.clone();
    let usage = |m: String| HostError::Usage(m);
    let binds = values.get("bind").cloned().unwrap_or_default();
    for raw in binds {
        let addr = bind_address(&raw).map_err(usage)?;
        out.entry("http".into()).or_default().push(addr);
    }
    if let Some(raw) = last(values, "graceful-timeout") {
        if raw.trim().parse::<u64>().is_err() {
            return Err(usage(format!(
                "invalid value '{raw}' for --graceful-timeout: expected a number"
            )));
        }
        for mercy in ["reload-mercy", "worker-reload-mercy"] {
            out.entry(mercy.into())
                .or_insert_with(|| vec![raw.trim().to_string()]);
        }
    }
    if let Some(target) = last(values, "access-logfile") {
        match target.trim() {
            "" => {
                return Err(usage(
                    "--access-logfile needs a file, or - for the log".into(),
                ))
            }
            "-" => {}
            path => {
                if values.contains_key("req-logger") {
                    return Err(usage(
                        "--access-logfile and --req-logger both say where request lines go: give one"
                            .into(),
                    ));
                }
                out.insert("req-logger".into(), vec![format!("file:{path}")]);
            }
        }
        out.insert("log-requests".into(), vec!["true".into()]);
    }
    if let Some(target) = last(values, "error-logfile") {
        match target.trim() {
            "" => {
                return Err(usage(
                    "--error-logfile needs a file, or - for stderr".into(),
                ))
            }
            "-" => {}
            path => {
                if values.contains_key("logto") {
                    return Err(usage(
                        "--error-logfile and --logto both name the log file: give one".into(),
                    ));
                }
                out.insert("logto".into(), vec![path.to_string()]);
            }
        }
    }
    if flag(values, "preload") && flag(values, "lazy-apps") {
        return Err(usage(
            "--preload loads the app once in the master before the workers are forked, \
             --lazy-apps in each worker after: give one"
                .into(),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::catalog::Catalog;
    use crate::config::cli::{self, Parsed};
    use crate::config::suggest::Suggestions;
    use crate::config::{sources, Config, SocketProtocol};
    use std::time::Duration;

    /// The config of a command line (host options only).
    fn config_of(line: &[&str]) -> Result<Config, HostError> {
        let catalog = Catalog::host();
        let suggest = Suggestions::new(&catalog, &[], Vec::new);
        let mut all = vec!["rsgi".to_string()];
        all.extend(line.iter().map(|s| s.to_string()));
        let Parsed::Run(values) = cli::parse(&catalog, &all, &suggest)? else {
            panic!("printed instead of parsing")
        };
        Config::from_values(&values, &catalog)
    }

    #[test]
    fn a_typical_gunicorn_command_line_means_the_same_here() {
        let c = config_of(&[
            "-w",
            "2",
            "-b",
            "127.0.0.1:8001",
            "--bind",
            "unix:/tmp/g.sock",
            "--timeout",
            "30",
            "--graceful-timeout",
            "20",
            "--access-logfile",
            "-",
            "--max-requests",
            "1000",
            "--max-requests-jitter",
            "50",
            "--keep-alive",
            "2",
            "--preload",
        ])
        .unwrap();
        assert_eq!(c.processes, 2);
        let http: Vec<&str> = c
            .sockets
            .iter()
            .filter(|s| s.protocol == SocketProtocol::Http)
            .map(|s| s.addr.as_str())
            .collect();
        assert_eq!(http, ["127.0.0.1:8001", "unix:/tmp/g.sock"]);
        assert_eq!(c.harakiri, Some(Duration::from_secs(30)));
        assert_eq!(c.reload_mercy, Duration::from_secs(20));
        assert_eq!(c.worker_reload_mercy, Duration::from_secs(20));
        assert!(c.request_log.all);
        assert_eq!(c.request_log_file, None);
        assert_eq!((c.max_requests, c.max_requests_delta), (1000, 50));
        assert_eq!(c.keepalive_timeout, Duration::from_secs(2));
        assert!(!c.lazy_apps);
    }

    #[test]
    fn gunicorn_log_files_and_names_of_settings() {
        let c = config_of(&[
            "-t30",
            "--access-logfile",
            "/tmp/access.log",
            "--error-logfile",
            "/tmp/error.log",
            "--pid",
            "/tmp/g.pid",
            "--loglevel",
            "debug",
        ])
        .unwrap();
        assert_eq!(c.harakiri, Some(Duration::from_secs(30)));
        assert_eq!(
            c.request_log_file.as_deref(),
            Some(std::path::Path::new("/tmp/access.log"))
        );
        assert!(c.request_log.all);
        assert!(matches!(
            &c.log_target,
            Some(crate::log_file::LogTarget::File(p)) if p.as_os_str() == "/tmp/error.log"
        ));
        assert_eq!(
            c.pidfile.as_deref(),
            Some(std::path::Path::new("/tmp/g.pid"))
        );
        let c = config_of(&["--error-logfile", "-"]).unwrap();
        assert!(c.log_target.is_none());
    }

    #[test]
    fn gunicorn_names_are_variables_and_toml_keys_too() {
        let catalog = Catalog::host();
        let env = sources::read_env(&catalog, &|k| match k {
            "RSGI_BIND" => Some("127.0.0.1:1,unix:/tmp/e.sock".to_string()),
            "RSGI_TIMEOUT" => Some("9".to_string()),
            "RSGI_KEEP_ALIVE" => Some("3".to_string()),
            "RSGI_MAX_REQUESTS" => Some("40".to_string()),
            "RSGI_MAX_REQUESTS_JITTER" => Some("4".to_string()),
            "RSGI_PRELOAD" => Some("true".to_string()),
            _ => None,
        });
        let c = Config::from_values(&env, &catalog).unwrap();
        let addrs: Vec<&str> = c.sockets.iter().map(|s| s.addr.as_str()).collect();
        assert_eq!(addrs, ["127.0.0.1:1", "unix:/tmp/e.sock"]);
        assert_eq!(c.harakiri, Some(Duration::from_secs(9)));
        assert_eq!(c.keepalive_timeout, Duration::from_secs(3));
        assert_eq!(c.max_requests_delta, 4);

        let dir = crate::scratch::Scratch::new("gunicorn-toml");
        let path = dir.join("g.toml");
        std::fs::write(
            &path,
            "bind = \"0.0.0.0\"\nworkers = 3\ntimeout = 30\nkeepalive = 2\n\
             max-requests = 10\nmax-requests-jitter = 5\npreload-app = true\n\
             accesslog = \"-\"\ngraceful-timeout = 11\n",
        )
        .unwrap();
        let settings = crate::config::include::read(&[path], &|_| None).unwrap();
        let suggest = Suggestions::new(&catalog, &[], Vec::new);
        let file = sources::file_values(&settings, &catalog, &suggest).unwrap();
        let c = Config::from_values(&file, &catalog).unwrap();
        assert_eq!(c.sockets[0].addr, "0.0.0.0:8000");
        assert_eq!(c.processes, 3);
        assert_eq!(c.harakiri, Some(Duration::from_secs(30)));
        assert_eq!(c.keepalive_timeout, Duration::from_secs(2));
        assert_eq!((c.max_requests, c.max_requests_delta), (10, 5));
        assert!(c.request_log.all);
        assert_eq!(c.reload_mercy, Duration::from_secs(11));
    }

    #[test]
    fn bind_alone_or_beside_a_uwsgi_socket_asks_for_the_http_plugin() {
        let boot =
            sources::Bootstrap::gather(&args(&["--socket", "/tmp/u.sock", "-b", ":8000"]), &|_| {
                None
            })
            .unwrap();
        assert!(boot.wants_http && boot.wants_uwsgi);
        let boot =
            sources::Bootstrap::gather(&[], &|k| (k == "RSGI_BIND").then(|| ":8000".to_string()))
                .unwrap();
        assert!(boot.wants_http && !boot.wants_uwsgi);
    }

    #[test]
    fn gunicorns_log_level_name_and_critical_are_understood() {
        let boot =
            sources::Bootstrap::gather(&args(&["--loglevel", "critical"]), &|_| None).unwrap();
        assert_eq!(boot.log_level.as_deref(), Some("error"));
        let boot = sources::Bootstrap::gather(&[], &|k| {
            (k == "RSGI_LOGLEVEL").then(|| "warning".to_string())
        })
        .unwrap();
        assert_eq!(boot.log_level.as_deref(), Some("warning"));
    }

    #[test]
    fn no_gunicorn_name_clashes_with_an_option_name() {
        let catalog = Catalog::host();
        let mut names: Vec<&str> = catalog
            .entries()
            .iter()
            .flat_map(|e| std::iter::once(&e.name).chain(&e.aliases))
            .map(String::as_str)
            .collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "a name is taken twice");
        for name in [
            "bind",
            "timeout",
            "graceful-timeout",
            "keep-alive",
            "keepalive",
            "max-requests-jitter",
            "access-logfile",
            "error-logfile",
            "preload",
        ] {
            assert!(catalog.lookup(name).is_some(), "{name}");
        }
    }

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn values(pairs: &[(&str, &str)]) -> Values {
        let mut v = Values::new();
        for (k, val) in pairs {
            v.entry(k.to_string()).or_default().push(val.to_string());
        }
        v
    }

    #[test]
    fn bind_takes_gunicorns_address_forms() {
        for (raw, want) in [
            ("127.0.0.1:8000", "127.0.0.1:8000"),
            (":9000", ":9000"),
            ("0.0.0.0", "0.0.0.0:8000"),
            ("localhost", "localhost:8000"),
            ("[::1]:81", "[::1]:81"),
            ("[::1]", "[::1]:8000"),
            ("tcp://10.0.0.1:82", "10.0.0.1:82"),
            ("unix:/run/app.sock", "unix:/run/app.sock"),
            ("unix:///run/app.sock", "unix:/run/app.sock"),
        ] {
            assert_eq!(bind_address(raw).as_deref(), Ok(want), "{raw}");
        }
        assert_eq!(
            bind_address("fd://3").unwrap_err(),
            "invalid value 'fd://3' for --bind: rsgi does not take a socket by its file descriptor; give HOST:PORT or unix:PATH"
        );
        assert!(bind_address("unix:").is_err());
        assert!(bind_address(" ").is_err());
    }

    #[test]
    fn bind_entries_follow_the_http_ones() {
        let v = desugar(&values(&[
            ("http", "127.0.0.1:1"),
            ("bind", "127.0.0.1:2"),
            ("bind", "unix:/tmp/a.sock"),
        ]))
        .unwrap();
        assert_eq!(
            v["http"],
            ["127.0.0.1:1", "127.0.0.1:2", "unix:/tmp/a.sock"]
        );
    }

    #[test]
    fn graceful_timeout_sets_both_mercies_unless_given() {
        let v = desugar(&values(&[("graceful-timeout", "7")])).unwrap();
        assert_eq!(
            (
                v["reload-mercy"][0].as_str(),
                v["worker-reload-mercy"][0].as_str()
            ),
            ("7", "7")
        );
        let v = desugar(&values(&[("graceful-timeout", "7"), ("reload-mercy", "3")])).unwrap();
        assert_eq!(
            (
                v["reload-mercy"][0].as_str(),
                v["worker-reload-mercy"][0].as_str()
            ),
            ("3", "7")
        );
        let err = desugar(&values(&[("graceful-timeout", "soon")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid value 'soon' for --graceful-timeout: expected a number"
        );
    }

    #[test]
    fn access_logfile_turns_request_lines_on_and_names_their_file() {
        let v = desugar(&values(&[("access-logfile", "-")])).unwrap();
        assert_eq!(v["log-requests"], ["true"]);
        assert!(!v.contains_key("req-logger"));
        let v = desugar(&values(&[("access-logfile", "/var/log/access.log")])).unwrap();
        assert_eq!(v["log-requests"], ["true"]);
        assert_eq!(v["req-logger"], ["file:/var/log/access.log"]);
        let err = desugar(&values(&[
            ("access-logfile", "a"),
            ("req-logger", "file:b"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("give one"), "{err}");
    }

    #[test]
    fn error_logfile_is_logto_and_dash_keeps_stderr() {
        let v = desugar(&values(&[("error-logfile", "-")])).unwrap();
        assert!(!v.contains_key("logto"));
        let v = desugar(&values(&[("error-logfile", "/var/log/rsgi.log")])).unwrap();
        assert_eq!(v["logto"], ["/var/log/rsgi.log"]);
        let err = desugar(&values(&[("error-logfile", "a"), ("logto", "b")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--error-logfile and --logto both name the log file: give one"
        );
    }

    #[test]
    fn preload_is_accepted_and_refused_only_beside_lazy_apps() {
        assert!(desugar(&values(&[("preload", "true")])).is_ok());
        assert!(desugar(&values(&[("preload", "false"), ("lazy-apps", "true")])).is_ok());
        let err = desugar(&values(&[("preload", "true"), ("lazy-apps", "true")])).unwrap_err();
        assert!(
            err.to_string().starts_with("--preload loads the app once"),
            "{err}"
        );
    }
}
