//! `import uwsgi` and uwsgidecorators: an app written for uWSGI runs unchanged.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use rsgi_e2e::{free_addr, get, http_args, rsgi_command, venv, Server, TempDir};

const T: Duration = Duration::from_secs(20);

fn scratch() -> TempDir {
    TempDir::new("uwsgi-api")
}

fn start(out: &Path, extra: &[&str]) -> Server {
    let venv = venv();
    let mut args = vec![
        "--module",
        "uwsgi_api",
        "--virtualenv",
        venv.to_str().unwrap(),
    ];
    if !extra.contains(&"--processes") {
        args.extend(["--processes", "2"]);
    }
    args.extend_from_slice(extra);
    let addr = free_addr();
    let mut cmd = rsgi_command();
    cmd.env("UWSGI_API_OUT", out).args(http_args(addr, &args));
    let server = Server::spawn(&mut cmd, addr);
    server.wait_ready();
    server
}

/// `/facts` of each worker, by worker id (requests until both answered).
fn facts(s: &Server) -> BTreeMap<u64, serde_json::Value> {
    let mut seen = BTreeMap::new();
    let deadline = Instant::now() + T;
    while seen.len() < 2 {
        assert!(
            Instant::now() < deadline,
            "both workers never answered: {seen:?}"
        );
        let bodies = rsgi_e2e::distinct_bodies(s.addr, "/facts", 4, 20, 2);
        for body in bodies {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            seen.insert(v["worker_id"].as_u64().unwrap(), v);
        }
    }
    seen
}

