//! `--attach-daemon CMD` (uWSGI's, and `--attach-daemon2` without a pidfile): processes
//! the master keeps running beside its workers, such as a task queue's worker or a
//! scheduler. Each CMD runs as `/bin/sh -c CMD` in a process group of its own, with the
//! master's environment, directory, user and log (stdout and stderr; `chdir=`, `uid=`,
//! `gid=` and `stdin=1` of `--attach-daemon2` change those), stdin from `/dev/null`, and
//! SIGPIPE back at its default. The master
//! - starts each one once its own workers are spawned;
//! - starts it again when it exits: at once, then, if it keeps dying within 2 s of its
//!   start, after 1 s, 2 s, 4 s ... up to 30 s (as for a worker); a control daemon
//!   (`control=1`) is not started again: its death stops rsgi (exit status 1);
//! - restarts it when one of its `touch=` files is touched (its stop signal to its group,
//!   then at once, without a back-off);
//! - stops it with itself: its stop signal (SIGTERM, or `stopsignal=`) to its process group
//!   at a graceful shutdown, `reloadsignal=` (if given) at a reload (the re-executed master
//!   starts it anew, so it runs the new code, as in uWSGI), then SIGKILL to what is left
//!   after `--worker-reload-mercy`; SIGKILL at once on an immediate shutdown.

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

use super::reap::Death;
use super::table::{backoff, QUICK_DEATH};
use super::touch::Touched;
use crate::config::daemons::{DaemonSpec, Launch};

/// One `--attach-daemon` command and its current process.
#[derive(Debug)]
struct Daemon {
    spec: DaemonSpec,
    pid: Option<Pid>,
    started: Instant,
    quick_deaths: u32,
    /// When to start it (again); `None` while it runs.
    start_at: Option<Instant>,
    /// The mtimes of its `touch=` files when last looked at.
    touched: Touched,
    /// Asked to stop because a file was touched: started again at once.
    restarting: bool,
}

/// What a child's end meant to the daemons.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// Not a daemon's process.
    NotADaemon,
    /// A daemon's (started again if the master runs).
    Daemon,
    /// A control daemon's, while the master runs: rsgi stops.
    Control,
}

/// A daemon process asked to stop; SIGKILLed (its group) at `kill_at`.
#[derive(Debug)]
struct Stopping {
    pid: Pid,
    kill_at: Instant,
}

/// The master's daemons.
#[derive(Debug, Default)]
pub struct Daemons {
    daemons: Vec<Daemon>,
    stopping: Vec<Stopping>,
}

impl Daemons {
    /// The daemons of `specs`, none started yet; `inherited` are the processes of the
    /// master this one was re-executed from, already asked to stop, to be SIGKILLed after
    /// `mercy`.
    pub fn new(specs: &[DaemonSpec], inherited: &[Pid], mercy: Duration) -> Self {
        let now = Instant::now();
        Daemons {
            daemons: specs
                .iter()
                .map(|spec| Daemon {
                    spec: spec.clone(),
                    pid: None,
                    started: now,
                    quick_deaths: 0,
                    start_at: Some(now),
                    touched: Touched::new(&spec.touch),
                    restarting: false,
                })
                .collect(),
            stopping: inherited
                .iter()
                .map(|&pid| Stopping {
                    pid,
                    kill_at: now + mercy,
                })
                .collect(),
        }
    }

    /// Starts the daemons that are due.
    pub fn start_due(&mut self) {
        let now = Instant::now();
        for d in &mut self.daemons {
            if d.pid.is_some() || d.start_at.is_none_or(|at| at > now) {
                continue;
            }
            match spawn(&d.spec.command, &d.spec.launch) {
                Ok(pid) => {
                    tracing::info!("started daemon (pid {pid}): {}", d.spec.command);
                    d.pid = Some(pid);
                    d.started = now;
                    d.start_at = None;
                }
                Err(e) => {
                    d.quick_deaths += 1;
                    let pause = backoff(d.quick_deaths).max(Duration::from_secs(1));
                    tracing::error!(
                        "cannot start daemon {}: {e}; trying again in {}s",
                        d.spec.command,
                        pause.as_secs()
                    );
                    d.start_at = Some(now + pause);
                }
            }
        }
    }

