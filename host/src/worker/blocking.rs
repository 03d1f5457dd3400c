//! Blocking reads and writes on a non-blocking socket, bounded by a timeout (`poll(2)`).
//!
//! The app runs on the event-loop thread; while it reads a body or writes a large response
//! the loop waits with it, so these calls wait for readiness themselves.

use std::io;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

/// Waits until `fd` is ready for `events` or `deadline` passes.
fn wait(fd: RawFd, events: libc::c_short, deadline: Instant) -> io::Result<()> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "socket timeout"));
        }
        let mut pfd = libc::pollfd {
            fd,
            events,
            revents: 0,
        };
        let ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd for the duration of the call.
        let n = unsafe { libc::poll(&mut pfd, 1, ms) };
        if n < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        if n > 0 {
            return Ok(());
        }
    }
}

/// One non-blocking `read(2)`.
pub fn read_some(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        // SAFETY: buf is valid for buf.len() bytes.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// One non-blocking `send(2)` (no SIGPIPE).
///
/// `last`: these are the connection's last bytes and a `close()` follows at once. They are
/// sent with MSG_MORE, which holds them for that close, so the kernel sends data and FIN
/// in one segment instead of two (behind nginx, one TCP connection per request, that is
/// one loopback packet fewer to send, receive and acknowledge per request).
pub fn write_some(fd: RawFd, buf: &[u8], last: bool) -> io::Result<usize> {
    let flags = if last {
        libc::MSG_NOSIGNAL | libc::MSG_MORE
    } else {
        libc::MSG_NOSIGNAL
    };
    loop {
        // SAFETY: buf is valid for buf.len() bytes.
        let n = unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), flags) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) => continue,
            // A Unix stream socket answers ENOTSOCK for send() on some setups; fall back.
            Some(libc::ENOTSOCK) => {
                // SAFETY: as above.
                let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
                return if n >= 0 {
                    Ok(n as usize)
                } else {
                    Err(io::Error::last_os_error())
                };
            }
            _ => return Err(err),
        }
    }
}

/// Reads at least one byte (or EOF = 0), waiting up to `timeout`.
pub fn read_blocking(fd: RawFd, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
    let deadline = Instant::now() + timeout;
    loop {
        match read_some(fd, buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => wait(fd, libc::POLLIN, deadline)?,
            other => return other,
        }
    }
}

/// Writes all of `buf`, waiting up to `timeout` for the client to make room.
pub fn write_all_blocking(fd: RawFd, mut buf: &[u8], timeout: Duration) -> io::Result<()> {
    let deadline = Instant::now() + timeout;
    while !buf.is_empty() {
        match write_some(fd, buf, false) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => wait(fd, libc::POLLOUT, deadline)?,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Sends `len` bytes of `file_fd` from `offset` with `sendfile(2)`, waiting as needed.
/// Returns the bytes sent (less than `len` only if the file is shorter).
pub fn sendfile_blocking(
    out: RawFd,
    file_fd: RawFd,
    offset: u64,
    len: u64,
    timeout: Duration,
) -> io::Result<u64> {
    let deadline = Instant::now() + timeout;
    let mut off = offset as libc::off_t;
    let mut left = len;
    while left > 0 {
        let chunk = left.min(1 << 30) as usize;
        // SAFETY: valid fds; `off` is updated by the kernel.
        let n = unsafe { libc::sendfile(out, file_fd, &mut off, chunk) };
        if n > 0 {
            left -= n as u64;
            continue;
        }
        if n == 0 {
            break;
        }
        let err = io::Error::last_os_error();
        match err.kind() {
            io::ErrorKind::Interrupted => continue,
            io::ErrorKind::WouldBlock => wait(out, libc::POLLOUT, deadline)?,
            _ => return Err(err),
        }
    }
    Ok(len - left)
}
