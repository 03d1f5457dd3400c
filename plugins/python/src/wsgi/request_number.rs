//! Which request a thread is serving, as a number per thread: the request's Python
//! objects (`wsgi.input`, `start_response`) hold raw pointers into the host's body reader
//! and responder, valid only until the request ends. They remember the number they were
//! made under and work only while the thread still serves that request; the end of a
//! request moves the number on, with no borrow of the objects needed (an app may hold
//! one, even in the middle of a call from another thread, when the request ends).

use std::cell::Cell;

thread_local! {
    static SERVING: Cell<u64> = const { Cell::new(0) };
}

/// The number of the request this thread serves (or will serve next).
pub fn current() -> u64 {
    SERVING.with(Cell::get)
}

/// Ends the current request on this thread: objects made under it stop working.
pub fn end() {
    SERVING.with(|n| n.set(n.get().wrapping_add(1)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_thread_counts_its_own_requests() {
        let start = current();
        end();
        assert_eq!(current(), start + 1);
        let other = std::thread::spawn(current).join().unwrap();
        assert_eq!(other, 0);
    }
}
