//! The master FIFO (`--master-fifo PATH`): write a letter to it to command the master
//! (`echo r > /run/rsgi.fifo`), as with uWSGI.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use super::command::Command;

/// An open master FIFO.
pub struct MasterFifo {
    path: PathBuf,
    fd: OwnedFd,
}

impl MasterFifo {
    /// Creates (replacing a stale one) and opens the FIFO at `path`.
    pub fn open(path: &Path) -> std::io::Result<MasterFifo> {
        if let Ok(meta) = std::fs::symlink_metadata(path) {
            use std::os::unix::fs::FileTypeExt;
            if meta.file_type().is_fifo() {
                std::fs::remove_file(path)?;
            }
        }
        let c = CString::new(path.as_os_str().as_encoded_bytes()).map_err(std::io::Error::other)?;
        // SAFETY: a valid NUL-terminated path.
        if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // Read-write, so the FIFO never reports end-of-file when a writer goes away.
        // SAFETY: as above; the fd is owned from here on.
        let fd = unsafe {
            libc::open(
                c.as_ptr(),
                libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(MasterFifo {
            path: path.to_path_buf(),
            // SAFETY: a freshly opened fd nobody else owns.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// The fd to poll.
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Commands written since the last call; unknown bytes are logged and skipped.
    pub fn drain(&self) -> Vec<Command> {
        let mut out = Vec::new();
        let mut buf = [0u8; 64];
        loop {
            match nix::unistd::read(&self.fd, &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    for &b in &buf[..n] {
                        match Command::from_fifo(b) {
                            Some(c) => out.push(c),
                            None if b.is_ascii_whitespace() => {}
                            None => tracing::warn!("master FIFO: unknown command {:?}", b as char),
                        }
                    }
                }
            }
        }
        out
    }
}

impl Drop for MasterFifo {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
