//! The master: forks workers, replaces and respawns them, and turns signals and FIFO
//! commands into decisions. [`Master::run`] is the whole loop: wait (1 s at most) →
//! handle commands → answer stats clients → reap → enforce limits → adapt the worker count
//! (`--cheaper`) → maintain → tell systemd how things stand.

pub mod cheaper;
mod command;
pub mod cron;
pub mod daemons;
pub mod fifo;
pub mod harakiri;
pub mod listen_queue;
pub mod log_reopen;
pub mod metrics;
pub mod notify;
pub mod reap;
pub mod recycle;
pub mod reload;
pub mod smart_daemons;
pub mod snapshot;
pub mod spawn;
pub mod stats;
pub mod stats_json;
pub mod stats_server;
pub mod table;
pub mod touch;

use std::collections::VecDeque;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::Pid;
use rsgi_plugin_api::AppModRef;

use crate::config::Config;
use crate::exit::ExitCode;
use crate::listen::{self, Listener};
use crate::plugin::Plugins;
use crate::scoreboard::{Scoreboard, Status};
use crate::signals::SignalPipe;
use cheaper::Cheaper;
use command::Command;
use cron::CronJobs;
use daemons::Daemons;
use fifo::MasterFifo;
use listen_queue::ListenQueueWatch;
use log_reopen::LogReopen;
use notify::ServiceManager;
use reap::Death;
use smart_daemons::SmartDaemons;
use snapshot::Snapshot;
use stats_server::StatsServer;
use table::{Exited, WorkerTable};
use touch::TouchWatch;

/// Signals the master handles.
pub const MASTER_SIGNALS: &[Signal] = &[
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGHUP,
    Signal::SIGCHLD,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGTTIN,
    Signal::SIGTTOU,
];

/// What the master is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Keeping `processes` workers alive.
    Running,
    /// Waiting for workers to finish, then exiting with `code`; the ones left at
    /// `kill_at` are SIGKILLed (`None`: they have been already).
    Stopping {
        kill_at: Option<Instant>,
        code: ExitCode,
    },
}

/// The master process.
pub struct Master {
    /// Configuration.
    pub config: Config,
    /// Loaded plugins.
    pub plugins: Plugins,
    /// The app runtime.
    pub app: AppModRef,
    /// Listening sockets.
    pub listeners: Vec<Listener>,
    /// Shared per-worker counters.
    pub board: Scoreboard,
    table: WorkerTable,
    signals: SignalPipe,
    fifo: Option<MasterFifo>,
    stats: StatsServer,
    queues: ListenQueueWatch,
    touch: TouchWatch,
    /// The adaptive worker count (`--cheaper`).
    cheaper: Option<Cheaper>,
    /// systemd's notify protocol (`NOTIFY_SOCKET`).
    service: ServiceManager,
    /// `--attach-daemon` processes.
    daemons: Daemons,
    /// `--smart-attach-daemon` processes (tracked by pidfile, kept across reloads).
    smart_daemons: SmartDaemons,
    /// `--cron` / `--unique-cron` commands.
    cron: CronJobs,
    /// `--logto`'s file, reopened on demand or rotated by size.
    log: LogReopen,
    /// Slots still to replace in a chain reload.
    chain: VecDeque<u32>,
    phase: Phase,
    /// When the last recycle began (`--recycle-spacing`).
    last_recycle: Option<Instant>,
    started: Instant,
    /// Unix socket files to remove at exit.
    socket_files: Vec<std::path::PathBuf>,
}

impl Master {
    /// A master ready to fork (sockets bound, app loaded unless lazy); `stats` are its own
    /// stats and metrics sockets; `inherited` are workers of the master this one
    /// re-executed from.
    pub fn new(
        config: Config,
        plugins: Plugins,
        app: AppModRef,
        listeners: Vec<Listener>,
        stats: StatsServer,
        signals: SignalPipe,
        inherited: &reload::Inherited,
    ) -> Result<Self, String> {
        let mut table = WorkerTable::new(config.cheaper.map_or(config.processes, |c| c.initial));
        for &(pid, slot) in &inherited.workers {
            table.inherit(pid, slot.min(config.processes).max(1));
        }
        let board = Scoreboard::new(config.processes as usize * 2 + 16)
            .map_err(|e| format!("cannot map the scoreboard: {e}"))?;
        crate::plugin::offered::share_scoreboard(board.cells());
        let fifo = match &config.master_fifo {
            Some(path) => Some(
                MasterFifo::open(path)
                    .map_err(|e| format!("cannot create master FIFO {}: {e}", path.display()))?,
            ),
            None => None,
        };
        let touch = TouchWatch::new(&[
            (&config.touch_reload, Command::Reload),
            (&config.touch_chain_reload, Command::ChainReload),
            (&config.touch_workers_reload, Command::ReloadWorkers),
            (&config.touch_logreopen, Command::ReopenLog),
        ]);
        let log = LogReopen::new(
            config.log_target.as_ref().map(|t| t.path().to_path_buf()),
            config.log_maxsize,
            config.request_log_file.is_some(),
        );
        let socket_files = listen::socket_files(&listeners);
        let queues = ListenQueueWatch::new(listeners.len());
        let cheaper = config
            .cheaper
            .map(|c| Cheaper::new(c, config.processes, config.threads));
        let daemons = Daemons::new(
            &config.attach_daemons,
            &inherited.daemons,
            config.worker_reload_mercy,
        );
        let smart_daemons = SmartDaemons::new(&config.smart_daemons);
        let cron = CronJobs::new(&config.cron_jobs);
        Ok(Master {
            cron,
            log,
            cheaper,
            smart_daemons,
            service: ServiceManager::from_env(),
            daemons,
            config,
            plugins,
            app,
            listeners,
            board,
            table,
            signals,
            fifo,
            stats,
            queues,
            touch,
            chain: VecDeque::new(),
            phase: Phase::Running,
            last_recycle: None,
            started: Instant::now(),
            socket_files,
        })
    }

