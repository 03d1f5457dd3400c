//! The master's view of its workers: one slot per worker id.

use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// A worker that dies sooner than this after its start counts as a quick death.
const QUICK_DEATH: Duration = Duration::from_secs(2);
/// Longest pause between respawns of a worker that keeps dying at once.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// One worker slot.
#[derive(Debug, Clone)]
pub struct Slot {
    /// Worker id (1-based).
    pub id: u32,
    /// The running process, if any.
    pub pid: Option<Pid>,
    /// When the current process was forked.
    pub spawned_at: Instant,
    /// How many times this slot was respawned.
    pub respawns: u32,
    /// Consecutive deaths right after start.
    pub quick_deaths: u32,
    /// Do not respawn before this (back-off).
    pub respawn_at: Option<Instant>,
    /// When the master asked it to stop (SIGTERM), for the mercy deadline.
    pub stop_sent: Option<Instant>,
    /// The master sent it SIGKILL.
    pub killed: bool,
}

/// All worker slots.
#[derive(Debug, Default)]
pub struct WorkerTable {
    slots: Vec<Slot>,
}

impl WorkerTable {
    /// `n` empty slots.
    pub fn new(n: u32) -> Self {
        let now = Instant::now();
        WorkerTable {
            slots: (1..=n)
                .map(|id| Slot {
                    id,
                    pid: None,
                    spawned_at: now,
                    respawns: 0,
                    quick_deaths: 0,
                    respawn_at: None,
                    stop_sent: None,
                    killed: false,
                })
                .collect(),
        }
    }

    /// All slots.
    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    /// Mutable slot by id.
    pub fn slot_mut(&mut self, id: u32) -> Option<&mut Slot> {
        self.slots.iter_mut().find(|s| s.id == id)
    }

    /// True when no worker process is running.
    pub fn is_empty(&self) -> bool {
        self.slots.iter().all(|s| s.pid.is_none())
    }

    /// Sends `signal` to every running worker and notes it (stop time, kill).
    pub fn signal_all(&mut self, signal: Signal) {
        let now = Instant::now();
        for slot in self.slots.iter_mut().filter(|s| s.pid.is_some()) {
            if slot.killed {
                continue;
            }
            if let Some(pid) = slot.pid {
                let _ = kill(pid, signal);
            }
            slot.stop_sent.get_or_insert(now);
            slot.killed |= signal == Signal::SIGKILL;
        }
    }

    /// Records that `id` now runs as `pid`.
    pub fn started(&mut self, id: u32, pid: Pid) {
        if let Some(s) = self.slot_mut(id) {
            s.pid = Some(pid);
            s.spawned_at = Instant::now();
            s.stop_sent = None;
            s.killed = false;
            s.respawn_at = None;
        }
    }

    /// Records that `pid` is gone; returns its slot id, and the pause before respawning
    /// (zero for a single crash; growing for a worker that keeps dying at start).
    /// A clean exit (a recycled worker) never counts as a quick death.
    pub fn exited(&mut self, pid: Pid, clean: bool) -> Option<(u32, Duration)> {
        let slot = self.slots.iter_mut().find(|s| s.pid == Some(pid))?;
        slot.pid = None;
        slot.respawns += 1;
        if !clean && slot.spawned_at.elapsed() < QUICK_DEATH {
            slot.quick_deaths += 1;
        } else {
            slot.quick_deaths = 0;
        }
        let pause = backoff(slot.quick_deaths);
        slot.respawn_at = Some(Instant::now() + pause);
        Some((slot.id, pause))
    }

    /// Slots with no process whose back-off has passed.
    pub fn due_for_spawn(&self) -> Vec<u32> {
        let now = Instant::now();
        self.slots
            .iter()
            .filter(|s| s.pid.is_none() && s.respawn_at.is_none_or(|t| t <= now))
            .map(|s| s.id)
            .collect()
    }
}

/// No pause for the first quick death, then 1 s, 2 s, 4 s ... up to 30 s.
pub fn backoff(quick_deaths: u32) -> Duration {
    if quick_deaths <= 1 {
        return Duration::ZERO;
    }
    let secs = 1u64 << (quick_deaths - 2).min(5);
    Duration::from_secs(secs).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_crash_is_respawned_at_once_repeated_ones_back_off() {
        assert_eq!(backoff(0), Duration::ZERO);
        assert_eq!(backoff(1), Duration::ZERO);
        assert_eq!(backoff(2), Duration::from_secs(1));
        assert_eq!(backoff(3), Duration::from_secs(2));
        assert_eq!(backoff(20), MAX_BACKOFF);
    }

    #[test]
    fn exited_frees_the_slot_and_reports_it() {
        let mut t = WorkerTable::new(2);
        t.started(2, Pid::from_raw(42));
        assert_eq!(
            t.exited(Pid::from_raw(42), false).map(|(id, _)| id),
            Some(2)
        );
        assert!(t.is_empty());
        assert_eq!(t.exited(Pid::from_raw(42), false), None);
    }

    #[test]
    fn recycled_workers_never_back_off() {
        let mut t = WorkerTable::new(1);
        for pid in 1..10 {
            t.started(1, Pid::from_raw(pid));
            let (_, pause) = t.exited(Pid::from_raw(pid), true).unwrap();
            assert_eq!(pause, Duration::ZERO);
        }
    }
}
