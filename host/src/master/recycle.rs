//! Which workers should be replaced: those that asked (`--max-requests`), outlived
//! `--max-worker-lifetime` (plus `--max-worker-lifetime-delta` × (id - 1), as in uWSGI, so
//! that workers started together are not replaced together), or grew past
//! `--reload-on-rss` / `--reload-on-as`; the first and the last only once they have lived
//! `--min-worker-lifetime` (0 by default: at once; uWSGI waits 10 s unless told). A
//! replacement is forked first; the old worker stops only once it accepts. Past
//! `--evil-reload-on-rss` / `--evil-reload-on-as` a worker is killed at once instead (for
//! one that grows while stuck in a request, which a graceful stop would wait for).
//!
//! One worker is recycled at a time: the next due worker waits until the replacement of
//! the last one accepts (its predecessor then stops), and `--recycle-spacing` after the
//! last recycle began. Workers that reach `--max-requests` together (started together,
//! same traffic) so leave the pool one by one: the service never loses more than the one
//! worker being swapped, and a lazy-apps pool does not load N apps at once.

use std::time::Duration;

use nix::unistd::Pid;

use super::table::WorkerTable;
use crate::scoreboard::Scoreboard;

/// Limits that trigger recycling (0 / None = off).
#[derive(Debug, Clone, Copy)]
pub struct RecycleLimits {
    /// `--max-worker-lifetime`.
    pub lifetime: Option<Duration>,
    /// `--max-worker-lifetime-delta`: worker N's lifetime is longer by N - 1 times this.
    pub lifetime_delta: Duration,
    /// `--min-worker-lifetime`: no replacement for requests or memory before this age.
    pub min_lifetime: Duration,
    /// `--recycle-spacing`: at least this long between the starts of two recycles.
    pub spacing: Duration,
    /// `--reload-on-rss`, in bytes.
    pub rss: u64,
    /// `--reload-on-as`, in bytes.
    pub address_space: u64,
    /// `--evil-reload-on-rss`, in bytes.
    pub evil_rss: u64,
    /// `--evil-reload-on-as`, in bytes.
    pub evil_address_space: u64,
}

/// Address space and resident set size of `pid` in bytes, from /proc.
pub fn memory_bytes(pid: Pid) -> Option<(u64, u64)> {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let mut fields = statm.split_whitespace().map(|f| f.parse::<u64>().ok());
    let (size, resident) = (fields.next()??, fields.next()??);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as u64;
    Some((size * page, resident * page))
}

/// Resident set size of `pid` in bytes, from /proc.
pub fn rss_bytes(pid: Pid) -> Option<u64> {
    memory_bytes(pid).map(|(_, rss)| rss)
}

/// Which of `address_space` / `rss` bytes is over its limit (0 = none), as a reason.
fn over(
    (address_space, rss): (u64, u64),
    as_limit: u64,
    rss_limit: u64,
    option: &str,
) -> Option<String> {
    if rss_limit > 0 && rss > rss_limit {
        Some(format!("uses {} MB of memory (--{option}-rss)", rss >> 20))
    } else if as_limit > 0 && address_space > as_limit {
        Some(format!(
            "has {} MB of address space (--{option}-as)",
            address_space >> 20
        ))
    } else {
        None
    }
}

/// Workers past `--evil-reload-on-rss` / `--evil-reload-on-as`, to kill now, with why.
pub fn evil(table: &WorkerTable, limits: RecycleLimits) -> Vec<(u32, Pid, String)> {
    if limits.evil_rss == 0 && limits.evil_address_space == 0 {
        return Vec::new();
    }
    table
        .slots()
        .iter()
        .filter(|s| !s.killed)
        .filter_map(|s| {
            let pid = s.pid?;
            let why = over(
                memory_bytes(pid)?,
                limits.evil_address_space,
                limits.evil_rss,
                "evil-reload-on",
            )?;
            Some((s.id, pid, why))
        })
        .collect()
}

/// True when a recycle may begin now: no replacement is still on its way to accepting,
/// and `--recycle-spacing` passed since the last began.
pub fn may_begin(
    table: &WorkerTable,
    limits: RecycleLimits,
    last: Option<std::time::Instant>,
) -> bool {
    table.waiting_for_replacement().is_empty()
        && last.is_none_or(|at| at.elapsed() >= limits.spacing)
}

/// Slots due for a replacement, with the reason.
pub fn due(table: &WorkerTable, board: &Scoreboard, limits: RecycleLimits) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    for slot in table.slots() {
        let (Some(pid), Some(cell)) = (slot.pid, slot.cell) else {
            continue;
        };
        if slot.stop_sent || slot.killed {
            continue;
        }
        let cell = &board.cells()[cell];
        let age = slot.spawned_at.elapsed();
        let old_enough = age >= limits.min_lifetime;
        let lifetime = limits
            .lifetime
            .map(|l| l + limits.lifetime_delta * slot.id.saturating_sub(1));
        if cell.recycle_asked() && old_enough {
            out.push((
                slot.id,
                format!("served {} requests (--max-requests)", cell.requests()),
            ));
        } else if lifetime.is_some_and(|l| age > l) {
            out.push((
                slot.id,
                format!("lived {}s (--max-worker-lifetime)", age.as_secs()),
            ));
        } else if (limits.rss > 0 || limits.address_space > 0) && old_enough {
            let memory = memory_bytes(pid).unwrap_or_default();
            if let Some(why) = over(memory, limits.address_space, limits.rss, "reload-on") {
                out.push((slot.id, why));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn limits(spacing: u64) -> RecycleLimits {
        RecycleLimits {
            lifetime: None,
            lifetime_delta: Duration::ZERO,
            min_lifetime: Duration::ZERO,
            spacing: Duration::from_secs(spacing),
            rss: 0,
            address_space: 0,
            evil_rss: 0,
            evil_address_space: 0,
        }
    }

    #[test]
    fn a_recycle_waits_for_the_last_replacement_and_the_spacing() {
        let mut table = WorkerTable::new(2);
        table.started(1, Pid::from_raw(101), None);
        table.started(2, Pid::from_raw(102), None);
        assert!(may_begin(&table, limits(0), None));
        // The spacing since the last recycle has not passed.
        assert!(!may_begin(&table, limits(60), Some(Instant::now())));
        assert!(may_begin(&table, limits(0), Some(Instant::now())));
        // Worker 1 is being replaced: its replacement does not accept yet.
        assert!(table.replace(1));
        assert!(!may_begin(&table, limits(0), None));
    }
}
