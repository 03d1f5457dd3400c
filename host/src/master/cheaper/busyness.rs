//! uWSGI's "busyness" cheaper algorithm (`--cheaper-algo busyness`): the worker count
//! follows the workers' average utilisation over cycles of `--cheaper-overload` seconds,
//! keeping spare capacity instead of running the fewest workers that cope.
//!
//! At the end of each cycle the busyness of each serving worker is the share of the cycle
//! it spent in requests (per thread with `--threads`); their average decides:
//! - above `--cheaper-busyness-max` (50%): add `--cheaper-step` workers. When that comes
//!   sooner after a retirement than the idle stretch a retirement needs, the stretch
//!   grows by `--cheaper-busyness-penalty` cycles (1), so the count does not oscillate;
//! - below `--cheaper-busyness-min` (25%): one idle cycle more; after
//!   `--cheaper-busyness-multiplier` (10) of them, retire one worker;
//! - in between: one idle cycle less (the wait grows by a cycle), and after three such
//!   cycles in a row, none.
//!
//! At every look (about once a second), whatever the cycle, a TCP listen queue longer
//! than `--cheaper-busyness-backlog-alert` (33), or not empty for
//! `--cheaper-busyness-backlog-nonzero` seconds (60), adds `--cheaper-busyness-backlog-step`
//! emergency workers (1); while emergency workers run, `--cheaper-busyness-backlog-multiplier`
//! idle cycles (3) retire one. `--cheaper-busyness-verbose` logs every cycle's figures.

use std::time::{Duration, Instant};

use super::Change;
pub use crate::config::cheaper::BusynessConfig;

/// A serving worker at a look: its id and the time it has spent in requests so far (µs,
/// the request in progress included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerLoad {
    /// Worker number.
    pub id: u32,
    /// Cumulative time in requests.
    pub busy_us: u64,
}

/// What the master sees at one look.
#[derive(Debug)]
pub struct Look<'a> {
    /// When.
    pub now: Instant,
    /// Workers running (serving or starting).
    pub workers: u32,
    /// The serving ones.
    pub loads: &'a [WorkerLoad],
    /// Connections waiting in the TCP listen queues.
    pub backlog: u32,
}

/// Limits the algorithm works within.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Fewest workers (`--cheaper`).
    pub min: u32,
    /// Most workers (`--processes`).
    pub max: u32,
    /// Workers added at a time (`--cheaper-step`).
    pub step: u32,
    /// Cycle length (`--cheaper-overload`).
    pub cycle: Duration,
    /// Threads per worker: a worker is 100% busy when all of them are.
    pub threads: u32,
}

/// The algorithm's memory between looks.
#[derive(Debug)]
pub struct Busyness {
    config: BusynessConfig,
    bounds: Bounds,
    /// When the current cycle started, and each worker's busy time then.
    cycle: Option<(Instant, Vec<WorkerLoad>)>,
    idle_cycles: u32,
    /// Idle cycles a retirement needs (`multiplier`, plus penalties).
    needed: u32,
    /// Cycles in a row between min and max.
    middling: u32,
    last_retired: Option<Instant>,
    /// Emergency workers added and not retired yet.
    emergency: u32,
    queued_since: Option<Instant>,
}

impl Busyness {
    /// The algorithm with its options and limits.
    pub fn new(config: BusynessConfig, bounds: Bounds) -> Self {
        Busyness {
            config,
            bounds,
            cycle: None,
            idle_cycles: 0,
            needed: config.multiplier,
            middling: 0,
            last_retired: None,
            emergency: 0,
            queued_since: None,
        }
    }

    /// The settings line uWSGI logs at start.
    pub fn describe(&self) -> String {
        let c = &self.config;
        format!(
            "busyness: min {}%, max {}%, cycle {}s, multiplier {}, penalty {}, backlog alert {}",
            c.min_pct,
            c.max_pct,
            self.bounds.cycle.as_secs(),
            c.multiplier,
            c.penalty,
            c.backlog_alert
        )
    }

