//! `--smart-attach-daemon 'PIDFILE CMD'` (uWSGI's, and its `smart-attach-daemon2`):
//! services the master keeps alive beside its workers, found by the pid CMD writes to
//! PIDFILE (a task queue's worker started with `--pidfile` and `--detach`, say).
//! Unlike `--attach-daemon`, such a daemon lives on across a graceful reload: the
//! re-executed master finds it by its pidfile and leaves it alone.
//!
//! About once a second the master reads each PIDFILE: while the pid in it is alive,
//! nothing happens. Otherwise CMD runs (`/bin/sh -c`, in a process group of its own; it
//! may detach or stay in the foreground), and the master waits for the pidfile to name a
//! live process again. A CMD that exits before the daemon is up is started again with the
//! workers' back-off (1 s, 2 s, 4 s ... up to 30 s). A graceful or immediate shutdown
//! (not a reload) sends SIGTERM to the pid in the pidfile (and to CMD's group while CMD
//! still runs). A pidfile naming an unrelated live process (a stale pid, reused) reads as
//! a running daemon: keep pidfiles where a reboot clears them (`/run`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::daemons::{signal_group, spawn};
use super::reap::Death;
use super::table::{backoff, QUICK_DEATH};

/// How often pidfiles are read.
const LOOK_EVERY: Duration = Duration::from_secs(1);

/// Splits `PIDFILE CMD`; the error names what is missing.
pub fn parse(spec: &str) -> Result<(PathBuf, String), String> {
    let spec = spec.trim();
    match spec.split_once(char::is_whitespace) {
        Some((pidfile, command)) if !command.trim().is_empty() => {
            Ok((PathBuf::from(pidfile), command.trim().to_owned()))
        }
        _ => Err(format!(
            "--smart-attach-daemon '{spec}': want 'PIDFILE COMMAND' (the pid file COMMAND writes)"
        )),
    }
}

#[derive(Debug)]
struct SmartDaemon {
    pidfile: PathBuf,
    command: String,
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
    /// The daemons of `specs` (`PIDFILE CMD`, checked by [`parse`]); the first look
    /// starts those not running.
    pub fn new(specs: &[(PathBuf, String)]) -> Self {
        SmartDaemons {
            daemons: specs
                .iter()
                .map(|(pidfile, command)| SmartDaemon {
                    pidfile: pidfile.clone(),
                    command: command.clone(),
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
            if let Some(pid) = alive(&d.pidfile) {
                if d.seen != Some(pid) {
                    tracing::info!(
                        "smart daemon up (pid {pid}, {}): {}",
                        d.pidfile.display(),
                        d.command
                    );
                    d.seen = Some(pid);
                }
                d.start_at = None;
                continue;
            }
            if let Some(pid) = d.seen.take() {
                tracing::warn!(
                    "smart daemon (pid {pid}, {}) is gone: starting it again: {}",
                    d.pidfile.display(),
                    d.command
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
            match spawn(&d.command) {
                Ok(pid) => {
                    tracing::info!("started smart daemon command (pid {pid}): {}", d.command);
                    d.launcher = Some(pid);
                    d.launched = now;
                    d.start_at = None;
                }
                Err(e) => {
                    d.quick_deaths += 1;
                    let pause = backoff(d.quick_deaths).max(Duration::from_secs(1));
                    tracing::error!(
                        "cannot start smart daemon {}: {e}; trying again in {}s",
                        d.command,
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
        if alive(&d.pidfile).is_some() {
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
            d.pidfile.display(),
            pause.as_secs(),
            d.command
        );
        d.start_at = Some(Instant::now() + pause);
        // Its look follows the pause, not the once-a-second rhythm.
        self.last_look = None;
        true
    }

    /// At shutdown (not reload): SIGTERM to each daemon and to commands still running.
    pub fn stop_all(&mut self) {
        for d in &mut self.daemons {
            d.start_at = None;
            if let Some(pid) = alive(&d.pidfile) {
                tracing::info!("stopping smart daemon (pid {pid}): {}", d.command);
                if let Err(e) = kill(pid, Signal::SIGTERM) {
                    tracing::warn!("SIGTERM to smart daemon pid {pid}: {e}");
                }
            }
            if let Some(pid) = d.launcher.take() {
                signal_group(pid, Signal::SIGTERM);
            }
        }
        self.daemons.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_are_a_pidfile_then_a_command() {
        assert_eq!(
            parse("/run/celery.pid celery -A proj worker --pidfile=/run/celery.pid"),
            Ok((
                PathBuf::from("/run/celery.pid"),
                "celery -A proj worker --pidfile=/run/celery.pid".to_owned()
            ))
        );
        assert!(parse("/run/only-a-pidfile")
            .unwrap_err()
            .contains("PIDFILE COMMAND"));
        assert!(parse("  ").is_err());
    }

    #[test]
    fn a_pidfile_is_alive_only_with_a_live_pid() {
        let dir = std::env::temp_dir().join(format!("rsgi-smart-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
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
        let _ = std::fs::remove_dir_all(&dir);
    }
}
