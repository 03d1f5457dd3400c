//! Fork a worker into a slot, running the app runtime's fork hooks around it.

use nix::unistd::{fork, ForkResult, Pid};

use super::Master;
use crate::worker;

/// Forks worker `id`. The child never returns from here: it serves and `_exit`s.
pub fn spawn(master: &Master, id: u32, cell: usize) -> nix::Result<Pid> {
    let app = master.app;
    let ctx = worker::app_context(&master.config, id);
    (app.pre_fork())();
    // SAFETY: the master is single-threaded (no runtime, no threads before fork), and the
    // app runtime's pre_fork hook has prepared the interpreter for it.
    match unsafe { fork() } {
        Ok(ForkResult::Parent { child }) => {
            (app.post_fork_parent())();
            Ok(child)
        }
        Ok(ForkResult::Child) => {
            (app.post_fork_child())(&ctx);
            let code = worker::run(worker::Setup {
                id,
                config: &master.config,
                plugins: &master.plugins,
                app,
                cell: &master.board.cells()[cell],
                listeners: &master.listeners,
                master_signals: super::MASTER_SIGNALS,
            });
            // SAFETY: _exit skips the master's atexit handlers and destructors, which
            // belong to the master, not to this worker.
            unsafe { libc::_exit(code.code()) }
        }
        Err(e) => {
            (app.post_fork_parent())();
            Err(e)
        }
    }
}
