use std::time::{Duration, Instant};

use rsgi_e2e::{get, run_to_exit, try_request, Server, TempDir};

const T: Duration = Duration::from_secs(30);

/// Input: `--harakiri 2`; a request sleeping 30 s.
/// Answer: once it ran 2 s a log line names the worker and the request, the worker's
/// Python stacks follow (faulthandler, on the stack-dump signal the master sends first),
/// the request's connection is cut, and a new worker serves the next request.
#[test]
fn harakiri_kills_a_stuck_worker_and_the_next_request_is_served() {
    let s = Server::start(&["--module", "app", "--harakiri", "2"]);
    let addr = s.addr;
    let stuck = std::thread::spawn(move || try_request(addr, "GET", "/slow?30", &[], b""));
    s.wait_log("harakiri: worker 1", T);
    assert!(
        stuck.join().unwrap().is_err(),
        "the stuck request must be cut"
    );
    let log = s.log();
    assert!(log.contains("\"GET /slow?30\""), "{log}");
    assert!(log.contains("(--harakiri 2)"), "{log}");
    // Where the app was stuck: faulthandler's dump of the worker's Python stacks.
    s.wait_log("in application", T);
    let log = s.log();
    assert!(log.contains("apps/app.py\", line"), "{log}");
    assert!(log.contains("(most recent call first)"), "{log}");
    let deadline = Instant::now() + T;
    loop {
        if let Ok(r) = try_request(s.addr, "GET", "/", &[], b"") {
            assert_eq!(r.status, 200);
            break;
        }
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Input: `--threads 2 --harakiri 2`; one thread stuck in a 30-second request while the
/// other answers short requests back to back.
/// Answer: the worker is still killed (each thread's request keeps its own start time: the
/// short ones ending do not hide it; if they did, no harakiri would come while they go on),
/// and the log line names the stuck request.
#[test]
fn harakiri_sees_a_stuck_thread_while_another_thread_keeps_serving() {
    let s = Server::start(&["--module", "app", "--threads", "2", "--harakiri", "2"]);
    let addr = s.addr;
    let stuck = std::thread::spawn(move || try_request(addr, "GET", "/slow?30", &[], b""));
    s.wait_log("app: slow request started", T);
    let started = Instant::now();
    while !s.log().contains("harakiri: worker 1") {
        assert!(started.elapsed() < T, "no harakiri; log:\n{}", s.log());
        let _ = try_request(addr, "GET", "/slow?0.05", &[], b"");
    }
    assert!(
        stuck.join().unwrap().is_err(),
        "the stuck request must be cut"
    );
    s.wait_log("(--harakiri 2)", T);
    assert!(
        s.log().contains("running \"GET /slow?30\""),
        "the line names the stuck request, not the last one started: {}",
        s.log()
    );
}

#[test]
fn kill_9_mid_request_fails_only_that_request() {
    let s = Server::start(&["--module", "app", "--processes", "2"]);
    s.wait_log("spawned worker 2", T);
    // The worker that serves the slow request names itself when the request starts.
    let addr = s.addr;
    let slow = std::thread::spawn(move || try_request(addr, "GET", "/slow?30", &[], b""));
    s.wait_log("app: slow request started", T);
    let busy: i32 = s
        .log()
        .split("app: slow request started (pid ")
        .nth(1)
        .and_then(|rest| rest.split(')').next()?.parse().ok())
        .expect("the busy worker's pid");
    // SAFETY: SIGKILL to a worker of our own test server.
    unsafe { libc::kill(busy, libc::SIGKILL) };
    assert!(
        slow.join().unwrap().is_err(),
        "the request on the killed worker fails"
    );
    for _ in 0..20 {
        assert_eq!(get(s.addr, "/").status, 200, "other requests keep working");
    }
    s.wait_log(&format!("(pid {busy}) died: killed by signal 9"), T);
}

#[test]
fn a_worker_that_dies_at_start_is_respawned_with_growing_pauses() {
    let dir = TempDir::new("bomb");
    std::fs::write(dir.join("dies.py"), "import os\nos._exit(3)\n").unwrap();
    let port = rsgi_e2e::free_port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let s = Server::spawn(
        rsgi_e2e::rsgi_command().args([
            "--plugin",
            "python",
            "--http",
            &addr.to_string(),
            "--module",
            "dies",
            "--pythonpath",
            dir.path().to_str().unwrap(),
            "--lazy-apps",
        ]),
        addr,
    );
    s.wait_log("respawning in 2s", T);
    let log = s.log();
    let spawns = log.matches("spawned worker 1").count();
    assert!(
        spawns <= 6,
        "{spawns} spawns in a few seconds: not backing off\n{log}"
    );
    assert!(log.contains("died: exit status 3; respawning"), "{log}");
    assert!(log.contains("respawning in 1s"), "{log}");
}

#[test]
fn need_app_exits_22_a_hundred_times_in_each_mode() {
    for lazy in [false, true] {
        for i in 0..50 {
            let mut args = vec![
                "--plugin",
                "python",
                "--http",
                "127.0.0.1:0",
                "--module",
                "broken_import",
                "--need-app",
            ];
            if lazy {
                args.extend(["--lazy-apps", "--processes", "2"]);
            }
            let (code, out) = run_to_exit(&args, T);
            assert_eq!(code, 22, "run {i} (lazy: {lazy}): {out}");
        }
    }
}
