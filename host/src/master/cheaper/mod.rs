//! `--cheaper N`: an adaptive number of workers. The master starts `--cheaper-initial`
//! workers (default N), never runs fewer than N nor more than `--processes`, and at each
//! of its wake-ups (about once a second) lets the algorithm look at the workers:
//! [`spare`] (uWSGI's default) or [`busyness`] (`--cheaper-algo busyness`), within the
//! bounds of the workers' memory ([`memory`], `--cheaper-rss-limit-*`). A worker is
//! retired gracefully: it finishes what it is serving, as with SIGTTOU.

pub mod busyness;
pub mod memory;
pub mod spare;

use std::time::{Duration, Instant};

use super::recycle::rss_bytes;
use super::table::WorkerTable;
use crate::listen::Listener;
use crate::scoreboard::{now_us, Scoreboard, Status};
use busyness::{Bounds, Busyness, Look, WorkerLoad};
use memory::{mib, Allowance, MemoryGuard};
use spare::Spare;

pub use crate::config::cheaper::{Algo, CheaperConfig};

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

#[derive(Debug)]
enum State {
    Spare(Spare),
    Busyness(Busyness),
}

/// The adaptive worker count: the chosen algorithm and its memory.
#[derive(Debug)]
pub struct Cheaper {
    state: State,
    overload: Duration,
    memory: Option<MemoryGuard>,
}

impl Cheaper {
    /// The algorithm for at most `max` workers (`--processes`) of `threads` threads each.
    pub fn new(config: CheaperConfig, max: u32, threads: u32) -> Self {
        let state = match config.algo {
            Algo::Spare => State::Spare(Spare::new(config, max)),
            Algo::Busyness(busyness) => {
                let bounds = Bounds {
                    min: config.min,
                    max,
                    step: config.step,
                    cycle: config.overload,
                    threads,
                };
                let algo = Busyness::new(busyness, bounds);
                tracing::info!("cheaper: {}", algo.describe());
                State::Busyness(algo)
            }
        };
        Cheaper {
            state,
            overload: config.overload,
            memory: config
                .rss_limits
                .map(|limits| MemoryGuard::new(limits, config.overload)),
        }
    }

    /// One look at the workers on `board` (and the queues of `listeners`); adds or
    /// retires slots of `table` as decided.
    pub fn adapt(&mut self, table: &mut WorkerTable, board: &Scoreboard, listeners: &[Listener]) {
        let workers = table.slots().len() as u32;
        let memory = self.memory.as_mut().map(|guard| {
            let total: u64 = table
                .slots()
                .iter()
                .filter_map(|s| s.pid)
                .filter_map(rss_bytes)
                .sum();
            (guard.allowance(total, workers, Instant::now()), total)
        });
        if let (Some((Allowance::RetireOne, total)), Some(guard)) = (memory, &self.memory) {
            let hard = guard.limits().hard.unwrap_or_default();
            if let Some(id) = table.remove_slot() {
                tracing::info!(
                    "cheaper: workers use {} of resident memory, over --cheaper-rss-limit-hard ({}): retiring worker {id}",
                    mib(total),
                    mib(hard)
                );
            }
            return;
        }
        let cells = table
            .slots()
            .iter()
            .filter_map(|s| s.cell.map(|c| (s.id, &board.cells()[c])));
        let (change, why) = match &mut self.state {
            State::Spare(spare) => {
                let (mut busy, mut idle) = (0, 0);
                for (_, cell) in cells {
                    match cell.status() {
                        Status::Busy => busy += 1,
                        Status::Idle => idle += 1,
                        _ => {}
                    }
                }
                let overload = self.overload.as_secs();
                match spare.decide(Instant::now(), workers, busy, idle) {
                    Change::Add(n) => (
                        Change::Add(n),
                        format!("all {workers} worker(s) busy for {overload}s"),
                    ),
                    Change::RemoveOne => (
                        Change::RemoveOne,
                        format!("{idle} of {workers} workers idle for {overload}s"),
                    ),
                    Change::Keep => (Change::Keep, String::new()),
                }
            }
            State::Busyness(busyness) => {
                let now = now_us();
                let loads: Vec<WorkerLoad> = cells
                    .filter(|(_, cell)| matches!(cell.status(), Status::Busy | Status::Idle))
                    .map(|(id, cell)| WorkerLoad {
                        id,
                        busy_us: cell.busy_us(now),
                    })
                    .collect();
                let backlog = listeners
                    .iter()
                    .filter_map(Listener::queue)
                    .map(|(len, _)| len)
                    .sum();
                busyness.decide(&Look {
                    now: Instant::now(),
                    workers,
                    loads: &loads,
                    backlog,
                })
            }
        };
        let change = match (change, memory, self.memory.as_mut()) {
            (Change::Add(_), Some((Allowance::NoMore, total)), Some(guard)) => {
                if guard.refused() {
                    tracing::info!(
                        "cheaper: {why}, but workers use {} of resident memory, over --cheaper-rss-limit-soft ({}): no worker added",
                        mib(total),
                        mib(guard.limits().soft)
                    );
                }
                Change::Keep
            }
            _ => change,
        };
        match change {
            Change::Keep => {}
            Change::Add(n) => {
                let ids: Vec<String> = (0..n).map(|_| table.add_slot().to_string()).collect();
                tracing::info!("cheaper: {why}: adding worker {}", ids.join(", "));
            }
            Change::RemoveOne => {
                if let Some(id) = table.remove_slot() {
                    tracing::info!("cheaper: {why}: retiring worker {id}");
                }
            }
        }
    }
}
