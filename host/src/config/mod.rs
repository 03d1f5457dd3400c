//! Options → a validated [`Config`]. The only reader of argv, the environment and the file.

pub mod add_header;
pub mod catalog;
pub mod cheaper;
pub mod cli;
pub mod daemons;
pub mod dependent;
pub mod docs_out;
pub mod env_list;
pub mod gunicorn;
pub mod include;
pub mod ini;
pub mod options;
pub mod request_log;
pub mod short_flags;
pub mod sources;
pub mod suggest;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use abi_stable::std_types::{RString, RVec};
use rsgi_plugin_api::OptionValue;

use crate::error::HostError;
use crate::exec_hooks::ExecHooks;
use crate::log_file::LogTarget;
use crate::static_expires::StaticExpires;
use crate::static_map::StaticMap;
use crate::worker::log_format::LogFormat;
use catalog::Catalog;
use cheaper::CheaperConfig;
pub use request_log::RequestLogging;
use sources::Values;

/// Which protocol a listening socket speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketProtocol {
    /// HTTP/1.1 (`--http`, `--http-socket`): served by the `http` plugin.
    Http,
    /// The uwsgi binary protocol (`--socket`): served by the `uwsgi` plugin.
    Uwsgi,
}

impl SocketProtocol {
    /// The name of the protocol plugin that serves it.
    pub fn plugin_name(self) -> &'static str {
        match self {
            SocketProtocol::Http => "http",
            SocketProtocol::Uwsgi => "uwsgi",
        }
    }
}

/// How the workers share each listening socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptStrategy {
    /// One shared socket; the kernel wakes one idle worker per connection (EPOLLEXCLUSIVE).
    Exclusive,
    /// One shared socket; accept serialised by a process-shared lock (`--thunder-lock`).
    ThunderLock,
    /// Each worker its own SO_REUSEPORT socket on the address (`--reuse-port`).
    ReusePort,
}

/// One socket to listen on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketSpec {
    /// The protocol it speaks.
    pub protocol: SocketProtocol,
    /// The address as written (`127.0.0.1:8000`, `:8000`, `[::1]:80`, `/run/app.sock`).
    pub addr: String,
}

impl SocketSpec {
    /// Whether the address names a Unix socket (as `listen.rs` tells them apart).
    pub fn is_unix(&self) -> bool {
        let a = &self.addr;
        a.starts_with('/') || a.starts_with("./") || a.starts_with("unix:")
    }
}

/// Who should own the Unix sockets (`--chown-socket USER[:GROUP]`). Names are resolved
/// when the sockets are bound, not here: the config reads options, not the user database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketOwner {
    /// A user name or a numeric uid.
    pub user: String,
    /// A group name or a numeric gid; `None` leaves the group as it is.
    pub group: Option<String>,
}

impl FromStr for SocketOwner {
    type Err = HostError;

    fn from_str(raw: &str) -> Result<Self, HostError> {
        let (user, group) = match raw.split_once(':') {
            Some((user, group)) => (user, Some(group)),
            None => (raw, None),
        };
        if user.is_empty() || group.is_some_and(str::is_empty) {
            return Err(HostError::Usage(format!(
                "invalid value '{raw}' for --chown-socket: expected USER or USER:GROUP"
            )));
        }
        Ok(SocketOwner {
            user: user.to_string(),
            group: group.map(str::to_string),
        })
    }
}

