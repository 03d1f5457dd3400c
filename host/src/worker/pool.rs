//! `--threads N`: app threads. The event loop hands a connection that has work to one of
//! N threads, which drives it (read → parse → app → write) until it would block, then
//! hands it back and wakes the loop. With one thread there is no pool: the loop thread
//! calls the app itself, with no hand-off on the hot path.
//!
//! The pool counts the connections it holds, so the loop can stop accepting while every
//! thread has one (`Pool::free`): a connection accepted then would wait here for a thread
//! while another worker may be idle.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use mio::Waker;

use super::conn::{Conn, Verdict};
use super::exchange::Notifier;
use super::state::{Shared, WorkerState};

/// Stack of an app thread (Python code can recurse deeply).
const STACK_SIZE: usize = 8 * 1024 * 1024;

/// A connection with work to do.
pub struct Job {
    /// Its key in the loop's connection table.
    pub key: usize,
    /// The connection, moved to the app thread.
    pub conn: Conn,
}

/// A connection coming back from an app thread.
pub struct Done {
    /// Its key in the loop's connection table.
    pub key: usize,
    /// The connection.
    pub conn: Conn,
    /// Keep it or close it.
    pub verdict: Verdict,
}

/// The app threads of a worker.
pub struct Pool {
    size: usize,
    /// Connections submitted and not yet taken back.
    held: usize,
    jobs: Option<Sender<Job>>,
    done: Receiver<Done>,
    threads: Vec<JoinHandle<()>>,
}

impl Pool {
    /// Starts `n` app threads that wake the loop through `waker` when they finish a job.
    pub fn start(
        n: u32,
        shared: Arc<Shared>,
        waker: Arc<Waker>,
        notifier: Arc<Notifier>,
    ) -> std::io::Result<Pool> {
        let (job_tx, job_rx) = mpsc::channel::<Job>();
        let job_rx = Arc::new(Mutex::new(job_rx));
        let (done_tx, done_rx) = mpsc::channel::<Done>();
        let mut threads = Vec::with_capacity(n as usize);
        for i in 0..n {
            let jobs = job_rx.clone();
            let done = done_tx.clone();
            let waker = waker.clone();
            let mut state = WorkerState::new(shared.clone(), notifier.clone());
            let handle = std::thread::Builder::new()
                .name(format!("rsgi-app-{i}"))
                .stack_size(STACK_SIZE)
                .spawn(move || loop {
                    let job = match jobs.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    let Ok(mut job) = job else { return };
                    let verdict = job.conn.drive(&mut state);
                    if done
                        .send(Done {
                            key: job.key,
                            conn: job.conn,
                            verdict,
                        })
                        .is_err()
                    {
                        return;
                    }
                    let _ = waker.wake();
                })?;
            threads.push(handle);
        }
        Ok(Pool {
            size: n as usize,
            held: 0,
            jobs: Some(job_tx),
            done: done_rx,
            threads,
        })
    }

    /// Hands a connection to the next free app thread.
    pub fn submit(&mut self, job: Job) {
        if let Some(jobs) = &self.jobs {
            if jobs.send(job).is_ok() {
                self.held += 1;
            }
        }
    }

    /// Connections the app threads have finished with.
    pub fn completed(&mut self) -> Vec<Done> {
        let done: Vec<Done> = self.done.try_iter().collect();
        self.held = self.held.saturating_sub(done.len());
        done
    }

    /// How many more connections the threads could take right now.
    pub fn free(&self) -> usize {
        self.size.saturating_sub(self.held)
    }

    /// Lets the threads finish and waits for them.
    pub fn shutdown(mut self) {
        self.jobs = None;
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