    /// Runs until shutdown; returns the exit code.
    pub fn run(mut self) -> ExitCode {
        self.maintain();
        loop {
            let (commands, ready) = self.wait(Duration::from_secs(1));
            for command in commands {
                tracing::debug!("master command {command:?}");
                self.handle(command);
            }
            self.answer_stats(&ready);
            self.reap_workers();
            if let Phase::Stopping { code, .. } = self.phase {
                if self.table.is_empty() && self.daemons.is_empty() {
                    self.cleanup();
                    tracing::info!(
                        "all workers gone; master exiting with status {}",
                        code.code()
                    );
                    return code;
                }
            }
            self.enforce_limits();
            self.adapt_worker_count();
            self.maintain();
            if self.phase == Phase::Running {
                self.daemons.restart_touched();
                self.daemons.start_due();
                self.smart_daemons.watch();
                self.cron.run_due_now();
            }
            self.notify_service();
        }
    }

    /// Waits (up to `timeout`) for signals, FIFO input or stats clients. Returns the
    /// commands (signals, FIFO, touched files) and the stats fds that are ready.
    fn wait(&mut self, timeout: Duration) -> (Vec<Command>, Vec<RawFd>) {
        let mut watch = self.stats.fds();
        watch.extend(self.fifo.as_ref().map(MasterFifo::fd));
        let woken = self.signals.wait_with(timeout, &watch);
        let mut commands: Vec<Command> = woken
            .signals
            .into_iter()
            .filter_map(Command::from_signal)
            .collect();
        if let Some(fifo) = &self.fifo {
            commands.extend(fifo.drain());
        }
        commands.extend(self.touch.check());
        (commands, woken.ready)
    }

    /// Answers stats and metrics clients whose sockets are `ready`.
    fn answer_stats(&mut self, ready: &[RawFd]) {
        // Moved out for the call, so the snapshot can borrow the rest of the master.
        let mut stats = std::mem::take(&mut self.stats);
        stats.serve(ready, || self.snapshot());
        self.stats = stats;
    }

    /// The state of the master and its workers now.
    fn snapshot(&self) -> Snapshot {
        Snapshot::take(
            &self.table,
            &self.board,
            &self.listeners,
            self.queues.full_count,
            self.config.threads,
            self.started.elapsed().as_secs(),
        )
    }

    fn handle(&mut self, command: Command) {
        let running = self.phase == Phase::Running;
        match command {
            Command::Stop => self.stop("graceful shutdown", ExitCode::Clean),
            Command::Kill => {
                tracing::info!("immediate shutdown");
                self.service.stopping("immediate shutdown");
                self.daemons.kill_all();
                self.smart_daemons.stop_all();
                self.cron.stop_all();
                self.table.signal_all(Signal::SIGKILL);
                self.phase = Phase::Stopping {
                    kill_at: None,
                    code: ExitCode::Clean,
                };
            }
            Command::Stats => stats::log_summary(&self.snapshot()),
            Command::ReopenLog => {
                if self.log.reopen() {
                    self.table.tell_all(Signal::SIGWINCH);
                }
            }
            Command::Reload if running => self.reload(),
            Command::ReloadWorkers if running => {
                tracing::info!("reloading all workers (new ones start before the old ones stop)");
                let ids: Vec<u32> = self.table.slots().iter().map(|s| s.id).collect();
                for id in ids {
                    self.table.replace(id);
                }
            }
            Command::ChainReload if running => {
                tracing::info!("chain reload: replacing workers one at a time");
                self.chain = self.table.slots().iter().map(|s| s.id).collect();
            }
            Command::MoreWorkers if running => {
                if self.table.slots().len() * 2 + 2 > self.board.cells().len() {
                    tracing::warn!("cannot add a worker: the scoreboard is full");
                } else {
                    let id = self.table.add_slot();
                    tracing::info!("adding worker {id}");
                }
            }
            Command::FewerWorkers if running => match self.table.remove_slot() {
                Some(id) => tracing::info!("removing worker {id}"),
                None => tracing::warn!("not removing the last worker"),
            },
            Command::Reload
            | Command::ReloadWorkers
            | Command::ChainReload
            | Command::MoreWorkers
            | Command::FewerWorkers => {
                tracing::info!("ignoring {command:?} while shutting down")
            }
            Command::Wake => {}
        }
    }

