//! The python plugin on each supported Python: 3.11 (`python3` on PATH), 3.13, 3.14 and 3.15
//! and the free-threaded 3.13t and 3.14t (built from Debian's source packages by
//! scripts/build-python.sh), each served through its own plugin `librsgi_python<TAG>.so`,
//! which scripts/build-python-plugins.sh builds and puts next to the `rsgi` binary.
//!
//! Compiled only with the `pythons` feature (scripts/test-pythons.sh runs
//! `cargo test -p rsgi-e2e --features pythons pythons::`), so the default test run does not
//! need those interpreters. With the feature on, a missing plugin is a failure that says
//! how to build it, unless `RSGI_PYTHONS_BUILT` (the versions scripts/test-pythons.sh could
//! build, e.g. `3.11 3.13 3.13t`) leaves that version out: its tests then say it was not
//! built and pass.
//!
//! With `RSGI_PYTHONS_RESULTS=DIR`, each passing test writes what it measured to
//! `DIR/<TAG>/<test>`, from which scripts/python-table.sh makes the README's table.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rsgi_e2e::{
    free_port, get, repo_root, rsgi_command, target_dir, try_request, Client, LoadLoop, Server,
};

const T: Duration = Duration::from_secs(30);

/// Held by the tests that keep the CPUs busy (the parallelism measurement and the recycling
/// loads), so that one never measures while another one loads the machine.
static CPU_HEAVY: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn cpu_heavy() -> std::sync::MutexGuard<'static, ()> {
    CPU_HEAVY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Whether Python `tag`'s tests run: false when `RSGI_PYTHONS_BUILT` is set and does not
/// name it (scripts/test-pythons.sh could not build that CPython here, and said why).
fn built(tag: &str) -> bool {
    match std::env::var("RSGI_PYTHONS_BUILT") {
        Ok(list) if !list.split_whitespace().any(|t| t == tag) => {
            eprintln!(
                "python{tag}: not built on this machine (RSGI_PYTHONS_BUILT={list}): not tested"
            );
            false
        }
        _ => true,
    }
}

/// Writes `text` to `$RSGI_PYTHONS_RESULTS/<tag>/<case>` (when set): the cell of the README's
/// Python table for that version and check (scripts/python-table.sh).
fn record(tag: &str, case: &str, text: &str) {
    let Some(dir) = std::env::var_os("RSGI_PYTHONS_RESULTS") else {
        return;
    };
    let dir = PathBuf::from(dir).join(tag);
    std::fs::create_dir_all(&dir).unwrap();
    rsgi_e2e::write_atomically(&dir.join(case), format!("{text}\n"));
}

/// The plugin name for Python `tag` (`python3.13`), after checking its file is there.
fn plugin(tag: &str) -> String {
    let name = format!("python{tag}");
    let file = target_dir().join(format!("librsgi_{name}.so"));
    assert!(
        file.is_file(),
        "{} is missing: run scripts/build-python-plugins.sh (it builds Python {tag} if needed, \
         then the plugin for it), or leave {tag} out of RSGI_PYTHONS_BUILT when this machine \
         cannot build it (scripts/test-pythons.sh does both)",
        file.display()
    );
    name
}

/// Starts `rsgi --plugin python<TAG> --http 127.0.0.1:PORT <args>` and waits until it answers.
fn start(tag: &str, args: &[&str]) -> Server {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let mut cmd = rsgi_command();
    cmd.args(["--plugin", &plugin(tag), "--http", &addr.to_string()])
        .args(args);
    let server = Server::spawn(&mut cmd, addr);
    server.wait_ready();
    server
}

