//! Collect every worker that exited: `waitpid(-1, WNOHANG)` until none is left.

use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Death {
    /// It exited with this code.
    Exited(i32),
    /// A signal killed it.
    Killed(Signal),
}

impl std::fmt::Display for Death {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Death::Exited(code) => write!(f, "exit status {code}"),
            Death::Killed(sig) => write!(f, "killed by signal {} ({sig})", *sig as i32),
        }
    }
}

/// Every child that has exited, without blocking.
pub fn reap() -> Vec<(Pid, Death)> {
    let mut out = Vec::new();
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) => out.push((pid, Death::Exited(code))),
            Ok(WaitStatus::Signaled(pid, sig, _)) => out.push((pid, Death::Killed(sig))),
            Ok(WaitStatus::StillAlive) | Err(_) => break,
            Ok(_) => continue,
        }
    }
    out
}
