//! # rsgi-process-lock
//!
//! Mutexes shared by a master and the workers it forks: process-shared, robust pthread
//! mutexes in one anonymous shared mapping, made before the first fork and valid in every
//! process forked after it.
//!
//! Robust means a process that dies holding a mutex (SIGKILL, harakiri, a crash) does not
//! wedge the others: the next locker gets the mutex with [`Locked::recovered`] set and the
//! mutex is usable again. What the mutex protected may be half-updated then; the caller
//! decides whether that matters (for `accept()` it never does).
//!
//! The host serialises `accept` with one (`--thunder-lock`); the python plugin gives apps
//! uWSGI's user locks (`uwsgi.lock()`) with others. [`shared_mapping`] gives the same kind
//! of memory for data the processes share (the scoreboard, uWSGI's cache). Locking and unlocking are separate calls
//! because an app locks and unlocks from separate calls too; [`ProcessLocks::hold`] gives
//! the guard-shaped use.
//!
//! ```
//! let locks = rsgi_process_lock::ProcessLocks::new(2).unwrap();
//! let locked = locks.lock(1).unwrap();
//! assert!(!locked.recovered);
//! assert!(locks.try_lock(1).unwrap().is_none(), "already held");
//! locks.unlock(1).unwrap();
//! ```

use std::io;

/// `count` process-shared robust mutexes, numbered from 0.
///
/// The mapping is never unmapped: the master and every worker keep using it until they
/// exit, so a value of this type may be copied into any number of processes by `fork()`.
pub struct ProcessLocks {
    first: *mut libc::pthread_mutex_t,
    count: usize,
}

// SAFETY: the mutexes live in shared memory for the life of the process and are designed
// to be locked from any thread of any process that maps them; every access goes through
// pthread calls.
unsafe impl Send for ProcessLocks {}
// SAFETY: as above.
unsafe impl Sync for ProcessLocks {}

/// A successful lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locked {
    /// The previous holder died holding the mutex: this caller got it, and it is an
    /// ordinary mutex again, but what it protected may be half-updated.
    pub recovered: bool,
}

/// Holds mutex `index` of a [`ProcessLocks`] until dropped (see [`ProcessLocks::hold`]).
pub struct Held<'a> {
    locks: &'a ProcessLocks,
    index: usize,
    /// As [`Locked::recovered`].
    pub recovered: bool,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        // This thread holds the mutex (a Held exists only after a successful lock), so
        // unlocking cannot fail.
        let _ = self.locks.unlock(self.index);
    }
}

/// `bytes` of zero-filled memory shared with every process forked after this call (an
/// anonymous `MAP_SHARED` mapping), never unmapped.
pub fn shared_mapping(bytes: usize) -> io::Result<std::ptr::NonNull<u8>> {
    // SAFETY: a fresh anonymous shared mapping, zero-filled by the kernel.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            bytes.max(1),
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    std::ptr::NonNull::new(ptr.cast()).ok_or_else(|| io::Error::other("mmap returned null"))
}

fn check(rc: libc::c_int) -> io::Result<()> {
    match rc {
        0 => Ok(()),
        e => Err(io::Error::from_raw_os_error(e)),
    }
}

impl ProcessLocks {
    /// Maps and initialises `count` mutexes (before forking).
    pub fn new(count: usize) -> io::Result<ProcessLocks> {
        let bytes = std::mem::size_of::<libc::pthread_mutex_t>() * count.max(1);
        let first = shared_mapping(bytes)?
            .as_ptr()
            .cast::<libc::pthread_mutex_t>();
        // SAFETY: `attr` is initialised before use and destroyed after; every mutex
        // pointer stays inside the writable shared mapping made above.
        unsafe {
            let mut attr: libc::pthread_mutexattr_t = std::mem::zeroed();
            check(libc::pthread_mutexattr_init(&mut attr))?;
            let mut set = check(libc::pthread_mutexattr_setpshared(
                &mut attr,
                libc::PTHREAD_PROCESS_SHARED,
            ))
            .and_then(|()| {
                check(libc::pthread_mutexattr_setrobust(
                    &mut attr,
                    libc::PTHREAD_MUTEX_ROBUST,
                ))
            });
            for i in 0..count {
                set = set.and_then(|()| check(libc::pthread_mutex_init(first.add(i), &attr)));
            }
            libc::pthread_mutexattr_destroy(&mut attr);
            set?;
        }
        Ok(ProcessLocks { first, count })
    }