    /// Re-executes the master with its sockets; the old workers retire once new ones serve.
    fn reload(&mut self) {
        let mut workers: Vec<(Pid, u32)> = self
            .table
            .slots()
            .iter()
            .filter_map(|s| s.pid.map(|p| (p, s.id)))
            .collect();
        workers.extend(self.table.retiring().iter().map(|r| (r.pid, r.slot)));
        self.service.reloading();
        // Daemons run the new code too: the new master starts them anew.
        self.daemons.stop_all(self.config.worker_reload_mercy, true);
        self.smart_daemons.notify_reload();
        let err = reload::reexec(&self.listeners, &workers, &self.daemons.stopping_pids());
        tracing::error!("graceful reload failed: cannot re-execute rsgi: {err}; carrying on with the current code");
        self.service.reload_failed(self.table.slots().len());
        self.daemons.restart_all();
    }

    /// Asks every worker to finish its in-flight requests and exit; exit with `code` after.
    fn stop(&mut self, why: &str, code: ExitCode) {
        if let Phase::Stopping { .. } = self.phase {
            return;
        }
        self.service.stopping(why);
        tracing::info!(
            "{why} (waiting up to {:?} for workers)",
            self.config.reload_mercy
        );
        self.phase = Phase::Stopping {
            kill_at: Some(Instant::now() + self.config.reload_mercy),
            code,
        };
        // The master's copies of the listening sockets close now; each worker drains what
        // is queued and closes its own, so the sockets disappear as the last worker stops
        // accepting, with (almost) nothing left in their queues to reset.
        self.listeners.clear();
        self.table.signal_all(Signal::SIGTERM);
        self.daemons.stop_all(self.config.reload_mercy, false);
        self.smart_daemons.stop_all();
        self.cron.stop_all();
    }

    fn reap_workers(&mut self) {
        for (pid, death) in reap::reap() {
            match self.table.exited(pid, death == Death::Exited(0)) {
                Exited::Unknown => {
                    let running = self.phase == Phase::Running;
                    match self.daemons.exited(pid, death, running) {
                        daemons::Ended::NotADaemon => {
                            if !self.smart_daemons.exited(pid, death) {
                                self.cron.exited(pid, death);
                            }
                        }
                        daemons::Ended::Control => {
                            self.stop("control daemon exited", ExitCode::Failure)
                        }
                        daemons::Ended::Daemon => {}
                    }
                }
                Exited::Retired { id, cell } => {
                    self.release(id, cell);
                    tracing::info!("old worker {id} (pid {pid}) exited: {death}");
                }
                Exited::Current { id, cell, pause } => {
                    self.release(id, cell);
                    if let Phase::Stopping { .. } = self.phase {
                        tracing::info!("worker {id} (pid {pid}) exited: {death}");
                    } else if death == Death::Exited(ExitCode::AppLoadFailed.code()) {
                        tracing::error!("worker {id} (pid {pid}) could not load the app (--need-app): shutting down with status 22");
                        self.stop("app failed to load", ExitCode::AppLoadFailed);
                    } else if pause.is_zero() {
                        tracing::warn!("worker {id} (pid {pid}) died: {death}; respawning");
                    } else {
                        tracing::warn!(
                            "worker {id} (pid {pid}) died: {death}; it keeps dying right after start, respawning in {}s",
                            pause.as_secs()
                        );
                    }
                }
            }
        }
    }

    /// Frees the scoreboard cell of a gone process of slot `id`, keeping what it served.
    fn release(&mut self, id: u32, cell: Option<usize>) {
        if let Some(c) = cell {
            self.table.remember(id, snapshot::served_by(&self.board, c));
            self.board.cells()[c].release();
        }
    }

