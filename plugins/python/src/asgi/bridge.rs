//! From the host's threads to the event loop's: a queue and an eventfd the loop watches
//! (`loop.add_reader`). Pushing takes no GIL: the host's thread never waits for Python.
//!
//! While the loop is awake (from the moment it takes a batch until it has run what the
//! batch started and found the queue empty again, see [`Bridge::park`]) a push only
//! queues: the loop looks again before it goes back to its poll, so the eventfd is written
//! only for a loop that may be asleep.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
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
    /// The loop is between [`Bridge::take`] and a [`Bridge::park`] that found nothing: it
    /// will look at the queue again without being woken.
    awake: AtomicBool,
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
            awake: AtomicBool::new(false),
        })
    }

    /// The fd the loop watches for reading.
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Queues `event`; the eventfd is written only when the queue was empty (the loop has
    /// been told about the ones already there, or is about to take them) and the loop is
    /// not awake (an awake loop parks, and so looks, before it sleeps).
    pub fn push(&self, event: Event) {
        let first = {
            let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            queue.push(event);
            queue.len() == 1
        };
        // SeqCst, with park's store and its look at the queue: either this load sees the
        // loop parked (and writes), or the loop's look sees this event.
        if first && !self.awake.load(Ordering::SeqCst) {
            self.wake();
        }
    }

    /// The eventfd was readable: the loop is awake. Takes every queued event into `out`
    /// (emptied first). Reads the eventfd first, so an event pushed after the read (with
    /// the loop parked again) writes it again.
    pub fn take(&self, out: &mut Vec<Event>) {
        self.awake.store(true, Ordering::SeqCst);
        let mut count: u64 = 0;
        // SAFETY: reads 8 bytes into a local from our own non-blocking eventfd.
        unsafe { libc::read(self.fd(), (&mut count as *mut u64).cast(), 8) };
        self.swap(out);
    }

    /// The loop has run what it took and is about to go back to its poll: from now on a
    /// push writes the eventfd. Answers false when the queue is empty (the loop may sleep),
    /// else takes the events into `out` (the loop stays awake, and parks again later).
    pub fn park(&self, out: &mut Vec<Event>) -> bool {
        self.awake.store(false, Ordering::SeqCst);
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if queue.is_empty() {
            return false;
        }
        self.awake.store(true, Ordering::SeqCst);
        out.clear();
        std::mem::swap(&mut *queue, out);
        true
    }

    /// The loop will not park (it could not schedule it): from now on a push writes the
    /// eventfd, and it is written now if events wait.
    pub fn doze(&self) {
        self.awake.store(false, Ordering::SeqCst);
        let waiting = !self
            .queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty();
        if waiting {
            self.wake();
        }
    }

    fn wake(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a local to our own eventfd. A full counter (EAGAIN)
        // means the loop has a wake-up pending anyway.
        unsafe { libc::write(self.fd(), (&one as *const u64).cast(), 8) };
    }

    fn swap(&self, out: &mut Vec<Event>) {
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
        // Parked with nothing queued: the next push wakes the loop.
        assert!(!bridge.park(&mut out));
        bridge.push(Event::Stop);
        assert!(readable(bridge.fd()));
    }

    #[test]
    fn an_awake_loop_is_not_woken_and_finds_the_events_when_it_parks() {
        let bridge = Bridge::new().unwrap();
        bridge.push(Event::Stop);
        let mut out = Vec::new();
        bridge.take(&mut out);
        assert_eq!(out.len(), 1);
        // Awake: pushes only queue.
        bridge.push(Event::Wake(1, Readiness::READABLE));
        bridge.push(Event::Wake(2, Readiness::READABLE));
        assert!(!readable(bridge.fd()));
        assert!(bridge.park(&mut out));
        assert_eq!(out.len(), 2);
        // Still awake after a park that found events; the next one finds none.
        bridge.push(Event::Stop);
        assert!(!readable(bridge.fd()));
        assert!(bridge.park(&mut out));
        assert!(!bridge.park(&mut out));
        // Parked: the next push wakes the loop.
        bridge.push(Event::Stop);
        assert!(readable(bridge.fd()));
    }
}
