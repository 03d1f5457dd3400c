//! Which workers should be replaced: those that asked (`--max-requests`), outlived
//! `--max-worker-lifetime`, or grew past `--reload-on-rss`. A replacement is forked first;
//! the old worker stops only once it accepts.

use std::time::Duration;

use nix::unistd::Pid;

use super::table::WorkerTable;
use crate::scoreboard::Scoreboard;

/// Limits that trigger recycling (0 / None = off).
#[derive(Debug, Clone, Copy)]
pub struct RecycleLimits {
    /// `--max-worker-lifetime`.
    pub lifetime: Option<Duration>,
    /// `--reload-on-rss`, in bytes.
    pub rss: u64,
}

/// Resident set size of `pid` in bytes, from /proc.
pub fn rss_bytes(pid: Pid) -> Option<u64> {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as u64;
    Some(pages * page)
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
        if cell.recycle_asked() {
            out.push((
                slot.id,
                format!("served {} requests (--max-requests)", cell.requests()),
            ));
        } else if limits
            .lifetime
            .is_some_and(|l| slot.spawned_at.elapsed() > l)
        {
            out.push((
                slot.id,
                format!(
                    "lived {}s (--max-worker-lifetime)",
                    slot.spawned_at.elapsed().as_secs()
                ),
            ));
        } else if limits.rss > 0 {
            if let Some(rss) = rss_bytes(pid).filter(|r| *r > limits.rss) {
                out.push((
                    slot.id,
                    format!("uses {} MB of memory (--reload-on-rss)", rss >> 20),
                ));
            }
        }
    }
    out
}
