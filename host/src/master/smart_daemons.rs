//! `--smart-attach-daemon 'PIDFILE CMD'` (uWSGI's, and `--attach-daemon2` with a
//! pidfile): services the master keeps alive beside its workers, found by the pid CMD
//! writes to PIDFILE (a task queue's worker started with `--pidfile` and `--detach`, say).
//! With `--smart-attach-daemon2` (or `daemonize=1`) CMD stays in the foreground and rsgi
//! writes its pid to PIDFILE when it starts it. Unlike `--attach-daemon`, such a daemon
//! lives on across a graceful reload: the re-executed master finds it by its pidfile and
//! leaves it alone (with `notifypid=1` it gets `reloadsignal=`, SIGHUP by default).
//!
//! About once a second the master reads each PIDFILE: while the pid in it is alive,
//! nothing happens. Otherwise CMD runs (`/bin/sh -c`, in a process group of its own; it
//! may detach or stay in the foreground), and the master waits for the pidfile to name a
//! live process again. A CMD that exits before the daemon is up is started again with the
//! workers' back-off (1 s, 2 s, 4 s ... up to 30 s). A graceful or immediate shutdown
//! (not a reload) sends SIGTERM (or `stopsignal=`) to the pid in the pidfile (and to CMD's
//! group while CMD still runs); so does a touch of one of its `touch=` files, after which
//! CMD runs again. A pidfile naming an unrelated live process (a stale pid, reused) reads as
//! a running daemon: keep pidfiles where a reboot clears them (`/run`).

use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::daemons::{signal_group, spawn};
use super::reap::Death;
use super::table::{backoff, QUICK_DEATH};
use super::touch::Touched;
use crate::config::daemons::SmartSpec;

/// How often pidfiles are read.
const LOOK_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug)]
struct SmartDaemon {
    spec: SmartSpec,
    touched: Touched,
    /// The `sh -c CMD` process while it runs.
    launcher: Option<Pid>,
    launched: Instant,
    quick_deaths: u32,
    /// When to run CMD (again); `None` while the daemon is up or CMD runs.
    start_at: Option<Instant>,
    /// The pid last seen alive in the pidfile.
    seen: Option<Pid>,
}

/// The master's pidfile-tracked daemons.
#[derive(Debug, Default)]
pub struct SmartDaemons {
    daemons: Vec<SmartDaemon>,
    last_look: Option<Instant>,
}

/// The live process PIDFILE names, if any. A zombie is not alive: a detached daemon's
/// parent is init, which (in a container) may never reap it.
fn alive(pidfile: &Path) -> Option<Pid> {
    let text = std::fs::read_to_string(pidfile).ok()?;
    let pid = Pid::from_raw(text.trim().parse().ok().filter(|&p: &i32| p > 0)?);
    match kill(pid, None) {
        Ok(()) | Err(nix::errno::Errno::EPERM) => (!zombie(pid)).then_some(pid),
        Err(_) => None,
    }
}

/// True when `/proc/PID/stat` says the process has exited but was not reaped.
fn zombie(pid: Pid) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The state follows the command name, which is in parentheses and may hold spaces.
    stat.rsplit_once(')')
        .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
}

impl SmartDaemons {
    /// The daemons of `specs`; the first look starts those not running.
    pub fn new(specs: &[SmartSpec]) -> Self {
        SmartDaemons {
            daemons: specs
                .iter()
                .map(|spec| SmartDaemon {
                    spec: spec.clone(),
                    touched: Touched::new(&spec.touch),
                    launcher: None,
                    launched: Instant::now(),
                    quick_deaths: 0,
                    start_at: Some(Instant::now()),
                    seen: None,
                })
                .collect(),
            last_look: None,
        }
    }

