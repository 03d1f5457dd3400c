//! `--harakiri N`: a request running longer than N seconds gets its worker killed.
//! The master reads each worker's request start time from the scoreboard (the oldest
//! request of its threads). It first sends the worker the stack-dump signal, so the app
//! plugin can write where the app is stuck (the python plugin: every thread's Python
//! stack), and SIGKILLs it at a look [`DUMP_TIME`] later.

use std::time::Duration;

use super::table::WorkerTable;
use crate::scoreboard::{now_us, Scoreboard};

/// How long a worker has to write its stacks before SIGKILL (the master looks about once
/// a second, so it is SIGKILLed at the first look after this).
pub const DUMP_TIME: Duration = Duration::from_millis(300);

/// Kills workers whose current request started more than `limit` ago; returns how many.
pub fn enforce(table: &mut WorkerTable, board: &Scoreboard, limit: Duration) -> usize {
    let now = now_us();
    let limit_us = limit.as_micros() as u64;
    let mut victims = Vec::new();
    for slot in table.slots() {
        let (Some(pid), Some(cell)) = (slot.pid, slot.cell) else {
            continue;
        };
        let cell = &board.cells()[cell];
        if slot.killed || cell.pid() != pid.as_raw() {
            continue;
        }
        if let Some(start) = cell.request_start_us() {
            let ran = now.saturating_sub(start);
            if ran > limit_us {
                tracing::error!(
                    "harakiri: worker {} (pid {pid}) has been running \"{}\" for {:.1}s (--harakiri {}): killing it",
                    slot.id,
                    cell.current(),
                    ran as f64 / 1e6,
                    limit.as_secs()
                );
                victims.push((slot.id, pid));
            }
        }
    }
    let dump = rsgi_plugin_api::app::stack_dump_signal();
    for (id, pid) in &victims {
        // nix's Signal has no real-time signals: libc::kill.
        // SAFETY: kill(2) on a worker of ours; no memory is involved.
        match unsafe { libc::kill(pid.as_raw(), dump) } {
            0 => table.kill_soon(*pid, DUMP_TIME),
            _ => table.kill_now(*pid),
        }
        if let Some(slot) = table.slot_mut(*id) {
            slot.harakiri += 1;
        }
    }
    victims.len()
}
