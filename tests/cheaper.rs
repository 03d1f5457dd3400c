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

/// Input: `--cheaper-algo busyness` with 1-second cycles, `--cheaper-busyness-multiplier
/// 2` and `--cheaper-busyness-verbose`; two clients sending half-second requests back to
/// back (the one worker is ~100% busy), then nothing.
/// Answer: the settings line at start; a cycle over 50% adds worker 2 (the log names the
/// busyness and the limit); every request is answered; after two idle cycles worker 2 is
/// retired; worker 1 is never retired; the verbose figures are logged.
#[test]
fn busyness_adds_workers_over_the_max_and_retires_them_after_idle_cycles() {
    let s = Server::start(&[
        "--module",
        "app",
        "--processes",
        "3",
        "--cheaper",
        "1",
        "--cheaper-algo",
        "busyness",
        "--cheaper-overload",
        "1",
        "--cheaper-busyness-multiplier",
        "2",
        "--cheaper-busyness-verbose",
    ]);
    s.wait_log(
        "cheaper: busyness: min 25%, max 50%, cycle 1s, multiplier 2",
        T,
    );
    let addr = s.addr;
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..2)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let r = get(addr, "/slow?0.5");
                    assert_eq!((r.status, r.text().as_str()), (200, "slept 0.5"));
                }
            })
        })
        .collect();
    s.wait_log("is over --cheaper-busyness-max 50%: adding worker 2", T);
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().unwrap();
    }
    s.wait_log("for 2 cycles: retiring worker", T);
    s.wait_log("=> average 0% of", T);
    assert_eq!(get(addr, "/").status, 200);
    assert!(!s.log().contains("retiring worker 1"), "{}", s.log());
}

/// Input: busyness with `--cheaper-busyness-backlog-alert 5` and 10-second cycles; one
/// worker held by a 3-second request while 12 more connections wait in the listen queue.
/// Answer: at the next look (not the end of the cycle) an emergency worker is added, the
/// log naming the queue; every queued request is answered.
#[test]
fn busyness_adds_an_emergency_worker_for_a_long_listen_queue() {
    let s = Server::start(&[
        "--module",
        "app",
        "--processes",
        "2",
        "--cheaper",
        "1",
        "--cheaper-algo",
        "busyness",
        "--cheaper-overload",
        "10",
        "--cheaper-busyness-backlog-alert",
        "5",
    ]);
    let addr = s.addr;
    let slow = std::thread::spawn(move || get(addr, "/slow?3").status);
    s.wait_log("app: slow request started", T);
    let queued: Vec<_> = (0..12)
        .map(|_| std::thread::spawn(move || get(addr, "/").status))
        .collect();
    s.wait_log(
        "over --cheaper-busyness-backlog-alert 5: adding worker 2",
        T,
    );
    assert_eq!(slow.join().unwrap(), 200);
    for q in queued {
        assert_eq!(q.join().unwrap(), 200);
    }
}

/// Input: `--processes 3 --cheaper 1 --cheaper-overload 1 --cheaper-rss-limit-soft 1`
/// (one byte: any worker is over it); two clients sending half-second requests back to
/// back, so the one worker is always busy.
/// Answer: the spare algorithm wants a second worker, the log says the memory limit
/// refuses it (once), no worker is added, and every request is still answered.
#[test]
fn no_worker_is_added_over_the_soft_rss_limit() {
    let s = Server::start(&[
        "--module",
        "app",
        "--processes",
        "3",
        "--cheaper",
        "1",
        "--cheaper-overload",
        "1",
        "--cheaper-rss-limit-soft",
        "1",
    ]);
    let addr = s.addr;
    let clients: Vec<_> = (0..2)
        .map(|_| {
            std::thread::spawn(move || {
                for _ in 0..8 {
                    let r = get(addr, "/slow?0.5");
                    assert_eq!(r.status, 200);
                }
            })
        })
        .collect();
    s.wait_log(
        "over --cheaper-rss-limit-soft (0.0 MiB): no worker added",
        T,
    );
    for client in clients {
        client.join().unwrap();
    }
    let log = s.log();
    assert!(
        log.contains("all 1 worker(s) busy for 1s, but workers use "),
        "{log}"
    );
    assert_eq!(log.matches("no worker added").count(), 1, "{log}");
    assert!(!log.contains("adding worker"), "{log}");
}

/// Input: `--processes 3 --cheaper 2 --cheaper-initial 3 --cheaper-overload 1` with
/// `--cheaper-rss-limit-soft 1 --cheaper-rss-limit-hard 2` (any worker is over both).
/// Answer: one worker is retired per 1-second cycle, worker 3 then worker 2 (below
/// `--cheaper`, as uWSGI does for memory), each with a log line naming the limit; worker 1
/// stays and serves.
#[test]
fn workers_are_retired_one_per_cycle_over_the_hard_rss_limit_down_to_one() {
    let s = Server::start(&[
        "--module",
        "app",
        "--processes",
        "3",
        "--cheaper",
        "2",
        "--cheaper-initial",
        "3",
        "--cheaper-overload",
        "1",
        "--cheaper-rss-limit-soft",
        "1",
        "--cheaper-rss-limit-hard",
        "2",
    ]);
    s.wait_log(
        "over --cheaper-rss-limit-hard (0.0 MiB): retiring worker 3",
        T,
    );
    s.wait_log(
        "over --cheaper-rss-limit-hard (0.0 MiB): retiring worker 2",
        T,
    );
    // Worker 2's process gone, the one left serves; the master's later looks (one per
    // wake-up, a cycle each second) find no slot to retire: the last one is never
    // removed (WorkerTable::remove_slot), so no time has to pass to show it.
    s.wait_log("old worker 2 (pid", T);
    assert_eq!(get(s.addr, "/").status, 200);
    s.log_barrier();
    let log = s.log();
    assert!(!log.contains("retiring worker 1"), "{log}");
    assert!(!log.contains("adding worker"), "{log}");
}
