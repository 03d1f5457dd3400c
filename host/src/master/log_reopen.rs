//! The master's part in reopening `--logto`'s file without a reload: on the FIFO's `l`
//! or a touched `--touch-logreopen` file ([`super::command::Command::ReopenLog`]), and
//! for `--log-maxsize`, about once a second, a look at the file's size. Either way the
//! master opens the file again itself and the caller tells the workers (SIGWINCH).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::log_file;

/// How often `--log-maxsize` looks at the file.
const LOOK_EVERY: Duration = Duration::from_secs(1);

/// The log file and its size limit.
#[derive(Debug)]
pub struct LogReopen {
    path: Option<PathBuf>,
    max_size: Option<u64>,
    last_look: Instant,
    /// The workers write request lines to a file of their own (`--req-logger`).
    request_log_file: bool,
}

impl LogReopen {
    /// For the `--logto`/`--daemonize` file `path` (none: nothing to do), rotated past
    /// `max_size` bytes when given; `request_log_file` when the workers have a
    /// `--req-logger` file to open again too.
    pub fn new(path: Option<PathBuf>, max_size: Option<u64>, request_log_file: bool) -> Self {
        LogReopen {
            path,
            max_size,
            last_look: Instant::now(),
            request_log_file,
        }
    }

    /// Opens the file again (it was moved or removed); true when the workers should too
    /// (they also open a `--req-logger` file again).
    pub fn reopen(&self) -> bool {
        let Some(path) = &self.path else {
            if !self.request_log_file {
                tracing::warn!("log reopen asked, but the log is not a file (--logto)");
            }
            return self.request_log_file;
        };
        match log_file::reopen(path) {
            Ok(()) => {
                tracing::info!("log file {} opened again", path.display());
                true
            }
            Err(e) => {
                tracing::error!("cannot reopen the log: {e}");
                self.request_log_file
            }
        }
    }

    /// `--log-maxsize`: rotates the file when it is too big; true when it was (the
    /// workers should reopen).
    pub fn rotate_if_due(&mut self) -> bool {
        let (Some(path), Some(max)) = (&self.path, self.max_size) else {
            return false;
        };
        if self.last_look.elapsed() < LOOK_EVERY {
            return false;
        }
        self.last_look = Instant::now();
        match log_file::rotate_if_over(path, max) {
            Ok(Some(rotated)) => {
                tracing::info!(
                    "log file went past --log-maxsize {max} bytes: moved to {}",
                    rotated.display()
                );
                true
            }
            Ok(None) => false,
            Err(e) => {
                tracing::error!("--log-maxsize: {e}");
                false
            }
        }
    }
}
