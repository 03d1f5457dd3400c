//! The scoreboard: per-worker counters in shared memory (an anonymous `MAP_SHARED`
//! mapping made by the master before the first fork). Workers write their own cell with
//! relaxed atomic stores on the request path; the master reads every cell for harakiri,
//! recycling, readiness and stats. No pipes or locks on the request path.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicI32, AtomicU16, AtomicU32, AtomicU64, AtomicU8, Ordering::Relaxed};
use std::time::{SystemTime, UNIX_EPOCH};

/// Bytes of "METHOD URI" kept for the request in progress (for harakiri log lines).
pub const CURRENT_LEN: usize = 200;

/// Per-thread ("core") counters kept per worker; threads past this share the last one.
pub const MAX_CORES: usize = 64;

thread_local! {
    /// The core this thread counts as, per cell: (cell address, core index).
    static CORE: std::cell::Cell<(usize, usize)> = const { std::cell::Cell::new((0, 0)) };
}

/// What a worker is doing.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The cell is unused.
    Free = 0,
    /// Forked, not yet accepting (loading the app, setting up).
    Starting = 1,
    /// Accepting, no request in progress.
    Idle = 2,
    /// Running a request.
    Busy = 3,
    /// Asked the master for a replacement (recycling); still serving.
    Recycling = 4,
    /// Stopping: accepts nothing, finishing in-flight requests.
    Stopping = 5,
}

impl Status {
    fn from_u8(v: u8) -> Status {
        match v {
            1 => Status::Starting,
            2 => Status::Idle,
            3 => Status::Busy,
            4 => Status::Recycling,
            5 => Status::Stopping,
            _ => Status::Free,
        }
    }

    /// Lower-case name (`idle`, `busy`...), as the stats output shows it.
    pub fn name(self) -> &'static str {
        match self {
            Status::Free => "free",
            Status::Starting => "starting",
            Status::Idle => "idle",
            Status::Busy => "busy",
            Status::Recycling => "recycling",
            Status::Stopping => "stopping",
        }
    }
}

/// One app thread's counters (uWSGI calls it a core).
#[repr(C)]
pub struct Core {
    requests: AtomicU64,
    in_request: AtomicU8,
    /// Microseconds since the epoch when this thread's request started; 0 when none.
    start_us: AtomicU64,
    current_len: AtomicU16,
    /// "METHOD URI" of this thread's request (pages of cores never used stay unmapped).
    current: UnsafeCell<[u8; CURRENT_LEN]>,
}

impl Core {
    /// Requests this thread finished.
    pub fn requests(&self) -> u64 {
        self.requests.load(Relaxed)
    }

    /// True while this thread runs a request.
    pub fn in_request(&self) -> bool {
        self.in_request.load(Relaxed) != 0
    }
}

/// One worker process's cell.
#[repr(C)]
pub struct Cell {
    pid: AtomicI32,
    worker_id: AtomicU32,
    status: AtomicU8,
    recycle_asked: AtomicU8,
    requests: AtomicU64,
    exceptions: AtomicU64,
    tx: AtomicU64,
    /// Sum of response times (µs) of finished requests.
    total_rt_us: AtomicU64,
    spawned_at_us: AtomicU64,
    /// How many threads of the worker took a core so far.
    cores_taken: AtomicU32,
    cores: [Core; MAX_CORES],
    /// Requests an app plugin keeps to answer later (exchanges in progress), and when
    /// the oldest of them started (µs since the epoch, 0 when none) with its
    /// `METHOD URI`: written by the worker's loop thread at each sweep.
    pending: AtomicU32,
    pending_since_us: AtomicU64,
    pending_len: AtomicU16,
    pending_current: UnsafeCell<[u8; CURRENT_LEN]>,
    /// Connections upgraded to message streams (WebSockets) open now: at each sweep.
    upgraded: AtomicU32,
}

// SAFETY: every field but the text buffers is atomic; `pending_current`, like a core's
// `current`, is written by one thread (the worker's loop) and read, possibly torn, only
// for log lines.
unsafe impl Sync for Cell {}