    /// Takes note of a child that ended. A current daemon is started again (after a
    /// back-off) if `restart`, i.e. while the master runs; a control daemon is not.
    pub fn exited(&mut self, pid: Pid, death: Death, restart: bool) -> Ended {
        if let Some(i) = self.stopping.iter().position(|s| s.pid == pid) {
            self.stopping.remove(i);
            tracing::info!("stopped daemon (pid {pid}) exited: {death}");
            return Ended::Daemon;
        }
        let Some(d) = self.daemons.iter_mut().find(|d| d.pid == Some(pid)) else {
            return Ended::NotADaemon;
        };
        d.pid = None;
        if std::mem::take(&mut d.restarting) {
            tracing::info!(
                "daemon (pid {pid}) exited: {death}; starting it again: {}",
                d.spec.command
            );
            d.start_at = Some(Instant::now());
            return Ended::Daemon;
        }
        if d.spec.control && restart {
            tracing::error!(
                "control daemon (pid {pid}) exited: {death}; stopping rsgi: {}",
                d.spec.command
            );
            return Ended::Control;
        }
        if death != Death::Exited(0) && d.started.elapsed() < QUICK_DEATH {
            d.quick_deaths += 1;
        } else {
            d.quick_deaths = 0;
        }
        let pause = backoff(d.quick_deaths);
        if restart {
            d.start_at = Some(Instant::now() + pause);
            tracing::warn!(
                "daemon (pid {pid}) exited: {death}; starting it again in {}s: {}",
                pause.as_secs(),
                d.spec.command
            );
        } else {
            tracing::info!("daemon (pid {pid}) exited: {death}");
        }
        Ended::Daemon
    }

    /// Restarts the running daemons one of whose `touch=` files was touched: their stop
    /// signal now, started again as soon as they exit.
    pub fn restart_touched(&mut self) {
        for d in &mut self.daemons {
            if !d.touched.changed() {
                continue;
            }
            if let Some(pid) = d.pid.filter(|_| !d.restarting) {
                tracing::info!("restarting daemon (pid {pid}): {}", d.spec.command);
                signal_group(pid, d.spec.stop_signal);
                d.restarting = true;
            }
        }
    }

    /// Asks every running daemon to stop (its stop signal to its group, or its reload
    /// signal if `reloading` and it has one); SIGKILL after `mercy`. They are started again
    /// only by [`Daemons::start_due`] after [`Daemons::restart_all`].
    pub fn stop_all(&mut self, mercy: Duration, reloading: bool) {
        let kill_at = Instant::now() + mercy;
        for d in &mut self.daemons {
            d.start_at = None;
            d.restarting = false;
            if let Some(pid) = d.pid.take() {
                let signal = match d.spec.reload_signal {
                    Some(signal) if reloading => signal,
                    _ => d.spec.stop_signal,
                };
                signal_group(pid, signal);
                self.stopping.push(Stopping { pid, kill_at });
            }
        }
    }

    /// Schedules every daemon that is not running to start now (a failed reload).
    pub fn restart_all(&mut self) {
        let now = Instant::now();
        for d in self.daemons.iter_mut().filter(|d| d.pid.is_none()) {
            d.start_at = Some(now);
        }
    }

    /// SIGKILLs every daemon process group now (immediate shutdown).
    pub fn kill_all(&mut self) {
        self.stop_all(Duration::ZERO, false);
        self.kill_overdue();
    }

    /// SIGKILLs the groups of stopping daemons past their mercy.
    pub fn kill_overdue(&mut self) {
        let now = Instant::now();
        for s in self.stopping.iter_mut().filter(|s| s.kill_at <= now) {
            tracing::warn!(
                "daemon pid {} still running after SIGTERM (--worker-reload-mercy): SIGKILL",
                s.pid
            );
            signal_group(s.pid, Signal::SIGKILL);
            // Once is enough; it is reaped like any child.
            s.kill_at = now + Duration::from_secs(3600);
        }
    }

    /// Daemon processes that are stopping (for a reload to hand over).
    pub fn stopping_pids(&self) -> Vec<Pid> {
        self.stopping.iter().map(|s| s.pid).collect()
    }

    /// True when no daemon process runs or is stopping.
    pub fn is_empty(&self) -> bool {
        self.stopping.is_empty() && self.daemons.iter().all(|d| d.pid.is_none())
    }
}

pub(super) fn spawn(command: &str, launch: &Launch) -> std::io::Result<Pid> {
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c").arg(command).process_group(0);
    if !launch.stdin {
        cmd.stdin(Stdio::null());
    }
    if let Some(dir) = &launch.chdir {
        cmd.current_dir(dir);
    }
    if let Some(gid) = launch.gid {
        cmd.gid(gid);
    }
    if let Some(uid) = launch.uid {
        cmd.uid(uid);
    }
    // SAFETY: between fork and exec only signal(2), which is async-signal-safe. The master
    // ignores SIGPIPE, and an ignored signal stays ignored across exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            Ok(())
        });
    }
    let child = cmd.spawn()?;
    // The child is reaped by the master's waitpid(-1) loop, not through `Child`.
    Ok(Pid::from_raw(child.id() as i32))
}

