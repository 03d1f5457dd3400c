//! Fork a worker into a slot, running the app runtime's fork hooks around it.

use nix::unistd::{fork, ForkResult, Pid};

use super::Master;
use crate::worker;

/// Forks worker `id`. The child never returns from here: it serves and `_exit`s.
pub fn spawn(master: &Master, id: u32, cell: usize) -> nix::Result<Pid> {
    let app = master.app;
    let ctx = worker::app_context(&master.config, id);
    // Signals stay blocked across the fork: a signal reaching the child before it has its
    // own handlers would otherwise run the master's handler there (writing to the
    // master's pipe) and be lost. The child unblocks them once its handlers are in place.
    let master_pid = std::process::id();
    let blocked = crate::signals::block(super::MASTER_SIGNALS);
    (app.pre_fork())();
    // SAFETY: the master is single-threaded (no runtime, no threads before fork), and the
    // app runtime's pre_fork hook has prepared the interpreter for it.
    match unsafe { fork() } {
        Ok(ForkResult::Parent { child }) => {
            (app.post_fork_parent())();
            crate::signals::unblock(&blocked);
            Ok(child)
        }
        Ok(ForkResult::Child) => {
            if let Some(title) = master.config.procname.worker_title(id) {
                crate::proctitle::set(&title);
            }
            master.stats.close_in_child();
            (app.post_fork_child())(&ctx);
            let code = worker::run(worker::Setup {
                id,
                config: &master.config,
                plugins: &master.plugins,
                app,
                cell: &master.board.cells()[cell],
                listeners: &master.listeners,
                master_signals: super::MASTER_SIGNALS,
                master_pid,
            });
            // SAFETY: _exit skips the master's atexit handlers and destructors, which
            // belong to the master, not to this worker.
            unsafe { libc::_exit(code.code()) }
        }
        Err(e) => {
            (app.post_fork_parent())();
            crate::signals::unblock(&blocked);
            Err(e)
        }
    }
}
