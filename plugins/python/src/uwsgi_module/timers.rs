//! `uwsgi.add_timer(signum, seconds)`, `uwsgi.add_rb_timer(signum, seconds[, iterations])`
//! and `uwsgi.add_cron(signum, minute, hour, day, month, weekday)`: raise a signal on a
//! schedule, so its handler ([`super::signals`]) runs.
//!
//! uWSGI's master keeps the timers and sends the signal to a worker, which runs the
//! handler between requests. Here each worker keeps the timers (a preforking master
//! registers them while it imports the app; every worker inherits them) and one thread
//! per worker, started after the fork, sleeps until the next one is due and runs the
//! handlers whose target is this worker. So a handler runs beside the worker's requests,
//! not between them (an app's threads already do that), and a replaced worker's timers
//! start counting from its start. No thread runs in the master.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use super::signals;
use crate::interp::thread_state;
use rsgi_cron::{self as cron, Cron};

#[derive(Debug, Clone, Copy)]
enum Kind {
    /// Every `period`; `left` raises to go when limited (`add_rb_timer` iterations).
    Period { period: Duration, left: Option<u64> },
    /// At the minutes the entry matches.
    Cron(Cron),
}

#[derive(Debug)]
struct Timer {
    num: u8,
    kind: Kind,
    next: Instant,
}

impl Timer {
    /// When it is first due, counting from `now`.
    fn anchor(&mut self, now: Instant) {
        self.next = match self.kind {
            Kind::Period { period, .. } => now + period,
            Kind::Cron(_) => next_minute(now),
        };
    }

    /// Called when due at `now`: whether the signal is raised this time, and the next time.
    fn fire(&mut self, now: Instant) -> bool {
        match &mut self.kind {
            Kind::Period { period, left } => {
                // A late wake-up (a busy machine) raises once, not once per missed period.
                while self.next <= now {
                    self.next += *period;
                }
                if let Some(left) = left {
                    *left = left.saturating_sub(1);
                }
                true
            }
            Kind::Cron(entry) => {
                self.next = next_minute(now);
                entry.matches(cron::local_now())
            }
        }
    }

    fn finished(&self) -> bool {
        matches!(self.kind, Kind::Period { left: Some(0), .. })
    }
}

/// The start of the next minute of the wall clock, as an `Instant` (5 ms past it, so the
/// local time read then is in the new minute).
fn next_minute(now: Instant) -> Instant {
    let into = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
        % 60_000;
    now + Duration::from_millis((60_000 - into) as u64 + 5)
}

struct Schedule {
    timers: Vec<Timer>,
    /// This process runs the timer thread.
    running: bool,
}

static SCHEDULE: Mutex<Schedule> = Mutex::new(Schedule {
    timers: Vec::new(),
    running: false,
});
/// Wakes the timer thread when a timer is added.
static ADDED: Condvar = Condvar::new();

fn schedule() -> MutexGuard<'static, Schedule> {
    SCHEDULE.lock().unwrap_or_else(|p| p.into_inner())
}

fn add(num: u8, kind: Kind) {
    let mut timer = Timer {
        num,
        kind,
        next: Instant::now(),
    };
    timer.anchor(Instant::now());
    schedule().timers.push(timer);
    ADDED.notify_all();
    start(super::current_worker());
}

fn period(seconds: i64) -> PyResult<Duration> {
    match u64::try_from(seconds) {
        Ok(secs) if secs > 0 => Ok(Duration::from_secs(secs)),
        _ => Err(PyValueError::new_err(format!(
            "a timer needs a period of 1 second or more, not {seconds}"
        ))),
    }
}

/// `uwsgi.add_timer(signum, seconds)`: raise `signum` every `seconds`.
#[pyfunction]
pub fn add_timer(signum: i64, seconds: i64) -> PyResult<()> {
    let num = signals::signum(signum)?;
    let period = period(seconds)?;
    add(num, Kind::Period { period, left: None });
    Ok(())
}