// SAFETY: every field but `current` is atomic; `current` is only written by the thread
// that owns the core and read (possibly torn, only for log lines) by the master.
unsafe impl Sync for Core {}

/// Writes `method uri` into `buf` (cut at its size); returns the length.
fn write_current(buf: &mut [u8; CURRENT_LEN], method: &[u8], uri: &[u8]) -> usize {
    let m = method.len().min(CURRENT_LEN);
    buf[..m].copy_from_slice(&method[..m]);
    let mut len = m;
    if len < CURRENT_LEN {
        buf[len] = b' ';
        len += 1;
        let u = uri.len().min(CURRENT_LEN - len);
        buf[len..len + u].copy_from_slice(&uri[..u]);
        len += u;
    }
    len
}

/// Microseconds since the Unix epoch.
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

impl Cell {
    /// Claims the cell for a new process (master, right after fork).
    pub fn claim(&self, pid: i32, worker_id: u32) {
        self.requests.store(0, Relaxed);
        self.exceptions.store(0, Relaxed);
        self.tx.store(0, Relaxed);
        self.total_rt_us.store(0, Relaxed);
        self.recycle_asked.store(0, Relaxed);
        self.spawned_at_us.store(now_us(), Relaxed);
        // Only the cores the previous process used hold anything: the others were never
        // written (their pages need not become resident).
        let used = (self.cores_taken.swap(0, Relaxed) as usize).min(MAX_CORES);
        for core in &self.cores[..used] {
            core.requests.store(0, Relaxed);
            core.in_request.store(0, Relaxed);
            core.start_us.store(0, Relaxed);
            core.current_len.store(0, Relaxed);
        }
        self.pending.store(0, Relaxed);
        self.pending_since_us.store(0, Relaxed);
        self.pending_len.store(0, Relaxed);
        self.upgraded.store(0, Relaxed);
        self.worker_id.store(worker_id, Relaxed);
        self.status.store(Status::Starting as u8, Relaxed);
        self.pid.store(pid, Relaxed);
    }

    /// Records the exchanges in progress (worker's loop thread, at each sweep): how many,
    /// and the oldest's start and `method uri` (harakiri watches it as a request in
    /// progress).
    pub fn set_pending(&self, count: u32, oldest: Option<(u64, &[u8], &[u8])>) {
        self.pending.store(count, Relaxed);
        match oldest {
            Some((since, method, uri)) => {
                // SAFETY: only the worker's loop thread writes this buffer; readers
                // tolerate torn text.
                let buf = unsafe { &mut *self.pending_current.get() };
                let len = write_current(buf, method, uri);
                self.pending_len.store(len as u16, Relaxed);
                self.pending_since_us.store(since, Relaxed);
            }
            None => self.pending_since_us.store(0, Relaxed),
        }
    }

    /// Records how many connections are upgraded (WebSockets) now (worker's loop thread,
    /// at each sweep).
    pub fn set_upgraded(&self, count: u32) {
        self.upgraded.store(count, Relaxed);
    }

    /// Upgraded connections (WebSockets) open, as last recorded.
    pub fn upgraded(&self) -> u32 {
        self.upgraded.load(Relaxed)
    }

    /// Exchanges in progress (requests an app plugin answers later), as last recorded.
    pub fn pending(&self) -> u32 {
        self.pending.load(Relaxed)
    }

    /// Records the pid of the process that owns a claimed cell (master, after fork).
    pub fn set_pid(&self, pid: i32) {
        self.pid.store(pid, Relaxed);
    }

    /// Frees the cell (master, after reaping).
    pub fn release(&self) {
        self.pid.store(0, Relaxed);
        self.status.store(Status::Free as u8, Relaxed);
    }

    /// The number of the worker that claimed the cell (1-based).
    pub fn worker_id(&self) -> u32 {
        self.worker_id.load(Relaxed)
    }

    /// The owning pid (0 = free).
    pub fn pid(&self) -> i32 {
        self.pid.load(Relaxed)
    }

    /// Current status.
    pub fn status(&self) -> Status {
        Status::from_u8(self.status.load(Relaxed))
    }