/// The validated configuration of one run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Sockets to bind, in order.
    pub sockets: Vec<SocketSpec>,
    /// Worker processes.
    pub processes: u32,
    /// App threads per worker.
    pub threads: u32,
    /// Load the app in each worker after fork.
    pub lazy_apps: bool,
    /// Exit 22 when the app cannot be loaded.
    pub need_app: bool,
    /// Recycle a worker after this many requests (0 = never).
    pub max_requests: u64,
    /// Per-worker spread added to `max_requests`.
    pub max_requests_delta: u64,
    /// Path prefixes whose requests do not count toward `max_requests`.
    pub max_requests_exclude: Vec<Vec<u8>>,
    /// Commands run at points of the start (`--exec-*`).
    pub exec_hooks: ExecHooks,
    /// Commands the master keeps running beside the workers (`--attach-daemon`,
    /// `--attach-daemon2` without a pidfile).
    pub attach_daemons: Vec<daemons::DaemonSpec>,
    /// `--cron` and `--unique-cron` (true) entries with their commands.
    pub cron_jobs: Vec<(rsgi_cron::Cron, String, bool)>,
    /// Pidfile-tracked daemons kept across reloads (`--smart-attach-daemon`,
    /// `--smart-attach-daemon2`, `--attach-daemon2` with a pidfile).
    pub smart_daemons: Vec<daemons::SmartSpec>,
    /// An adaptive number of workers (`--cheaper*`); `None`: always `processes`.
    pub cheaper: Option<CheaperConfig>,
    /// Lifetime and memory limits that recycle a worker.
    pub recycle: crate::master::recycle::RecycleLimits,
    /// Kill a worker whose request runs longer than this.
    pub harakiri: Option<Duration>,
    /// How long a retiring worker may take before SIGKILL.
    pub worker_reload_mercy: Duration,
    /// Files whose mtime change triggers a graceful reload.
    pub touch_reload: Vec<PathBuf>,
    /// Files whose mtime change triggers a chain reload.
    pub touch_chain_reload: Vec<PathBuf>,
    /// Files whose touch replaces every worker (`--touch-workers-reload`).
    pub touch_workers_reload: Vec<PathBuf>,
    /// Files whose touch reopens the log file (`--touch-logreopen`).
    pub touch_logreopen: Vec<PathBuf>,
    /// Rotate the log file past this size (`--log-maxsize`, bytes).
    pub log_maxsize: Option<u64>,
    /// The master FIFO.
    pub master_fifo: Option<PathBuf>,
    /// Bound on a graceful shutdown.
    pub reload_mercy: Duration,
    /// Listen backlog.
    pub listen: i32,
    /// How workers share the listening sockets.
    pub accept: AcceptStrategy,
    /// TCP_DEFER_ACCEPT on the app's TCP sockets (off with `--no-defer-accept`).
    pub defer_accept: bool,
    /// Headers added to every response (`--add-header`), as names and values.
    pub add_headers: Vec<(Vec<u8>, Vec<u8>)>,
    /// CPUs each worker is bound to (`--cpu-affinity`; 0 = not bound).
    pub cpu_affinity: usize,
    /// SO_KEEPALIVE on TCP connections (`--so-keepalive`).
    pub so_keepalive: bool,
    /// Environment variables removed at start (`--unenv`), after `--env`.
    pub unenv: Vec<String>,
    /// Where the stats server listens (`--stats`).
    pub stats: Option<String>,
    /// Stats answered as HTTP (`--stats-http`).
    pub stats_http: bool,
    /// Where Prometheus metrics are served (`--metrics`).
    pub metrics: Option<String>,
    /// Largest accepted body (0 = unlimited).
    pub limit_post: u64,
    /// Idle keep-alive connections are closed after this.
    pub keepalive_timeout: Duration,
    /// A request head must arrive within this.
    pub header_timeout: Duration,
    /// Requests per keep-alive connection before it is closed (0 = no limit).
    pub max_requests_per_connection: u64,
    /// A blocked body read or response write gives up after this.
    pub socket_timeout: Duration,
    /// Mode of Unix sockets.
    pub chmod_socket: Option<u32>,
    /// Owner of Unix sockets.
    pub chown_socket: Option<SocketOwner>,
    /// Peers trusted to set `X-Forwarded-*` / `Forwarded` (`--forwarded-allow-ips`).
    pub forwarded_allow_ips: crate::proxy::TrustedProxies,
    /// HTTP listeners expect a PROXY protocol header (`--enable-proxy-protocol`).
    pub proxy_protocol: bool,
    /// Where to write the master's pid.
    pub pidfile: Option<PathBuf>,
    /// Where request lines go instead of the log (`--req-logger file:PATH`).
    pub request_log_file: Option<PathBuf>,
    /// Where the log goes instead of stderr (`--logto`, `--daemonize`).
    pub log_target: Option<LogTarget>,
    /// Which requests get a log line (`--log-requests`, `--log-4xx`, `--log-5xx`).
    pub request_log: RequestLogging,
    /// The request line's format (`--log-format`; `None`: rsgi's own).
    pub log_format: Option<LogFormat>,
    /// Files served without the app (`--static-map PREFIX=DIR`).
    pub static_map: StaticMap,
    /// The directory to work in (`--chdir`).
    pub chdir: Option<PathBuf>,
    /// Warnings about options given that rsgi accepts but does not need.
    pub not_needed: Vec<String>,
    /// `--umask`, `--limit-as`, `--max-fd`.
    pub limits: crate::process_limits::ProcessLimits,
    /// Environment variables to set for the app (`--env KEY=VALUE`), in order.
    pub env: Vec<(String, String)>,
    /// Who the master becomes once its sockets are bound (`--uid`, `--gid`).
    pub identity: Option<crate::identity::Identity>,
    /// Process titles (`--auto-procname`, `--procname-prefix[-spaced]`, `--procname-master`).
    pub procname: crate::proctitle::ProcNames,
    /// Each plugin's own option values, by plugin name.
    pub plugin_options: BTreeMap<String, RVec<OptionValue>>,
}

