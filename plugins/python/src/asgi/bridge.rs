//! From the host's threads to the event loop's: a queue and an eventfd the loop watches
//! (`loop.add_reader`). Pushing takes no GIL: the host's thread never waits for Python.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Mutex;

use rsgi_plugin_api::sdk::exchange::{Exchange, Readiness};

use super::incoming::Incoming;

/// What the loop's thread is told.
pub enum Event {
    /// A new request, with its id.
    Request(u64, Box<Incoming>, Exchange),
    /// The host woke request `id`'s exchange.
    Wake(u64, Readiness),
    /// The worker is stopping: run the lifespan's shutdown, then stop the loop.
    Stop,
}

/// The queue and its eventfd.
pub struct Bridge {
    queue: Mutex<Vec<Event>>,
    fd: OwnedFd,
}

impl Bridge {
    /// A new bridge (an eventfd, non-blocking, closed on exec).
    pub fn new() -> std::io::Result<Bridge> {
        // SAFETY: eventfd has no memory arguments; the fd is owned from here on.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Bridge {
            queue: Mutex::new(Vec::with_capacity(256)),
            // SAFETY: a new fd, owned by nothing else.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// The fd the loop watches for reading.
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Queues `event`; the eventfd is written only when the queue was empty (the loop has
    /// not been told about the ones already there yet, or is about to take them).
    pub fn push(&self, event: Event) {
        let first = {
            let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            queue.push(event);
            queue.len() == 1
        };
        if first {
            let one: u64 = 1;
            // SAFETY: writes 8 bytes from a local to our own eventfd. A full counter
            // (EAGAIN) means the loop has a wake-up pending anyway.
            unsafe { libc::write(self.fd(), (&one as *const u64).cast(), 8) };
        }
    }

    /// Takes every queued event into `out` (emptied first). Reads the eventfd first, so an
    /// event pushed after the read writes it again.
    pub fn take(&self, out: &mut Vec<Event>) {
        let mut count: u64 = 0;
        // SAFETY: reads 8 bytes into a local from our own non-blocking eventfd.
        unsafe { libc::read(self.fd(), (&mut count as *mut u64).cast(), 8) };
        out.clear();
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::swap(&mut *queue, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readable(fd: RawFd) -> bool {
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one pollfd on the stack, no wait.
        unsafe { libc::poll(&mut p, 1, 0) == 1 }
    }

    #[test]
    fn the_fd_is_readable_while_events_wait() {
        let bridge = Bridge::new().unwrap();
        assert!(!readable(bridge.fd()));
        bridge.push(Event::Stop);
        bridge.push(Event::Wake(1, Readiness::GONE));
        assert!(readable(bridge.fd()));
        let mut out = Vec::new();
        bridge.take(&mut out);
        assert_eq!(out.len(), 2);
        assert!(!readable(bridge.fd()));
        bridge.push(Event::Stop);
        assert!(readable(bridge.fd()));
    }
}
