//! `--thunder-lock`: accept(2) on a shared socket serialised across worker processes by a
//! process-shared, robust pthread mutex (see `rsgi-process-lock`) made by the master
//! before the first fork.
//!
//! Robust means a worker that dies holding the lock (SIGKILL, harakiri, a crash) does
//! not wedge the others: the next locker recovers it and carries on (the state it
//! protects is the kernel's accept queue, which is always consistent). The lock is held
//! only around `accept` calls, never while the app runs.

use std::io;

use rsgi_process_lock::{Held, ProcessLocks};

/// One socket's accept lock, valid in every process forked after its creation.
pub struct ThunderLock {
    locks: ProcessLocks,
}

impl ThunderLock {
    /// Maps and initialises the mutex (master, before forking).
    pub fn new() -> io::Result<ThunderLock> {
        Ok(ThunderLock {
            locks: ProcessLocks::new(1)?,
        })
    }

    /// Takes the lock until the guard is dropped; `recovered` tells that its holder died.
    pub fn lock(&self) -> io::Result<Held<'_>> {
        self.locks.hold(0)
    }
}
