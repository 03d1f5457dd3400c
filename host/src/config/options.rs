//! The host's own options. Names follow uWSGI where one exists, so an existing setup
//! can be brought over; every option is also a TOML key and an `RSGI_<NAME>` variable.

use rsgi_plugin_api::OptionKind;

/// One option of the host, as `--help`, the config file and the environment know it.
#[derive(Debug, Clone, Copy)]
pub struct HostOption {
    /// Long name (`processes`).
    pub name: &'static str,
    /// Other accepted names (`workers`).
    pub aliases: &'static [&'static str],
    /// Placeholder in `--help`.
    pub value_name: &'static str,
    /// One line of help.
    pub help: &'static str,
    /// Flag, value or list.
    pub kind: OptionKind,
}

const fn opt(
    name: &'static str,
    aliases: &'static [&'static str],
    value_name: &'static str,
    kind: OptionKind,
    help: &'static str,
) -> HostOption {
    HostOption {
        name,
        aliases,
        value_name,
        help,
        kind,
    }
}

use OptionKind::{Flag, List, Value};

/// Every host option, in `--help` order.
pub const HOST_OPTIONS: &[HostOption] = &[
    opt("config", &["ini"], "FILE", Value, "read options from a TOML file (same names as the flags), or from the [uwsgi] section of a uWSGI .ini file"),
    opt("plugin", &["plugins"], "NAME|PATH", List, "load plugins (comma-separated or repeated): a name (python, http, uwsgi) or a path to a .so"),
    opt("plugin-dir", &[], "DIR", List, "look for plugins in DIR first (also RSGI_PLUGIN_DIR)"),
    opt("list-plugins", &[], "", Flag, "list the plugins found in the search path and exit"),
    opt("http", &["http-socket"], "ADDR", List, "serve HTTP on ADDR (host:port, :port, [::1]:port or /path.sock); default 127.0.0.1:8000"),
    opt("socket", &["uwsgi-socket"], "ADDR", List, "serve the uwsgi protocol on ADDR (TCP or Unix socket), e.g. behind nginx's uwsgi_pass"),
    opt("processes", &["workers"], "N", Value, "number of worker processes (default 1)"),
    opt("threads", &[], "N", Value, "app threads per worker (default 1: the app runs on the event-loop thread)"),
    opt("master", &[], "", Flag, "accepted for uWSGI compatibility: rsgi always runs a master"),
    opt("lazy-apps", &["lazy"], "", Flag, "load the app in each worker after fork instead of once in the master"),
    opt("need-app", &[], "", Flag, "exit with status 22 if the app cannot be loaded (otherwise serve 500s)"),
    opt("smart-attach-daemon", &["smart-attach-daemon2"], "'PIDFILE CMD'", List, "keep a daemon running that CMD starts and that writes its pid to PIDFILE: CMD runs again when that pid is gone; a graceful reload leaves the daemon running, a shutdown sends it SIGTERM; repeatable"),
    opt("attach-daemon", &[], "CMD", List, "run CMD (with /bin/sh -c) beside the workers, start it again when it exits, stop it with the master (SIGTERM to its process group at shutdown and reload); repeatable"),
    opt("cheaper", &[], "N", Value, "adaptive worker count: run between N and --processes workers (0 = off); with the default algorithm (spare) add --cheaper-step when every worker has been busy for --cheaper-overload seconds, retire one when more than one has been idle as long"),
    opt("cheaper-initial", &[], "N", Value, "workers at start with --cheaper (default: --cheaper's N)"),
    opt("cheaper-step", &[], "N", Value, "workers added at a time with --cheaper (default 1)"),
    opt("cheaper-overload", &[], "SECONDS", Value, "how long every worker must be busy (or more than one idle) before --cheaper adds (retires) workers; with busyness, the cycle length (default 3)"),
    opt("cheaper-algo", &[], "NAME", Value, "the --cheaper algorithm: spare (the default) or busyness (follow the workers' average utilisation over --cheaper-overload-second cycles)"),
    opt("cheaper-busyness-min", &[], "PERCENT", Value, "busyness: a cycle under this average utilisation counts as idle (default 25)"),
    opt("cheaper-busyness-max", &[], "PERCENT", Value, "busyness: a cycle over this average utilisation adds --cheaper-step workers (default 50)"),
    opt("cheaper-busyness-multiplier", &[], "N", Value, "busyness: idle cycles before a worker is retired (default 10)"),
    opt("cheaper-busyness-penalty", &[], "N", Value, "busyness: cycles added to the multiplier when workers are needed again too soon after a retirement (default 1)"),
    opt("cheaper-busyness-verbose", &[], "", Flag, "busyness: log each cycle's utilisation figures"),
    opt("cheaper-busyness-backlog-alert", &[], "N", Value, "busyness: more than N connections in a TCP listen queue add an emergency worker at once (default 33)"),
    opt("cheaper-busyness-backlog-multiplier", &[], "N", Value, "busyness: idle cycles before an emergency worker is retired (default 3)"),
    opt("cheaper-busyness-backlog-step", &[], "N", Value, "busyness: emergency workers added at a time (default 1)"),
    opt("cheaper-busyness-backlog-nonzero", &[], "SECONDS", Value, "busyness: a TCP listen queue never empty for this long adds an emergency worker (default 60)"),
    opt("max-requests", &[], "N", Value, "recycle a worker after it served N requests (0 = never); its replacement starts first"),
    opt("max-requests-delta", &[], "N", Value, "add 0..N (per worker) to --max-requests so workers do not all recycle together"),
    opt("max-worker-lifetime", &[], "SECONDS", Value, "recycle a worker after it lived this long (0 = never)"),
    opt("reload-on-rss", &[], "MB", Value, "recycle a worker whose resident memory exceeds MB (0 = never)"),
    opt("harakiri", &[], "SECONDS", Value, "kill (and respawn) a worker whose request runs longer than this (0 = never)"),
    opt("worker-reload-mercy", &[], "SECONDS", Value, "how long a retiring worker may finish its requests before SIGKILL (default 60)"),
    opt("touch-logreopen", &[], "FILE", List, "open the --logto file again (in the master and every worker) when FILE's modification time changes, e.g. from logrotate's postrotate"),
    opt("log-maxsize", &[], "BYTES", Value, "when the --logto file grows past BYTES, move it to FILE.<unix time> and start a new one (0 = never)"),
    opt("touch-reload", &[], "FILE", List, "gracefully reload when FILE's modification time changes"),
    opt("touch-chain-reload", &[], "FILE", List, "chain-reload (one worker at a time) when FILE's modification time changes"),
    opt("master-fifo", &[], "PATH", Value, "a FIFO the master reads commands from: r reload, w reload workers, c chain reload, q stop, Q kill, s stats, + / - one worker more / less"),
    opt("reload-mercy", &[], "SECONDS", Value, "how long SIGTERM waits for workers to finish in-flight requests (default 60)"),
    opt("listen", &[], "N", Value, "listen queue (backlog) of each socket (default 1024; the kernel caps it at net.core.somaxconn)"),
    opt("thunder-lock", &[], "", Flag, "serialise accept() across workers with a process-shared lock (default: the kernel wakes one idle worker per connection, EPOLLEXCLUSIVE)"),
    opt("no-defer-accept", &[], "", Flag, "accept TCP connections as soon as they are established, not once their first bytes arrived (TCP_DEFER_ACCEPT is on by default, as in uWSGI)"),
    opt("reuse-port", &[], "", Flag, "give each worker its own SO_REUSEPORT socket on each TCP address; the kernel spreads connections across them"),
    opt("stats", &["stats-server"], "ADDR", Value, "serve a JSON snapshot of the master and workers on ADDR (host:port or /path.sock), as uWSGI's stats server does (uwsgitop reads it)"),
    opt("stats-http", &[], "", Flag, "answer --stats connections as HTTP (GET) instead of writing the JSON at once"),
    opt("metrics", &[], "ADDR", Value, "serve Prometheus metrics over HTTP on ADDR (host:port or /path.sock)"),
    opt("limit-post", &[], "BYTES", Value, "largest request body accepted; larger ones get 413 (default 0 = no limit)"),
    opt("http-keepalive-timeout", &[], "SECONDS", Value, "close keep-alive connections idle this long (default 5)"),
    opt("http-max-requests-per-connection", &[], "N", Value, "answer the Nth request of a keep-alive connection with Connection: close (default 0 = no limit)"),
    opt("http-header-timeout", &[], "SECONDS", Value, "close a connection whose request head takes longer than this (default 10)"),
    opt("socket-timeout", &[], "SECONDS", Value, "give up a blocked body read or response write after this long (default 60)"),
    opt("chmod-socket", &[], "MODE", Value, "permissions of Unix sockets (octal, e.g. 660)"),
    opt("uid", &[], "USER", Value, "after binding the sockets, the master (and its workers) run as USER (name or id); needs root"),
    opt("gid", &[], "GROUP", Value, "after binding the sockets, run with GROUP (name or id; default: the --uid user's primary group)"),
    opt("chown-socket", &[], "USER[:GROUP]", Value, "owner (and group) of Unix sockets, names or numeric ids, e.g. www-data:www-data"),
    opt("pidfile", &[], "FILE", Value, "write the master's pid to FILE"),
    opt("logto", &[], "FILE", Value, "append the log (master, workers and what the app prints) to FILE instead of stderr; a graceful reload opens it again"),
    opt("daemonize", &[], "FILE", Value, "detach from the terminal (the command returns at once) and log to FILE, as uWSGI does; not for systemd or containers"),
    opt("log-reopen", &[], "", Flag, "accepted for uWSGI compatibility: --logto's file is always opened again on a graceful reload"),
    opt("static-map", &[], "PREFIX=DIR", List, "serve GET/HEAD requests under PREFIX from files in DIR without calling the app (repeatable; a missing file goes to the app), e.g. /static=/srv/site/static"),
    opt("static-index", &[], "NAME", List, "with --static-map: a path naming a directory serves the first NAME found in it, e.g. index.html (repeatable)"),
    opt("static-expires-type", &[], "MIME=SECONDS", List, "with --static-map: an Expires header SECONDS from now on files of content type MIME (repeatable; the first matching static-expires rule wins)"),
    opt("static-expires-type-mtime", &[], "MIME=SECONDS", List, "as --static-expires-type, counting from the file's modification time"),
    opt("static-expires", &[], "'REGEX SECONDS'", List, "with --static-map: an Expires header SECONDS from now on files whose path matches REGEX (repeatable)"),
    opt("static-expires-mtime", &[], "'REGEX SECONDS'", List, "as --static-expires, counting from the file's modification time"),
    opt("static-expires-uri", &[], "'REGEX SECONDS'", List, "with --static-map: an Expires header SECONDS from now when the request URI matches REGEX (repeatable)"),
    opt("static-expires-uri-mtime", &[], "'REGEX SECONDS'", List, "as --static-expires-uri, counting from the file's modification time"),
    opt("static-expires-path-info", &[], "'REGEX SECONDS'", List, "with --static-map: an Expires header SECONDS from now when the request path matches REGEX (repeatable)"),
    opt("static-expires-path-info-mtime", &[], "'REGEX SECONDS'", List, "as --static-expires-path-info, counting from the file's modification time"),
    opt("static-gzip-all", &[], "", Flag, "with --static-map: send FILE.gz instead of FILE, with Content-Encoding: gzip, to clients that accept gzip, when it exists"),
    opt("exec-asap", &[], "CMD", List, "run CMD (/bin/sh -c) once the options are read; a failure stops rsgi (exit 1); repeatable"),
    opt("exec-as-root", &[], "CMD", List, "run CMD once the sockets are bound, before --uid/--gid drop root; repeatable"),
    opt("exec-as-user", &[], "CMD", List, "run CMD after --uid/--gid drop root; repeatable"),
    opt("exec-pre-app", &[], "CMD", List, "run CMD right before the app loads (e.g. python manage.py migrate --noinput); repeatable"),
    opt("exec-post-app", &[], "CMD", List, "run CMD right after the app loaded; repeatable"),
    opt("chdir", &[], "DIR", Value, "change to DIR before binding sockets and loading the app: later relative paths start there (--plugin and --config paths do not)"),
    opt("env", &[], "KEY=VALUE", List, "set an environment variable for the app (repeatable; in RSGI_ENV, commas separate entries)"),
    opt("strict", &[], "", Flag, "accepted for uWSGI compatibility: an unknown option is always an error"),
    opt("vacuum", &[], "", Flag, "accepted for uWSGI compatibility: rsgi always removes its Unix sockets and pidfile on exit"),
    opt("ignore-sigpipe", &[], "", Flag, "accepted for uWSGI compatibility: SIGPIPE is always ignored and never reported"),
    opt("die-on-term", &[], "", Flag, "accepted for uWSGI compatibility: SIGTERM always shuts down gracefully (SIGHUP reloads)"),
    opt("disable-logging", &[], "", Flag, "accepted for uWSGI compatibility: requests are logged only with --log-requests (or --log-4xx, --log-5xx)"),
    opt("log-level", &[], "LEVEL", Value, "error, warn, info (default), debug or trace"),
    opt("log-requests", &[], "", Flag, "log a line per request: client, request line, status, body bytes, duration, worker (off by default; shown at any --log-level)"),
    opt("log-format", &["logformat"], "FORMAT", Value, "the request line in uWSGI's log-format placeholders, e.g. '%(addr) - %(user) [%(ltime)] \"%(method) %(uri) %(proto)\" %(status) %(size) %(msecs)ms' (alone, it also turns request logging on)"),
    opt("log-4xx", &[], "", Flag, "log a request line (as --log-requests does) for requests answered 400-499, even without --log-requests"),
    opt("log-5xx", &[], "", Flag, "log a request line (as --log-requests does) for requests answered 500-599, even without --log-requests"),
    opt("auto-procname", &[], "", Flag, "set process titles as ps shows them: 'rsgi master', 'rsgi worker N'"),
    opt("procname-prefix", &[], "PREFIX", Value, "put PREFIX before every process title, verbatim (sets the titles, as --auto-procname does)"),
    opt("procname-prefix-spaced", &[], "PREFIX", Value, "put PREFIX and a space before every process title (sets the titles, as --auto-procname does)"),
    opt("procname-master", &[], "NAME", Value, "the master's process title instead of 'rsgi master' (behind the prefix)"),
];
