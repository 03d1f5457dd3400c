//! A one-screen summary of the workers for the log (SIGUSR1, FIFO `s`).

use std::time::Instant;

use super::table::WorkerTable;
use crate::scoreboard::{now_us, Scoreboard};

/// Logs one line per worker and a total.
pub fn log_summary(table: &WorkerTable, board: &Scoreboard, started: Instant) {
    let mut total = 0;
    tracing::info!(
        "stats: master up {}s, {} worker slot(s), {} retiring",
        started.elapsed().as_secs(),
        table.slots().len(),
        table.retiring().len()
    );
    for slot in table.slots() {
        let cell = slot.cell.map(|c| &board.cells()[c]);
        let requests = cell.map(|c| c.requests()).unwrap_or(0);
        total += requests;
        tracing::info!(
            "stats: worker {} pid {} up {}s {} requests {} exceptions {} avg {}us tx {}B respawns {} harakiri {}",
            slot.id,
            slot.pid.map(|p| p.to_string()).unwrap_or_else(|| "-".into()),
            cell.map(|c| now_us().saturating_sub(c.spawned_at_us()) / 1_000_000).unwrap_or(0),
            cell.map(|c| c.status().name()).unwrap_or("down"),
            requests,
            cell.map(|c| c.exceptions()).unwrap_or(0),
            cell.map(|c| c.avg_rt_us()).unwrap_or(0),
            cell.map(|c| c.tx()).unwrap_or(0),
            slot.respawns,
            slot.harakiri
        );
    }
    tracing::info!("stats: {total} requests served by the current workers");
}