    /// Sets the status (worker).
    pub fn set_status(&self, status: Status) {
        self.status.store(status as u8, Relaxed);
    }

    /// Marks the start of a request and remembers `method uri` (worker, hot path). Returns
    /// the start time (µs since the epoch), for other uses of the clock at that moment.
    pub fn request_started(&self, method: &[u8], uri: &[u8]) -> u64 {
        let core = self.my_core();
        // SAFETY: only the thread that owns the core writes its `current`; readers
        // tolerate torn text.
        let buf = unsafe { &mut *core.current.get() };
        let len = write_current(buf, method, uri);
        core.current_len.store(len as u16, Relaxed);
        let now = now_us();
        core.start_us.store(now, Relaxed);
        core.in_request.store(1, Relaxed);
        self.status.store(Status::Busy as u8, Relaxed);
        now
    }

    /// The core of the calling thread: each thread of the worker that serves a request
    /// takes the next free core the first time (the loop thread with one app thread,
    /// else each app thread), so no core number has to travel down the request path.
    fn my_core(&self) -> &Core {
        let me = self as *const Cell as usize;
        let index = CORE.with(|c| match c.get() {
            (cell, index) if cell == me => index,
            _ => {
                let index = (self.cores_taken.fetch_add(1, Relaxed) as usize).min(MAX_CORES - 1);
                c.set((me, index));
                index
            }
        });
        &self.cores[index]
    }

    /// Marks the end of a request (worker, hot path).
    pub fn request_finished(&self, bytes_sent: u64, failed: bool, back_to: Status) {
        let core = self.my_core();
        let start = core.start_us.swap(0, Relaxed);
        if start > 0 {
            self.total_rt_us
                .fetch_add(now_us().saturating_sub(start), Relaxed);
        }
        self.requests.fetch_add(1, Relaxed);
        core.requests.fetch_add(1, Relaxed);
        core.in_request.store(0, Relaxed);
        self.tx.fetch_add(bytes_sent, Relaxed);
        if failed {
            self.exceptions.fetch_add(1, Relaxed);
        }
        // Another thread of the worker still in a request keeps it busy.
        let back_to = match back_to {
            Status::Idle if self.any_in_request() => Status::Busy,
            other => other,
        };
        self.status.store(back_to as u8, Relaxed);
    }

    /// When the oldest request in progress started (µs since epoch), if any: with
    /// `--threads` each thread's request has its own start, and harakiri goes by the
    /// oldest.
    pub fn request_start_us(&self) -> Option<u64> {
        self.running_starts().chain(self.pending_start()).min()
    }

    /// When the oldest exchange in progress started, if one is.
    fn pending_start(&self) -> Option<u64> {
        Some(self.pending_since_us.load(Relaxed)).filter(|&t| t > 0)
    }

    /// Time spent in requests so far (µs), the requests in progress included (as of
    /// `now`, µs since epoch).
    pub fn busy_us(&self, now: u64) -> u64 {
        let running: u64 = self.running_starts().map(|t| now.saturating_sub(t)).sum();
        self.running_time_us() + running
    }

    /// The cores the worker's threads took so far (at least the first).
    fn used_cores(&self) -> &[Core] {
        self.cores(self.cores_taken.load(Relaxed) as usize)
    }

