//! The master's view of its workers: one slot per worker id, plus the processes being
//! retired (replaced by a reload, a recycle, or a chain reload).

use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// A worker that dies sooner than this after its start counts as a quick death.
pub const QUICK_DEATH: Duration = Duration::from_secs(2);
/// Longest pause between respawns of a worker that keeps dying at once.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// One worker slot.
#[derive(Debug, Clone)]
pub struct Slot {
    /// Worker id (1-based).
    pub id: u32,
    /// The running process, if any.
    pub pid: Option<Pid>,
    /// Its scoreboard cell.
    pub cell: Option<usize>,
    /// When the current process was forked.
    pub spawned_at: Instant,
    /// How many times this slot was respawned.
    pub respawns: u32,
    /// How many times harakiri killed this slot's worker.
    pub harakiri: u32,
    /// How many processes were started in this slot (uWSGI's `respawn_count`).
    pub spawns: u32,
    /// What the slot's earlier processes did (the current one is in the scoreboard).
    pub history: Served,
    /// Consecutive deaths right after start.
    pub quick_deaths: u32,
    /// Do not respawn before this (back-off).
    pub respawn_at: Option<Instant>,
    /// The master sent it SIGTERM (graceful stop).
    pub stop_sent: bool,
    /// The master sent it SIGKILL, or will at `kill_at`.
    pub killed: bool,
    /// When to SIGKILL it (harakiri gives it a moment to dump its stacks first).
    pub kill_at: Option<Instant>,
}

/// Work done by a worker process, kept in its slot once the process is gone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Served {
    /// Requests finished.
    pub requests: u64,
    /// Requests that ended in an app error.
    pub exceptions: u64,
    /// Response body bytes.
    pub tx: u64,
    /// Time spent in requests (µs).
    pub running_time_us: u64,
}

impl Served {
    /// Adds `other` to these counters.
    pub fn add(&mut self, other: Served) {
        self.requests += other.requests;
        self.exceptions += other.exceptions;
        self.tx += other.tx;
        self.running_time_us += other.running_time_us;
    }
}

/// A process on its way out: it keeps serving until its replacement accepts, then gets
/// SIGTERM, then SIGKILL after the mercy period.
#[derive(Debug, Clone)]
pub struct Retiring {
    /// The old process.
    pub pid: Pid,
    /// The slot it served.
    pub slot: u32,
    /// Its scoreboard cell (none for workers inherited across a re-exec).
    pub cell: Option<usize>,
    /// When it was sent SIGTERM (None: still waiting for its replacement).
    pub term_sent: Option<Instant>,
    /// It was sent SIGKILL.
    pub killed: bool,
}

/// All worker slots and retiring processes.
#[derive(Debug, Default)]
pub struct WorkerTable {
    slots: Vec<Slot>,
    retiring: Vec<Retiring>,
}

/// Who a reaped pid was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exited {
    /// The current process of slot `id`; respawn after `pause`.
    Current {
        id: u32,
        cell: Option<usize>,
        pause: Duration,
    },
    /// A retiring process of slot `id`.
    Retired { id: u32, cell: Option<usize> },
    /// Not ours.
    Unknown,
}

fn new_slot(id: u32) -> Slot {
    Slot {
        id,
        pid: None,
        cell: None,
        spawned_at: Instant::now(),
        respawns: 0,
        harakiri: 0,
        spawns: 0,
        history: Served::default(),
        quick_deaths: 0,
        respawn_at: None,
        stop_sent: false,
        killed: false,
        kill_at: None,
    }
}

impl WorkerTable {
    /// `n` empty slots.
    pub fn new(n: u32) -> Self {
        WorkerTable {
            slots: (1..=n).map(new_slot).collect(),
            retiring: Vec::new(),
        }
    }

    /// All slots.
    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    /// Retiring processes.
    pub fn retiring(&self) -> &[Retiring] {
        &self.retiring
    }

    /// Mutable slot by id.
    pub fn slot_mut(&mut self, id: u32) -> Option<&mut Slot> {
        self.slots.iter_mut().find(|s| s.id == id)
    }

    /// Slot by id.
    pub fn slot(&self, id: u32) -> Option<&Slot> {
        self.slots.iter().find(|s| s.id == id)
    }

    /// True when no process (current or retiring) is running.
    pub fn is_empty(&self) -> bool {
        self.slots.iter().all(|s| s.pid.is_none()) && self.retiring.is_empty()
    }

    /// Adds one slot (`+` / SIGTTIN); returns its id.
    pub fn add_slot(&mut self) -> u32 {
        let id = self.slots.iter().map(|s| s.id).max().unwrap_or(0) + 1;
        self.slots.push(new_slot(id));
        id
    }

