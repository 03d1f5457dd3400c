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
