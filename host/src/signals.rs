//! The self-pipe: signal handlers write one byte (the signal number) and return; the master
//! loop and the worker event loop read the pipe and decide what to do.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use nix::fcntl::OFlag;
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

/// The write end, read by the handler (the only global the handler may touch).
static WRITE_FD: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(signo: libc::c_int) {
    let fd = WRITE_FD.load(Ordering::Relaxed);
    if fd >= 0 {
        let byte = signo as u8;
        // SAFETY: write(2) is async-signal-safe; a full pipe just drops the byte.
        unsafe {
            libc::write(fd, (&byte as *const u8).cast(), 1);
        }
    }
}

/// A process's signal pipe. One per process: a new one (in a forked child) replaces the old.
pub struct SignalPipe {
    read: OwnedFd,
    _write: OwnedFd,
}

impl SignalPipe {
    /// Creates the pipe and routes `signals` to it (with `SA_RESTART`).
    pub fn install(signals: &[Signal]) -> nix::Result<SignalPipe> {
        let (read, write) = nix::unistd::pipe2(OFlag::O_NONBLOCK | OFlag::O_CLOEXEC)?;
        WRITE_FD.store(write.as_raw_fd(), Ordering::SeqCst);
        let action = SigAction::new(
            SigHandler::Handler(on_signal),
            SaFlags::SA_RESTART,
            SigSet::empty(),
        );
        for &sig in signals {
            // SAFETY: the handler only performs an async-signal-safe write.
            unsafe { sigaction(sig, &action)? };
        }
        Ok(SignalPipe {
            read,
            _write: write,
        })
    }

    /// The read end, for registering with an event loop.
    pub fn fd(&self) -> RawFd {
        self.read.as_raw_fd()
    }

    /// Every signal received since the last call, in order.
    pub fn drain(&self) -> Vec<Signal> {
        let mut out = Vec::new();
        let mut buf = [0u8; 64];
        loop {
            match nix::unistd::read(&self.read, &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend(
                    buf[..n]
                        .iter()
                        .filter_map(|&b| Signal::try_from(b as i32).ok()),
                ),
            }
        }
        out
    }

    /// Waits up to `timeout` for a signal or for one of `watch` to become readable, then
    /// drains the signals. Returns them with the fds of `watch` that are ready.
    pub fn wait_with(&self, timeout: Duration, watch: &[RawFd]) -> Woken {
        let mut pfds: Vec<libc::pollfd> = std::iter::once(self.fd())
            .chain(watch.iter().copied())
            .map(|fd| libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: `pfds` holds `pfds.len()` valid pollfds (a negative fd is ignored).
        let n = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ms) };
        let ready = if n > 0 {
            pfds[1..]
                .iter()
                .filter(|p| p.revents != 0)
                .map(|p| p.fd)
                .collect()
        } else {
            Vec::new()
        };
        Woken {
            signals: self.drain(),
            ready,
        }
    }
}

/// What ended a [`SignalPipe::wait_with`].
#[derive(Debug, Default)]
pub struct Woken {
    /// Signals received, in order.
    pub signals: Vec<Signal>,
    /// Watched fds that are readable (or hung up).
    pub ready: Vec<RawFd>,
}

/// Restores the default action of `signals` (in a new worker, before installing its own).
pub fn reset(signals: &[Signal]) {
    for &sig in signals {
        // SAFETY: SIG_DFL is always a valid disposition.
        unsafe {
            let _ = sigaction(
                sig,
                &SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty()),
            );
        }
    }
}

/// The set holding `signals`.
pub fn set_of(signals: &[Signal]) -> SigSet {
    let mut set = SigSet::empty();
    for &s in signals {
        set.add(s);
    }
    set
}

/// Blocks `signals` for the calling thread; returns the set to pass to [`unblock`].
pub fn block(signals: &[Signal]) -> SigSet {
    let set = set_of(signals);
    let _ = set.thread_block();
    set
}

/// Unblocks `set` for the calling thread (pending signals are delivered now).
pub fn unblock(set: &SigSet) {
    let _ = set.thread_unblock();
}

/// Ignores SIGPIPE: a client that hangs up must be an `EPIPE`, not a dead process.
pub fn ignore_sigpipe() {
    // SAFETY: SIG_IGN is always a valid disposition.
    unsafe {
        let _ = sigaction(
            Signal::SIGPIPE,
            &SigAction::new(SigHandler::SigIgn, SaFlags::empty(), SigSet::empty()),
        );
    }
}