    /// Start times (µs since epoch) of the requests in progress, one per busy thread.
    fn running_starts(&self) -> impl Iterator<Item = u64> + '_ {
        self.used_cores()
            .iter()
            .map(|core| core.start_us.load(Relaxed))
            .filter(|&t| t > 0)
    }

    /// "METHOD URI" of the oldest request in progress (the one harakiri is about; with
    /// one thread, the request in progress), or of the last one started when none runs.
    /// May be torn if read mid-write.
    pub fn current(&self) -> String {
        let oldest_core = self.running_starts().min();
        if let Some(pending) = self.pending_start() {
            if oldest_core.is_none_or(|core| pending < core) {
                let len = (self.pending_len.load(Relaxed) as usize).min(CURRENT_LEN);
                // SAFETY: a racy read of plain bytes, used only for a log line.
                let buf = unsafe { &*self.pending_current.get() };
                return String::from_utf8_lossy(&buf[..len]).into_owned();
            }
        }
        let cores = self.used_cores();
        let core = cores
            .iter()
            .filter(|c| c.start_us.load(Relaxed) > 0)
            .min_by_key(|c| c.start_us.load(Relaxed))
            .unwrap_or(&cores[0]);
        let len = (core.current_len.load(Relaxed) as usize).min(CURRENT_LEN);
        // SAFETY: a racy read of plain bytes, used only for a log line.
        let buf = unsafe { &*core.current.get() };
        String::from_utf8_lossy(&buf[..len]).into_owned()
    }

    /// Requests finished.
    pub fn requests(&self) -> u64 {
        self.requests.load(Relaxed)
    }

    /// Requests that ended in an app error.
    pub fn exceptions(&self) -> u64 {
        self.exceptions.load(Relaxed)
    }

    /// Response body bytes produced.
    pub fn tx(&self) -> u64 {
        self.tx.load(Relaxed)
    }

    /// Time spent in requests, in microseconds (uWSGI's `running_time`).
    pub fn running_time_us(&self) -> u64 {
        self.total_rt_us.load(Relaxed)
    }

    /// Counters of the first `n` cores (threads).
    pub fn cores(&self, n: usize) -> &[Core] {
        &self.cores[..n.clamp(1, MAX_CORES)]
    }

    /// True while any thread of the worker runs a request.
    pub fn any_in_request(&self) -> bool {
        self.used_cores().iter().any(Core::in_request)
    }

    /// Average response time in microseconds.
    pub fn avg_rt_us(&self) -> u64 {
        self.total_rt_us
            .load(Relaxed)
            .checked_div(self.requests())
            .unwrap_or(0)
    }

    /// When the process was forked (µs since epoch).
    pub fn spawned_at_us(&self) -> u64 {
        self.spawned_at_us.load(Relaxed)
    }

    /// True once the worker asked for a replacement (stays set while it keeps serving).
    pub fn recycle_asked(&self) -> bool {
        self.recycle_asked.load(Relaxed) != 0
    }

    /// The worker asks for a replacement once; true the first time.
    pub fn ask_recycle(&self) -> bool {
        self.recycle_asked.swap(1, Relaxed) == 0
    }
}

/// The shared mapping.
pub struct Scoreboard {
    cells: &'static [Cell],
}

impl Scoreboard {
    /// Maps `n` zeroed cells shared with every future child.
    pub fn new(n: usize) -> std::io::Result<Scoreboard> {
        let bytes = n.max(1) * std::mem::size_of::<Cell>();
        // Zero-filled, and every field of `Cell` is valid when zeroed.
        let ptr = rsgi_process_lock::shared_mapping(bytes)?;
        // SAFETY: the mapping holds `n` cells and is never unmapped.
        let cells = unsafe { std::slice::from_raw_parts(ptr.as_ptr().cast::<Cell>(), n.max(1)) };
        Ok(Scoreboard { cells })
    }

