//! `--cron 'MIN HOUR DAY MONTH WEEKDAY COMMAND'` and `--unique-cron` (uWSGI's): commands
//! the master starts at the minutes their entry names, in local time (`-1` any, `-N`
//! every N: `-15 -1 -1 -1 -1 cmd` runs at :00, :15, :30 and :45). Each run is
//! `/bin/sh -c COMMAND` in a process group of its own, with the master's environment,
//! directory, user and log; its end is logged with its status. A `--unique-cron` command
//! is not started while its previous run still goes on (uWSGI's rule); a `--cron` one is.
//! Runs still going at shutdown get SIGTERM (their group), like the attached daemons.

use nix::sys::signal::Signal;
use nix::unistd::Pid;
use rsgi_cron::{Cron, LocalTime};

use super::daemons::{signal_group, spawn};
use super::reap::Death;
use crate::config::daemons::Launch;

/// One entry and its runs.
#[derive(Debug)]
struct Job {
    cron: Cron,
    command: String,
    unique: bool,
    /// Runs that have not ended.
    running: Vec<Pid>,
}

/// The master's cron entries.
#[derive(Debug, Default)]
pub struct CronJobs {
    jobs: Vec<Job>,
    /// The minute last looked at, so each minute starts its commands once.
    last_minute: Option<LocalTime>,
}

impl CronJobs {
    /// The entries of `--cron` (`unique` false) and `--unique-cron` (true).
    pub fn new(entries: &[(Cron, String, bool)]) -> Self {
        CronJobs {
            jobs: entries
                .iter()
                .map(|(cron, command, unique)| Job {
                    cron: *cron,
                    command: command.clone(),
                    unique: *unique,
                    running: Vec::new(),
                })
                .collect(),
            last_minute: None,
        }
    }

    /// Starts the commands due now (local time); nothing to look up without entries.
    pub fn run_due_now(&mut self) {
        if !self.jobs.is_empty() {
            self.run_due(rsgi_cron::local_now());
        }
    }

    /// Starts the commands due in the minute `now`, once per minute (the master looks at
    /// least once a second).
    fn run_due(&mut self, now: LocalTime) {
        if self.last_minute == Some(now) {
            return;
        }
        self.last_minute = Some(now);
        for job in self.jobs.iter_mut().filter(|j| j.cron.matches(now)) {
            if job.unique && !job.running.is_empty() {
                tracing::warn!(
                    "--unique-cron: not starting again, the last run (pid {}) still goes on: {}",
                    job.running[0],
                    job.command
                );
                continue;
            }
            match spawn(&job.command, &Launch::default()) {
                Ok(pid) => {
                    tracing::info!("cron: started (pid {pid}): {}", job.command);
                    job.running.push(pid);
                }
                Err(e) => tracing::error!("cron: cannot start {}: {e}", job.command),
            }
        }
    }

    /// Takes note of a child that ended; false when it was not a cron run.
    pub fn exited(&mut self, pid: Pid, death: Death) -> bool {
        for job in &mut self.jobs {
            if let Some(i) = job.running.iter().position(|&p| p == pid) {
                job.running.remove(i);
                if death == Death::Exited(0) {
                    tracing::info!("cron: pid {pid} done: {}", job.command);
                } else {
                    tracing::warn!("cron: pid {pid} ended: {death}: {}", job.command);
                }
                return true;
            }
        }
        false
    }

    /// SIGTERM to the process group of every run still going (at shutdown).
    pub fn stop_all(&mut self) {
        for job in &mut self.jobs {
            for pid in job.running.drain(..) {
                signal_group(pid, Signal::SIGTERM);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minute(m: u32) -> LocalTime {
        LocalTime {
            minute: m,
            hour: 12,
            day: 1,
            month: 6,
            weekday: 3,
        }
    }

    #[test]
    fn a_due_command_starts_once_per_minute_and_its_end_is_taken_note_of() {
        let dir = crate::scratch::Scratch::new("cron");
        let out = dir.join("out");
        let every_other = rsgi_cron::Cron::new(-2, -1, -1, -1, -1).unwrap();
        let mut jobs =
            CronJobs::new(&[(every_other, format!("echo ran >> {}", out.display()), false)]);
        jobs.run_due(minute(4));
        jobs.run_due(minute(4));
        jobs.run_due(minute(5));
        assert_eq!(jobs.jobs[0].running.len(), 1, "started once, at minute 4");
        let pid = jobs.jobs[0].running[0];
        nix::sys::wait::waitpid(pid, None).unwrap();
        assert!(jobs.exited(pid, Death::Exited(0)));
        assert!(!jobs.exited(pid, Death::Exited(0)), "not ours any more");
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "ran\n");
    }

    #[test]
    fn a_unique_command_waits_for_its_last_run() {
        let every = rsgi_cron::Cron::new(-1, -1, -1, -1, -1).unwrap();
        let mut jobs = CronJobs::new(&[(every, "sleep 30".into(), true)]);
        jobs.run_due(minute(1));
        jobs.run_due(minute(2));
        assert_eq!(
            jobs.jobs[0].running.len(),
            1,
            "the second minute found it running"
        );
        let pid = jobs.jobs[0].running[0];
        jobs.stop_all();
        let status = nix::sys::wait::waitpid(pid, None).unwrap();
        assert_eq!(
            status,
            nix::sys::wait::WaitStatus::Signaled(pid, Signal::SIGTERM, false)
        );
    }
}