/// `--cron` and `--unique-cron` lines, read.
fn cron_jobs(values: &Values) -> Result<Vec<(rsgi_cron::Cron, String, bool)>, HostError> {
    let mut jobs = Vec::new();
    for (option, unique) in [("cron", false), ("unique-cron", true)] {
        for line in values.get(option).into_iter().flatten() {
            let (cron, command) = rsgi_cron::parse_line(line)
                .map_err(|e| HostError::Usage(format!("--{option} {e}")))?;
            jobs.push((cron, command.to_owned(), unique));
        }
    }
    Ok(jobs)
}

/// The daemons of `--attach-daemon`, `--attach-daemon2`, `--smart-attach-daemon` and
/// `--smart-attach-daemon2`, split into those the master runs and those found by their
/// pidfile; warnings for keys that change nothing go to `warnings`.
fn daemon_specs(
    values: &Values,
    warnings: &mut Vec<String>,
) -> Result<(Vec<daemons::DaemonSpec>, Vec<daemons::SmartSpec>), HostError> {
    let list = |name: &str| values.get(name).into_iter().flatten();
    let mut plain: Vec<_> = list("attach-daemon").map(|c| daemons::plain(c)).collect();
    let mut smart = Vec::new();
    for (name, writes_pidfile) in [
        ("smart-attach-daemon", false),
        ("smart-attach-daemon2", true),
    ] {
        for spec in list(name) {
            smart.push(daemons::smart(spec, writes_pidfile).map_err(HostError::Usage)?);
        }
    }
    for value in list("attach-daemon2") {
        let (spec, mut said) = daemons::keyval(value).map_err(HostError::Usage)?;
        warnings.append(&mut said);
        match spec {
            daemons::Spec::Plain(d) => plain.push(d),
            daemons::Spec::Smart(d) => smart.push(d),
        }
    }
    Ok((plain, smart))
}

/// `--static-map` and `--check-static` (a `/` mount each, after the static maps), with
/// `--static-index`, `--static-gzip-all`, `--static-skip-ext`, `--static-safe` and the
/// `--static-expires*` rules.
fn static_map(values: &Values) -> Result<StaticMap, HostError> {
    let list = |name: &str| values.get(name).cloned().unwrap_or_default();
    let chdir = last(values, "chdir").map(Path::new);
    let mut entries = list("static-map");
    entries.extend(list("check-static").iter().map(|dir| format!("/={dir}")));
    StaticMap::parse(&entries, chdir)?
        .with_index(list("static-index"))
        .with_gzip_all(flag(values, "static-gzip-all"))
        .with_skip_and_safe(list("static-skip-ext"), &list("static-safe"), chdir)?
        .with_expires(StaticExpires::parse(|name| {
            values.get(name).map_or(&[][..], |v| v.as_slice())
        })?)
        .map_err(HostError::Usage)
}

/// Options accepted from uWSGI setups that change nothing here, and why.
const NOT_NEEDED: [(&str, &str); 4] = [
    (
        "post-buffering",
        "bodies up to 64 KiB are read before the app runs, bigger ones stream to wsgi.input",
    ),
    ("post-buffering-bufsize", "see --post-buffering"),
    (
        "http-timeout",
        "rsgi has no HTTP router process; --socket-timeout and --http-keepalive-timeout bound the workers' HTTP connections",
    ),
    (
        "offload-threads",
        "the worker's event loop sends files (wsgi.file_wrapper, --static-map) with sendfile",
    ),
];