/// What `tests/apps/cpu_app.py` says about the interpreter serving it.
fn info(s: &Server) -> HashMap<String, String> {
    let r = get(s.addr, "/info");
    assert_eq!(r.status, 200, "{}", s.log());
    r.text()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn is_free_threaded(tag: &str) -> bool {
    tag.ends_with('t')
}

/// The right interpreter answers, the startup log names the versioned plugin and says
/// whether the GIL is off; then GET, a 200 kB POST, a streamed body and 50 requests on one
/// keep-alive connection.
fn serves_get_post_and_keep_alive(tag: &str) {
    let s = start(tag, &["--module", "cpu_app"]);
    let info = info(&s);
    let version = tag.trim_end_matches('t');
    assert!(
        info["version"].starts_with(&format!("{version}.")),
        "{info:?}"
    );
    let free = is_free_threaded(tag);
    assert_eq!(
        info["free_threaded_build"],
        free.to_string().to_title(),
        "{info:?}"
    );
    assert_eq!(info["gil"], (!free).to_string().to_title(), "{info:?}");
    record(tag, "version", &info["version"]);
    let log = s.log();
    assert!(
        log.contains(&format!("plugin python{tag} 0.1.0 (app) from")),
        "{log}"
    );
    assert_eq!(
        log.contains(&format!("free-threaded Python {tag}: the GIL is disabled")),
        free,
        "{log}"
    );
    drop(s);

    let s = start(tag, &["--module", "app"]);
    let r = get(s.addr, "/");
    assert_eq!((r.status, r.text().as_str()), (200, "Hello, World!"));
    let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let r = try_request(s.addr, "POST", "/echo", &[], &body).unwrap();
    assert_eq!(r.status, 200);
    assert!(r.body == body, "the echoed body differs");
    let r = get(s.addr, "/stream");
    assert_eq!(r.text(), "chunk0\nchunk1\nchunk2\nchunk3\nchunk4\n");
    let mut c = Client::connect(s.addr).unwrap();
    for i in 0..50 {
        let sent = format!("request {i}");
        let r = c.request("POST", "/echo", &[], sent.as_bytes()).unwrap();
        assert_eq!((r.status, r.text()), (200, sent));
        assert_ne!(r.header("connection"), Some("close"));
    }
    record(
        tag,
        "serves",
        "GET, 200 kB POST, streamed body, 50 keep-alive requests",
    );
}

/// `True`/`False` as Python prints them.
trait TitleCase {
    fn to_title(&self) -> String;
}

impl TitleCase for String {
    fn to_title(&self) -> String {
        let mut chars = self.chars();
        chars
            .next()
            .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
            .unwrap_or_default()
    }
}

fn check_cext(s: &Server) {
    let r = get(s.addr, "/cext");
    assert_eq!(r.status, 200, "{}", s.log());
    let t = r.text();
    assert!(
        t.starts_with("ssl=OpenSSL sqlite=42 decimal=3.30 md5="),
        "{t}"
    );
    assert!(t.ends_with("ctypes=4"), "{t}");
}

/// `_ssl`, `_sqlite3`, `_decimal`, `_ctypes` import inside the app (libpython promoted to
/// the global scope), in the first worker and in one respawned after SIGKILL.
fn c_extensions_import_and_a_killed_worker_is_respawned(tag: &str) {
    let s = start(tag, &["--module", "app"]);
    check_cext(&s);
    let old: i32 = get(s.addr, "/pid").text().parse().unwrap();
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
            "no worker came back:\n{}",
            s.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    check_cext(&s);
    record(tag, "cext", "C extensions, also after SIGKILL and respawn");
}

/// `tests/apps/app.py` behind `wsgiref.validate.validator`: each request is checked against
/// PEP 3333 (the environ, start_response, the iterable and its close()); a violation would
/// be a 500 and an AssertionError or WSGIWarning in the log.
fn passes_the_wsgi_validator(tag: &str) {
    let s = start(tag, &["--module", "validated_app"]);
    let mut c = Client::connect(s.addr).unwrap();
    let checks: [(&str, &str, &[u8], Option<&str>); 6] = [
        ("GET", "/", b"", Some("Hello, World!")),
        ("GET", "/?a=1&b=%20", b"", Some("Hello, World!")),
        ("POST", "/echo", b"posted bytes", Some("posted bytes")),
        (
            "GET",
            "/stream",
            b"",
            Some("chunk0\nchunk1\nchunk2\nchunk3\nchunk4\n"),
        ),
        ("HEAD", "/", b"", None),
        ("GET", "/environ", b"", None),
    ];
    for (method, path, body, expected) in checks {
        let r = c.request(method, path, &[("X-Test", "v")], body).unwrap();
        assert_eq!(r.status, 200, "{method} {path}:\n{}", s.log());
        if let Some(expected) = expected {
            assert_eq!(r.text(), expected, "{method} {path}");
        }
    }
    // A leaked, unclosed iterable's __del__ assertion is written when the worker drops
    // it, after its response: one more request on the same connection (the same worker)
    // comes after that, and the barrier after everything written before.
    assert_eq!(c.request("GET", "/", &[], b"").unwrap().status, 200);
    s.log_barrier();
    let log = s.log();
    for bad in [
        "AssertionError",
        "WSGIWarning",
        "Traceback",
        "Exception ignored",
    ] {
        assert!(!log.contains(bad), "{bad} in the log:\n{log}");
    }
    // The validator is really in the way: a header with CR/LF breaks the spec.
    let r = get(s.addr, "/badheader");
    assert_eq!(r.status, 500);
    s.wait_log("AssertionError", T);
    record(tag, "validator", "wsgiref validator");
}

/// A virtualenv made by this Python (without pip: the probe package is written straight
/// into its site-packages) gives the app its packages and its `sys.prefix`.
fn virtualenv_made_by_this_python(tag: &str) {
    let s = start(tag, &["--module", "cpu_app"]);
    let base = info(&s);
    drop(s);
    let venv_dir = rsgi_e2e::TempDir::new(&format!("venv-{tag}"));
    let venv = venv_dir.join("venv");
    let made = Command::new(&base["executable"])
        .args(["-m", "venv", "--without-pip"])
        .arg(&venv)
        .status()
        .expect("run python -m venv");
    assert!(made.success(), "{} -m venv failed", base["executable"]);
    let site = Command::new(venv.join("bin/python"))
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_path('purelib'))",
        ])
        .output()
        .unwrap();
    let site = PathBuf::from(String::from_utf8(site.stdout).unwrap().trim());
    let probe = site.join("rsgi_venv_probe");
    std::fs::create_dir_all(&probe).unwrap();
    std::fs::copy(
        repo_root().join("tests/fixtures/venvpkg/rsgi_venv_probe/__init__.py"),
        probe.join("__init__.py"),
    )
    .unwrap();
    let venv_arg = venv.to_str().unwrap();

    let s = start(tag, &["--module", "venvapp", "--virtualenv", venv_arg]);
    let r = get(s.addr, "/");
    assert_eq!(
        (r.status, r.text().as_str()),
        (200, "from-venv"),
        "{}",
        s.log()
    );
    drop(s);
    let s = start(tag, &["--module", "cpu_app", "--virtualenv", venv_arg]);
    let inside = info(&s);
    drop(s);
    let canon = |p: &str| Path::new(p).canonicalize().unwrap();
    assert_eq!(canon(&inside["prefix"]), canon(venv_arg), "{inside:?}");
    assert_eq!(
        canon(&inside["base_prefix"]),
        canon(&base["base_prefix"]),
        "{inside:?}"
    );
    let _ = std::fs::remove_dir_all(&venv);
    record(tag, "virtualenv", "virtualenv");
}