    /// One look; a change comes with the reason for the log.
    pub fn decide(&mut self, look: &Look<'_>) -> (Change, String) {
        if let Some(emergency) = self.backlog(look) {
            return emergency;
        }
        let Some((start, baseline)) = self.cycle.take() else {
            self.cycle = Some((look.now, look.loads.to_vec()));
            return (Change::Keep, String::new());
        };
        let elapsed = look.now.duration_since(start);
        if elapsed < self.bounds.cycle {
            self.cycle = Some((start, baseline));
            return (Change::Keep, String::new());
        }
        self.cycle = Some((look.now, look.loads.to_vec()));
        let Some(average) = self.average(&baseline, look.loads, elapsed) else {
            return (Change::Keep, String::new());
        };
        let secs = elapsed.as_secs();
        let c = self.config;
        if average > c.max_pct {
            self.idle_cycles = 0;
            self.middling = 0;
            if look.workers >= self.bounds.max {
                return (Change::Keep, String::new());
            }
            self.penalise(look.now);
            let n = self.bounds.step.min(self.bounds.max - look.workers);
            let why = format!(
                "{secs}s average busyness {average}% is over --cheaper-busyness-max {}%",
                c.max_pct
            );
            return (Change::Add(n), why);
        }
        if average < c.min_pct {
            self.middling = 0;
            self.idle_cycles += 1;
            let needed = if self.emergency > 0 {
                c.backlog_multiplier
            } else {
                self.needed
            };
            if look.workers <= self.bounds.min {
                self.idle_cycles = 0;
            } else if self.idle_cycles >= needed {
                self.idle_cycles = 0;
                self.last_retired = Some(look.now);
                self.emergency = self.emergency.saturating_sub(1);
                let why = format!(
                    "{secs}s average busyness {average}% under --cheaper-busyness-min {}% for {needed} cycles",
                    c.min_pct
                );
                return (Change::RemoveOne, why);
            } else if c.verbose {
                let wait = u64::from(needed - self.idle_cycles) * self.bounds.cycle.as_secs();
                tracing::info!(
                    "cheaper: busyness {average}%: {wait}s more like this retire a worker"
                );
            }
            return (Change::Keep, String::new());
        }
        // Between min and max: the idle stretch is set back by a cycle, or ends.
        self.middling += 1;
        self.idle_cycles = self.idle_cycles.saturating_sub(1);
        if self.middling >= 3 {
            self.idle_cycles = 0;
            self.middling = 0;
        }
        (Change::Keep, String::new())
    }

    /// Emergency workers for a long or lasting listen queue.
    fn backlog(&mut self, look: &Look<'_>) -> Option<(Change, String)> {
        let c = self.config;
        self.queued_since = match look.backlog {
            0 => None,
            _ => self.queued_since.or(Some(look.now)),
        };
        if look.workers >= self.bounds.max {
            return None;
        }
        let why = if look.backlog > c.backlog_alert {
            format!(
                "{} connections queued, over --cheaper-busyness-backlog-alert {}",
                look.backlog, c.backlog_alert
            )
        } else if self
            .queued_since
            .is_some_and(|t| look.now.duration_since(t) >= c.backlog_nonzero)
        {
            format!(
                "connections queued for {}s (--cheaper-busyness-backlog-nonzero)",
                c.backlog_nonzero.as_secs()
            )
        } else {
            return None;
        };
        self.queued_since = None;
        let n = c.backlog_step.min(self.bounds.max - look.workers);
        self.emergency += n;
        self.penalise(look.now);
        Some((Change::Add(n), why))
    }

    /// Workers added within the idle stretch a retirement needed: it was too early.
    fn penalise(&mut self, now: Instant) {
        let stretch = self.bounds.cycle * self.needed;
        if let Some(retired) = self.last_retired.take() {
            if now.duration_since(retired) < stretch && self.config.penalty > 0 {
                self.needed += self.config.penalty;
                tracing::info!(
                    "cheaper: workers needed again {}s after a retirement: a retirement now needs {} idle cycles (+{})",
                    now.duration_since(retired).as_secs(),
                    self.needed,
                    self.config.penalty
                );
            }
        }
    }

