use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rsgi_e2e::{get, touch_ahead, try_request, LoadLoop, Server};

const T: Duration = Duration::from_secs(30);

/// A temp dir with `versioned.py`, an app that answers the version it was imported with.
fn versioned_app(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rsgi-reload-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    write_version(&dir, 0);
    dir
}

fn write_version(dir: &Path, version: u32) {
    std::fs::write(
        dir.join("versioned.py"),
        format!(
            "VERSION = 'v{version}'\n\
             def application(environ, start_response):\n\
             \x20   start_response('200 OK', [('Content-Type', 'text/plain')])\n\
             \x20   return [VERSION.encode()]\n"
        ),
    )
    .unwrap();
}

fn wait_for_body(s: &Server, want: &str) {
    let deadline = Instant::now() + T;
    loop {
        if let Ok(r) = try_request(s.addr, "GET", "/", &[("Connection", "close")], b"") {
            if r.text() == want {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "never saw {want}; log:\n{}",
            s.log()
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

#[test]
fn twenty_graceful_reloads_under_load_drop_nothing_and_serve_new_code() {
    let dir = versioned_app("hup");
    let s = Server::start(&[
        "--module",
        "versioned",
        "--pythonpath",
        dir.to_str().unwrap(),
        "--processes",
        "2",
    ]);
    wait_for_body(&s, "v0");
    let load = LoadLoop::start(s.addr, "/", 4);
    for version in 1..=20 {
        write_version(&dir, version);
        s.signal(libc::SIGHUP);
        wait_for_body(&s, &format!("v{version}"));
    }
    // The load clients' own next requests reach the v20 workers too (this probe saw v20
    // first; on a busy machine the clients may not have sent one since).
    std::thread::sleep(Duration::from_millis(500));
    let report = load.finish();
    eprintln!(
        "20 reloads: {} requests ok, {} failed, longest request {:?}",
        report.ok, report.failed, report.max_latency
    );
    assert_eq!(report.failed, 0, "failures: {:?}", report.errors);
    assert!(report.ok > 100, "too little traffic: {}", report.ok);
    assert!(report.bodies.contains(&"v20".to_string()));
}

#[test]
fn touch_reload_reloads_when_the_file_changes() {
    let dir = versioned_app("touch");
    let touch = dir.join("reload.touch");
    std::fs::write(&touch, b"").unwrap();
    let s = Server::start(&[
        "--module",
        "versioned",
        "--pythonpath",
        dir.to_str().unwrap(),
        "--touch-reload",
        touch.to_str().unwrap(),
    ]);
    wait_for_body(&s, "v0");
    write_version(&dir, 1);
    touch_ahead(&touch, Duration::from_secs(2));
    wait_for_body(&s, "v1");
    assert!(s.log().contains("was touched"), "{}", s.log());
}

fn fifo_write(path: &Path, command: &str) {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .write_all(command.as_bytes())
        .unwrap();
}

#[test]
fn ten_chain_reloads_with_lazy_apps_drop_nothing() {
    let dir = versioned_app("chain");
    let fifo = dir.join("master.fifo");
    let s = Server::start(&[
        "--module",
        "versioned",
        "--pythonpath",
        dir.to_str().unwrap(),
        "--lazy-apps",
        "--processes",
        "2",
        "--master-fifo",
        fifo.to_str().unwrap(),
    ]);
    wait_for_body(&s, "v0");
    let load = LoadLoop::start(s.addr, "/", 4);
    for version in 1..=10 {
        write_version(&dir, version);
        fifo_write(&fifo, "c");
        s.wait_log("chain reload: replacing worker 2", T);
        wait_for_body(&s, &format!("v{version}"));
        // Both workers replaced before the next round.
        let deadline = Instant::now() + T;
        while s.log().matches("chain reload: replacing worker 2").count() < version as usize
            || s.log().matches("old worker 2").count() < version as usize
        {
            assert!(
                Instant::now() < deadline,
                "chain reload {version} stalled:\n{}",
                s.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let report = load.finish();
    eprintln!(
        "10 chain reloads: {} ok, {} failed, longest {:?}",
        report.ok, report.failed, report.max_latency
    );
    assert_eq!(report.failed, 0, "failures: {:?}", report.errors);
    assert!(report.ok > 100);
}

#[test]
fn master_fifo_adds_and_removes_workers_and_logs_stats() {
    let dir = versioned_app("fifo");
    let fifo = dir.join("master.fifo");
    let mut s = Server::start(&[
        "--module",
        "versioned",
        "--pythonpath",
        dir.to_str().unwrap(),
        "--master-fifo",
        fifo.to_str().unwrap(),
    ]);
    fifo_write(&fifo, "+");
    s.wait_log("spawned worker 2", T);
    fifo_write(&fifo, "s");
    s.wait_log("stats: up ", T);
    // One row per worker follows the header line: "stats:    2    12345 idle ...".
    let worker_rows = || {
        s.log()
            .lines()
            .filter_map(|l| l.split("stats: ").nth(1))
            .filter(|row| {
                row.split_whitespace()
                    .next()
                    .is_some_and(|id| id.parse::<u32>().is_ok())
            })
            .count()
    };
    let deadline = Instant::now() + T;
    while worker_rows() < 2 {
        assert!(
            Instant::now() < deadline,
            "no stats row per worker:\n{}",
            s.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    fifo_write(&fifo, "-");
    s.wait_log("old worker 2", T);
    assert_eq!(get(s.addr, "/").text(), "v0");
    fifo_write(&fifo, "q");
    assert_eq!(s.wait_exit(T).code(), Some(0));
    assert!(!fifo.exists(), "the FIFO is removed at exit");
}

#[test]
fn fifo_w_replaces_every_worker_with_the_new_code_in_lazy_mode() {
    let dir = versioned_app("fifo-w");
    let fifo = dir.join("master.fifo");
    let s = Server::start(&[
        "--module",
        "versioned",
        "--pythonpath",
        dir.to_str().unwrap(),
        "--lazy-apps",
        "--processes",
        "2",
        "--master-fifo",
        fifo.to_str().unwrap(),
    ]);
    let load = LoadLoop::start(s.addr, "/", 2);
    write_version(&dir, 7);
    fifo_write(&fifo, "w");
    wait_for_body(&s, "v7");
    let report = load.finish();
    assert_eq!(report.failed, 0, "failures: {:?}", report.errors);
}

#[test]
fn max_worker_lifetime_recycles_without_failures() {
    let s = Server::start(&["--module", "app", "--max-worker-lifetime", "1"]);
    let load = LoadLoop::start(s.addr, "/", 2);
    s.wait_log("(--max-worker-lifetime)", T);
    s.wait_log("old worker 1", T);
    let report = load.finish();
    assert_eq!(report.failed, 0, "{:?}", report.errors);
}

/// Input: two workers, `--max-worker-lifetime 1 --max-worker-lifetime-delta 3`.
/// Answer: worker 1 is recycled after about 1 s, worker 2 only once it lived 4 s (1 + 3 ×
/// (2 - 1), uWSGI's rule), so the two are not replaced together; serving goes on.
#[test]
fn max_worker_lifetime_delta_spreads_the_recycling_of_workers() {
    let s = Server::start(&[
        "--module",
        "app",
        "--processes",
        "2",
        "--max-worker-lifetime",
        "1",
        "--max-worker-lifetime-delta",
        "3",
    ]);
    s.wait_log("recycling worker 2: lived", T);
    let log = s.log();
    let first = |needle: &str| {
        log.find(needle)
            .unwrap_or_else(|| panic!("{needle}: {log}"))
    };
    assert!(
        first("recycling worker 1: lived") < first("recycling worker 2: lived"),
        "{log}"
    );
    let lived: u64 = log[first("recycling worker 2: lived")..]
        .split_whitespace()
        .nth(4)
        .and_then(|w| w.strip_suffix('s'))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{log}"));
    assert!(lived >= 4, "worker 2 recycled after {lived}s: {log}");
    assert_eq!(get(s.addr, "/").status, 200);
}

/// Input: `--max-requests 1 --min-worker-lifetime 5`, one request.
/// Answer: the worker asks for its replacement after that request, but the master
/// replaces it only once it has lived 5 s (not at once, as without the option): a second
/// later it has not, and requests are served meanwhile; then it is.
#[test]
fn min_worker_lifetime_holds_back_a_replacement_the_worker_asked_for() {
    let s = Server::start(&[
        "--module",
        "app",
        "--max-requests",
        "1",
        "--min-worker-lifetime",
        "5",
    ]);
    assert_eq!(get(s.addr, "/").status, 200);
    std::thread::sleep(Duration::from_millis(1000));
    assert!(!s.log().contains("recycling worker 1"), "{}", s.log());
    assert_eq!(get(s.addr, "/").status, 200);
    s.wait_log("recycling worker 1: served", T);
    s.wait_log("old worker 1", T);
    assert_eq!(get(s.addr, "/").status, 200);
}

#[test]
fn reload_on_rss_recycles_a_worker_over_the_limit() {
    // Any Python worker uses more than 1 MB: it is recycled, and serving goes on.
    let s = Server::start(&["--module", "app", "--reload-on-rss", "1"]);
    s.wait_log("MB of memory (--reload-on-rss)", T);
    s.wait_log("old worker 1", T);
    assert_eq!(get(s.addr, "/").status, 200);
}

#[test]
fn a_retiring_worker_past_worker_reload_mercy_is_killed() {
    let dir = versioned_app("mercy");
    let fifo = dir.join("master.fifo");
    let s = Server::start(&[
        "--module",
        "app",
        "--threads",
        "2",
        "--worker-reload-mercy",
        "1",
        "--master-fifo",
        fifo.to_str().unwrap(),
    ]);
    let addr = s.addr;
    let stuck = std::thread::spawn(move || try_request(addr, "GET", "/slow?20", &[], b""));
    std::thread::sleep(Duration::from_millis(300));
    fifo_write(&fifo, "w");
    s.wait_log("(--worker-reload-mercy): SIGKILL", T);
    assert!(
        stuck.join().unwrap().is_err(),
        "the stuck request is cut when its worker is killed"
    );
    assert_eq!(get(s.addr, "/").status, 200);
}
