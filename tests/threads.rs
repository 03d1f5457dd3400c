use std::collections::HashSet;
use std::time::{Duration, Instant};

use rsgi_e2e::{get, try_request, LoadLoop, Server};

const T: Duration = Duration::from_secs(30);

/// Input: `--threads 8`, eight requests at once, each waiting in the app until all eight
/// are there (a barrier in the app).
/// Answer: all eight are answered 200: they ran at the same time (serially the first
/// would wait in vain, and get a 500).
#[test]
fn eight_threads_serve_eight_slow_requests_at_once() {
    let s = Server::start(&["--module", "threaded_app", "--threads", "8"]);
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let addr = s.addr;
            std::thread::spawn(move || {
                try_request(addr, "GET", "/together?8", &[], b"").map(|r| r.status)
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap().unwrap(), 200, "{}", s.log());
    }
}

#[test]
fn wsgi_multithread_reflects_threads() {
    let s = Server::start(&["--module", "threaded_app", "--threads", "4"]);
    assert!(
        get(s.addr, "/").text().contains(" True "),
        "multithread should be True"
    );
    drop(s);
    let s = Server::start(&["--module", "threaded_app"]);
    assert!(
        get(s.addr, "/").text().contains(" False "),
        "multithread should be False"
    );
}

/// `--threads 4 --max-requests 10`, an app thread started at import, under load until
/// 300 workers were recycled: every request answered, no hang.
fn three_hundred_recycles(lazy: bool) {
    let mut args = vec![
        "--module",
        "threaded_app",
        "--threads",
        "4",
        "--max-requests",
        "10",
        "--processes",
        "2",
    ];
    if lazy {
        args.push("--lazy-apps");
    }
    let s = Server::start(&args);
    let load = LoadLoop::start(s.addr, "/", 4);
    let deadline = Instant::now() + Duration::from_secs(240);
    while s.log().matches("old worker").count() < 300 {
        assert!(
            Instant::now() < deadline,
            "only {} recycles; a hang?\n{}",
            s.log().matches("old worker").count(),
            s.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let report = load.finish();
    let pids: HashSet<&str> = report
        .bodies
        .iter()
        .filter_map(|b| b.split(' ').next())
        .collect();
    eprintln!(
        "lazy={lazy}: {} requests, {} failed, {} worker pids, longest {:?}",
        report.ok,
        report.failed,
        pids.len(),
        report.max_latency
    );
    assert_eq!(report.failed, 0, "{:?}", report.errors);
    assert!(
        report.bodies.iter().all(|b| b.ends_with(" True 1")),
        "the app thread must run in every worker: {:?}",
        &report.bodies[..3.min(report.bodies.len())]
    );
    // The server still answers after all that.
    assert_eq!(get(s.addr, "/").status, 200);
}

#[test]
fn threads_and_max_requests_survive_300_recycles_preforking() {
    three_hundred_recycles(false);
}

#[test]
fn threads_and_max_requests_survive_300_recycles_lazy_apps() {
    three_hundred_recycles(true);
}

#[test]
fn enable_threads_is_accepted_and_app_threads_run_without_it_too() {
    // Threads the app starts at import tick in every worker, flag or no flag.
    for args in [
        &["--module", "threaded_app"][..],
        &["--module", "threaded_app", "--enable-threads"][..],
    ] {
        let s = Server::start(args);
        let deadline = Instant::now() + T;
        while !get(s.addr, "/").text().ends_with(" 1") {
            assert!(
                Instant::now() < deadline,
                "the app's own thread never ran ({args:?})"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Input: 1 worker with 2 app threads, both busy with 10-second requests, a third
/// request (1.5 s) arriving meanwhile, then, once it waits in the listen queue, SIGTTIN
/// (one worker more).
/// Answer: the third request is answered by the new worker 2: a worker whose threads are
/// all busy leaves new connections in the listen queue for an idle worker instead of
/// taking them and making them wait for one of its own threads.
#[test]
fn a_worker_with_every_thread_busy_leaves_new_connections_to_others() {
    let s = Server::start(&["--module", "app", "--threads", "2", "--log-requests"]);
    let addr = s.addr;
    let busy: Vec<_> = (0..2)
        .map(|_| std::thread::spawn(move || get(addr, "/slow?10")))
        .collect();
    s.wait_log_count("app: slow request started", 2, T);
    let third = std::thread::spawn(move || get(addr, "/slow?1.5"));
    rsgi_e2e::wait_accept_queue(addr.port(), 1, T);
    s.signal(libc::SIGTTIN);
    let r = third.join().unwrap();
    assert_eq!((r.status, r.text().as_str()), (200, "slept 1.5"));
    for t in busy {
        assert_eq!(t.join().unwrap().status, 200);
    }
    s.wait_log("\"GET /slow?1.5 HTTP/1.1\" 200", T);
    let log = s.log();
    let line = log
        .lines()
        .find(|l| l.contains("\"GET /slow?1.5 HTTP/1.1\" 200"))
        .unwrap();
    assert!(line.ends_with(" worker 2"), "{log}");
    // And the first worker still serves once its threads are free.
    assert_eq!(get(addr, "/").status, 200);
}
