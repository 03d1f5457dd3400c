//! What every connection of a worker shares: the app, the protocols, limits and scratch.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use rsgi_plugin_api::protocol::HeaderSpan;
use rsgi_plugin_api::{AppModRef, Header, ProtocolModRef};

use super::exchange::Notifier;
use crate::config::Config;
use crate::date::DateCache;
use crate::scoreboard::{Cell, Status};
use crate::static_map::StaticMap;

/// Capacity of the header and variable arrays handed to a protocol's parser.
pub const MAX_FIELDS: usize = 256;

/// Hard ceiling on a request head, whatever a protocol allows.
pub const HEAD_CEILING: usize = 1024 * 1024;

/// Per-listener facts a request needs.
pub struct ListenerInfo {
    /// The protocol plugin serving it.
    pub proto: ProtocolModRef,
    /// `SERVER_NAME`.
    pub server_name: String,
    /// `SERVER_PORT`.
    pub server_port: u16,
    /// Requests on it are routed by uwsgi modifier1.
    pub routes_modifier1: bool,
    /// Its requests' `X-Forwarded-*` / `Forwarded` headers are read when the client is a
    /// trusted proxy (HTTP listeners; behind the uwsgi protocol the front server's own
    /// variables speak for the client).
    pub reads_forwarded: bool,
    /// Its connections start with a PROXY protocol header (`--enable-proxy-protocol`, HTTP
    /// listeners).
    pub proxy_protocol: bool,
}

/// Limits from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest body (0 = none).
    pub limit_post: u64,
    /// Idle keep-alive connections are closed after this.
    pub keepalive_timeout: Duration,
    /// A head must arrive within this.
    pub header_timeout: Duration,
    /// Blocking body reads / response writes give up after this.
    pub socket_timeout: Duration,
    /// Close a keep-alive connection after this many requests (0 = no limit).
    pub max_requests_per_connection: u64,
}

/// What all threads of a worker share (the event loop and, with `--threads`, the app
/// threads): configuration, the app, and a few atomic flags.
pub struct Shared {
    /// This worker's id (1-based).
    pub id: u32,
    /// The app runtime.
    pub app: AppModRef,
    /// The app's `call` (ABI 0.2.2), when its `calls` said it is served through exchanges
    /// (asked here, in the worker, once the app is loaded).
    pub call: Option<super::exchange::CallFn>,
    /// One entry per listening socket, same order.
    pub listeners: Vec<ListenerInfo>,
    /// Configured limits.
    pub limits: Limits,
    /// This worker's scoreboard cell.
    pub cell: &'static Cell,
    /// Recycle after this many requests (0 = never).
    pub max_requests: u64,
    /// Paths that do not count toward `max_requests` (`--max-requests-exclude`).
    pub max_requests_exclude: Vec<Vec<u8>>,
    /// Files served without the app (`--static-map`).
    pub static_map: StaticMap,
    /// Request lines waiting to be written (`None` when no request is logged).
    pub request_log: Option<super::access_log::RequestLog>,
    /// `--logto`'s file, opened again on SIGWINCH from the master.
    pub log_file: Option<std::path::PathBuf>,
    /// Headers added to every response (`--add-header`).
    pub add_headers: Arc<Vec<(Vec<u8>, Vec<u8>)>>,
    /// The proxies trusted to say who the client is (`--forwarded-allow-ips`).
    pub trusted_proxies: crate::proxy::TrustedProxies,
    requests: AtomicU64,
    stopping: AtomicBool,
    resting: AtomicU8,
}

impl Shared {
    /// Shared state for worker `id` (the request log and static map from `config`).
    pub fn new(
        id: u32,
        app: AppModRef,
        listeners: Vec<ListenerInfo>,
        limits: Limits,
        max_requests: u64,
        cell: &'static Cell,
        config: &Config,
    ) -> Self {
        let request_log = config.request_log;
        Shared {
            id,
            app,
            call: app.calls().filter(|calls| calls()).and(app.call()),
            listeners,
            limits,
            cell,
            max_requests,
            max_requests_exclude: config.max_requests_exclude.clone(),
            static_map: config.static_map.clone(),
            log_file: config.log_target.as_ref().map(|t| t.path().to_path_buf()),
            add_headers: Arc::new(config.add_headers.clone()),
            trusted_proxies: config.forwarded_allow_ips.clone(),
            request_log: request_log.any().then(|| {
                super::access_log::RequestLog::new(
                    request_log,
                    config.log_format.clone(),
                    config.request_log_file.as_deref(),
                )
            }),
            requests: AtomicU64::new(0),
            stopping: AtomicBool::new(false),
            resting: AtomicU8::new(Status::Idle as u8),
        }
    }

