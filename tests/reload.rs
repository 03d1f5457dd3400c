use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use rsgi_e2e::{get, touch_ahead, try_request, LoadLoop, Server, TempDir};

const T: Duration = Duration::from_secs(30);

/// A temp dir with `versioned.py`, an app that answers the version it was imported with.
fn versioned_app(tag: &str) -> TempDir {
    let dir = TempDir::new(&format!("reload-{tag}"));
    write_version(dir.path(), 0);
    dir
}

/// Writes version `version` of `versioned.py` so that a worker importing it reads one
/// version or another, whole, and never an earlier one: written beside it and renamed into
/// place (`std::fs::write` truncates first: an import meanwhile would read an empty
/// module), with a size and an mtime of its own (CPython takes a cached compilation for
/// current when the source's mtime in whole seconds and its size match; the server runs
/// with bytecode writing off, and this holds even where it is on).
fn write_version(dir: &Path, version: u32) {
    let path = dir.join("versioned.py");
    let tmp = dir.join(".versioned.py.writing");
    std::fs::write(
        &tmp,
        format!(
            "VERSION = 'v{version}'\n\
             # {}\n\
             def application(environ, start_response):\n\
             \x20   start_response('200 OK', [('Content-Type', 'text/plain')])\n\
             \x20   return [VERSION.encode()]\n",
            "x".repeat(version as usize)
        ),
    )
    .unwrap();
    std::fs::File::options()
        .write(true)
        .open(&tmp)
        .unwrap()
        .set_modified(
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000 + 10 * u64::from(version)),
        )
        .unwrap();
    std::fs::rename(&tmp, &path).unwrap();
}

/// Waits until a request on a fresh connection is answered `want`; on failure, says what
/// the last answer was.
fn wait_for_body(s: &Server, want: &str) {
    let deadline = Instant::now() + T;
    loop {
        let last = match try_request(s.addr, "GET", "/", &[("Connection", "close")], b"") {
            Ok(r) if r.text() == want => return,
            Ok(r) => format!("status {} body {:?}", r.status, r.text()),
            Err(e) => format!("error {e}"),
        };
        assert!(
            Instant::now() < deadline,
            "never saw {want} (last answer: {last}); log:\n{}",
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
        dir.path().to_str().unwrap(),
        "--processes",
        "2",
    ]);
    wait_for_body(&s, "v0");
    let load = LoadLoop::start(s.addr, "/", 4);
    for version in 1..=20 {
        // Requests are under way through every reload: the clients were answered since
        // the last one.
        load.wait_answers(load.ok(), 1, T);
        write_version(dir.path(), version);
        s.signal(libc::SIGHUP);
        wait_for_body(&s, &format!("v{version}"));
    }
    // The load clients' own requests reach the v20 workers too (the probe saw v20 first).
    load.wait_body("v20", T);
    let report = load.finish();
    eprintln!(
        "20 reloads: {} requests ok, {} failed, longest request {:?}",
        report.ok, report.failed, report.max_latency
    );
    assert_eq!(report.failed, 0, "failures: {:?}", report.errors);
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
        dir.path().to_str().unwrap(),
        "--touch-reload",
        touch.to_str().unwrap(),
    ]);
    wait_for_body(&s, "v0");
    write_version(dir.path(), 1);
    touch_ahead(&touch, Duration::from_secs(2));
    wait_for_body(&s, "v1");
    s.wait_log("was touched", T);
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
        dir.path().to_str().unwrap(),
        "--lazy-apps",
        "--processes",
        "2",
        "--master-fifo",
        fifo.to_str().unwrap(),
    ]);
    // Both workers imported v0 before v1 is written (only one had to answer so far).
    s.wait_log_count("loaded the app", 2, T);
    wait_for_body(&s, "v0");
    let load = LoadLoop::start(s.addr, "/", 4);
    for version in 1..=10 {
        let round = version as usize;
        load.wait_answers(load.ok(), 1, T);
        write_version(dir.path(), version);
        fifo_write(&fifo, "c");
        wait_for_body(&s, &format!("v{version}"));
        // The chain is over before the next round (a command meanwhile would restart it):
        // the master read the command, worker 2 was replaced last, its new process loaded
        // the app (one line per process: two at the start, one per round), and the old
        // processes of both slots exited, which they do only once their replacement
        // accepts. The needles are whole phrases: other lines never contain them.
        s.wait_log_count("chain reload: replacing workers one at a time", round, T);
        s.wait_log_count("chain reload: replacing worker 2", round, T);
        s.wait_log_count("worker 2 loaded the app", 1 + round, T);
        s.wait_log_count("old worker 1 (pid", round, T);
        s.wait_log_count("old worker 2 (pid", round, T);
    }
    load.wait_body("v10", T);
    let report = load.finish();
    eprintln!(
        "10 chain reloads: {} ok, {} failed, longest {:?}",
        report.ok, report.failed, report.max_latency
    );
    assert_eq!(report.failed, 0, "failures: {:?}", report.errors);
    s.log_barrier();
    assert!(!s.log().contains(" died: "), "a worker died:\n{}", s.log());
}

