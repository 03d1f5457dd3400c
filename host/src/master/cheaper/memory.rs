//! `--cheaper-rss-limit-soft BYTES` and `--cheaper-rss-limit-hard BYTES` (uWSGI's): the
//! workers' resident memory, summed, bounds what `--cheaper` does. At or over the soft
//! limit no worker is added, whatever the algorithm wants (it may still retire idle ones);
//! at or over the hard limit one worker is retired per `--cheaper-overload` cycle, down to
//! one worker (below `--cheaper`, as in uWSGI: memory comes first), until the sum is under
//! it again.
//!
//! The sum counts each worker's whole resident set, shared pages included (as uWSGI's
//! does), so workers forked from a preloaded app count the app once per worker.

use std::time::{Duration, Instant};

pub use crate::config::cheaper::RssLimits;

/// What the workers' memory allows now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowance {
    /// Under the soft limit: the algorithm decides.
    Free,
    /// At or over the soft limit: no worker may be added.
    NoMore,
    /// At or over the hard limit: retire one worker now.
    RetireOne,
}

/// The limits and when a worker was last retired for them.
#[derive(Debug)]
pub struct MemoryGuard {
    limits: RssLimits,
    cycle: Duration,
    last_retired: Option<Instant>,
    /// An addition was refused and not yet allowed again (for logging once).
    refusing: bool,
}

impl MemoryGuard {
    /// A guard retiring at most one worker per `cycle` for the hard limit.
    pub fn new(limits: RssLimits, cycle: Duration) -> Self {
        MemoryGuard {
            limits,
            cycle,
            last_retired: None,
            refusing: false,
        }
    }

    /// What `total` bytes of resident memory over `workers` workers allow at `now`.
    pub fn allowance(&mut self, total: u64, workers: u32, now: Instant) -> Allowance {
        let over_hard = self.limits.hard.is_some_and(|hard| total >= hard);
        let retired_lately = self
            .last_retired
            .is_some_and(|t| now.duration_since(t) < self.cycle);
        if over_hard && workers > 1 && !retired_lately {
            self.last_retired = Some(now);
            return Allowance::RetireOne;
        }
        if total >= self.limits.soft {
            return Allowance::NoMore;
        }
        self.refusing = false;
        Allowance::Free
    }

    /// Notes that an addition was refused; true the first time since additions were last
    /// allowed (the time to say so in the log).
    pub fn refused(&mut self) -> bool {
        !std::mem::replace(&mut self.refusing, true)
    }

    /// The limits, for log lines.
    pub fn limits(&self) -> RssLimits {
        self.limits
    }
}

/// `bytes` in MiB, one decimal, for log lines.
pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn guard() -> MemoryGuard {
        MemoryGuard::new(
            RssLimits {
                soft: 100 * MIB,
                hard: Some(150 * MIB),
            },
            Duration::from_secs(3),
        )
    }

    #[test]
    fn under_the_soft_limit_the_algorithm_decides() {
        let mut g = guard();
        assert_eq!(g.allowance(99 * MIB, 4, Instant::now()), Allowance::Free);
    }

    #[test]
    fn at_the_soft_limit_no_worker_is_added_and_that_is_said_once() {
        let mut g = guard();
        let now = Instant::now();
        assert_eq!(g.allowance(100 * MIB, 4, now), Allowance::NoMore);
        assert!(g.refused());
        assert_eq!(g.allowance(120 * MIB, 4, now), Allowance::NoMore);
        assert!(!g.refused(), "said already");
        assert_eq!(g.allowance(90 * MIB, 4, now), Allowance::Free);
        assert_eq!(g.allowance(110 * MIB, 4, now), Allowance::NoMore);
        assert!(g.refused(), "refusing again after a free look");
    }

    #[test]
    fn over_the_hard_limit_one_worker_goes_per_cycle_down_to_one() {
        let mut g = guard();
        let t0 = Instant::now();
        assert_eq!(g.allowance(200 * MIB, 4, t0), Allowance::RetireOne);
        // Within the cycle: no second retirement, and no additions either.
        assert_eq!(
            g.allowance(160 * MIB, 3, t0 + Duration::from_secs(1)),
            Allowance::NoMore
        );
        assert_eq!(
            g.allowance(160 * MIB, 3, t0 + Duration::from_secs(3)),
            Allowance::RetireOne
        );
        // The last worker stays.
        assert_eq!(
            g.allowance(160 * MIB, 1, t0 + Duration::from_secs(9)),
            Allowance::NoMore
        );
    }

    #[test]
    fn without_a_hard_limit_nothing_is_retired_for_memory() {
        let mut g = MemoryGuard::new(
            RssLimits {
                soft: MIB,
                hard: None,
            },
            Duration::from_secs(1),
        );
        assert_eq!(g.allowance(u64::MAX, 8, Instant::now()), Allowance::NoMore);
    }
}