/// `--log-maxsize BYTES`, which needs a log file to rotate.
fn log_maxsize(values: &Values) -> Result<Option<u64>, HostError> {
    let max: u64 = number(values, "log-maxsize", 0)?;
    if max > 0 && log_target(values)?.is_none() {
        return Err(HostError::Usage(
            "--log-maxsize rotates the --logto (or --daemonize) file: give one".into(),
        ));
    }
    Ok((max > 0).then_some(max))
}

/// `--logger` / `--req-logger` (uWSGI's): `file:PATH`, or `stdio` for the default;
/// other kinds of logger are refused by name. `None` for `stdio`.
fn logger(values: &Values, option: &str) -> Result<Option<PathBuf>, HostError> {
    let Some(value) = last(values, option) else {
        return Ok(None);
    };
    match value.split_once(':') {
        Some(("file", path)) if !path.is_empty() => Ok(Some(PathBuf::from(path))),
        None if value == "stdio" => Ok(None),
        _ => Err(HostError::Usage(format!(
            "--{option} {value}: rsgi logs to stdio or to a file (file:PATH); for syslog or the journal, run it under systemd"
        ))),
    }
}

fn log_target(values: &Values) -> Result<Option<LogTarget>, HostError> {
    let logger = logger(values, "logger")?;
    let logto = last(values, "logto").map(PathBuf::from);
    if let (Some(_), Some(_)) = (&logger, &logto) {
        return Err(HostError::Usage(
            "--logger file:PATH and --logto both name the log file: give one".into(),
        ));
    }
    match (logto.or(logger), last(values, "daemonize")) {
        (Some(_), Some(_)) => Err(HostError::Usage(
            "--logto and --daemonize both name a log file: give one (--daemonize FILE also logs to FILE)"
                .into(),
        )),
        (Some(path), None) => Ok(Some(LogTarget::File(path))),
        (None, Some(path)) => Ok(Some(LogTarget::Daemon(PathBuf::from(path)))),
        (None, None) => Ok(None),
    }
}

/// Combines the three sources: command line > environment > file.
pub fn merge(cli: Values, env: Values, file: Values) -> Values {
    let mut out = file;
    out.extend(env);
    out.extend(cli);
    out
}

fn last<'a>(values: &'a Values, name: &str) -> Option<&'a str> {
    values.get(name).and_then(|v| v.last()).map(|s| s.as_str())
}

fn number<T: FromStr>(values: &Values, name: &str, default: T) -> Result<T, HostError> {
    match last(values, name) {
        None => Ok(default),
        Some(raw) => raw.trim().parse().map_err(|_| {
            HostError::Usage(format!(
                "invalid value '{raw}' for --{name}: expected a number"
            ))
        }),
    }
}

fn seconds(values: &Values, name: &str, default: u64) -> Result<Duration, HostError> {
    number(values, name, default).map(Duration::from_secs)
}

fn paths(values: &Values, name: &str) -> Vec<PathBuf> {
    values
        .get(name)
        .into_iter()
        .flatten()
        .map(PathBuf::from)
        .collect()
}

/// `--env` entries as (key, value); a key must be non-empty, without `=` or NUL.
fn env_vars(values: &Values) -> Result<Vec<(String, String)>, HostError> {
    let mut out = Vec::new();
    for entry in values.get("env").into_iter().flatten() {
        match entry.split_once('=') {
            Some((key, value)) if !key.is_empty() && !entry.contains('\0') => {
                out.push((key.to_string(), value.to_string()))
            }
            _ => {
                return Err(HostError::Usage(format!(
                    "invalid value '{entry}' for --env: expected KEY=VALUE"
                )))
            }
        }
    }
    Ok(out)
}

fn flag(values: &Values, name: &str) -> bool {
    matches!(last(values, name), Some(v) if !matches!(v, "false" | "0" | "no" | "off"))
}