/// `uwsgi.add_rb_timer(signum, seconds, iterations=0)`: as `add_timer`, stopping after
/// `iterations` raises when it is not 0.
#[pyfunction]
#[pyo3(signature = (signum, seconds, iterations = 0))]
pub fn add_rb_timer(signum: i64, seconds: i64, iterations: u64) -> PyResult<()> {
    let num = signals::signum(signum)?;
    let period = period(seconds)?;
    let left = (iterations > 0).then_some(iterations);
    add(num, Kind::Period { period, left });
    Ok(())
}

/// `uwsgi.add_cron(signum, minute, hour, day, month, weekday)`: raise `signum` in the
/// minutes the entry matches (see [`super::cron`] for the fields).
#[pyfunction]
pub fn add_cron(
    signum: i64,
    minute: i64,
    hour: i64,
    day: i64,
    month: i64,
    weekday: i64,
) -> PyResult<()> {
    let num = signals::signum(signum)?;
    let entry = Cron::new(minute, hour, day, month, weekday)
        .map_err(|why| PyValueError::new_err(format!("add_cron: {why}")))?;
    add(num, Kind::Cron(entry));
    Ok(())
}

/// Starts this worker's timer thread when there are timers and it is not running yet
/// (worker 0, the master, never starts one). Counting starts now.
pub fn start(worker_id: u32) {
    if worker_id == 0 {
        return;
    }
    let mut schedule = schedule();
    if schedule.running || schedule.timers.is_empty() {
        return;
    }
    let now = Instant::now();
    for timer in &mut schedule.timers {
        timer.anchor(now);
    }
    let spawned = std::thread::Builder::new()
        .name("rsgi-uwsgi-timers".into())
        .spawn(move || run(worker_id));
    match spawned {
        Ok(_) => schedule.running = true,
        Err(e) => tracing::error!("uwsgi timers: cannot start their thread: {e}"),
    }
}

fn run(worker_id: u32) {
    let mut schedule = schedule();
    loop {
        let now = Instant::now();
        let mut raised = Vec::new();
        for timer in schedule.timers.iter_mut().filter(|t| t.next <= now) {
            if timer.fire(now) {
                raised.push(timer.num);
            }
        }
        schedule.timers.retain(|t| !t.finished());
        if raised.is_empty() {
            let next = schedule.timers.iter().map(|t| t.next).min();
            schedule = match next {
                Some(next) => {
                    let wait = next.saturating_duration_since(now);
                    ADDED
                        .wait_timeout(schedule, wait)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
                None => ADDED.wait(schedule).unwrap_or_else(|p| p.into_inner()),
            };
            continue;
        }
        // Handlers run without the schedule locked: one may add a timer.
        drop(schedule);
        if signals::any_runs_in(worker_id) {
            thread_state::attach(|py| {
                for num in raised {
                    signals::deliver(py, num, worker_id);
                }
            });
        }
        schedule = self::schedule();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timer(kind: Kind) -> Timer {
        let mut timer = Timer {
            num: 1,
            kind,
            next: Instant::now(),
        };
        timer.anchor(Instant::now());
        timer
    }

    #[test]
    fn a_late_wake_up_raises_once_and_keeps_the_rhythm() {
        let period = Duration::from_secs(10);
        let mut t = timer(Kind::Period { period, left: None });
        let first = t.next;
        assert!(t.fire(first + Duration::from_secs(35)));
        assert_eq!(t.next, first + Duration::from_secs(40));
        assert!(!t.finished());
    }

    #[test]
    fn an_rb_timer_with_iterations_finishes_after_that_many() {
        let period = Duration::from_secs(1);
        let mut t = timer(Kind::Period {
            period,
            left: Some(2),
        });
        let now = t.next;
        assert!(t.fire(now));
        assert!(!t.finished());
        assert!(t.fire(t.next));
        assert!(t.finished());
    }

    #[test]
    fn a_cron_entry_wakes_at_the_next_minute_boundary() {
        let every_minute = Cron::new(-1, -1, -1, -1, -1).unwrap();
        let t = timer(Kind::Cron(every_minute));
        let wait = t.next.saturating_duration_since(Instant::now());
        assert!(wait <= Duration::from_millis(60_005), "{wait:?}");
        let wall = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + wait;
        let past_boundary = wall.as_millis() % 60_000;
        assert!(
            past_boundary < 1_000,
            "wakes {past_boundary} ms past a minute"
        );
    }
}