    /// The average busyness (%) over the cycle of the workers present at both ends of it.
    fn average(
        &self,
        baseline: &[WorkerLoad],
        now: &[WorkerLoad],
        elapsed: Duration,
    ) -> Option<u32> {
        let capacity = elapsed.as_micros() as u64 * u64::from(self.bounds.threads.max(1));
        if capacity == 0 {
            return None;
        }
        let shares: Vec<(u32, u64)> = now
            .iter()
            .filter_map(|w| {
                let before = baseline.iter().find(|b| b.id == w.id)?;
                let busy = w.busy_us.saturating_sub(before.busy_us);
                Some((w.id, (busy * 100 / capacity).min(100)))
            })
            .collect();
        if shares.is_empty() {
            return None;
        }
        let average = shares.iter().map(|(_, pct)| pct).sum::<u64>() / shares.len() as u64;
        if self.config.verbose {
            let each: Vec<String> = shares
                .iter()
                .map(|(id, pct)| format!("worker {id} {pct}%"))
                .collect();
            tracing::info!(
                "cheaper: {}s busyness {} => average {average}% of {} worker(s)",
                elapsed.as_secs(),
                each.join(", "),
                shares.len()
            );
        }
        Some(average as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CYCLE: Duration = Duration::from_secs(10);

    fn algo(config: BusynessConfig) -> Busyness {
        Busyness::new(
            config,
            Bounds {
                min: 1,
                max: 4,
                step: 1,
                cycle: CYCLE,
                threads: 1,
            },
        )
    }

    /// Drives cycles in which each of `workers` workers is busy `pct`% of the time;
    /// returns the change at the end of each.
    struct Run {
        algo: Busyness,
        now: Instant,
        busy: Vec<u64>,
    }

    impl Run {
        fn new(config: BusynessConfig, workers: usize) -> Run {
            let mut run = Run {
                algo: algo(config),
                now: Instant::now(),
                busy: vec![0; workers],
            };
            run.look(0);
            run
        }

        fn loads(&self) -> Vec<WorkerLoad> {
            (0..self.busy.len())
                .map(|i| WorkerLoad {
                    id: i as u32 + 1,
                    busy_us: self.busy[i],
                })
                .collect()
        }

        fn look(&mut self, backlog: u32) -> Change {
            let loads = self.loads();
            let look = Look {
                now: self.now,
                workers: self.busy.len() as u32,
                loads: &loads,
                backlog,
            };
            self.algo.decide(&look).0
        }

        fn cycle(&mut self, pct: u64) -> Change {
            for b in &mut self.busy {
                *b += CYCLE.as_micros() as u64 * pct / 100;
            }
            self.now += CYCLE;
            let change = self.look(0);
            match change {
                Change::Add(n) => self.busy.extend(std::iter::repeat_n(0, n as usize)),
                Change::RemoveOne => {
                    self.busy.pop();
                }
                Change::Keep => {}
            }
            change
        }
    }

    #[test]
    fn busy_workers_bring_more_and_idle_ones_leave_after_the_multiplier() {
        let config = BusynessConfig {
            multiplier: 3,
            ..BusynessConfig::default()
        };
        let mut run = Run::new(config, 1);
        assert_eq!(run.cycle(80), Change::Add(1));
        assert_eq!(run.cycle(40), Change::Keep, "between min and max: keep");
        assert_eq!(run.cycle(10), Change::Keep);
        assert_eq!(run.cycle(10), Change::Keep);
        assert_eq!(run.cycle(10), Change::RemoveOne, "three idle cycles");
        assert_eq!(run.cycle(10), Change::Keep, "never under --cheaper");
        assert_eq!(run.cycle(10), Change::Keep);
    }

    #[test]
    fn middling_cycles_set_the_idle_count_back_and_three_in_a_row_reset_it() {
        let config = BusynessConfig {
            multiplier: 3,
            ..BusynessConfig::default()
        };
        let mut run = Run::new(config, 2);
        run.cycle(10);
        run.cycle(10);
        run.cycle(30); // back to one idle cycle
        assert_eq!(run.cycle(10), Change::Keep);
        assert_eq!(run.cycle(10), Change::RemoveOne);
        let mut run = Run::new(config, 2);
        run.cycle(10);
        run.cycle(10);
        for _ in 0..3 {
            run.cycle(30);
        }
        assert_eq!(run.cycle(10), Change::Keep);
        assert_eq!(run.cycle(10), Change::Keep);
        assert_eq!(run.cycle(10), Change::RemoveOne, "counted from zero again");
    }

    #[test]
    fn workers_needed_again_soon_after_a_retirement_lengthen_the_next_wait() {
        let config = BusynessConfig {
            multiplier: 2,
            penalty: 2,
            ..BusynessConfig::default()
        };
        let mut run = Run::new(config, 2);
        run.cycle(10);
        assert_eq!(run.cycle(10), Change::RemoveOne);
        assert_eq!(
            run.cycle(90),
            Change::Add(1),
            "needed again one cycle later"
        );
        for _ in 0..3 {
            assert_eq!(run.cycle(10), Change::Keep, "now 4 idle cycles are needed");
        }
        assert_eq!(run.cycle(10), Change::RemoveOne);
    }

    #[test]
    fn a_long_listen_queue_adds_an_emergency_worker_at_once() {
        let mut run = Run::new(BusynessConfig::default(), 1);
        run.now += Duration::from_secs(1);
        assert_eq!(run.look(34), Change::Add(1));
        run.busy.push(0);
        run.now += Duration::from_secs(1);
        assert_eq!(run.look(33), Change::Keep, "33 is not over the alert");
        // Emergency workers go after backlog-multiplier (3) idle cycles.
        run.now += CYCLE;
        run.look(0);
        assert_eq!(run.cycle(0), Change::Keep);
        assert_eq!(run.cycle(0), Change::RemoveOne);
    }

    #[test]
    fn a_queue_that_never_empties_adds_a_worker_after_backlog_nonzero() {
        let config = BusynessConfig {
            backlog_nonzero: Duration::from_secs(5),
            ..BusynessConfig::default()
        };
        let mut run = Run::new(config, 1);
        // Queued from the first of these looks on: 4 s by the last.
        for _ in 0..5 {
            run.now += Duration::from_secs(1);
            assert_eq!(run.look(1), Change::Keep);
        }
        run.now += Duration::from_secs(1);
        assert_eq!(run.look(1), Change::Add(1));
        run.now += Duration::from_secs(1);
        assert_eq!(run.look(0), Change::Keep);
    }

    #[test]
    fn nothing_is_added_past_processes() {
        let mut run = Run::new(BusynessConfig::default(), 4);
        assert_eq!(run.cycle(100), Change::Keep);
        run.now += Duration::from_secs(1);
        assert_eq!(run.look(1000), Change::Keep);
    }

    #[test]
    fn busyness_is_per_thread_and_capped() {
        let b = Busyness::new(
            BusynessConfig::default(),
            Bounds {
                min: 1,
                max: 4,
                step: 1,
                cycle: CYCLE,
                threads: 4,
            },
        );
        let before = [
            WorkerLoad { id: 1, busy_us: 0 },
            WorkerLoad { id: 2, busy_us: 0 },
        ];
        let ten_secs = CYCLE.as_micros() as u64;
        let after = [
            WorkerLoad {
                id: 1,
                busy_us: 2 * ten_secs,
            },
            WorkerLoad {
                id: 2,
                busy_us: 9 * ten_secs,
            },
            WorkerLoad {
                id: 3,
                busy_us: ten_secs,
            },
        ];
        // Worker 1: 2 of 4 threads' time = 50%; worker 2: capped at 100%; worker 3 new.
        assert_eq!(b.average(&before, &after, CYCLE), Some(75));
    }
}
