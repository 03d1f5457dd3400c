//! `--logto FILE` and `--daemonize FILE`, as in uWSGI: the process's stdout and stderr go
//! to FILE (appended to, created `0640`), so the master's and the workers' lines and
//! whatever the app prints land there; `--daemonize` also detaches from the terminal
//! first. Under systemd or a container runtime neither is needed: stderr is kept.
//!
//! A graceful reload re-executes the master, which opens FILE again: a log rotated away
//! (`mv`) is replaced by a new file at `kill -HUP`, as uWSGI's `log-reopen` does; workers
//! started by the reload write to the new file, retiring ones to the old until they exit.
//! `logrotate`'s `copytruncate` works without a reload.
//!
//! Without a reload, the file is opened again by every process of rsgi (master, workers)
//! on the master FIFO's `l` or when a `--touch-logreopen` file is touched (logrotate's
//! `postrotate`), and `--log-maxsize BYTES` has the master move it to `FILE.<unix time>`
//! (uWSGI's name) and reopen when it grew past BYTES. The master tells the workers with
//! SIGWINCH (ignored by default, so a worker still starting cannot die of it). Processes
//! started by `--attach-daemon` keep the file they started with until they restart.

use std::fs::{File, OpenOptions};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use nix::unistd::{dup2_stderr, dup2_stdin, dup2_stdout, fork, setsid, ForkResult};

use crate::error::HostError;

/// Where the output goes, and whether to detach first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogTarget {
    /// `--logto FILE`.
    File(std::path::PathBuf),
    /// `--daemonize FILE`: detach, then log to FILE.
    Daemon(std::path::PathBuf),
}

impl LogTarget {
    /// The file.
    pub fn path(&self) -> &Path {
        match self {
            LogTarget::File(path) | LogTarget::Daemon(path) => path,
        }
    }
}

/// Opens `path` again (creating it) and points stdout and stderr at it.
pub fn reopen(path: &Path) -> Result<(), String> {
    let file = open(path).map_err(|e| e.to_string())?;
    redirect_output(&file).map_err(|e| format!("cannot log to {}: {e}", path.display()))
}

/// `--log-maxsize`: when `path` has grown past `max` bytes, moves it to
/// `PATH.<unix time>` and opens a new one; returns the name it was moved to.
pub fn rotate_if_over(path: &Path, max: u64) -> Result<Option<std::path::PathBuf>, String> {
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if size <= max {
        return Ok(None);
    }
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut rotated = path.as_os_str().to_owned();
    rotated.push(format!(".{secs}"));
    let rotated = std::path::PathBuf::from(rotated);
    std::fs::rename(path, &rotated).map_err(|e| {
        format!(
            "cannot move {} to {}: {e}",
            path.display(),
            rotated.display()
        )
    })?;
    reopen(path)?;
    Ok(Some(rotated))
}

/// Sends stdout and stderr to the target's file, detaching first for `--daemonize` unless
/// this master was re-executed by a reload (it is detached already). Call while the
/// process has one thread (it may fork) and before anything that should be logged there.
pub fn apply(target: &LogTarget, reexecuted: bool) -> Result<(), HostError> {
    let (path, detach) = match target {
        LogTarget::File(path) => (path, false),
        LogTarget::Daemon(path) => (path, !reexecuted),
    };
    // Opened before detaching, so that a bad path is reported on the terminal with exit 1.
    let file = open(path)?;
    if detach {
        tracing::info!("daemonizing: logging to {}", path.display());
        detach_from_terminal()?;
    }
    redirect_output(&file)
        .map_err(|e| HostError::Runtime(format!("cannot log to {}: {e}", path.display())))?;
    tracing::info!("logging to {}", path.display());
    Ok(())
}

/// Opens `path` for appending, created `0640` (also `--req-logger`'s file).
pub fn open_append(path: &Path) -> Result<File, String> {
    open(path).map_err(|e| e.to_string())
}

fn open(path: &Path) -> Result<File, HostError> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o640)
        .open(path)
        .map_err(|e| HostError::Runtime(format!("cannot open log file {}: {e}", path.display())))
}

/// Forks; the parent exits 0 at once (the shell or init script gets its prompt back), the
/// child leaves the terminal's session and reads from `/dev/null`.
fn detach_from_terminal() -> Result<(), HostError> {
    // SAFETY: the process has one thread here (no plugin has started a runtime yet).
    match unsafe { fork() } {
        Ok(ForkResult::Parent { .. }) => std::process::exit(0),
        Ok(ForkResult::Child) => {}
        Err(e) => return Err(HostError::Runtime(format!("cannot daemonize: fork: {e}"))),
    }
    setsid().map_err(|e| HostError::Runtime(format!("cannot daemonize: setsid: {e}")))?;
    let null = File::open("/dev/null")
        .map_err(|e| HostError::Runtime(format!("cannot daemonize: /dev/null: {e}")))?;
    dup2_stdin(null.as_fd())
        .map_err(|e| HostError::Runtime(format!("cannot daemonize: stdin: {e}")))?;
    Ok(())
}

fn redirect_output(file: &File) -> nix::Result<()> {
    dup2_stdout(file.as_fd())?;
    dup2_stderr(file.as_fd())?;
    // `file` is never fd 0-2 itself (which closing it would then close): Rust's runtime
    // opens /dev/null on any of them that were closed when the process started.
    Ok(())
}