impl Config {
    /// Validates merged values into a config.
    pub fn from_values(values: &Values, catalog: &Catalog) -> Result<Config, HostError> {
        let values = &gunicorn::desugar(values)?;
        let log_format = last(values, "log-format")
            .map(LogFormat::parse)
            .transpose()
            .map_err(HostError::Usage)?;
        let mut sockets = Vec::new();
        for addr in values.get("http").into_iter().flatten() {
            sockets.push(SocketSpec {
                protocol: SocketProtocol::Http,
                addr: addr.clone(),
            });
        }
        for addr in values.get("socket").into_iter().flatten() {
            sockets.push(SocketSpec {
                protocol: SocketProtocol::Uwsgi,
                addr: addr.clone(),
            });
        }
        if sockets.is_empty() {
            sockets.push(SocketSpec {
                protocol: SocketProtocol::Http,
                addr: "127.0.0.1:8000".to_string(),
            });
        }
        let processes: u32 = number(values, "processes", 1)?;
        if processes == 0 {
            return Err(HostError::Usage("--processes must be at least 1".into()));
        }
        let chmod_socket = match last(values, "chmod-socket") {
            None => None,
            Some(raw) => Some(u32::from_str_radix(raw, 8).map_err(|_| {
                HostError::Usage(format!(
                    "invalid value '{raw}' for --chmod-socket: expected an octal mode like 660"
                ))
            })?),
        };
        let accept = match (flag(values, "thunder-lock"), flag(values, "reuse-port")) {
            (false, false) => AcceptStrategy::Exclusive,
            (true, false) => AcceptStrategy::ThunderLock,
            (false, true) => AcceptStrategy::ReusePort,
            (true, true) => {
                return Err(HostError::Usage(
                    "--thunder-lock and --reuse-port exclude each other: with --reuse-port \
                     no socket is shared, so there is no accept to serialise"
                        .into(),
                ))
            }
        };
        let stats = last(values, "stats").map(str::to_string);
        let stats_http = flag(values, "stats-http");
        if stats_http && stats.is_none() {
            return Err(HostError::Usage(
                "--stats-http needs --stats ADDR (the socket to serve the stats on)".into(),
            ));
        }
        let mut not_needed: Vec<String> = NOT_NEEDED
            .iter()
            .filter(|(option, _)| values.contains_key(*option))
            .map(|(option, why)| {
                format!("--{option} is not needed in rsgi and has no effect: {why}")
            })
            .collect();
        if values.contains_key("list-plugins") {
            return Err(HostError::Usage(
                "--list-plugins lists the plugins and exits: give it on the command line, not in a config file or RSGI_LIST_PLUGINS".into(),
            ));
        }
        not_needed.extend(dependent::check(values)?);
        for option in ["chmod-socket", "chown-socket"] {
            if values.contains_key(option) && !sockets.iter().any(SocketSpec::is_unix) {
                not_needed.push(format!(
                    "--{option} changes nothing: every socket is a TCP one (it applies to Unix sockets)"
                ));
            }
        }
        let (attach_daemons, smart_daemons) = daemon_specs(values, &mut not_needed)?;
        let mut plugin_options: BTreeMap<String, RVec<OptionValue>> = BTreeMap::new();
        for entry in catalog.entries() {
            let Some(list) = values.get(&entry.name) else {
                continue;
            };
            for plugin in entry.plugins() {
                plugin_options
                    .entry(plugin.to_string())
                    .or_default()
                    .push(OptionValue {
                        name: RString::from(entry.name.as_str()),
                        values: list.iter().map(|s| RString::from(s.as_str())).collect(),
                    });
            }
        }
        Ok(Config {
            forwarded_allow_ips: crate::proxy::forwarded_allow_ips(values)?,
            proxy_protocol: flag(values, "enable-proxy-protocol"),
            sockets,
            processes,
            threads: match number(values, "threads", 1)? {
                0 => return Err(HostError::Usage("--threads must be at least 1".into())),
                n => n,
            },
            lazy_apps: flag(values, "lazy-apps"),
            need_app: flag(values, "need-app"),
            max_requests: number(values, "max-requests", 0)?,
            max_requests_delta: number(values, "max-requests-delta", 0)?,
            max_requests_exclude: values
                .get("max-requests-exclude")
                .into_iter()
                .flatten()
                .filter(|p| !p.is_empty())
                .map(|p| p.as_bytes().to_vec())
                .collect(),
            exec_hooks: ExecHooks::from_values(values)?,
            attach_daemons,
            smart_daemons,
            cron_jobs: cron_jobs(values)?,
            cheaper: cheaper::cheaper(values, processes)?,
            recycle: crate::master::recycle::RecycleLimits {
                lifetime: Some(seconds(values, "max-worker-lifetime", 0)?).filter(|d| !d.is_zero()),
                lifetime_delta: seconds(values, "max-worker-lifetime-delta", 0)?,
                min_lifetime: seconds(values, "min-worker-lifetime", 0)?,
                spacing: seconds(values, "recycle-spacing", 0)?,
                rss: number::<u64>(values, "reload-on-rss", 0)? << 20,
                address_space: number::<u64>(values, "reload-on-as", 0)? << 20,
                evil_rss: number::<u64>(values, "evil-reload-on-rss", 0)? << 20,
                evil_address_space: number::<u64>(values, "evil-reload-on-as", 0)? << 20,
            },
            harakiri: Some(seconds(values, "harakiri", 0)?).filter(|d| !d.is_zero()),
            worker_reload_mercy: seconds(values, "worker-reload-mercy", 60)?,
            touch_reload: paths(values, "touch-reload"),
            touch_chain_reload: paths(values, "touch-chain-reload"),
            touch_workers_reload: paths(values, "touch-workers-reload"),
            touch_logreopen: paths(values, "touch-logreopen"),
            log_maxsize: log_maxsize(values)?,
            master_fifo: last(values, "master-fifo").map(PathBuf::from),
            reload_mercy: seconds(values, "reload-mercy", 60)?,
            listen: match number(values, "listen", 1024)? {
                n if n < 1 => return Err(HostError::Usage("--listen must be at least 1".into())),
                n => n,
            },
            accept,
            defer_accept: !flag(values, "no-defer-accept"),
            so_keepalive: flag(values, "so-keepalive"),
            cpu_affinity: number(values, "cpu-affinity", 0)?,
            add_headers: values
                .get("add-header")
                .into_iter()
                .flatten()
                .map(|spec| add_header::parse(spec))
                .collect::<Result<_, _>>()
                .map_err(HostError::Usage)?,
            unenv: values.get("unenv").cloned().unwrap_or_default(),
            stats,
            stats_http,
            metrics: last(values, "metrics").map(str::to_string),
            limit_post: number(values, "limit-post", 0)?,
            keepalive_timeout: seconds(values, "http-keepalive-timeout", 5)?,
            header_timeout: seconds(values, "http-header-timeout", 10)?,
            max_requests_per_connection: number(values, "http-max-requests-per-connection", 0)?,
            socket_timeout: seconds(values, "socket-timeout", 60)?,
            chmod_socket,
            chown_socket: last(values, "chown-socket").map(str::parse).transpose()?,
            pidfile: last(values, "pidfile").map(PathBuf::from),
            log_target: log_target(values)?,
            request_log_file: logger(values, "req-logger")?,
            request_log: RequestLogging::from_values(values, log_format.is_some())?,
            log_format,
            static_map: static_map(values)?,
            chdir: last(values, "chdir").map(PathBuf::from),
            not_needed,
            limits: crate::process_limits::ProcessLimits {
                umask: last(values, "umask")
                    .map(crate::process_limits::parse_umask)
                    .transpose()?,
                address_space: Some(number::<u64>(values, "limit-as", 0)? << 20).filter(|&b| b > 0),
                open_files: Some(number::<u64>(values, "max-fd", 0)?).filter(|&n| n > 0),
            },
            env: env_vars(values)?,
            identity: crate::identity::Identity::resolve(last(values, "uid"), last(values, "gid"))?,
            procname: crate::proctitle::ProcNames::from_options(
                flag(values, "auto-procname"),
                last(values, "procname-prefix"),
                last(values, "procname-prefix-spaced"),
                last(values, "procname-master"),
            )
            .map_err(HostError::Usage)?,
            plugin_options,
        })
    }
}