#[test]
fn master_fifo_adds_and_removes_workers_and_logs_stats() {
    let dir = versioned_app("fifo");
    let fifo = dir.join("master.fifo");
    let mut s = Server::start(&[
        "--module",
        "versioned",
        "--pythonpath",
        dir.path().to_str().unwrap(),
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
        dir.path().to_str().unwrap(),
        "--lazy-apps",
        "--processes",
        "2",
        "--master-fifo",
        fifo.to_str().unwrap(),
    ]);
    s.wait_log_count("loaded the app", 2, T);
    let load = LoadLoop::start(s.addr, "/", 2);
    write_version(dir.path(), 7);
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

/// Input: `--max-requests 1 --min-worker-lifetime 3600`, one request (the readiness probe),
/// then the master is made to go round its loop twice (two stats summaries, SIGUSR1).
/// Answer: the worker asked for its replacement, the master looked at it at least once
/// since (the loop handles a signal, then checks the limits: the second summary comes
/// after a check that saw the request) and held the replacement back; requests are served
/// meanwhile by the same worker. Without the option the replacement would be logged
/// before the second summary. No clock: the worker is nowhere near 3600 s old.
#[test]
fn min_worker_lifetime_holds_back_a_replacement_the_worker_asked_for() {
    let s = Server::start(&[
        "--module",
        "app",
        "--max-requests",
        "1",
        "--min-worker-lifetime",
        "3600",
    ]);
    let pid = get(s.addr, "/pid").text();
    s.wait_log(
        "worker 1 served 1 requests (--max-requests): asking for a replacement",
        T,
    );
    for round in 1..=2 {
        s.signal(libc::SIGUSR1);
        s.wait_log_count("stats: up ", round, T);
    }
    assert!(!s.log().contains("recycling worker 1"), "{}", s.log());
    assert_eq!(get(s.addr, "/pid").text(), pid, "served by the same worker");
}

/// Input: `--max-requests 1 --min-worker-lifetime 1`, one request.
/// Answer: the replacement held back by the option comes once the worker is old enough:
/// it is recycled, the old process exits, and a new one serves.
#[test]
fn min_worker_lifetime_recycles_once_the_worker_is_old_enough() {
    let s = Server::start(&[
        "--module",
        "app",
        "--max-requests",
        "1",
        "--min-worker-lifetime",
        "1",
    ]);
    s.wait_log("recycling worker 1: served", T);
    s.wait_log_count("spawned worker 1 (pid", 2, T);
    s.wait_log("old worker 1 (pid", T);
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
    s.wait_log("app: slow request started", T);
    fifo_write(&fifo, "w");
    s.wait_log("(--worker-reload-mercy): SIGKILL", T);
    assert!(
        stuck.join().unwrap().is_err(),
        "the stuck request is cut when its worker is killed"
    );
    assert_eq!(get(s.addr, "/").status, 200);
}
