//! Graceful reload by re-exec: the master replaces its own image with a fresh `rsgi`
//! (the binary on disk now, with the same arguments), handing over its listening sockets
//! and its workers. The new master loads the new code and forks new workers; the old
//! workers keep serving until the new ones accept, then finish their in-flight requests
//! and exit. The sockets never close, so no connection is refused.

use std::os::fd::RawFd;
use std::os::unix::process::CommandExt;

use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use nix::unistd::Pid;

use crate::listen::Listener;

/// Listening fds handed across the re-exec, in socket order.
pub const ENV_FDS: &str = "RSGI_INHERITED_FDS";
/// Those of the listening fds that systemd passed at the first start (socket activation).
pub const ENV_ACTIVATED: &str = "RSGI_ACTIVATED_FDS";
/// Old workers (`pid:slot,...`) handed across the re-exec.
pub const ENV_WORKERS: &str = "RSGI_RETIRING_WORKERS";
/// `--attach-daemon` processes asked to stop (`pid,...`), handed across the re-exec.
pub const ENV_DAEMONS: &str = "RSGI_STOPPING_DAEMONS";

fn set_cloexec(fd: RawFd, on: bool) {
    // SAFETY: the fd stays owned by its Listener; only its flags change.
    let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    let flags = if on {
        FdFlag::FD_CLOEXEC
    } else {
        FdFlag::empty()
    };
    let _ = fcntl(borrowed, FcntlArg::F_SETFD(flags));
}

/// The binary to re-exec: the path we were started from (a replaced binary is picked up).
fn executable() -> std::io::Result<std::path::PathBuf> {
    let exe = std::env::current_exe()?;
    let text = exe.to_string_lossy();
    Ok(match text.strip_suffix(" (deleted)") {
        Some(stripped) => stripped.into(),
        None => exe,
    })
}

/// Re-executes the master. Returns only if the exec failed (the master carries on).
pub fn reexec(listeners: &[Listener], workers: &[(Pid, u32)], daemons: &[Pid]) -> std::io::Error {
    let exe = match executable() {
        Ok(e) => e,
        Err(e) => return e,
    };
    let fds: Vec<String> = listeners.iter().map(|l| l.fd().to_string()).collect();
    let activated: Vec<String> = listeners
        .iter()
        .filter(|l| l.activated)
        .map(|l| l.fd().to_string())
        .collect();
    let olds: Vec<String> = workers
        .iter()
        .map(|(pid, slot)| format!("{pid}:{slot}"))
        .collect();
    for l in listeners {
        set_cloexec(l.fd(), false);
    }
    // As started: std::env::args() would read the process title (crate::proctitle).
    let args: Vec<String> = crate::proctitle::original_args()
        .into_iter()
        .skip(1)
        .collect();
    tracing::info!(
        "graceful reload: re-executing {} with {} socket(s), {} old worker(s) finishing",
        exe.display(),
        fds.len(),
        olds.len()
    );
    // The new image starts with default signal actions; a worker's SIGUSR2 ("I accept")
    // or a SIGTTIN arriving before it has installed its handlers would kill or stop it.
    // The signal mask survives exec: keep the master's signals blocked (pending, not
    // lost) until the new master has its handlers (main unblocks them).
    let blocked = crate::signals::block(super::MASTER_SIGNALS);
    // Relative paths in the arguments are relative to where rsgi started, not to --chdir.
    let here = std::env::current_dir().ok();
    if let Some(start) = crate::process_env::start_dir() {
        let _ = std::env::set_current_dir(start);
    }
    let err = std::process::Command::new(&exe)
        .args(&args)
        .env(ENV_FDS, fds.join(","))
        .env(ENV_ACTIVATED, activated.join(","))
        .env(ENV_WORKERS, olds.join(","))
        .env(
            ENV_DAEMONS,
            daemons
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(","),
        )
        .exec();
    if let Some(here) = here {
        let _ = std::env::set_current_dir(here);
    }
    crate::signals::unblock(&blocked);
    for l in listeners {
        set_cloexec(l.fd(), true);
    }
    err
}

/// What a re-executed master inherited (and removes the variables so workers don't see them).
pub struct Inherited {
    /// Listening fds in socket order.
    pub fds: Option<Vec<RawFd>>,
    /// Those of `fds` that systemd passed at the first start.
    pub activated: Vec<RawFd>,
    /// Old workers and the slot each served.
    pub workers: Vec<(Pid, u32)>,
    /// `--attach-daemon` processes of the old master, asked to stop.
    pub daemons: Vec<Pid>,
}

/// Whether this master was started by a reload's re-exec (before `take_inherited`).
pub fn is_reexec() -> bool {
    std::env::var_os(ENV_FDS).is_some()
}

/// Reads and clears the re-exec variables.
pub fn take_inherited() -> Inherited {
    let fds = std::env::var(ENV_FDS)
        .ok()
        .filter(|v| !v.is_empty())
        .map(|v| v.split(',').filter_map(|s| s.parse().ok()).collect());
    let activated = std::env::var(ENV_ACTIVATED)
        .map(|v| v.split(',').filter_map(|s| s.parse().ok()).collect())
        .unwrap_or_default();
    let workers = std::env::var(ENV_WORKERS)
        .ok()
        .map(|v| {
            v.split(',')
                .filter_map(|pair| {
                    let (pid, slot) = pair.split_once(':')?;
                    Some((Pid::from_raw(pid.parse().ok()?), slot.parse().ok()?))
                })
                .collect()
        })
        .unwrap_or_default();
    let daemons = std::env::var(ENV_DAEMONS)
        .ok()
        .map(|v| {
            v.split(',')
                .filter_map(|pid| Some(Pid::from_raw(pid.parse().ok()?)))
                .collect()
        })
        .unwrap_or_default();
    // The master is still single-threaded here.
    std::env::remove_var(ENV_FDS);
    std::env::remove_var(ENV_ACTIVATED);
    std::env::remove_var(ENV_WORKERS);
    std::env::remove_var(ENV_DAEMONS);
    Inherited {
        fds,
        activated,
        workers,
        daemons,
    }
}
