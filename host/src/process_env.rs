//! The process's surroundings for the app: `--env` and `--unenv` variables and `--chdir`, applied once
//! the options are known and before sockets are bound or the app plugin starts; and the
//! directory rsgi was started in, which a reload's re-exec returns to so that relative
//! paths on its command line (`--config rsgi.toml`) mean what they meant at start.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::config::Config;
use crate::error::HostError;

static START_DIR: OnceLock<PathBuf> = OnceLock::new();

/// Remembers the current directory as the start directory (first call only).
pub fn remember_start_dir() {
    if let Ok(dir) = std::env::current_dir() {
        let _ = START_DIR.set(dir);
    }
}

/// The directory rsgi was started in, if it was known.
pub fn start_dir() -> Option<&'static Path> {
    START_DIR.get().map(PathBuf::as_path)
}

/// Sets the `--env` variables, removes the `--unenv` ones, then changes to `--chdir`. Call while the process has one
/// thread: the environment is not safe to change beside threads that read it.
pub fn apply(config: &Config) -> Result<(), HostError> {
    for (key, value) in &config.env {
        std::env::set_var(key, value);
    }
    for key in &config.unenv {
        std::env::remove_var(key);
    }
    if let Some(dir) = &config.chdir {
        std::env::set_current_dir(dir).map_err(|e| {
            HostError::Usage(format!("cannot change to --chdir {}: {e}", dir.display()))
        })?;
    }
    Ok(())
}