fn lines(file: &Path) -> Vec<String> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Waits until `file` has `n` lines or more.
fn wait_lines(file: &Path, n: usize) {
    let deadline = Instant::now() + T;
    while lines(file).len() < n {
        let file = file.display();
        assert!(Instant::now() < deadline, "{file} never had {n} lines");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Input: an app using `import uwsgi` and uwsgidecorators (`@postfork`, `@postfork(2)`,
/// `@timer(1)` for one worker and for `workers`, a `@timer` whose handler raises, `@lock`
/// around a read-sleep-write counter, `uwsgi.atexit`, `uwsgi.log`, `uwsgi.reload()`),
/// preforking with 2 workers.
/// Answer: each worker knows its id, the master's pid and the worker count; postfork hooks
/// ran once in each worker (the `(2)` one only in worker 2); the one-worker timer runs in
/// worker 1 only, the `workers` one in both; the raising handler is a traceback in the
/// log and the worker serves on; 100 concurrent bumps count 100; the log line arrives;
/// `uwsgi.reload()` reloads gracefully; SIGTERM runs `uwsgi.atexit` in each worker.
#[test]
fn an_app_written_for_uwsgi_runs_with_its_decorators_in_preforking_mode() {
    let out = scratch();
    let mut s = start(&out, &[]);
    let master = s.pid() as u64;
    let workers = facts(&s);
    assert_eq!(workers.keys().copied().collect::<Vec<_>>(), [1, 2]);
    for (id, f) in &workers {
        assert_eq!(f["masterpid"], master, "{f}");
        assert_eq!(f["numproc"], 2, "{f}");
        assert_eq!(
            f["imported_in"], master,
            "preforking imports in the master: {f}"
        );
        assert_eq!(f["postforked"], serde_json::json!([f["pid"]]), "{f}");
        let expected = if *id == 2 {
            serde_json::json!([f["pid"]])
        } else {
            serde_json::json!([])
        };
        assert_eq!(f["only_in_2"], expected, "{f}");
        assert_eq!(f["threads_opt"], "1");
        assert_eq!(f["enable_threads"], true);
        assert_eq!(f["has_spool"], false, "what rsgi lacks is not there: {f}");
    }

    // Two ticks each: the timers repeat.
    wait_lines(&out.join("tick-1"), 2);
    wait_lines(&out.join("all-1"), 2);
    wait_lines(&out.join("all-2"), 2);
    assert!(
        !out.join("tick-2").exists(),
        "a one-worker timer runs in worker 1 only"
    );
    s.wait_log("boom from a timer", T);
    s.wait_log("the handler of uwsgi signal", T);

    let clients: Vec<_> = (0..4)
        .map(|_| {
            let addr = s.addr;
            std::thread::spawn(move || {
                for _ in 0..25 {
                    assert_eq!(get(addr, "/bump").text(), "bumped");
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    assert_eq!(
        lines(&out.join("counter")),
        ["100"],
        "uwsgi.lock() excluded both workers"
    );

    assert_eq!(get(s.addr, "/log").text(), "logged");
    s.wait_log("a line from the app through uwsgi.log", T);

    let before: Vec<u64> = workers
        .values()
        .map(|f| f["pid"].as_u64().unwrap())
        .collect();
    assert_eq!(get(s.addr, "/reload").text(), "True");
    s.wait_log("the app asked for a graceful reload", T);
    let deadline = Instant::now() + T;
    loop {
        let now = facts(&s);
        if now
            .values()
            .all(|f| !before.contains(&f["pid"].as_u64().unwrap()))
        {
            break;
        }
        assert!(Instant::now() < deadline, "the workers were never replaced");
        std::thread::sleep(Duration::from_millis(100));
    }

    s.signal(libc::SIGTERM);
    assert!(s.wait_exit(T).success());
    assert_eq!(
        lines(&out.join("atexit-1")).len(),
        2,
        "worker 1 before and after the reload"
    );
    assert_eq!(lines(&out.join("atexit-2")).len(), 2);
}

/// Input: the same app with `--lazy-apps` (imported in each worker after the fork).
/// Answer: postfork hooks still ran once per worker (right after the import), timers run
/// (worker 1 only for the one-worker timer), `opt` says lazy-apps.
#[test]
fn with_lazy_apps_postfork_hooks_and_timers_run_in_the_workers() {
    let out = scratch();
    let mut s = start(&out, &["--lazy-apps"]);
    let workers = facts(&s);
    for f in workers.values() {
        assert_eq!(
            f["imported_in"], f["pid"],
            "lazy: imported in the worker: {f}"
        );
        assert_eq!(f["postforked"], serde_json::json!([f["pid"]]), "{f}");
        assert_eq!(f["lazy"], true);
        assert_eq!(f["masterpid"], s.pid() as u64);
    }
    wait_lines(&out.join("tick-1"), 1);
    wait_lines(&out.join("all-2"), 1);
    assert!(!out.join("tick-2").exists());
    s.signal(libc::SIGTERM);
    assert!(s.wait_exit(T).success());
}

/// Input: `--no-uwsgi-module --need-app` with the app that imports uwsgi.
/// Answer: the import fails as it would without uWSGI: exit 22, the log names the module.
#[test]
fn no_uwsgi_module_leaves_the_name_free() {
    let out = scratch();
    let venv = venv();
    let addr = free_addr();
    let mut cmd = rsgi_command();
    cmd.env("UWSGI_API_OUT", out.path()).args(http_args(
        addr,
        &[
            "--module",
            "uwsgi_api",
            "--virtualenv",
            venv.to_str().unwrap(),
            "--no-uwsgi-module",
            "--need-app",
        ],
    ));
    let mut s = Server::spawn(&mut cmd, addr);
    let status = s.wait_exit(T);
    assert_eq!(status.code(), Some(22), "{}", s.log());
    s.wait_log("No module named 'uwsgi'", T);
}

/// Input: one worker; a request that calls `set_user_harakiri(1)` and returns, then a
/// request sleeping 1.5 s; then a request through `@harakiri(1)` sleeping 5 s.
/// Answer: the deadline ended with its request (the sleeper is answered by the same
/// worker); the slow one is cut off (connection closed, no answer) before its end, a log
/// line names the user harakiri, the worker's Python stacks follow (where it slept), and a
/// new worker serves the next request.
#[test]
fn set_user_harakiri_kills_the_worker_only_while_its_request_runs() {
    let out = scratch();
    let mut s = start(&out, &["--processes", "1"]);
    let pid = |s: &Server| {
        let body = get(s.addr, "/facts").text();
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["pid"]
            .as_u64()
            .unwrap()
    };
    let first = pid(&s);
    assert_eq!(get(s.addr, "/harakiri-then-return").text(), "armed");
    assert_eq!(get(s.addr, "/sleep").text(), "slept");
    assert_eq!(pid(&s), first, "the deadline ended with its request");

    // Sleeping 5 s, it would be answered if the harakiri did not cut it.
    let cut = rsgi_e2e::try_request(s.addr, "GET", "/too-slow", &[], b"");
    assert!(
        cut.as_ref().map_or(true, |r| r.status == 0),
        "no answer from a killed worker: {:?}",
        cut.map(|r| r.status)
    );
    s.wait_log("user harakiri: worker 1", T);
    s.wait_log("in too_slow", T);
    assert_ne!(pid(&s), first, "a new worker serves");
    s.signal(libc::SIGTERM);
    assert!(s.wait_exit(T).success());
}

/// GET `path` until a worker other than `not` answers; returns its JSON.
fn from_another_worker(s: &Server, path: &str, not: u64) -> serde_json::Value {
    let deadline = Instant::now() + T;
    loop {
        let addr = s.addr;
        let owned = path.to_owned();
        let bodies: Vec<String> = (0..4)
            .map(|_| {
                let p = owned.clone();
                std::thread::spawn(move || get(addr, &p).text())
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect();
        for body in bodies {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            if v["pid"].as_u64() != Some(not) {
                return v;
            }
        }
        assert!(Instant::now() < deadline, "only worker {not} answered");
    }
}

/// Input: a Flask app using Flask-Caching's `UWSGICache` (cachelib's uWSGI backend) on
/// `--cache2 name=shared,items=100` and `--cache2 name=small,items=4,blocksize=1024`, 2
/// workers: a value set through one worker, `add` of an existing key, a memoized view,
/// `uwsgi.cache_update` with a 1-second expiry, a 5000-byte value into the small cache.
/// Answer: the other worker reads the value; `add` refuses the existing key; the memoized
/// view is computed once for both workers; the expiring item is gone after 2 s; the
/// too-big value is refused (None) with a log line.
#[test]
fn the_uwsgi_cache_is_shared_by_the_workers_through_flask_caching() {
    let venv = venv();
    let s = Server::start(&[
        "--module",
        "cache_app:app",
        "--virtualenv",
        venv.to_str().unwrap(),
        "--processes",
        "2",
        "--cache2",
        "name=shared,items=100",
        "--cache2",
        "name=small,items=4,blocksize=1024",
    ]);
    let json = |path: &str| -> serde_json::Value {
        serde_json::from_str(&get(s.addr, path).text()).unwrap()
    };
    let set = json("/set/colour/blue");
    assert_eq!(set["stored"], true, "{set}");
    let setter = set["pid"].as_u64().unwrap();
    let seen = from_another_worker(&s, "/get/colour", setter);
    assert_eq!(
        (&seen["value"], &seen["has"]),
        (&"blue".into(), &true.into()),
        "{seen}"
    );
    assert_eq!(
        json("/add/colour/red")["added"],
        false,
        "add keeps the existing value"
    );
    assert_eq!(json("/get/colour")["value"], "blue");

    let first = get(s.addr, "/memo");
    let first_pid = first.header("x-pid").unwrap().to_owned();
    let deadline = Instant::now() + T;
    loop {
        let addr = s.addr;
        let answers: Vec<_> = (0..4)
            .map(|_| std::thread::spawn(move || get(addr, "/memo")))
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect();
        for a in &answers {
            assert_eq!(a.text(), first.text(), "computed once, for both workers");
        }
        if answers
            .iter()
            .any(|a| a.header("x-pid") != Some(first_pid.as_str()))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the other worker never answered /memo"
        );
    }

    let stored = json("/raw/expiring");
    assert_eq!(stored["stored"], true, "{stored}");
    assert_eq!(
        stored["value"], "soon gone",
        "read right after storing: {stored}"
    );
    // It expires (within two seconds; the wait is only a deadline).
    let deadline = Instant::now() + T;
    while json("/raw/get/brief")["value"] != serde_json::Value::Null {
        assert!(Instant::now() < deadline, "the item never expired");
        std::thread::sleep(Duration::from_millis(50));
    }

    assert_eq!(json("/raw/too-big")["stored"], serde_json::Value::Null);
    s.wait_log("5000 bytes, more than blocksize 1024", T);
}

/// Input: five requests, then `uwsgi.workers()` in a worker of two. Answer: both workers
/// (ids 1 and 2, their pids, uWSGI's keys), the asking one `busy` in its own request, and
/// at least the five requests counted: read from the host's scoreboard through the
/// `rsgi.scoreboard` extension.
#[test]
fn uwsgi_workers_lists_every_worker_from_the_hosts_scoreboard() {
    let out = scratch();
    let s = start(out.path(), &[]);
    for _ in 0..5 {
        assert_eq!(get(s.addr, "/").status, 200);
    }
    let r = get(s.addr, "/workers");
    assert_eq!(r.status, 200, "{}", s.log());
    let v: serde_json::Value = serde_json::from_str(&r.text()).unwrap();
    let workers = v["workers"].as_array().unwrap();
    let mut ids: Vec<u64> = workers.iter().map(|w| w["id"].as_u64().unwrap()).collect();
    ids.sort();
    assert_eq!(ids, [1, 2], "{v}");
    let me = workers
        .iter()
        .find(|w| w["pid"] == v["me"])
        .unwrap_or_else(|| panic!("the asking worker is not listed: {v}"));
    assert_eq!(me["status"], "busy", "{v}");
    let served: u64 = workers
        .iter()
        .map(|w| w["requests"].as_u64().unwrap())
        .sum();
    assert!(served >= 5, "{v}");
    for w in workers {
        for key in ["exceptions", "tx", "avg_rt", "last_spawn"] {
            assert!(w[key].is_u64(), "{key} missing: {w}");
        }
    }
}
