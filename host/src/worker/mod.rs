//! A worker: post-fork setup (signals, lazy app load), then the event loop.

pub mod accept;
pub mod access_log;
pub mod blocking;
pub mod body;
pub mod buffers;
pub mod byte_range;
pub mod conn;
pub mod cpu_affinity;
pub mod exchange;
pub mod handle_upgrade;
pub mod log_entry;
pub mod log_format;
pub mod log_time;
pub mod orphan;
pub mod peer;
pub mod pool;
pub mod readbuf;
pub mod reply;
pub mod serve;
pub mod state;
pub mod static_files;

use nix::sys::signal::Signal;
use rsgi_plugin_api::{AppContext, AppModRef, ErrorKind};

use crate::config::{Config, SocketProtocol};
use crate::exit::ExitCode;
use crate::listen::Listener;
use crate::plugin::Plugins;
use crate::scoreboard::Cell;
use crate::signals::{self, SignalPipe};
use std::sync::Arc;

use state::{Limits, ListenerInfo, Shared};

/// Signals a worker handles itself.
const WORKER_SIGNALS: &[Signal] = &[
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGHUP,
    Signal::SIGWINCH,
];

/// Everything a new worker needs from the master.
pub struct Setup<'a> {
    /// Worker id (1-based slot).
    pub id: u32,
    /// The configuration.
    pub config: &'a Config,
    /// Loaded plugins.
    pub plugins: &'a Plugins,
    /// The app runtime.
    pub app: AppModRef,
    /// This worker's scoreboard cell.
    pub cell: &'static Cell,
    /// The listening sockets.
    pub listeners: &'a [Listener],
    /// Signals the master handles (reset to defaults here).
    pub master_signals: &'a [Signal],
    /// The master's pid: the worker stops when its parent is no longer this process.
    pub master_pid: u32,
}

/// The app context for worker `id`.
pub fn app_context(config: &Config, id: u32) -> AppContext {
    AppContext {
        processes: config.processes,
        threads: config.threads,
        lazy: config.lazy_apps,
        worker_id: id,
    }
}

/// A per-process spread in `0..=delta` (pid and clock mixed), for `--max-requests-delta`.
fn jitter(delta: u64) -> u64 {
    if delta == 0 {
        return 0;
    }
    let seed = (std::process::id() as u64) ^ crate::scoreboard::now_us();
    let mixed = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17);
    mixed % (delta + 1)
}

/// Runs a worker to its end; returns the exit code (the caller `_exit`s with it).
pub fn run(setup: Setup<'_>) -> ExitCode {
    signals::reset(setup.master_signals);
    let signals = match SignalPipe::install(WORKER_SIGNALS) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("worker {}: cannot set up signals: {e}", setup.id);
            return ExitCode::Failure;
        }
    };
    // The master blocked its signals around fork(); pending ones arrive here now.
    signals::unblock(&signals::set_of(setup.master_signals));
    if !orphan::follow_master(setup.master_pid) {
        tracing::warn!(
            "worker {}: the master (pid {}) died before this worker started; exiting",
            setup.id,
            setup.master_pid
        );
        return ExitCode::Failure;
    }
    let config = setup.config;
    if config.cpu_affinity > 0 {
        cpu_affinity::apply(setup.id, config.cpu_affinity);
    }
    let ctx = app_context(config, setup.id);
    if config.lazy_apps {
        match (setup.app.load_app())(&ctx).into_result() {
            Ok(desc) => tracing::info!("worker {} loaded the app: {desc}", setup.id),
            Err(e)
                if matches!(e.kind, ErrorKind::AppLoad | ErrorKind::Panic) && config.need_app =>
            {
                tracing::error!("worker {}: {} (--need-app: giving up)", setup.id, e.message);
                return ExitCode::AppLoadFailed;
            }
            Err(e) => tracing::error!(
                "worker {}: app not loaded, answering 500: {}",
                setup.id,
                e.message
            ),
        }
    }
    let mut infos = Vec::with_capacity(setup.listeners.len());
    for l in setup.listeners {
        let name = l.protocol().plugin_name();
        let Some(proto) = setup.plugins.protocol(name) else {
            tracing::error!("no protocol plugin '{name}' for {}", l.describe());
            return ExitCode::Failure;
        };
        infos.push(ListenerInfo {
            proto,
            server_name: l.server_name.clone(),
            server_port: l.server_port,
            routes_modifier1: l.protocol() == SocketProtocol::Uwsgi,
            reads_forwarded: l.protocol() == SocketProtocol::Http,
            proxy_protocol: config.proxy_protocol && l.protocol() == SocketProtocol::Http,
        });
    }
    let limits = Limits {
        limit_post: config.limit_post,
        keepalive_timeout: config.keepalive_timeout,
        header_timeout: config.header_timeout,
        socket_timeout: config.socket_timeout,
        max_requests_per_connection: config.max_requests_per_connection,
    };
    let max_requests = match config.max_requests {
        0 => 0,
        n => n + jitter(config.max_requests_delta),
    };
    let shared = Arc::new(Shared::new(
        setup.id,
        setup.app,
        infos,
        limits,
        max_requests,
        setup.cell,
        config,
    ));
    if let Some(log) = &shared.request_log {
        if let Err(e) = log.start_flusher() {
            tracing::warn!("worker {}: no request-log flushing thread: {e}", setup.id);
        }
    }
    match serve::run(setup.listeners, &signals, shared, config.threads) {
        Ok(serve::Ended::Graceful) => {
            (setup.app.shutdown())();
            ExitCode::Clean
        }
        Ok(serve::Ended::Immediate) => ExitCode::Clean,
        Err(e) => {
            tracing::error!("worker {} event loop failed: {e}", setup.id);
            ExitCode::Failure
        }
    }
}
