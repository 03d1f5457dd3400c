//! uWSGI's `--umask MASK`, `--limit-as MB` and `--max-fd N`: the file-creation mask and
//! resource limits of the master, set at start (before sockets are bound and before the
//! app loads), so every worker forked after inherits them.

use nix::sys::resource::{setrlimit, Resource};
use nix::sys::stat::{umask, Mode};

use crate::error::HostError;

/// The `--umask`, `--limit-as`, `--max-fd` values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcessLimits {
    /// File-creation mask (`--umask 027`, octal).
    pub umask: Option<u32>,
    /// Address-space limit in bytes (`--limit-as MB`; RLIMIT_AS).
    pub address_space: Option<u64>,
    /// Most open files (`--max-fd N`; RLIMIT_NOFILE).
    pub open_files: Option<u64>,
}

/// Reads an octal mask (`022`, `0o027`).
pub fn parse_umask(value: &str) -> Result<u32, HostError> {
    let digits = value.trim().trim_start_matches("0o");
    u32::from_str_radix(digits, 8)
        .ok()
        .filter(|m| *m <= 0o777)
        .ok_or_else(|| {
            HostError::Usage(format!(
                "invalid value '{value}' for --umask: expected octal, e.g. 022"
            ))
        })
}

fn set_limit(resource: Resource, value: u64, option: &str) -> Result<(), HostError> {
    setrlimit(resource, value, value)
        .map_err(|e| HostError::Runtime(format!("--{option} {value}: {e}")))
}

impl ProcessLimits {
    /// Applies what was given, logging each.
    pub fn apply(&self) -> Result<(), HostError> {
        if let Some(mask) = self.umask {
            umask(Mode::from_bits_truncate(mask as nix::libc::mode_t));
            tracing::info!("umask {mask:03o}");
        }
        if let Some(bytes) = self.address_space {
            set_limit(Resource::RLIMIT_AS, bytes, "limit-as")?;
            tracing::info!("address space limited to {} MB", bytes >> 20);
        }
        if let Some(n) = self.open_files {
            set_limit(Resource::RLIMIT_NOFILE, n, "max-fd")?;
            tracing::info!("open files limited to {n}");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn umasks_are_octal() {
        assert_eq!(parse_umask("022").unwrap(), 0o22);
        assert_eq!(parse_umask("0o027").unwrap(), 0o27);
        assert_eq!(parse_umask("7").unwrap(), 0o7);
        for bad in ["8", "1000", "abc", ""] {
            assert!(
                parse_umask(bad)
                    .unwrap_err()
                    .to_string()
                    .contains("--umask"),
                "{bad}"
            );
        }
    }
}
