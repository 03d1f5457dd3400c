//! `--thunder-lock`: accept(2) on a shared socket serialised across worker processes by a
//! process-shared, robust pthread mutex in an anonymous shared mapping made by the
//! master before the first fork.
//!
//! Robust means a worker that dies holding the lock (SIGKILL, harakiri, a crash) does
//! not wedge the others: the next locker gets `EOWNERDEAD`, marks the mutex consistent
//! and carries on. The lock is held only around `accept` calls, never while the app
//! runs.

use std::io;

/// A process-shared robust mutex, valid in every process forked after its creation.
pub struct ThunderLock {
    mutex: *mut libc::pthread_mutex_t,
}

// SAFETY: the mutex lives in shared memory for the life of the process and is designed to
// be locked from any thread of any process that maps it.
unsafe impl Send for ThunderLock {}
// SAFETY: as above; every access goes through pthread calls.
unsafe impl Sync for ThunderLock {}

/// Holds the lock until dropped.
pub struct Held<'a> {
    lock: &'a ThunderLock,
    /// The previous holder died holding it (the lock was recovered).
    pub recovered: bool,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        // SAFETY: this thread holds the mutex (a Held exists only after a successful lock).
        unsafe { libc::pthread_mutex_unlock(self.lock.mutex) };
    }
}

fn check(rc: libc::c_int) -> io::Result<()> {
    match rc {
        0 => Ok(()),
        e => Err(io::Error::from_raw_os_error(e)),
    }
}

impl ThunderLock {
    /// Maps and initialises the mutex (master, before forking). The mapping is never
    /// unmapped: workers and the master keep using it until they exit.
    pub fn new() -> io::Result<ThunderLock> {
        let bytes = std::mem::size_of::<libc::pthread_mutex_t>();
        // SAFETY: a fresh anonymous shared mapping, zero-filled by the kernel.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let mutex = ptr.cast::<libc::pthread_mutex_t>();
        // SAFETY: `attr` is initialised before use and destroyed after; `mutex` points to
        // writable shared memory large enough for a pthread_mutex_t.
        unsafe {
            let mut attr: libc::pthread_mutexattr_t = std::mem::zeroed();
            check(libc::pthread_mutexattr_init(&mut attr))?;
            let set = check(libc::pthread_mutexattr_setpshared(
                &mut attr,
                libc::PTHREAD_PROCESS_SHARED,
            ))
            .and_then(|()| {
                check(libc::pthread_mutexattr_setrobust(
                    &mut attr,
                    libc::PTHREAD_MUTEX_ROBUST,
                ))
            })
            .and_then(|()| check(libc::pthread_mutex_init(mutex, &attr)));
            libc::pthread_mutexattr_destroy(&mut attr);
            set?;
        }
        Ok(ThunderLock { mutex })
    }

    /// Takes the lock, recovering it if its holder died.
    pub fn lock(&self) -> io::Result<Held<'_>> {
        // SAFETY: `mutex` was initialised by `new` and is never destroyed.
        match unsafe { libc::pthread_mutex_lock(self.mutex) } {
            0 => Ok(Held {
                lock: self,
                recovered: false,
            }),
            libc::EOWNERDEAD => {
                // SAFETY: we hold the mutex (EOWNERDEAD means the lock was acquired); the
                // state it protects is the kernel's accept queue, which is always consistent.
                check(unsafe { libc::pthread_mutex_consistent(self.mutex) })?;
                Ok(Held {
                    lock: self,
                    recovered: true,
                })
            }
            e => Err(io::Error::from_raw_os_error(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_killed_holding_the_lock_does_not_wedge_the_others() {
        let lock = ThunderLock::new().unwrap();
        // SAFETY: the child only locks the shared mutex and kills itself.
        match unsafe { libc::fork() } {
            0 => {
                let held = lock.lock();
                std::mem::forget(held);
                // SAFETY: SIGKILL to ourselves, holding the lock.
                unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
                unsafe { libc::_exit(0) };
            }
            pid => {
                let mut status = 0;
                // SAFETY: waiting for our own child.
                unsafe { libc::waitpid(pid, &mut status, 0) };
                assert!(libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGKILL);
                let held = lock.lock().unwrap();
                assert!(held.recovered, "the dead holder's lock is handed over");
                drop(held);
                let again = lock.lock().unwrap();
                assert!(!again.recovered, "and it is an ordinary lock again");
            }
        }
    }

    #[test]
    fn the_lock_excludes_other_processes() {
        let lock = ThunderLock::new().unwrap();
        let held = lock.lock().unwrap();
        // SAFETY: the child only tries the shared mutex and exits with the result.
        match unsafe { libc::fork() } {
            0 => {
                // SAFETY: an initialised mutex held by the parent.
                let rc = unsafe { libc::pthread_mutex_trylock(lock.mutex) };
                unsafe { libc::_exit(if rc == libc::EBUSY { 0 } else { 1 }) };
            }
            pid => {
                let mut status = 0;
                // SAFETY: waiting for our own child.
                unsafe { libc::waitpid(pid, &mut status, 0) };
                assert_eq!(libc::WEXITSTATUS(status), 0, "the child saw the lock taken");
                drop(held);
            }
        }
    }
}