/// Values as the sources merge them, from `(name, value)` pairs (for tests).
#[cfg(test)]
fn values(pairs: &[(&str, &str)]) -> Values {
    let mut v = Values::new();
    for (k, val) in pairs {
        v.entry(k.to_string()).or_default().push(val.to_string());
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_to_http_on_port_8000_with_one_worker() {
        let c = Config::from_values(&Values::new(), &Catalog::host()).unwrap();
        assert_eq!(
            c.sockets,
            vec![SocketSpec {
                protocol: SocketProtocol::Http,
                addr: "127.0.0.1:8000".into()
            }]
        );
        assert_eq!(c.processes, 1);
        assert_eq!(c.listen, 1024);
    }

    #[test]
    fn command_line_beats_environment_beats_file() {
        let merged = merge(
            values(&[("processes", "3")]),
            values(&[("processes", "2"), ("listen", "50")]),
            values(&[("processes", "1"), ("listen", "10"), ("max-requests", "7")]),
        );
        let c = Config::from_values(&merged, &Catalog::host()).unwrap();
        assert_eq!((c.processes, c.listen, c.max_requests), (3, 50, 7));
    }

    #[test]
    fn chown_socket_takes_a_user_and_an_optional_group() {
        let c = Config::from_values(
            &values(&[("chown-socket", "www-data:adm")]),
            &Catalog::host(),
        )
        .unwrap();
        assert_eq!(
            c.chown_socket,
            Some(SocketOwner {
                user: "www-data".into(),
                group: Some("adm".into())
            })
        );
        let c =
            Config::from_values(&values(&[("chown-socket", "1000")]), &Catalog::host()).unwrap();
        assert_eq!(
            c.chown_socket,
            Some(SocketOwner {
                user: "1000".into(),
                group: None
            })
        );
    }

    #[test]
    fn chown_socket_without_a_user_or_with_an_empty_group_is_refused() {
        for raw in [":adm", "www-data:", ""] {
            let err = Config::from_values(&values(&[("chown-socket", raw)]), &Catalog::host())
                .unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("invalid value '{raw}' for --chown-socket: expected USER or USER:GROUP")
            );
        }
    }

    #[test]
    fn stats_options_follow_uwsgi_and_stats_http_needs_an_address() {
        let c = Config::from_values(
            &values(&[
                ("stats", "127.0.0.1:9191"),
                ("stats-http", "true"),
                ("metrics", "/run/m.sock"),
            ]),
            &Catalog::host(),
        )
        .unwrap();
        assert_eq!(c.stats.as_deref(), Some("127.0.0.1:9191"));
        assert!(c.stats_http);
        assert_eq!(c.metrics.as_deref(), Some("/run/m.sock"));
        let err =
            Config::from_values(&values(&[("stats-http", "true")]), &Catalog::host()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--stats-http needs --stats ADDR (the socket to serve the stats on)"
        );
    }

    #[test]
    fn accept_strategy_defaults_to_exclusive_and_takes_one_flag() {
        let c = |pairs: &[(&str, &str)]| Config::from_values(&values(pairs), &Catalog::host());
        assert_eq!(c(&[]).unwrap().accept, AcceptStrategy::Exclusive);
        assert_eq!(
            c(&[("thunder-lock", "true")]).unwrap().accept,
            AcceptStrategy::ThunderLock
        );
        assert_eq!(
            c(&[("reuse-port", "true")]).unwrap().accept,
            AcceptStrategy::ReusePort
        );
        let err = c(&[("thunder-lock", "true"), ("reuse-port", "true")]).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("--thunder-lock and --reuse-port exclude each other"));
    }

    #[test]
    fn env_entries_split_at_the_first_equals_sign_and_need_a_key() {
        let c = |pairs: &[(&str, &str)]| Config::from_values(&values(pairs), &Catalog::host());
        let config = c(&[
            ("env", "A=1"),
            ("env", "URL=postgres://h/db?x=y"),
            ("env", "EMPTY="),
        ])
        .unwrap();
        assert_eq!(
            config.env,
            vec![
                ("A".to_string(), "1".to_string()),
                ("URL".to_string(), "postgres://h/db?x=y".to_string()),
                ("EMPTY".to_string(), String::new()),
            ]
        );
        for bad in ["NOVALUE", "=value", "A=\0"] {
            let err = c(&[("env", bad)]).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("invalid value '{bad}' for --env: expected KEY=VALUE")
            );
        }
    }

    #[test]
    fn bad_number_names_the_option() {
        let err =
            Config::from_values(&values(&[("processes", "many")]), &Catalog::host()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid value 'many' for --processes: expected a number"
        );
    }
}
