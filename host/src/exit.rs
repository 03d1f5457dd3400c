//! Exit codes with meaning, for the master and for workers.

/// How `rsgi` (or one of its workers) exits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum ExitCode {
    /// Clean shutdown.
    Clean = 0,
    /// A runtime failure.
    Failure = 1,
    /// Usage or configuration error.
    Usage = 2,
    /// The app could not be loaded under `--need-app` (the same code in every mode).
    AppLoadFailed = 22,
}

impl ExitCode {
    /// The numeric code.
    pub fn code(self) -> i32 {
        self as i32
    }
}
