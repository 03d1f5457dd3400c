use std::time::{Duration, Instant};

use rsgi_e2e::{get, run_to_exit, try_request, Server, TempDir};

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
    s.wait_log("app: slow request started", T);
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
    // A request far longer than the wait for the exit: a shutdown that let it finish
    // would not be over in time.
    let slow = std::thread::spawn(move || try_request(addr, "GET", "/slow?600", &[], b""));
    s.wait_log("app: slow request started", T);
    s.signal(libc::SIGINT);
    let exit = s.wait_exit(T);
    assert_eq!(exit.code(), Some(0));
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
    // past the limit are normal (on a busy machine, dozens: the replacement takes longer
    // to start); what matters is that none fails and workers turn over. At least 60
    // requests, then until a third worker answered.
    let until = Instant::now() + T;
    for i in 0.. {
        if i >= 60 && (pids.len() >= 3 || Instant::now() > until) {
            break;
        }
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
    s.wait_log("recycling worker 1: served", T);
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
        s.wait_log(
            if lazy {
                "worker 2 loaded the app"
            } else {
                "spawned worker 2"
            },
            T,
        );
        let mut seen = std::collections::HashMap::new();
        for text in rsgi_e2e::distinct_bodies(s.addr, "/", 4, 100, 2) {
            // "connection opened by pid A, served by pid B"
            let nums: Vec<i32> = text
                .split(|c: char| !c.is_ascii_digit())
                .filter_map(|t| t.parse().ok())
                .collect();
            seen.insert(nums[1], nums[0]);
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

/// True while process `pid` exists (and is not a zombie of ours).
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !matches!(
            stat.rsplit_once(')')
                .map(|(_, r)| r.trim_start().as_bytes()[0]),
            Some(b'Z')
        ),
        Err(_) => false,
    }
}

/// The pids of the workers the log says were spawned.
fn spawned_pids(log: &str) -> Vec<i32> {
    log.lines()
        .filter_map(|l| {
            l.split_once("spawned worker ")?
                .1
                .split_once("(pid ")?
                .1
                .split_once(')')
        })
        .map(|(pid, _)| pid.parse().unwrap())
        .collect()
}

fn wait_all_gone(pids: &[i32], log: impl Fn() -> String) {
    let deadline = Instant::now() + T;
    while pids.iter().any(|&p| alive(p)) {
        assert!(
            Instant::now() < deadline,
            "workers {:?} outlived their master; log:\n{}",
            pids.iter().filter(|&&p| alive(p)).collect::<Vec<_>>(),
            log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Input: SIGKILL to the master while a request is in flight. Answer: the in-flight request
/// still completes, each worker logs that the master is gone, stops gracefully and exits;
/// no orphan keeps the port.
#[test]
fn workers_stop_when_the_master_is_killed() {
    let mut s = Server::start(&["--module", "app", "--processes", "2"]);
    s.wait_log("spawned worker 2", T);
    let pids = spawned_pids(&s.log());
    assert_eq!(pids.len(), 2, "{}", s.log());
    let addr = s.addr;
    let slow = std::thread::spawn(move || {
        try_request(addr, "GET", "/slow", &[], b"").map(|r| (r.status, r.text()))
    });
    s.wait_log("app: slow request started", T);
    s.signal(libc::SIGKILL);
    let (status, text) = slow
        .join()
        .unwrap()
        .expect("the in-flight request was cut off");
    assert_eq!((status, text.as_str()), (200, "slept 1.0"));
    wait_all_gone(&pids, || s.log());
    s.wait_log("the master (pid", T);
    assert_eq!(
        s.log().matches("is gone; stopping gracefully").count(),
        2,
        "{}",
        s.log()
    );
    assert!(
        try_request(addr, "GET", "/", &[], b"").is_err(),
        "something still answers on {addr}"
    );
    let _ = s.wait_exit(T);
}

/// Input: a graceful reload (SIGHUP) after the TOML config was broken, so the re-executed
/// master refuses to start (exit 2, with the parse error in the log). Answer: the old
/// workers, whose master is gone, stop gracefully instead of serving on as orphans.
#[test]
fn workers_stop_when_the_reexecuted_master_fails_to_start() {
    let dir = TempDir::new("orphans");
    let config = dir.join("rsgi.toml");
    std::fs::write(&config, "processes = 2\n").unwrap();
    let mut s = Server::start(&["--module", "app", "--config", config.to_str().unwrap()]);
    s.wait_log("spawned worker 2", T);
    let pids = spawned_pids(&s.log());
    assert_eq!(pids.len(), 2, "{}", s.log());
    std::fs::write(&config, "processes = [not toml\n").unwrap();
    s.signal(libc::SIGHUP);
    let exit = s.wait_exit(T);
    assert_eq!(exit.code(), Some(2), "{}", s.log());
    wait_all_gone(&pids, || s.log());
    assert_eq!(
        s.log().matches("is gone; stopping gracefully").count(),
        2,
        "{}",
        s.log()
    );
}

/// Input: 4 workers with `--max-requests 3`, requests until every slot was recycled (all
/// reach the limit at about the same time). Answer: one recycle at a time: each
/// "recycling worker" line after the first comes after the previous replacement accepted
/// ("its replacement accepts"), so at most one worker is being swapped; no request fails.
#[test]
fn workers_reaching_max_requests_together_are_recycled_one_at_a_time() {
    let s = Server::start(&["--module", "app", "--processes", "4", "--max-requests", "3"]);
    let until = Instant::now() + T;
    let recycled = |log: &str| {
        let mut ids: Vec<&str> = log
            .lines()
            .filter_map(|l| l.split("recycling worker ").nth(1))
            .filter_map(|rest| rest.split(':').next())
            .collect();
        ids.sort();
        ids.dedup();
        ids.len()
    };
    while recycled(&s.log()) < 4 {
        assert!(
            Instant::now() < until,
            "not every worker recycled; log:\n{}",
            s.log()
        );
        let r = try_request(s.addr, "GET", "/pid", &[("Connection", "close")], b"");
        assert_eq!(r.map(|r| r.status).unwrap_or(0), 200, "{}", s.log());
    }
    let (mut begun, mut done) = (0, 0);
    for line in s.log().lines() {
        if line.contains("recycling worker ") {
            assert_eq!(
                begun,
                done,
                "a recycle began before the last one ended:\n{}",
                s.log()
            );
            begun += 1;
        } else if line.contains("its replacement accepts") {
            done += 1;
        }
    }
}

/// Input: 1 worker, `--max-requests 2 --max-requests-exclude /health`: 10 requests to
/// `/health`, then 2 to `/pid`. Answer: the health checks are answered by the same worker
/// and recycle nothing; the second counted request makes the worker ask for a replacement.
#[test]
fn max_requests_exclude_leaves_health_checks_out_of_the_count() {
    let s = Server::start(&[
        "--module",
        "app",
        "--max-requests",
        "2",
        "--max-requests-exclude",
        "/health",
    ]);
    for _ in 0..10 {
        assert_eq!(get(s.addr, "/health").status, 200);
    }
    s.log_barrier();
    assert!(!s.log().contains("--max-requests"), "{}", s.log());
    get(s.addr, "/pid");
    get(s.addr, "/pid");
    s.wait_log(
        "served 2 requests (--max-requests): asking for a replacement",
        T,
    );
}