    /// All cells.
    pub fn cells(&self) -> &'static [Cell] {
        self.cells
    }

    /// A cell that no process owns, if any.
    pub fn free_cell(&self) -> Option<usize> {
        self.cells.iter().position(|c| c.pid() == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_tracked_from_start_to_finish() {
        let sb = Scoreboard::new(2).unwrap();
        let cell = &sb.cells()[0];
        cell.claim(42, 1);
        assert_eq!(cell.status(), Status::Starting);
        cell.request_started(b"GET", b"/slow?x=1");
        assert_eq!(cell.status(), Status::Busy);
        assert_eq!(cell.current(), "GET /slow?x=1");
        assert!(cell.request_start_us().is_some());
        cell.request_finished(13, false, Status::Idle);
        assert_eq!(
            (cell.requests(), cell.tx(), cell.status()),
            (1, 13, Status::Idle)
        );
        assert_eq!(cell.request_start_us(), None);
        assert_eq!(sb.free_cell(), Some(1));
    }

    #[test]
    fn each_thread_counts_on_its_own_core() {
        let sb = Scoreboard::new(1).unwrap();
        let cell = &sb.cells()[0];
        cell.claim(42, 1);
        cell.request_started(b"GET", b"/");
        assert!(cell.any_in_request());
        cell.request_finished(1, false, Status::Idle);
        std::thread::scope(|s| {
            s.spawn(|| {
                for _ in 0..3 {
                    cell.request_started(b"GET", b"/");
                    cell.request_finished(1, false, Status::Idle);
                }
            });
        });
        let counts: Vec<u64> = cell.cores(3).iter().map(Core::requests).collect();
        assert_eq!(counts, vec![1, 3, 0]);
        assert!(!cell.any_in_request());
        assert_eq!(cell.requests(), 4);
        cell.claim(43, 1);
        assert_eq!(
            cell.cores(1)[0].requests(),
            0,
            "a new process starts from zero"
        );
    }

    /// With threads, one thread ending its request leaves the other's start time (for
    /// harakiri) and counts its own duration.
    #[test]
    fn each_thread_keeps_its_own_request_start() {
        let sb = Scoreboard::new(1).unwrap();
        let cell = &sb.cells()[0];
        cell.claim(42, 1);
        cell.request_started(b"GET", b"/long");
        let first = cell.request_start_us().unwrap();
        std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(std::time::Duration::from_millis(5));
                cell.request_started(b"GET", b"/short");
                std::thread::sleep(std::time::Duration::from_millis(5));
                assert_eq!(cell.request_start_us(), Some(first), "the oldest counts");
                assert_eq!(cell.current(), "GET /long", "and names its request");
                cell.request_finished(1, false, Status::Idle);
                assert_eq!(
                    cell.status(),
                    Status::Busy,
                    "the other thread is still busy"
                );
            });
        });
        assert_eq!(
            cell.request_start_us(),
            Some(first),
            "the long one still runs"
        );
        let short = cell.running_time_us();
        assert!(
            (5_000..1_000_000).contains(&short),
            "{short} us: the short one's own time"
        );
        assert!(
            cell.busy_us(now_us()) >= short + 10_000,
            "the running one counts too"
        );
        cell.request_finished(1, false, Status::Idle);
        assert_eq!(cell.request_start_us(), None);
        assert_eq!(cell.status(), Status::Idle);
    }

    #[test]
    fn long_uris_are_cut_to_the_cell_size() {
        let sb = Scoreboard::new(1).unwrap();
        let uri = vec![b'a'; 1000];
        sb.cells()[0].request_started(b"POST", &uri);
        assert_eq!(sb.cells()[0].current().len(), CURRENT_LEN);
    }

    #[test]
    fn the_mapping_is_shared_with_a_child_process() {
        let sb = Scoreboard::new(1).unwrap();
        // SAFETY: the child only touches the shared cell and exits.
        match unsafe { libc::fork() } {
            0 => {
                sb.cells()[0].request_finished(7, true, Status::Idle);
                unsafe { libc::_exit(0) };
            }
            pid => {
                let mut status = 0;
                unsafe { libc::waitpid(pid, &mut status, 0) };
                assert_eq!(
                    (sb.cells()[0].requests(), sb.cells()[0].exceptions()),
                    (1, 1)
                );
            }
        }
    }

    #[test]
    fn an_exchange_in_progress_counts_as_the_oldest_request_when_it_is() {
        let board = Scoreboard::new(1).unwrap();
        let cell = &board.cells()[0];
        cell.claim(1, 1);
        assert_eq!(cell.request_start_us(), None);
        cell.set_pending(3, Some((1_000, b"GET", b"/slow")));
        assert_eq!(cell.pending(), 3);
        assert_eq!(cell.request_start_us(), Some(1_000));
        assert_eq!(cell.current(), "GET /slow");
        cell.request_started(b"POST", b"/now");
        assert_eq!(
            cell.request_start_us(),
            Some(1_000),
            "the exchange is older"
        );
        assert_eq!(cell.current(), "GET /slow");
        cell.set_pending(0, None);
        assert_eq!(cell.current(), "POST /now");
    }
}
