//! A worker never outlives its master.
//!
//! If the master dies (SIGKILL, the OOM killer, a re-executed master that fails to start
//! after a reload), its workers would go on serving as orphans, holding the listening
//! sockets so that a restarted rsgi cannot take over cleanly. gunicorn's workers exit when
//! their parent changes and uWSGI's when the master is gone; an rsgi worker asks the kernel
//! for SIGTERM when its parent dies (`PR_SET_PDEATHSIG`), so it stops gracefully: requests
//! in flight finish, then it exits.

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

use nix::sys::signal::Signal;
use nix::unistd::getppid;

static MASTER_PID: AtomicU32 = AtomicU32::new(0);

/// Arranges SIGTERM for this worker when the master `master_pid` dies. Returns false when
/// the master is already gone (it died between `fork()` and this call).
pub fn follow_master(master_pid: u32) -> bool {
    MASTER_PID.store(master_pid, Relaxed);
    if let Err(e) = nix::sys::prctl::set_pdeathsig(Signal::SIGTERM) {
        tracing::warn!("cannot ask for a signal when the master dies: {e}");
    }
    !master_gone()
}

/// True once this worker's parent is no longer the master it was forked by.
pub fn master_gone() -> bool {
    let master = MASTER_PID.load(Relaxed);
    master != 0 && getppid().as_raw() as u32 != master
}

/// The master's pid, as given to [`follow_master`].
pub fn master_pid() -> u32 {
    MASTER_PID.load(Relaxed)
}