    /// Removes the highest slot (`-` / SIGTTOU), retiring its process at once.
    pub fn remove_slot(&mut self) -> Option<u32> {
        if self.slots.len() <= 1 {
            return None;
        }
        let slot = self.slots.pop()?;
        if let Some(pid) = slot.pid {
            self.retiring.push(Retiring {
                pid,
                slot: slot.id,
                cell: slot.cell,
                term_sent: None,
                killed: false,
            });
        }
        Some(slot.id)
    }

    /// Sends `signal` to every running process (current and retiring) without counting
    /// it as a stop or a kill (SIGWINCH: reopen the log).
    pub fn tell_all(&self, signal: Signal) {
        let current = self
            .slots
            .iter()
            .filter(|s| !s.killed)
            .filter_map(|s| s.pid);
        let retiring = self.retiring.iter().filter(|r| !r.killed).map(|r| r.pid);
        for pid in current.chain(retiring) {
            let _ = kill(pid, signal);
        }
    }

    /// Sends `signal` to every process (current and retiring) and notes it.
    pub fn signal_all(&mut self, signal: Signal) {
        let now = Instant::now();
        for slot in self
            .slots
            .iter_mut()
            .filter(|s| s.pid.is_some() && !s.killed)
        {
            let _ = kill(slot.pid.unwrap(), signal);
            slot.stop_sent = true;
            slot.killed |= signal == Signal::SIGKILL;
        }
        for r in self.retiring.iter_mut().filter(|r| !r.killed) {
            let _ = kill(r.pid, signal);
            r.term_sent.get_or_insert(now);
            r.killed |= signal == Signal::SIGKILL;
        }
    }

    /// Records that slot `id` now runs as `pid` in scoreboard cell `cell`.
    pub fn started(&mut self, id: u32, pid: Pid, cell: Option<usize>) {
        if let Some(s) = self.slot_mut(id) {
            s.pid = Some(pid);
            s.cell = cell;
            s.spawns += 1;
            s.spawned_at = Instant::now();
            s.stop_sent = false;
            s.killed = false;
            s.kill_at = None;
            s.respawn_at = None;
        }
    }

    /// Moves slot `id`'s process to the retiring list; a replacement is spawned next.
    /// False when the slot has no process or is already being replaced.
    pub fn replace(&mut self, id: u32) -> bool {
        let waiting = self
            .retiring
            .iter()
            .any(|r| r.slot == id && r.term_sent.is_none());
        let Some(slot) = self.slots.iter_mut().find(|s| s.id == id) else {
            return false;
        };
        let Some(pid) = slot.pid else { return false };
        // A worker about to be SIGKILLed is replaced when it dies.
        if waiting || slot.kill_at.is_some() {
            return false;
        }
        self.retiring.push(Retiring {
            pid,
            slot: id,
            cell: slot.cell,
            term_sent: None,
            killed: false,
        });
        slot.pid = None;
        slot.cell = None;
        slot.respawn_at = None;
        true
    }

    /// Adds processes inherited from before a re-exec; they retire once slot `slot` has a
    /// new worker accepting.
    pub fn inherit(&mut self, pid: Pid, slot: u32) {
        self.retiring.push(Retiring {
            pid,
            slot,
            cell: None,
            term_sent: None,
            killed: false,
        });
    }

    /// Retiring processes still waiting for their replacement, as (index, slot id).
    pub fn waiting_for_replacement(&self) -> Vec<(Pid, u32)> {
        self.retiring
            .iter()
            .filter(|r| r.term_sent.is_none())
            .map(|r| (r.pid, r.slot))
            .collect()
    }

    /// Sends SIGTERM to retiring process `pid`.
    pub fn retire_now(&mut self, pid: Pid) {
        if let Some(r) = self.retiring.iter_mut().find(|r| r.pid == pid) {
            let _ = kill(pid, Signal::SIGTERM);
            r.term_sent = Some(Instant::now());
        }
    }

    /// Retiring processes that got SIGTERM longer than `mercy` ago and are still alive.
    pub fn overdue(&self, mercy: Duration) -> Vec<Pid> {
        self.retiring
            .iter()
            .filter(|r| !r.killed && r.term_sent.is_some_and(|t| t.elapsed() > mercy))
            .map(|r| r.pid)
            .collect()
    }