    /// Reads the pidfiles (at most once a second) and runs CMD for daemons that are down.
    pub fn watch(&mut self) {
        let now = Instant::now();
        if self.daemons.is_empty() || self.last_look.is_some_and(|t| now - t < LOOK_EVERY) {
            return;
        }
        self.last_look = Some(now);
        for d in &mut self.daemons {
            let touched = d.touched.changed();
            if let Some(pid) = alive(&d.spec.pidfile) {
                if touched {
                    tracing::info!("restarting smart daemon (pid {pid}): {}", d.spec.command);
                    send(pid, d.spec.stop_signal);
                    continue;
                }
                if d.seen != Some(pid) {
                    tracing::info!(
                        "smart daemon up (pid {pid}, {}): {}",
                        d.spec.pidfile.display(),
                        d.spec.command
                    );
                    d.seen = Some(pid);
                }
                d.start_at = None;
                continue;
            }
            if let Some(pid) = d.seen.take() {
                tracing::warn!(
                    "smart daemon (pid {pid}, {}) is gone: starting it again: {}",
                    d.spec.pidfile.display(),
                    d.spec.command
                );
                d.quick_deaths = 0;
                d.start_at = Some(now);
            }
            if d.launcher.is_some() {
                continue;
            }
            let start_at = *d.start_at.get_or_insert(now);
            if start_at > now {
                continue;
            }
            match spawn(&d.spec.command, &d.spec.launch) {
                Ok(pid) => {
                    tracing::info!(
                        "started smart daemon command (pid {pid}): {}",
                        d.spec.command
                    );
                    if d.spec.write_pidfile {
                        if let Err(e) = std::fs::write(&d.spec.pidfile, format!("{pid}\n")) {
                            tracing::error!(
                                "cannot write {} for smart daemon pid {pid}: {e}",
                                d.spec.pidfile.display()
                            );
                        }
                    }
                    d.launcher = Some(pid);
                    d.launched = now;
                    d.start_at = None;
                }
                Err(e) => {
                    d.quick_deaths += 1;
                    let pause = backoff(d.quick_deaths).max(Duration::from_secs(1));
                    tracing::error!(
                        "cannot start smart daemon {}: {e}; trying again in {}s",
                        d.spec.command,
                        pause.as_secs()
                    );
                    d.start_at = Some(now + pause);
                }
            }
        }
    }

    /// Takes note of a child that ended; false when it is not a daemon's command. A
    /// command that ended without leaving a live pid in its pidfile is run again after
    /// the back-off.
    pub fn exited(&mut self, pid: Pid, death: Death) -> bool {
        let Some(d) = self.daemons.iter_mut().find(|d| d.launcher == Some(pid)) else {
            return false;
        };
        d.launcher = None;
        d.seen = None;
        if alive(&d.spec.pidfile).is_some() {
            // A command that detached: the daemon it left runs on.
            d.quick_deaths = 0;
            return true;
        }
        if death != Death::Exited(0) || d.launched.elapsed() < QUICK_DEATH {
            d.quick_deaths += 1;
        }
        let pause = backoff(d.quick_deaths).max(Duration::from_secs(1));
        tracing::warn!(
            "smart daemon command (pid {pid}) exited: {death}, and {} names no live process; running it again in {}s: {}",
            d.spec.pidfile.display(),
            pause.as_secs(),
            d.spec.command
        );
        d.start_at = Some(Instant::now() + pause);
        // Its look follows the pause, not the once-a-second rhythm.
        self.last_look = None;
        true
    }

    /// At shutdown (not reload): its stop signal to each daemon and to commands still
    /// running.
    pub fn stop_all(&mut self) {
        for d in &mut self.daemons {
            d.start_at = None;
            if let Some(pid) = alive(&d.spec.pidfile) {
                tracing::info!("stopping smart daemon (pid {pid}): {}", d.spec.command);
                send(pid, d.spec.stop_signal);
            }
            if let Some(pid) = d.launcher.take() {
                signal_group(pid, d.spec.stop_signal);
            }
        }
        self.daemons.clear();
    }

    /// At a graceful reload: the reload signal to each running daemon that asked for one
    /// (`notifypid=1`); the others are left alone.
    pub fn notify_reload(&self) {
        for d in &self.daemons {
            if let (Some(signal), Some(pid)) = (d.spec.reload_signal, alive(&d.spec.pidfile)) {
                tracing::info!(
                    "{signal} to smart daemon (pid {pid}) for the reload: {}",
                    d.spec.command
                );
                send(pid, signal);
            }
        }
    }
}

/// Sends `signal` to a smart daemon's pid.
fn send(pid: Pid, signal: Signal) {
    if let Err(e) = kill(pid, signal) {
        tracing::warn!("{signal} to smart daemon pid {pid}: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pidfile_is_alive_only_with_a_live_pid() {
        let dir = crate::scratch::Scratch::new("smart");
        let file = dir.join("d.pid");
        assert_eq!(alive(&file), None, "missing");
        std::fs::write(&file, format!("{}\n", std::process::id())).unwrap();
        assert_eq!(alive(&file), Some(Pid::this()));
        std::fs::write(&file, "999999999").unwrap();
        assert_eq!(alive(&file), None, "no such process");
        std::fs::write(&file, "junk").unwrap();
        assert_eq!(alive(&file), None);
        std::fs::write(&file, "0").unwrap();
        assert_eq!(alive(&file), None, "0 would mean our own group");
    }
}