    /// Harakiri, recycling, the mercy period of retiring workers; full listen queues.
    fn enforce_limits(&mut self) {
        self.queues.sample(&self.listeners);
        self.daemons.kill_overdue();
        self.table.kill_due();
        if self.log.rotate_if_due() {
            self.table.tell_all(Signal::SIGWINCH);
        }
        if let Some(limit) = self.config.harakiri {
            harakiri::enforce(&mut self.table, &self.board, limit);
        }
        for (id, pid, why) in recycle::evil(&self.table, self.config.recycle) {
            tracing::error!("worker {id} (pid {pid}) {why}: killing it");
            self.table.kill_now(pid);
        }
        if self.phase == Phase::Running
            && recycle::may_begin(&self.table, self.config.recycle, self.last_recycle)
        {
            // One at a time: the next waits for this one's replacement to accept.
            for (id, why) in recycle::due(&self.table, &self.board, self.config.recycle) {
                if self.table.replace(id) {
                    tracing::info!("recycling worker {id}: {why}");
                    self.last_recycle = Some(Instant::now());
                    break;
                }
            }
        }
        for pid in self.table.overdue(self.config.worker_reload_mercy) {
            tracing::warn!(
                "old worker pid {pid} still running {}s after SIGTERM (--worker-reload-mercy): SIGKILL",
                self.config.worker_reload_mercy.as_secs()
            );
            self.table.kill_now(pid);
        }
    }

    /// `--cheaper`: adds workers when all are busy, retires one when several idle.
    fn adapt_worker_count(&mut self) {
        if let (Some(cheaper), Phase::Running) = (self.cheaper.as_mut(), self.phase) {
            cheaper.adapt(&mut self.table, &self.board, &self.listeners);
        }
    }

    /// Tells systemd (when it started rsgi with `NOTIFY_SOCKET`) that rsgi serves, once
    /// every worker accepts; pings its watchdog.
    fn notify_service(&mut self) {
        if self.service.awaits_ready()
            && self.phase == Phase::Running
            && self.table.slots().iter().all(|s| self.accepting(s.id))
        {
            self.service.serving(self.table.slots().len());
        }
        self.service.tick(Instant::now());
    }

    /// True when slot `id` has a worker that accepts connections.
    fn accepting(&self, id: u32) -> bool {
        let Some(slot) = self.table.slot(id) else {
            return false;
        };
        let (Some(pid), Some(cell)) = (slot.pid, slot.cell) else {
            return false;
        };
        let cell = &self.board.cells()[cell];
        cell.pid() == pid.as_raw()
            && matches!(
                cell.status(),
                Status::Idle | Status::Busy | Status::Recycling
            )
    }

    /// Spawns missing workers, retires replaced ones, moves a chain reload along,
    /// SIGKILLs what outlived a shutdown's mercy.
    fn maintain(&mut self) {
        match self.phase {
            Phase::Running => {
                for id in self.table.due_for_spawn() {
                    self.spawn(id);
                }
                for (pid, slot) in self.table.waiting_for_replacement() {
                    tracing::debug!(
                        "old worker pid {pid} waits for slot {slot}: accepting={}",
                        self.accepting(slot)
                    );
                    let slot_gone = self.table.slot(slot).is_none();
                    if slot_gone || self.accepting(slot) {
                        if !slot_gone {
                            tracing::info!(
                                "worker {slot}: its replacement accepts; old pid {pid} stops"
                            );
                        }
                        self.table.retire_now(pid);
                    }
                }
                let chain_busy = !self.table.waiting_for_replacement().is_empty();
                if !chain_busy {
                    if let Some(id) = self.chain.pop_front() {
                        if self.table.replace(id) {
                            tracing::info!("chain reload: replacing worker {id}");
                            self.spawn(id);
                        }
                    }
                }
            }
            Phase::Stopping {
                ref mut kill_at, ..
            } => {
                if kill_at.is_some_and(|at| Instant::now() >= at) && !self.table.is_empty() {
                    tracing::warn!("workers still running after the mercy period: SIGKILL");
                    self.table.signal_all(Signal::SIGKILL);
                    *kill_at = None;
                }
            }
        }
    }

    fn spawn(&mut self, id: u32) {
        let Some(cell) = self.board.free_cell() else {
            tracing::error!("no free scoreboard cell for worker {id}");
            return;
        };
        // Claimed before the fork, so the child's first status write is never overwritten.
        self.board.cells()[cell].claim(-1, id);
        match spawn::spawn(self, id, cell) {
            Ok(pid) => {
                self.board.cells()[cell].set_pid(pid.as_raw());
                self.table.started(id, pid, Some(cell));
                tracing::info!("spawned worker {id} (pid {pid})");
            }
            Err(e) => {
                self.board.cells()[cell].release();
                tracing::error!("cannot fork worker {id}: {e}");
            }
        }
    }

    fn cleanup(&self) {
        for path in &self.socket_files {
            let _ = std::fs::remove_file(path);
        }
        self.stats.remove_socket_files();
        if let Some(pidfile) = &self.config.pidfile {
            let _ = std::fs::remove_file(pidfile);
        }
    }
}
