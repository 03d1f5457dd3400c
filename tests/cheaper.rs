//! `--cheaper`: the master adds workers while all are busy and retires idle ones.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rsgi_e2e::{get, Server};

const T: Duration = Duration::from_secs(30);

/// Input: `--processes 3 --cheaper 1 --cheaper-overload 1`, then four clients sending
/// half-second requests back to back (more than 3 workers can take), then nothing.
/// Answer: one worker at start; while every worker is busy for a second the master adds
/// worker 2, then worker 3, never a fourth; every request is answered; once more than one
/// worker is idle for a second it retires worker 3, then worker 2, and the last one still
/// serves.
#[test]
fn workers_are_added_under_load_and_retired_when_idle() {
    let s = Server::start(&[
        "--module",
        "app",
        "--processes",
        "3",
        "--cheaper",
        "1",
        "--cheaper-overload",
        "1",
    ]);
    assert_eq!(s.log().matches("spawned worker").count(), 1, "{}", s.log());
    let addr = s.addr;
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut answered = 0;
                while !stop.load(Ordering::Relaxed) {
                    let r = get(addr, "/slow?0.5");
                    assert_eq!((r.status, r.text().as_str()), (200, "slept 0.5"));
                    answered += 1;
                }
                answered
            })
        })
        .collect();
    s.wait_log("adding worker 2", T);
    s.wait_log("adding worker 3", T);
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        assert!(client.join().unwrap() > 0);
    }
    s.wait_log("retiring worker 3", T);
    s.wait_log("retiring worker 2", T);
    assert_eq!(get(addr, "/").status, 200);
    let log = s.log();
    assert!(!log.contains("retiring worker 1"), "{log}");
    assert!(!log.contains("adding worker 4"), "{log}");
}
