//! One consistent reading of the master's state (worker table, scoreboard, sockets) for
//! the stats server, the Prometheus metrics and the SIGUSR1 summary: read once, rendered
//! by each in its own format.

use super::table::{Served, WorkerTable};
use crate::listen::Listener;
use crate::master::recycle::rss_bytes;
use crate::scoreboard::{Scoreboard, Status};

/// One listening socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketView {
    /// `127.0.0.1:8000` or `/run/app.sock`.
    pub name: String,
    /// `http` or `uwsgi`.
    pub proto: &'static str,
    /// Connections waiting in the accept queue (0 when unknown: Unix sockets).
    pub queue: u32,
    /// The accept queue's size.
    pub max_queue: u32,
}

/// One app thread of a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoreView {
    /// Requests it finished.
    pub requests: u64,
    /// It is running a request now.
    pub in_request: bool,
}

/// One worker slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerView {
    /// Worker id (1-based).
    pub id: u32,
    /// Its current process (0: none).
    pub pid: i32,
    /// `starting`, `idle`, `busy`, `recycling`, `stopping`, or `down` (no process).
    pub status: &'static str,
    /// It accepts connections.
    pub accepting: bool,
    /// Everything the slot's processes served, current and earlier ones.
    pub served: Served,
    /// Requests served by the current process.
    pub delta_requests: u64,
    /// Times harakiri killed its worker.
    pub harakiri: u32,
    /// Processes started in the slot.
    pub spawns: u32,
    /// Resident and virtual memory of the current process (bytes).
    pub rss: u64,
    /// Virtual memory size (bytes).
    pub vsz: u64,
    /// When the current process was forked (seconds since the epoch; 0: none).
    pub last_spawn: u64,
    /// Mean response time of the current process (µs).
    pub avg_rt_us: u64,
    /// One entry per app thread.
    pub cores: Vec<CoreView>,
    /// Requests in progress now: on its threads, and kept by its app plugin to answer
    /// later (ASGI).
    pub in_flight: u32,
    /// Connections upgraded to WebSockets open now.
    pub websockets: u32,
}

/// The master and its workers at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The master's pid.
    pub pid: u32,
    /// Seconds since the master started.
    pub uptime_s: u64,
    /// Listening sockets.
    pub sockets: Vec<SocketView>,
    /// Longest accept queue across sockets (uWSGI's `listen_queue`).
    pub listen_queue: u32,
    /// Times an accept queue was found full.
    pub listen_queue_errors: u64,
    /// Worker slots, by id.
    pub workers: Vec<WorkerView>,
    /// Processes retiring (replaced, finishing their requests).
    pub retiring: usize,
}

/// What a process of a slot served, from its scoreboard cell.
pub fn served_by(board: &Scoreboard, cell: usize) -> Served {
    let c = &board.cells()[cell];
    Served {
        requests: c.requests(),
        exceptions: c.exceptions(),
        tx: c.tx(),
        running_time_us: c.running_time_us(),
    }
}

/// (rss, vsz) of `pid` in bytes, from /proc.
fn memory(pid: i32) -> (u64, u64) {
    let Ok(statm) = std::fs::read_to_string(format!("/proc/{pid}/statm")) else {
        return (0, 0);
    };
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as u64;
    let mut fields = statm
        .split_whitespace()
        .map(|f| f.parse::<u64>().unwrap_or(0));
    let vsz = fields.next().unwrap_or(0) * page;
    let rss = rss_bytes(nix::unistd::Pid::from_raw(pid)).unwrap_or(0);
    (rss, vsz)
}

impl Snapshot {
    /// Reads everything; `threads` is the number of app threads per worker.
    pub fn take(
        table: &WorkerTable,
        board: &Scoreboard,
        listeners: &[Listener],
        listen_queue_errors: u64,
        threads: u32,
        uptime_s: u64,
    ) -> Snapshot {
        let sockets: Vec<SocketView> = listeners
            .iter()
            .map(|l| {
                let (queue, max_queue) = l.queue().unwrap_or((0, 0));
                SocketView {
                    name: l.name(),
                    proto: l.protocol().plugin_name(),
                    queue,
                    max_queue,
                }
            })
            .collect();
        let workers = table
            .slots()
            .iter()
            .map(|slot| {
                let mut served = slot.history;
                for r in table.retiring().iter().filter(|r| r.slot == slot.id) {
                    if let Some(cell) = r.cell {
                        served.add(served_by(board, cell));
                    }
                }
                let live = slot
                    .pid
                    .zip(slot.cell)
                    .filter(|(pid, cell)| board.cells()[*cell].pid() == pid.as_raw());
                let Some((pid, cell_index)) = live else {
                    return WorkerView {
                        id: slot.id,
                        pid: 0,
                        status: "down",
                        accepting: false,
                        served,
                        delta_requests: 0,
                        harakiri: slot.harakiri,
                        spawns: slot.spawns,
                        rss: 0,
                        vsz: 0,
                        last_spawn: 0,
                        avg_rt_us: 0,
                        cores: Vec::new(),
                        in_flight: 0,
                        websockets: 0,
                    };
                };
                let cell = &board.cells()[cell_index];
                served.add(served_by(board, cell_index));
                let status = match cell.status() {
                    Status::Idle if cell.any_in_request() => Status::Busy,
                    s => s,
                };
                let (rss, vsz) = memory(pid.as_raw());
                let cores: Vec<CoreView> = cell
                    .cores(threads as usize)
                    .iter()
                    .map(|c| CoreView {
                        requests: c.requests(),
                        in_request: c.in_request(),
                    })
                    .collect();
                let on_threads = cores.iter().filter(|c| c.in_request).count() as u32;
                WorkerView {
                    id: slot.id,
                    pid: pid.as_raw(),
                    status: status.name(),
                    accepting: matches!(status, Status::Idle | Status::Busy | Status::Recycling),
                    served,
                    delta_requests: cell.requests(),
                    harakiri: slot.harakiri,
                    spawns: slot.spawns,
                    rss,
                    vsz,
                    last_spawn: cell.spawned_at_us() / 1_000_000,
                    avg_rt_us: cell.avg_rt_us(),
                    cores,
                    in_flight: on_threads + cell.pending(),
                    websockets: cell.upgraded(),
                }
            })
            .collect();
        Snapshot {
            pid: std::process::id(),
            uptime_s,
            listen_queue: sockets.iter().map(|s| s.queue).max().unwrap_or(0),
            sockets,
            listen_queue_errors,
            workers,
            retiring: table.retiring().len(),
        }
    }

    /// Requests served by every slot.
    pub fn total_requests(&self) -> u64 {
        self.workers.iter().map(|w| w.served.requests).sum()
    }
}
