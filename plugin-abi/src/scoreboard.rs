//! The `rsgi.scoreboard` extension, version 1 (since 0.2.1): what the host's scoreboard
//! says about the workers, for an app runtime's introspection (uWSGI's `uwsgi.workers()`).
//! Offered by the host in every process; the numbers are read from shared memory at the
//! call, so they are as fresh as the scoreboard (a busy worker's counters move while they
//! are read).

use abi_stable::{
    std_types::{RStr, RVec},
    StableAbi,
};

/// One worker as the scoreboard holds it.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerInfo {
    /// The worker's number (1-based), as `--processes` counts.
    pub id: u32,
    /// Its process id.
    pub pid: i32,
    /// `starting`, `idle`, `busy`, `recycling` or `stopping`.
    pub status: RStr<'static>,
    /// Requests it finished.
    pub requests: u64,
    /// Requests whose app call failed.
    pub exceptions: u64,
    /// Response body bytes it sent.
    pub tx: u64,
    /// Mean response time of its finished requests, in microseconds (0 before the first).
    pub avg_rt_us: u64,
    /// When it was started, in microseconds since the Unix epoch.
    pub spawned_at_us: u64,
}

/// The table of `rsgi.scoreboard` v1.
#[repr(C)]
#[derive(StableAbi)]
pub struct ScoreboardV1 {
    /// Every worker process the scoreboard holds now (including ones being replaced), in
    /// the order of their cells.
    pub workers: extern "C" fn() -> RVec<WorkerInfo>,
}

impl ScoreboardV1 {
    /// The extension's name.
    pub const NAME: &'static str = "rsgi.scoreboard";
    /// The version this table is.
    pub const VERSION: u32 = 1;
}