    /// The worker is stopping: finish what is in flight, accept nothing, keep nothing alive.
    pub fn stopping(&self) -> bool {
        self.stopping.load(Relaxed)
    }

    /// The status to return to after a request (Idle, Recycling or Stopping).
    pub fn resting(&self) -> Status {
        match self.resting.load(Relaxed) {
            x if x == Status::Recycling as u8 => Status::Recycling,
            x if x == Status::Stopping as u8 => Status::Stopping,
            _ => Status::Idle,
        }
    }

    fn rest_as(&self, status: Status) {
        self.resting.store(status as u8, Relaxed);
        self.cell.set_status(status);
    }

    /// Counts a request. Past `--max-requests` the worker asks the master for a
    /// replacement (and wakes it); it keeps serving until the master, once the
    /// replacement accepts, tells it to stop. No pause in accepting.
    pub fn count_request(&self, path: &[u8]) {
        if self.max_requests > 0
            && self
                .max_requests_exclude
                .iter()
                .any(|prefix| path.starts_with(prefix))
        {
            return;
        }
        let served = self.requests.fetch_add(1, Relaxed) + 1;
        if self.max_requests > 0 && served >= self.max_requests && self.cell.ask_recycle() {
            tracing::info!(
                "worker {} served {served} requests (--max-requests): asking for a replacement",
                self.id
            );
            self.rest_as(Status::Recycling);
            // Wake the master now rather than at its next tick.
            let _ =
                nix::sys::signal::kill(nix::unistd::getppid(), nix::sys::signal::Signal::SIGUSR2);
        }
    }

    /// Enters the stopping state (SIGTERM, or told to retire).
    pub fn begin_stop(&self) {
        self.stopping.store(true, Relaxed);
        self.rest_as(Status::Stopping);
    }
}

/// One thread's view of the worker: the shared part plus its own scratch space.
pub struct WorkerState {
    /// Shared by every thread of the worker.
    pub shared: Arc<Shared>,
    /// The cached `Date` value.
    pub date: DateCache,
    /// Header spans filled by the parser.
    pub header_spans: Vec<HeaderSpan>,
    /// Variable spans filled by the parser.
    pub var_spans: Vec<HeaderSpan>,
    /// Reused storage for the request's header views.
    pub header_views: Vec<Header<'static>>,
    /// Reused storage for the request's variable views.
    pub var_views: Vec<Header<'static>>,
    /// How exchanges on other threads wake the loop.
    pub notifier: Arc<Notifier>,
}

impl WorkerState {
    /// A thread's state over `shared`; exchanges wake the loop through `notifier`.
    pub fn new(shared: Arc<Shared>, notifier: Arc<Notifier>) -> Self {
        WorkerState {
            shared,
            date: DateCache::new(),
            header_spans: vec![HeaderSpan::default(); MAX_FIELDS],
            var_spans: vec![HeaderSpan::default(); MAX_FIELDS],
            header_views: Vec::with_capacity(MAX_FIELDS),
            var_views: Vec::with_capacity(MAX_FIELDS),
            notifier,
        }
    }
}

impl std::ops::Deref for WorkerState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.shared
    }
}

/// Reuses an emptied vector's allocation for views of a shorter lifetime.
pub fn recycle<'a>(mut v: Vec<Header<'static>>) -> Vec<Header<'a>> {
    v.clear();
    // `Vec` is covariant: a vector of 'static views is a vector of 'a views.
    v
}

/// Gives a vector's allocation back for the next request.
pub fn restore(mut v: Vec<Header<'_>>) -> Vec<Header<'static>> {
    v.clear();
    v.into_iter()
        .map(|_| -> Header<'static> { unreachable!("the vector is empty") })
        .collect()
}
