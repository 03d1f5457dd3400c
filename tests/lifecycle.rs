use std::time::{Duration, Instant};

use rsgi_e2e::{get, run_to_exit, try_request, Server};

const T: Duration = Duration::from_secs(30);

fn worker_pid(s: &Server) -> i32 {
    get(s.addr, "/pid").text().parse().unwrap()
}

#[test]
fn startup_log_says_what_listens_where_with_which_plugins_and_app() {
    let s = Server::start(&["--module", "app", "--processes", "2"]);
    s.wait_log("spawned worker 2", T);
    let log = s.log();
    assert!(
        log.contains(&format!("listening on http://{}", s.addr)),
        "{log}"
    );
    assert!(log.contains("2 worker process(es)"), "{log}");
    assert!(log.contains("plugin python 0.1.0 (app) from"), "{log}");
    assert!(log.contains("plugin http 0.1.0 (protocol) from"), "{log}");
    assert!(log.contains("app loaded: app:application"), "{log}");
}

#[test]
fn a_killed_worker_is_respawned_and_serving_continues() {
    let s = Server::start(&["--module", "app"]);
    let old = worker_pid(&s);
    // SAFETY: SIGKILL to a worker of our own test server.
    unsafe { libc::kill(old, libc::SIGKILL) };
    s.wait_log(&format!("(pid {old}) died: killed by signal 9"), T);
    let deadline = Instant::now() + T;
    loop {
        if let Ok(r) = try_request(s.addr, "GET", "/pid", &[], b"") {
            let new: i32 = r.text().parse().unwrap();
            assert_ne!(new, old);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no worker came back; log:\n{}",
            s.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sigterm_lets_an_in_flight_request_finish_then_exits_0() {
    let mut s = Server::start(&["--module", "app"]);
    let addr = s.addr;
    let slow = std::thread::spawn(move || {
        try_request(addr, "GET", "/slow", &[], b"").map(|r| (r.status, r.text()))
    });
    std::thread::sleep(Duration::from_millis(300));
    s.signal(libc::SIGTERM);
    let (status, text) = slow.join().unwrap().expect("the slow request was cut off");
    assert_eq!((status, text.as_str()), (200, "slept 1.0"));
    let exit = s.wait_exit(T);
    assert_eq!(exit.code(), Some(0), "{}", s.log());
}

#[test]
fn sigint_shuts_down_at_once() {
    let mut s = Server::start(&["--module", "app"]);
    let addr = s.addr;
    let slow = std::thread::spawn(move || try_request(addr, "GET", "/slow?5", &[], b""));
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    s.signal(libc::SIGINT);
    let exit = s.wait_exit(T);
    assert_eq!(exit.code(), Some(0));
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "did not stop at once"
    );
    assert!(
        slow.join().unwrap().is_err(),
        "the in-flight request should have been cut"
    );
}

#[test]
fn need_app_exits_22_in_preforking_mode() {
    for _ in 0..3 {
        let (code, out) = run_to_exit(
            &[
                "--plugin",
                "python",
                "--http",
                "127.0.0.1:0",
                "--module",
                "broken_import",
                "--need-app",
            ],
            T,
        );
        assert_eq!(code, 22, "{out}");
        assert!(out.contains("this module is broken on purpose"), "{out}");
    }
}

#[test]
fn need_app_exits_22_in_lazy_apps_mode() {
    for _ in 0..3 {
        let (code, out) = run_to_exit(
            &[
                "--plugin",
                "python",
                "--http",
                "127.0.0.1:0",
                "--module",
                "broken_import",
                "--need-app",
                "--lazy-apps",
                "--processes",
                "2",
            ],
            T,
        );
        assert_eq!(code, 22, "{out}");
    }
}

#[test]
fn without_need_app_a_broken_app_serves_500s() {
    let s = Server::start(&["--module", "broken_import"]);
    assert_eq!(get(s.addr, "/").status, 500);
    assert!(
        s.log()
            .contains("app not loaded, every request will get 500"),
        "{}",
        s.log()
    );
}

#[test]
fn lazy_apps_load_the_app_in_each_worker() {
    let s = Server::start(&["--module", "app", "--lazy-apps", "--processes", "2"]);
    s.wait_log("worker 2 loaded the app", T);
    assert_eq!(get(s.addr, "/").text(), "Hello, World!");
}

#[test]
fn max_requests_recycles_the_worker_without_failing_requests() {
    let s = Server::start(&["--module", "app", "--max-requests", "5"]);
    let mut pids = std::collections::HashSet::new();
    // A recycling worker keeps serving until its replacement accepts, so a few requests
    // past the limit are normal; what matters is that none fails and workers turn over.
    for i in 0..60 {
        let deadline = Instant::now() + T;
        let r = loop {
            match try_request(s.addr, "GET", "/pid", &[("Connection", "close")], b"") {
                Ok(r) => break r,
                Err(e) => {
                    assert!(
                        Instant::now() < deadline,
                        "request {i} failed: {e}; log:\n{}",
                        s.log()
                    );
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        };
        assert_eq!(r.status, 200);
        pids.insert(r.text());
    }
    assert!(pids.len() >= 3, "expected recycled workers, saw {pids:?}");
    assert!(
        s.log().contains("recycling worker 1: served"),
        "{}",
        s.log()
    );
}

#[test]
fn preforking_shares_what_the_app_opened_at_import_lazy_apps_do_not() {
    let example = rsgi_e2e::repo_root().join("examples/lazy-apps");
    let example = example.to_str().unwrap();
    for lazy in [false, true] {
        let mut args = vec![
            "--module",
            "app",
            "--pythonpath",
            example,
            "--processes",
            "2",
        ];
        if lazy {
            args.push("--lazy-apps");
        }
        let s = Server::start(&args);
        s.wait_log("spawned worker 2", T);
        let mut seen = std::collections::HashMap::new();
        for _ in 0..200 {
            let text = get(s.addr, "/").text();
            // "connection opened by pid A, served by pid B"
            let nums: Vec<i32> = text
                .split(|c: char| !c.is_ascii_digit())
                .filter_map(|t| t.parse().ok())
                .collect();
            seen.insert(nums[1], nums[0]);
            if seen.len() == 2 {
                break;
            }
        }
        assert_eq!(seen.len(), 2, "both workers should answer: {seen:?}");
        for (worker, opener) in &seen {
            if lazy {
                assert_eq!(
                    opener, worker,
                    "lazy-apps: each worker opens its own connection"
                );
            } else {
                assert_eq!(
                    *opener,
                    s.pid(),
                    "preforking: the master opened the shared connection"
                );
            }
        }
    }
}