/// Sends `signal` to the process group a daemon leads (it was started as its leader).
pub(super) fn signal_group(pid: Pid, signal: Signal) {
    if let Err(e) = killpg(pid, signal) {
        tracing::debug!("{signal} to daemon group {pid}: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::daemons::plain;

    #[test]
    fn daemons_start_due_at_once_and_none_runs_before() {
        let d = Daemons::new(&[plain("sleep 1")], &[], Duration::from_secs(1));
        assert!(d.is_empty());
        assert_eq!(
            d.daemons[0].start_at.map(|t| t <= Instant::now()),
            Some(true)
        );
    }

    #[test]
    fn a_daemon_that_keeps_dying_at_once_backs_off() {
        let mut d = Daemons::new(&[plain("x")], &[], Duration::from_secs(1));
        let pid = Pid::from_raw(999_999);
        for expected in [0, 1, 2, 4] {
            d.daemons[0].pid = Some(pid);
            d.daemons[0].started = Instant::now();
            assert_eq!(d.exited(pid, Death::Exited(1), true), Ended::Daemon);
            let wait = d.daemons[0].start_at.unwrap() - Instant::now();
            assert!(
                wait.as_secs_f64() <= expected as f64 + 0.1
                    && wait.as_secs_f64() + 0.1 >= expected as f64,
                "{wait:?} vs {expected}s"
            );
        }
        // Not ours.
        assert_eq!(
            d.exited(Pid::from_raw(1), Death::Exited(0), true),
            Ended::NotADaemon
        );
    }

    #[test]
    fn stopped_daemons_are_not_started_again_until_asked() {
        let mut d = Daemons::new(&[plain("x")], &[], Duration::from_secs(1));
        let pid = Pid::from_raw(999_998);
        d.daemons[0].pid = Some(pid);
        d.daemons[0].start_at = None;
        d.stop_all(Duration::from_secs(5), false);
        assert_eq!(d.stopping_pids(), vec![pid]);
        assert!(!d.is_empty());
        assert_eq!(d.daemons[0].start_at, None);
        assert_eq!(
            d.exited(pid, Death::Killed(Signal::SIGTERM), true),
            Ended::Daemon
        );
        assert!(d.is_empty());
        d.restart_all();
        assert!(d.daemons[0].start_at.is_some());
    }

    #[test]
    fn a_control_daemon_dying_stops_rsgi_and_is_not_started_again() {
        let mut spec = plain("x");
        spec.control = true;
        let mut d = Daemons::new(&[spec], &[], Duration::from_secs(1));
        let pid = Pid::from_raw(999_997);
        d.daemons[0].pid = Some(pid);
        d.daemons[0].start_at = None;
        assert_eq!(d.exited(pid, Death::Exited(0), true), Ended::Control);
        assert_eq!(d.daemons[0].start_at, None);
        // While stopping anyway, it is an ordinary end.
        d.daemons[0].pid = Some(pid);
        assert_eq!(d.exited(pid, Death::Exited(0), false), Ended::Daemon);
    }

    #[test]
    fn a_touched_daemon_is_signalled_and_started_again_at_once() {
        let dir = crate::scratch::Scratch::new("daemon-touch");
        let file = dir.join("touched");
        std::fs::write(&file, b"x").unwrap();
        let mut spec = plain("x");
        spec.touch = vec![file.clone()];
        let pid = spawn("sleep 30", &Launch::default()).unwrap();
        let mut d = Daemons::new(&[spec], &[], Duration::from_secs(1));
        d.daemons[0].pid = Some(pid);
        d.daemons[0].start_at = None;
        d.restart_touched();
        assert!(!d.daemons[0].restarting, "not touched yet");
        crate::master::touch::touch_ahead(&file);
        d.restart_touched();
        assert!(d.daemons[0].restarting);
        // Its stop signal went to its group; it died within QUICK_DEATH of its start,
        // which is no reason for a back-off here.
        let status = nix::sys::wait::waitpid(pid, None).unwrap();
        assert_eq!(
            status,
            nix::sys::wait::WaitStatus::Signaled(pid, Signal::SIGTERM, false)
        );
        assert_eq!(
            d.exited(pid, Death::Killed(Signal::SIGTERM), true),
            Ended::Daemon
        );
        let wait = d.daemons[0]
            .start_at
            .unwrap()
            .saturating_duration_since(Instant::now());
        assert!(wait < Duration::from_millis(100), "{wait:?}");
        assert_eq!(d.daemons[0].quick_deaths, 0);
        std::fs::remove_file(&file).unwrap();
    }
}