    /// Marks `pid` (a current worker) to be SIGKILLed `after` from now, by
    /// [`WorkerTable::kill_due`]; nothing else signals it meanwhile.
    pub fn kill_soon(&mut self, pid: Pid, after: Duration) {
        for s in self.slots.iter_mut().filter(|s| s.pid == Some(pid)) {
            s.killed = true;
            s.kill_at = Some(Instant::now() + after);
        }
    }

    /// SIGKILLs the workers whose `kill_at` has come.
    pub fn kill_due(&mut self) {
        let now = Instant::now();
        for s in self.slots.iter_mut() {
            if let (Some(pid), Some(at)) = (s.pid, s.kill_at) {
                if at <= now {
                    let _ = kill(pid, Signal::SIGKILL);
                    s.kill_at = None;
                }
            }
        }
    }

    /// Sends SIGKILL to `pid` (current or retiring) and notes it.
    pub fn kill_now(&mut self, pid: Pid) {
        let _ = kill(pid, Signal::SIGKILL);
        for s in self.slots.iter_mut().filter(|s| s.pid == Some(pid)) {
            s.killed = true;
        }
        for r in self.retiring.iter_mut().filter(|r| r.pid == pid) {
            r.killed = true;
        }
    }

    /// Records that `pid` is gone. A clean exit (recycling) never counts as a quick death.
    pub fn exited(&mut self, pid: Pid, clean: bool) -> Exited {
        if let Some(i) = self.retiring.iter().position(|r| r.pid == pid) {
            let r = self.retiring.remove(i);
            return Exited::Retired {
                id: r.slot,
                cell: r.cell,
            };
        }
        let Some(slot) = self.slots.iter_mut().find(|s| s.pid == Some(pid)) else {
            return Exited::Unknown;
        };
        slot.pid = None;
        let cell = slot.cell.take();
        slot.respawns += 1;
        if !clean && slot.spawned_at.elapsed() < QUICK_DEATH {
            slot.quick_deaths += 1;
        } else {
            slot.quick_deaths = 0;
        }
        let pause = backoff(slot.quick_deaths);
        slot.respawn_at = Some(Instant::now() + pause);
        Exited::Current {
            id: slot.id,
            cell,
            pause,
        }
    }

    /// Keeps what a finished process of slot `id` served (the slot may be gone).
    pub fn remember(&mut self, id: u32, served: Served) {
        if let Some(s) = self.slot_mut(id) {
            s.history.add(served);
        }
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
        t.started(2, Pid::from_raw(42), Some(3));
        assert_eq!(
            t.exited(Pid::from_raw(42), false),
            Exited::Current {
                id: 2,
                cell: Some(3),
                pause: Duration::ZERO
            }
        );
        assert!(t.is_empty());
        assert_eq!(t.exited(Pid::from_raw(42), false), Exited::Unknown);
    }

    #[test]
    fn recycled_workers_never_back_off() {
        let mut t = WorkerTable::new(1);
        for pid in 1..10 {
            t.started(1, Pid::from_raw(pid), None);
            let Exited::Current { pause, .. } = t.exited(Pid::from_raw(pid), true) else {
                panic!()
            };
            assert_eq!(pause, Duration::ZERO);
        }
    }

    #[test]
    fn a_slot_counts_its_spawns_and_keeps_what_its_processes_served() {
        let mut t = WorkerTable::new(1);
        let one = Served {
            requests: 3,
            exceptions: 1,
            tx: 30,
            running_time_us: 300,
        };
        for pid in [5, 6] {
            t.started(1, Pid::from_raw(pid), Some(0));
            t.exited(Pid::from_raw(pid), true);
            t.remember(1, one);
        }
        t.remember(9, one);
        let slot = t.slot(1).unwrap();
        assert_eq!(slot.spawns, 2);
        assert_eq!(
            slot.history,
            Served {
                requests: 6,
                exceptions: 2,
                tx: 60,
                running_time_us: 600
            }
        );
    }

    #[test]
    fn a_replaced_worker_retires_and_the_slot_is_due_again() {
        let mut t = WorkerTable::new(1);
        t.started(1, Pid::from_raw(10), Some(0));
        assert!(t.replace(1));
        assert!(!t.replace(1), "no second replacement while the first waits");
        assert_eq!(t.due_for_spawn(), vec![1]);
        assert_eq!(t.waiting_for_replacement(), vec![(Pid::from_raw(10), 1)]);
        t.started(1, Pid::from_raw(11), Some(1));
        assert_eq!(
            t.exited(Pid::from_raw(10), true),
            Exited::Retired {
                id: 1,
                cell: Some(0)
            }
        );
        assert!(t.retiring().is_empty());
        assert_eq!(t.slot(1).unwrap().pid, Some(Pid::from_raw(11)));
    }
}