    /// How many mutexes there are.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn mutex(&self, index: usize) -> io::Result<*mut libc::pthread_mutex_t> {
        if index >= self.count {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("no lock {index} (there are {})", self.count),
            ));
        }
        // SAFETY: in bounds of the mapping made by `new`.
        Ok(unsafe { self.first.add(index) })
    }

    /// Takes mutex `index`, waiting for it; recovers it if its holder died.
    pub fn lock(&self, index: usize) -> io::Result<Locked> {
        let mutex = self.mutex(index)?;
        // SAFETY: `mutex` was initialised by `new` and is never destroyed.
        Self::taken(mutex, unsafe { libc::pthread_mutex_lock(mutex) })
    }

    /// Takes mutex `index` if it is free; `None` when another thread holds it (this one
    /// included).
    pub fn try_lock(&self, index: usize) -> io::Result<Option<Locked>> {
        let mutex = self.mutex(index)?;
        // SAFETY: as in `lock`.
        match unsafe { libc::pthread_mutex_trylock(mutex) } {
            libc::EBUSY => Ok(None),
            rc => Self::taken(mutex, rc).map(Some),
        }
    }

    /// Releases mutex `index`. Fails (EPERM) when the calling thread does not hold it.
    pub fn unlock(&self, index: usize) -> io::Result<()> {
        let mutex = self.mutex(index)?;
        // SAFETY: as in `lock`; a robust mutex checks its owner and refuses others.
        check(unsafe { libc::pthread_mutex_unlock(mutex) })
    }

    /// Takes mutex `index` until the returned guard is dropped.
    pub fn hold(&self, index: usize) -> io::Result<Held<'_>> {
        let Locked { recovered } = self.lock(index)?;
        Ok(Held {
            locks: self,
            index,
            recovered,
        })
    }

    fn taken(mutex: *mut libc::pthread_mutex_t, rc: libc::c_int) -> io::Result<Locked> {
        match rc {
            0 => Ok(Locked { recovered: false }),
            libc::EOWNERDEAD => {
                // SAFETY: EOWNERDEAD means this thread now holds the mutex.
                check(unsafe { libc::pthread_mutex_consistent(mutex) })?;
                Ok(Locked { recovered: true })
            }
            e => Err(io::Error::from_raw_os_error(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait_child(pid: libc::pid_t) -> libc::c_int {
        let mut status = 0;
        // SAFETY: waiting for our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        status
    }

    #[test]
    fn a_process_killed_holding_a_lock_does_not_wedge_the_others() {
        let locks = ProcessLocks::new(1).unwrap();
        // SAFETY: the child only locks the shared mutex and kills itself.
        match unsafe { libc::fork() } {
            0 => {
                let _ = locks.lock(0);
                // SAFETY: SIGKILL to ourselves, holding the lock.
                unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
                unsafe { libc::_exit(0) };
            }
            pid => {
                let status = wait_child(pid);
                assert!(libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGKILL);
                let held = locks.hold(0).unwrap();
                assert!(held.recovered, "the dead holder's lock is handed over");
                drop(held);
                let again = locks.hold(0).unwrap();
                assert!(!again.recovered, "and it is an ordinary lock again");
            }
        }
    }

    #[test]
    fn a_lock_excludes_other_processes_and_leaves_the_others_free() {
        let locks = ProcessLocks::new(2).unwrap();
        let held = locks.hold(0).unwrap();
        // SAFETY: the child only tries the shared mutexes and exits with the result.
        match unsafe { libc::fork() } {
            0 => {
                let zero_busy = matches!(locks.try_lock(0), Ok(None));
                let one_free = matches!(locks.try_lock(1), Ok(Some(_)));
                unsafe { libc::_exit(if zero_busy && one_free { 0 } else { 1 }) };
            }
            pid => {
                let status = wait_child(pid);
                assert_eq!(
                    libc::WEXITSTATUS(status),
                    0,
                    "the child saw 0 taken, 1 free"
                );
                drop(held);
            }
        }
    }

    #[test]
    fn unlocking_what_this_thread_does_not_hold_is_refused() {
        let locks = ProcessLocks::new(1).unwrap();
        assert_eq!(
            locks.unlock(0).unwrap_err().raw_os_error(),
            Some(libc::EPERM)
        );
        locks.lock(0).unwrap();
        let from_another_thread = std::thread::scope(|s| s.spawn(|| locks.unlock(0)).join());
        assert!(from_another_thread.unwrap().is_err());
        locks.unlock(0).unwrap();
    }

    #[test]
    fn a_lock_number_past_the_end_is_an_error_not_a_wild_pointer() {
        let locks = ProcessLocks::new(1).unwrap();
        assert_eq!(
            locks.lock(1).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(locks.len(), 1);
    }
}
