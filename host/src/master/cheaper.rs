//! `--cheaper N`: an adaptive number of workers, uWSGI's default ("spare") algorithm. The
//! master starts `--cheaper-initial` workers (default N), never runs fewer than N nor more
//! than `--processes`, and at each of its wake-ups (about once a second) looks at what the
//! workers are doing:
//! - every worker busy, for `--cheaper-overload` seconds (3) in a row: add
//!   `--cheaper-step` workers (1);
//! - more than one worker idle, for as long: retire one (gracefully: it finishes what it
//!   is serving, as with SIGTTOU).
//!
//! A worker counts as busy while it is running a request at the moment of the look, as in
//! uWSGI; a worker still starting counts as neither.

use std::time::{Duration, Instant};

use super::table::WorkerTable;
use crate::scoreboard::{Scoreboard, Status};

/// The `--cheaper*` options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheaperConfig {
    /// Fewest workers (`--cheaper`).
    pub min: u32,
    /// Workers at start (`--cheaper-initial`).
    pub initial: u32,
    /// Workers added at a time (`--cheaper-step`).
    pub step: u32,
    /// How long a state must last before the count changes (`--cheaper-overload`).
    pub overload: Duration,
}

/// What to do with the number of workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Leave it.
    Keep,
    /// Add this many workers.
    Add(u32),
    /// Retire one worker.
    RemoveOne,
}

/// The algorithm's memory between looks.
#[derive(Debug)]
pub struct Cheaper {
    config: CheaperConfig,
    max: u32,
    /// Since when every worker has been busy.
    overloaded_since: Option<Instant>,
    /// Since when more than one worker has been idle.
    idle_since: Option<Instant>,
}

impl Cheaper {
    /// The algorithm for at most `max` workers (`--processes`).
    pub fn new(config: CheaperConfig, max: u32) -> Self {
        Cheaper {
            config,
            max,
            overloaded_since: None,
            idle_since: None,
        }
    }

    /// One look at `now`: `workers` current workers, of which `busy` run a request and
    /// `idle` wait for one.
    pub fn decide(&mut self, now: Instant, workers: u32, busy: u32, idle: u32) -> Change {
        let overloaded = busy > 0 && idle == 0 && busy == workers && workers < self.max;
        let too_idle = idle > 1 && workers > self.config.min;
        self.overloaded_since = if overloaded {
            self.overloaded_since.or(Some(now))
        } else {
            None
        };
        self.idle_since = if too_idle {
            self.idle_since.or(Some(now))
        } else {
            None
        };
        let lasted = |since: Option<Instant>| {
            since.is_some_and(|s| now.duration_since(s) >= self.config.overload)
        };
        if lasted(self.overloaded_since) {
            self.overloaded_since = None;
            Change::Add(self.config.step.min(self.max - workers))
        } else if lasted(self.idle_since) {
            self.idle_since = None;
            Change::RemoveOne
        } else {
            Change::Keep
        }
    }
}

impl Cheaper {
    /// One look at the workers on `board`; adds or retires slots of `table` as decided.
    pub fn adapt(&mut self, table: &mut WorkerTable, board: &Scoreboard) {
        let (mut busy, mut idle) = (0, 0);
        for cell in table.slots().iter().filter_map(|s| s.cell) {
            match board.cells()[cell].status() {
                Status::Busy => busy += 1,
                Status::Idle => idle += 1,
                _ => {}
            }
        }
        let workers = table.slots().len() as u32;
        let overload = self.config.overload.as_secs();
        match self.decide(Instant::now(), workers, busy, idle) {
            Change::Keep => {}
            Change::Add(n) => {
                let ids: Vec<String> = (0..n).map(|_| table.add_slot().to_string()).collect();
                tracing::info!(
                    "cheaper: all {workers} worker(s) busy for {overload}s: adding worker {}",
                    ids.join(", ")
                );
            }
            Change::RemoveOne => {
                if let Some(id) = table.remove_slot() {
                    tracing::info!(
                        "cheaper: {idle} of {workers} workers idle for {overload}s: retiring worker {id}"
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheaper(step: u32) -> Cheaper {
        Cheaper::new(
            CheaperConfig {
                min: 1,
                initial: 1,
                step,
                overload: Duration::from_secs(3),
            },
            4,
        )
    }

    fn at(start: Instant, secs: u64) -> Instant {
        start + Duration::from_secs(secs)
    }

    #[test]
    fn workers_are_added_once_all_have_been_busy_for_the_overload_time() {
        let mut c = cheaper(2);
        let t = Instant::now();
        assert_eq!(c.decide(at(t, 0), 1, 1, 0), Change::Keep);
        assert_eq!(c.decide(at(t, 2), 1, 1, 0), Change::Keep);
        assert_eq!(c.decide(at(t, 3), 1, 1, 0), Change::Add(2));
        // The clock starts again after a change.
        assert_eq!(c.decide(at(t, 4), 3, 3, 0), Change::Keep);
        // Never past --processes (4): one more, not two.
        assert_eq!(c.decide(at(t, 7), 3, 3, 0), Change::Add(1));
        assert_eq!(c.decide(at(t, 8), 4, 4, 0), Change::Keep);
        assert_eq!(c.decide(at(t, 20), 4, 4, 0), Change::Keep);
    }

    #[test]
    fn a_look_with_a_free_worker_resets_the_overload_clock() {
        let mut c = cheaper(1);
        let t = Instant::now();
        assert_eq!(c.decide(at(t, 0), 2, 2, 0), Change::Keep);
        assert_eq!(c.decide(at(t, 2), 2, 1, 1), Change::Keep);
        assert_eq!(c.decide(at(t, 3), 2, 2, 0), Change::Keep);
        assert_eq!(c.decide(at(t, 5), 2, 2, 0), Change::Keep);
        assert_eq!(c.decide(at(t, 6), 2, 2, 0), Change::Add(1));
    }

    #[test]
    fn one_worker_is_retired_after_more_than_one_was_idle_for_the_overload_time() {
        let mut c = cheaper(1);
        let t = Instant::now();
        assert_eq!(c.decide(at(t, 0), 3, 0, 3), Change::Keep);
        assert_eq!(c.decide(at(t, 3), 3, 0, 3), Change::RemoveOne);
        assert_eq!(c.decide(at(t, 4), 2, 0, 2), Change::Keep);
        assert_eq!(c.decide(at(t, 7), 2, 0, 2), Change::RemoveOne);
        // At --cheaper (1) nothing more goes; one idle worker is not "too idle" either.
        assert_eq!(c.decide(at(t, 20), 1, 0, 1), Change::Keep);
        let mut c = cheaper(1);
        assert_eq!(c.decide(at(t, 0), 3, 2, 1), Change::Keep);
        assert_eq!(c.decide(at(t, 9), 3, 2, 1), Change::Keep);
    }

    #[test]
    fn workers_still_starting_count_as_neither_busy_nor_idle() {
        let mut c = cheaper(1);
        let t = Instant::now();
        // 3 workers, 2 starting, 1 busy: not everyone is busy yet.
        assert_eq!(c.decide(at(t, 0), 3, 1, 0), Change::Keep);
        assert_eq!(c.decide(at(t, 5), 3, 1, 0), Change::Keep);
    }
}
