//! The extensions this host offers plugins (`Host::extension`), by name and version.
//!
//! Each is a `'static` table of its own type; a plugin checks the table's layout against
//! the type it was compiled with before the first call. A released name and version never
//! change: a changed table is offered as the next version, beside the old one while plugins
//! may still ask for it.
//!
//! - `rsgi.scoreboard` v1: the workers as the scoreboard holds them (the master shares the
//!   scoreboard here before it forks, so every worker reads the same cells).
//! - what the rest of the host registers with [`also_offer`] before the plugins load
//!   (`rsgi.exchange` v1, whose table lives with the worker that serves it).

use std::sync::OnceLock;

use abi_stable::std_types::{ROption, RStr, RVec};
use rsgi_plugin_api::scoreboard::{ScoreboardV1, WorkerInfo};
use rsgi_plugin_api::sdk::extensions::offer;
use rsgi_plugin_api::{Extension, ExtensionId};

use crate::scoreboard::{Cell, Status};

/// The scoreboard's cells, shared by the master before it forks (the mapping is
/// inherited by every worker and never unmapped).
static CELLS: OnceLock<&'static [Cell]> = OnceLock::new();

/// Lets `rsgi.scoreboard` read `cells` (the first call wins: one scoreboard per process).
pub fn share_scoreboard(cells: &'static [Cell]) {
    let _ = CELLS.set(cells);
}

extern "C" fn workers() -> RVec<WorkerInfo> {
    let cells = CELLS.get().copied().unwrap_or(&[]);
    cells
        .iter()
        .filter(|c| c.pid() > 0 && c.status() != Status::Free)
        .map(|c| WorkerInfo {
            id: c.worker_id(),
            pid: c.pid(),
            status: RStr::from_str(c.status().name()),
            requests: c.requests(),
            exceptions: c.exceptions(),
            tx: c.tx(),
            avg_rt_us: c.avg_rt_us(),
            spawned_at_us: c.spawned_at_us(),
        })
        .collect()
}

static SCOREBOARD_V1: ScoreboardV1 = ScoreboardV1 { workers };

/// Extensions defined elsewhere in the host, registered before the plugins load.
static ALSO: OnceLock<Vec<fn() -> Extension>> = OnceLock::new();

/// Offers the extensions `answers` make too (once per process, before any plugin loads:
/// the first call wins).
pub fn also_offer(answers: Vec<fn() -> Extension>) {
    let _ = ALSO.set(answers);
}

/// Every extension offered, as lookups answer them.
fn all() -> Vec<Extension> {
    let mut all = vec![offer(&SCOREBOARD_V1)];
    all.extend(ALSO.get().into_iter().flatten().map(|answer| answer()));
    all
}

/// Whether the host offers `id`.
pub fn offers(id: ExtensionId) -> bool {
    all().iter().any(|e| e.id == id)
}

/// `Host::extensions`: every extension offered.
pub extern "C" fn list() -> RVec<ExtensionId> {
    all().into_iter().map(|e| e.id).collect()
}

/// `Host::extension`: the table of `name` at `version`, if offered.
pub extern "C" fn lookup(name: RStr<'_>, version: u32) -> ROption<Extension> {
    all()
        .into_iter()
        .find(|e| e.id.name == name && e.id.version == version)
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoreboard::Scoreboard;
    use rsgi_plugin_api::sdk::extensions::open;

    #[test]
    fn the_scoreboard_extension_lists_the_claimed_cells() {
        let board = Scoreboard::new(3).unwrap();
        board.cells()[1].claim(4242, 2);
        board.cells()[1].set_status(Status::Idle);
        board.cells()[1].request_started(b"GET", b"/");
        board.cells()[1].request_finished(5, false, Status::Idle);
        share_scoreboard(board.cells());
        let answer = lookup(RStr::from_str("rsgi.scoreboard"), 1).unwrap();
        let table: &ScoreboardV1 = open(answer).unwrap();
        let workers = (table.workers)();
        assert_eq!(workers.len(), 1, "{workers:?}");
        let w = workers[0];
        assert_eq!((w.id, w.pid, w.status.as_str()), (2, 4242, "idle"));
        assert_eq!((w.requests, w.tx), (1, 5));
        assert!(lookup(RStr::from_str("rsgi.scoreboard"), 2).is_none());
        assert!(list()
            .iter()
            .any(|id| id.name.as_str() == "rsgi.scoreboard"));
    }
}
