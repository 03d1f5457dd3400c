//! Everything that can stop the host, and the exit code each one maps to.

use std::path::PathBuf;

use crate::exit::ExitCode;

/// A failure that ends the `rsgi` process.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// A bad, missing or unknown option (command line, environment or config file).
    #[error("{0}")]
    Usage(String),
    /// A plugin could not be found or loaded.
    #[error("{0}")]
    Plugin(String),
    /// The config file could not be read or parsed.
    #[error("config file {path}: {message}")]
    ConfigFile {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
    /// A listening socket could not be set up.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address as the user wrote it.
        addr: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The app could not be loaded and `--need-app` is set.
    #[error("{0}")]
    AppLoad(String),
    /// Any other failure at run time.
    #[error("{0}")]
    Runtime(String),
}

impl HostError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            HostError::Usage(_) | HostError::Plugin(_) | HostError::ConfigFile { .. } => {
                ExitCode::Usage
            }
            HostError::AppLoad(_) => ExitCode::AppLoadFailed,
            HostError::Listen { .. } | HostError::Runtime(_) => ExitCode::Failure,
        }
    }
}
