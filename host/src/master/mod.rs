//! The master: forks workers, respawns them, and turns signals into decisions.
//! `run` is the whole loop: wait for a signal (1 s at most) → handle it → reap → maintain.

pub mod reap;
pub mod spawn;
pub mod table;

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use rsgi_plugin_api::AppModRef;

use crate::config::Config;
use crate::exit::ExitCode;
use crate::listen::{self, Listener};
use crate::plugin::Plugins;
use crate::signals::SignalPipe;
use reap::Death;
use table::WorkerTable;

/// Signals the master handles.
pub const MASTER_SIGNALS: &[Signal] = &[
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGHUP,
    Signal::SIGCHLD,
    Signal::SIGUSR1,
    Signal::SIGTTIN,
    Signal::SIGTTOU,
];

/// What the master is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Keeping `processes` workers alive.
    Running,
    /// Waiting for workers to finish, then exiting with `code`.
    Stopping { deadline: Instant, code: ExitCode },
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
    table: WorkerTable,
    signals: SignalPipe,
    phase: Phase,
}

impl Master {
    /// A master ready to fork (sockets bound, app loaded unless lazy).
    pub fn new(
        config: Config,
        plugins: Plugins,
        app: AppModRef,
        listeners: Vec<Listener>,
        signals: SignalPipe,
    ) -> Self {
        let table = WorkerTable::new(config.processes);
        Master {
            config,
            plugins,
            app,
            listeners,
            table,
            signals,
            phase: Phase::Running,
        }
    }

    /// Runs until shutdown; returns the exit code.
    pub fn run(mut self) -> ExitCode {
        self.maintain();
        loop {
            for signal in self.signals.wait(Duration::from_secs(1)) {
                self.handle(signal);
            }
            self.reap_workers();
            if let Phase::Stopping { code, .. } = self.phase {
                if self.table.is_empty() {
                    self.cleanup();
                    tracing::info!(
                        "all workers gone; master exiting with status {}",
                        code.code()
                    );
                    return code;
                }
            }
            self.maintain();
        }
    }

    fn handle(&mut self, signal: Signal) {
        match signal {
            Signal::SIGTERM => self.stop("SIGTERM: graceful shutdown", ExitCode::Clean),
            Signal::SIGINT | Signal::SIGQUIT => {
                tracing::info!("{signal}: immediate shutdown");
                self.kill_all(Signal::SIGKILL);
                self.phase = Phase::Stopping {
                    deadline: Instant::now(),
                    code: ExitCode::Clean,
                };
            }
            Signal::SIGUSR1 => self.log_stats(),
            Signal::SIGHUP => {
                tracing::warn!("SIGHUP: graceful reload is not available in this version; ignoring")
            }
            Signal::SIGTTIN | Signal::SIGTTOU => {
                tracing::warn!("{signal}: changing the worker count at run time is not available in this version")
            }
            _ => {}
        }
    }

    /// Asks every worker to finish its in-flight requests and exit; exit with `code` after.
    fn stop(&mut self, why: &str, code: ExitCode) {
        if let Phase::Stopping { .. } = self.phase {
            return;
        }
        tracing::info!(
            "{why} (waiting up to {:?} for workers)",
            self.config.reload_mercy
        );
        self.phase = Phase::Stopping {
            deadline: Instant::now() + self.config.reload_mercy,
            code,
        };
        self.kill_all(Signal::SIGTERM);
    }

    fn kill_all(&mut self, signal: Signal) {
        self.table.signal_all(signal);
    }

    fn reap_workers(&mut self) {
        for (pid, death) in reap::reap() {
            let Some((id, pause)) = self.table.exited(pid, death == Death::Exited(0)) else {
                continue;
            };
            if let Phase::Stopping { .. } = self.phase {
                tracing::info!("worker {id} (pid {pid}) exited: {death}");
                continue;
            }
            if death == Death::Exited(ExitCode::AppLoadFailed.code()) {
                tracing::error!("worker {id} (pid {pid}) could not load the app (--need-app): shutting down with status 22");
                self.stop("app failed to load", ExitCode::AppLoadFailed);
                continue;
            }
            match death {
                Death::Exited(0) => tracing::info!("worker {id} (pid {pid}) exited: {death}; respawning"),
                _ if pause.is_zero() => tracing::warn!("worker {id} (pid {pid}) died: {death}; respawning"),
                _ => tracing::warn!(
                    "worker {id} (pid {pid}) died: {death}; it keeps dying right after start, respawning in {}s",
                    pause.as_secs()
                ),
            }
        }
    }

    /// Spawns missing workers; SIGKILLs workers that outlived their mercy.
    fn maintain(&mut self) {
        match self.phase {
            Phase::Running => {
                for id in self.table.due_for_spawn() {
                    match spawn::spawn(self, id) {
                        Ok(pid) => {
                            self.table.started(id, pid);
                            tracing::info!("spawned worker {id} (pid {pid})");
                        }
                        Err(e) => tracing::error!("cannot fork worker {id}: {e}"),
                    }
                }
            }
            Phase::Stopping { deadline, .. } => {
                if Instant::now() >= deadline {
                    for slot in self
                        .table
                        .slots()
                        .iter()
                        .filter(|s| s.pid.is_some() && !s.killed)
                    {
                        tracing::warn!(
                            "worker {} still running after the mercy period: SIGKILL",
                            slot.id
                        );
                    }
                    self.kill_all(Signal::SIGKILL);
                }
            }
        }
    }

    fn log_stats(&self) {
        for slot in self.table.slots() {
            tracing::info!(
                "worker {}: pid {}, up {}s, respawned {} times",
                slot.id,
                slot.pid
                    .map(|p| p.to_string())
                    .unwrap_or_else(|| "-".into()),
                slot.spawned_at.elapsed().as_secs(),
                slot.respawns
            );
        }
    }

    fn cleanup(&self) {
        listen::remove_socket_files(&self.listeners);
        if let Some(pidfile) = &self.config.pidfile {
            let _ = std::fs::remove_file(pidfile);
        }
    }
}