/// Input: two requests at once on `--threads 2` (one worker), each counting in pure Python
/// and watching the other's count (`tests/apps/cpu_app.py`, `/overlap`), with the switch
/// interval raised past their deadline. Answer, free-threaded: both say `overlapped` (each
/// saw the other's count move 100 times between two of its own steps: the other ran while
/// it ran); with a GIL: both say `alone` (the one holding the GIL never let the other run;
/// at most the moments each waited for the GIL show a move or two), which shows the check
/// can tell the two apart.
/// How much faster the free-threaded build is belongs in a benchmark, not here.
fn two_requests_run_python_at_the_same_time_only_without_a_gil(tag: &str) {
    let _cpus = cpu_heavy();
    let s = start(tag, &["--module", "cpu_app", "--threads", "2"]);
    // The deadline only runs out when the requests cannot overlap (a GIL): keep it short
    // there, and long where it must never run out.
    let deadline = if is_free_threaded(tag) { 60 } else { 3 };
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
    let answers: Vec<String> = ["a", "b"]
        .into_iter()
        .map(|role| {
            let (addr, barrier) = (s.addr, barrier.clone());
            std::thread::spawn(move || {
                let mut c = Client::connect(addr).unwrap();
                barrier.wait();
                c.request("GET", &format!("/overlap?{role}&{deadline}"), &[], b"")
                    .map(|r| r.text())
                    .unwrap()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    let want = if is_free_threaded(tag) {
        "overlapped"
    } else {
        "alone"
    };
    assert_eq!(answers, [want, want], "python{tag}\n{}", s.log());
    let result = if is_free_threaded(tag) {
        "yes: two CPU-bound requests on `--threads 2` ran Python at the same time"
    } else {
        "no (GIL): two requests on `--threads 2` took turns"
    };
    record(tag, "parallel", result);
}

/// The seed scenario: `--threads 4 --max-requests 10`, an app thread started at import
/// (`tests/apps/threaded_app.py`), under load until 300 workers were recycled: every request
/// answered, no hang (bounded wait), the app thread alive in every worker.
fn three_hundred_recycles(tag: &str, lazy: bool) {
    let _cpus = cpu_heavy();
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
    let s = start(tag, &args);
    let started = Instant::now();
    let load = LoadLoop::start(s.addr, "/", 4);
    let deadline = started + Duration::from_secs(300);
    while s.log().matches("old worker").count() < 300 {
        if Instant::now() > deadline {
            let _ = load.finish();
            panic!(
                "python{tag} lazy={lazy}: only {} recycles in 300 s; a hang?\n{}",
                s.log().matches("old worker").count(),
                s.log()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let report = load.finish();
    let pids: HashSet<&str> = report
        .bodies
        .iter()
        .filter_map(|b| b.split(' ').next())
        .collect();
    let took = started.elapsed();
    eprintln!(
        "python{tag} lazy={lazy}: 300 recycles in {took:?}: {} requests, {} failed, {} worker pids, \
         longest {:?}",
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
    assert_eq!(get(s.addr, "/").status, 200);
    record(
        tag,
        if lazy { "lazy" } else { "recycling" },
        &format!(
            "300 recycles, {} requests, 0 failed ({:.1} s)",
            report.ok,
            took.as_secs_f64()
        ),
    );
}

/// An ASGI app (tests/apps/asgi_app.py, standard library only) on asyncio's loop: GET,
/// lifespan state, a 300 KB body, 100 requests held at once and released, a client that
/// leaves (http.disconnect, then send raises). On 3.12 and later the loop's tasks start
/// eagerly, which the startup line says.
fn serves_an_asgi_app(tag: &str) {
    let s = start(tag, &["--asgi", "asgi_app:app", "--asgi-loop", "asyncio"]);
    assert_eq!(get(s.addr, "/").text(), "hello", "{}", s.log());
    s.wait_log("ASGI app served on an asyncio event loop", T);
    let eager = tag != "3.11";
    assert_eq!(
        s.log().contains("tasks started eagerly"),
        eager,
        "{}",
        s.log()
    );
    let scope: serde_json::Value = serde_json::from_str(&get(s.addr, "/scope").text()).unwrap();
    assert!(
        scope["state"]["started_in"].as_i64().unwrap() > 0,
        "{scope}"
    );
    let body = vec![b'b'; 300_000];
    let r = try_request(s.addr, "POST", "/post-size", &[], &body).unwrap();
    assert_eq!(r.text(), "300000");
    let held: Vec<_> = (0..100)
        .map(|_| {
            let mut c = Client::connect(s.addr).unwrap();
            c.send_raw(b"GET /wait/py HTTP/1.1\r\nHost: t\r\n\r\n")
                .unwrap();
            c
        })
        .collect();
    let deadline = Instant::now() + T;
    while get(s.addr, "/waiting").text() != "100" {
        assert!(Instant::now() < deadline, "{}", s.log());
        std::thread::yield_now();
    }
    get(s.addr, "/release/py");
    for mut c in held {
        assert_eq!(c.read_response(false).unwrap().text(), "released py");
    }
    record(
        tag,
        "asgi",
        if eager {
            "yes: lifespan, 300 kB body, 100 held requests (eager tasks)"
        } else {
            "yes: lifespan, 300 kB body, 100 held requests"
        },
    );
}

/// The same tests for each Python, as `pythons::py3_13::<test>`; each passes at once, saying
/// so, when that Python was not built here (`built`).
macro_rules! python_tests {
    ($module:ident, $tag:literal) => {
        mod $module {
            python_tests!(@each $tag,
                serves_get_post_and_keep_alive,
                c_extensions_import_and_a_killed_worker_is_respawned,
                passes_the_wsgi_validator,
                virtualenv_made_by_this_python,
                two_requests_run_python_at_the_same_time_only_without_a_gil,
                serves_an_asgi_app,
            );

            #[test]
            fn threads_and_max_requests_survive_300_recycles_preforking() {
                if super::built($tag) {
                    super::three_hundred_recycles($tag, false);
                }
            }

            #[test]
            fn threads_and_max_requests_survive_300_recycles_lazy_apps() {
                if super::built($tag) {
                    super::three_hundred_recycles($tag, true);
                }
            }
        }
    };
    (@each $tag:literal, $($case:ident,)*) => {
        $(
            #[test]
            fn $case() {
                if super::built($tag) {
                    super::$case($tag);
                }
            }
        )*
    };
}

python_tests!(py3_11, "3.11");
python_tests!(py3_13, "3.13");
// Free-threaded 3.13t: its plugin is the same source built against pyo3 0.28
// (plugins/python-pyo3-0.28); the workspace's pyo3 0.30 refuses 3.13t.
python_tests!(py3_13t, "3.13t");
python_tests!(py3_14, "3.14");
// Free-threaded 3.14t: the workspace's pyo3 0.30, like every version from 3.14 on.
python_tests!(py3_14t, "3.14t");
python_tests!(py3_15, "3.15");
