//! uWSGI's default cheaper algorithm, "spare": at each of the master's wake-ups (about
//! once a second) it looks at what the workers are doing:
//! - every worker busy, for `--cheaper-overload` seconds (3) in a row: add
//!   `--cheaper-step` workers (1);
//! - more than one worker idle, for as long: retire one (gracefully: it finishes what it
//!   is serving, as with SIGTTOU).
//!
//! A worker counts as busy while it is running a request at the moment of the look, as in
//! uWSGI; a worker still starting counts as neither.

use std::time::Instant;

use super::{Change, CheaperConfig};

/// The algorithm's memory between looks.
#[derive(Debug)]
pub struct Spare {
    config: CheaperConfig,
    max: u32,
    /// Since when every worker has been busy.
    overloaded_since: Option<Instant>,
    /// Since when more than one worker has been idle.
    idle_since: Option<Instant>,
}

impl Spare {
    /// The algorithm for at most `max` workers (`--processes`).
    pub fn new(config: CheaperConfig, max: u32) -> Self {
        Spare {
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

#[cfg(test)]
mod tests {
    use super::*;

    use std::time::Duration;

    fn cheaper(step: u32) -> Spare {
        Spare::new(
            CheaperConfig {
                min: 1,
                initial: 1,
                step,
                overload: Duration::from_secs(3),
                algo: super::super::Algo::Spare,
                rss_limits: None,
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
