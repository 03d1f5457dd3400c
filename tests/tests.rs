//! End-to-end tests: each starts the real `rsgi` binary (built by `cargo build --workspace`)
//! with the real plugins and talks to it over real sockets.

// Serving: GET/POST, keep-alive, several workers, errors from the app.
mod serve;
// Plugin loading: missing, not a plugin, wrong ABI version, two protocols at once.
mod plugins;
// The master: respawn after SIGKILL, graceful SIGTERM, immediate SIGINT, exit codes.
mod lifecycle;
// The embedded interpreter: C extensions, virtualenvs, app loading errors.
mod python;
// Graceful reload (SIGHUP, touch file, master FIFO), chain reload, worker count.
mod reload;
// Harakiri, kill -9, respawn back-off, need-app exit codes.
mod harakiri;
// --threads: concurrency, and recycling with app threads (the GIL-after-fork scenario).
mod threads;
// Options: --help, bad options, config file and environment precedence.
mod options;
// Config files that include others: uWSGI's ini/include/inherit, TOML's include; loops refused.
mod ini_inherit;
// --cheaper: workers added under load, retired when idle.
mod cheaper;
// systemd's notify protocol: READY=1, RELOADING=1, STOPPING=1, watchdog pings.
mod systemd;
// systemd socket activation (systemd-socket-activate): passed sockets adopted, kept across reloads.
mod socket_activation;
// --attach-daemon: started beside the workers, restarted, stopped with the master.
mod daemons;
// --smart-attach-daemon: found by its pidfile, kept across reloads, restarted when gone, stopped at shutdown.
mod smart_daemons;
// rsgi as PID 1 of a PID namespace (a container's entry point): serves, reaps orphans, SIGTERM is graceful.
mod container;
// --exec-asap, --exec-as-root, --exec-as-user, --exec-pre-app, --exec-post-app.
mod exec_hooks;
// `import uwsgi` and uwsgidecorators: process facts, postfork, timers, cron, locks, reload, atexit.
mod uwsgi_api;
// --static-map: files served without the app; missing files fall through; 403 for paths leaving the directory.
mod static_map;
// --logto and --daemonize: the log in a file, reopened by a reload; a detached master.
mod log_file;
// The uwsgi protocol behind nginx, bad uwsgi packets, Unix socket files, restarts behind an upstream.
mod nginx;
// The HTTP/1.1 plugin: the request corpus over a socket, keep-alive, bodies, framing, bad input, slow clients.
mod http;
// PEP 3333 to the letter: environ, wsgi.input, start_response, close(), file_wrapper, --mount, wsgiref.validate.
mod wsgi;
// The stats server (--stats, --stats-http, uwsgitop), Prometheus --metrics, listen-queue monitoring, SIGUSR1 summary.
mod stats;
// Flask and Django examples through a real HTTP client: pages, JSON, CSRF forms, uploads, streaming, files.
mod frameworks;
// Each supported Python, one plugin each (feature `pythons`, needs scripts/test-pythons.sh's builds).
#[cfg(feature = "pythons")]
mod pythons;
// --log-requests: a line per request over HTTP and the uwsgi protocol.
mod request_log;
// Accept strategies: EPOLLEXCLUSIVE wake-ups, --thunder-lock, --reuse-port; every connection answered once.
mod accept;
// --auto-procname, --procname-prefix(-spaced): the master's and workers' titles in ps, kept across a reload.
mod procname;
// Plugin ABI releases: a plugin of the first 0.2 release serves in this host, missing extensions, series 0.1 refused.
mod abi_compat;
// Faults stay inside: a plugin panicking in each hook, aborting, segfaulting (the panicky fixture).
mod faults;
// The plugin template built outside the repository against the SDK as cargo package makes it.
mod sdk_package;
// Apps answered later (rsgi.exchange v1): many requests held by one worker, bodies streamed
// both ways, back-pressure, disconnects, faults (the later fixture).
mod exchange;
// WebSocket through the host (rsgi.exchange v3, the websocket plugin): handshake, frames,
// protocol errors and their close codes, the close handshake, pings, going away on stop.
mod websocket;
// Coming from gunicorn: its command line and names (-w, -b, --timeout, --access-logfile...), app factories.
mod gunicorn;
// ASGI apps in the python plugin: scope, streaming, 1,000 held requests, disconnects, bad apps,
// lifespan, FastAPI, Starlette, Django.
mod asgi;
// WebSockets for ASGI apps (the websocket scope over the host's websocket plugin): a raw app,
// Starlette and FastAPI driven by the `websockets` client: messages, compression, close codes,
// subprotocols, denials, failures, limits, back-pressure.
mod websocket_asgi;
// Behind load balancers: --forwarded-allow-ips (X-Forwarded-*, Forwarded) and
// --enable-proxy-protocol (PROXY v1/v2), for WSGI and ASGI apps and the request log.
mod proxy;
// The Debian packages: built, installed, served from /usr/bin/rsgi, plugin removed, purged
// (#[ignore]d: it installs system packages; scripts/test-packages.sh runs it).
mod packages;
