//! systemd's notify protocol, for units with `Type=notify` (see `examples/systemd/`): when
//! `NOTIFY_SOCKET` is set, the master tells the service manager
//! - `READY=1` once every worker accepts connections (so `systemctl start` returns when
//!   rsgi serves, and units ordered after it start then);
//! - `RELOADING=1` with `MONOTONIC_USEC` before a graceful reload re-executes it, and
//!   `READY=1` again once the new workers accept (the main pid never changes);
//! - `STOPPING=1` at shutdown;
//! - `STATUS=` lines (`serving, 4 workers`), shown by `systemctl status`;
//! - `WATCHDOG=1` every half `WatchdogSec` when the unit sets one (`WATCHDOG_USEC`), from
//!   the master's loop, which wakes at least once a second.
//!
//! Without `NOTIFY_SOCKET` every call does nothing.

use std::time::{Duration, Instant};

use sd_notify::NotifyState;

/// The master's side of the protocol.
#[derive(Debug)]
pub struct ServiceManager {
    enabled: bool,
    /// READY=1 was sent since the start or the last RELOADING=1.
    ready: bool,
    /// Half the watchdog interval, when there is one.
    ping_every: Option<Duration>,
    last_ping: Instant,
}

impl ServiceManager {
    /// From the environment systemd gives the main process.
    pub fn from_env() -> Self {
        ServiceManager {
            enabled: std::env::var_os("NOTIFY_SOCKET").is_some(),
            ready: false,
            ping_every: sd_notify::watchdog_enabled().map(|d| d / 2),
            last_ping: Instant::now(),
        }
    }

    /// Whether READY=1 is still to be sent (so the master need not look at its workers
    /// otherwise).
    pub fn awaits_ready(&self) -> bool {
        self.enabled && !self.ready
    }

    /// Every worker accepts: READY=1, once per start or reload.
    pub fn serving(&mut self, workers: usize) {
        if !self.enabled || self.ready {
            return;
        }
        self.ready = true;
        let status = format!("serving, {workers} worker(s)");
        send(&[NotifyState::Ready, NotifyState::Status(&status)]);
    }

    /// The master is about to re-execute itself for a graceful reload.
    pub fn reloading(&mut self) {
        if !self.enabled {
            return;
        }
        self.ready = false;
        let mut states = vec![
            NotifyState::Reloading,
            NotifyState::Status("reloading: re-executing the master"),
        ];
        // systemd 253 and later want the time with RELOADING=1 (it tells reloads apart).
        if let Ok(now) = NotifyState::monotonic_usec_now() {
            states.push(now);
        }
        send(&states);
    }

    /// The re-exec failed: the master carries on serving with its workers.
    pub fn reload_failed(&mut self, workers: usize) {
        self.serving(workers);
    }

    /// The master is shutting down.
    pub fn stopping(&mut self, why: &str) {
        if !self.enabled {
            return;
        }
        let status = format!("stopping: {why}");
        send(&[NotifyState::Stopping, NotifyState::Status(&status)]);
    }

    /// Called on each turn of the master's loop: pings the watchdog when due.
    pub fn tick(&mut self, now: Instant) {
        let Some(every) = self.ping_every else {
            return;
        };
        if now.duration_since(self.last_ping) >= every {
            self.last_ping = now;
            send(&[NotifyState::Watchdog]);
        }
    }
}

fn send(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!("cannot notify the service manager (NOTIFY_SOCKET): {e}");
    }
}
