use std::time::Duration;

use rsgi_e2e::{get, run_to_exit, venv, Server};

const T: Duration = Duration::from_secs(30);

#[test]
fn c_extension_modules_import_inside_the_app() {
    let s = Server::start(&["--module", "app"]);
    let r = get(s.addr, "/cext");
    assert_eq!(r.status, 200, "{}", s.log());
    let t = r.text();
    assert!(
        t.starts_with("ssl=OpenSSL sqlite=42 decimal=3.30 md5="),
        "{t}"
    );
    assert!(t.ends_with("ctypes=4"), "{t}");
}

#[test]
fn a_package_only_in_the_virtualenv_imports_with_virtualenv() {
    let venv = venv();
    let s = Server::start(&[
        "--module",
        "venvapp",
        "--virtualenv",
        venv.to_str().unwrap(),
    ]);
    let r = get(s.addr, "/");
    assert_eq!(
        (r.status, r.text().as_str()),
        (200, "from-venv"),
        "{}",
        s.log()
    );
}

#[test]
fn home_is_an_alias_of_virtualenv() {
    let venv = venv();
    let s = Server::start(&["--module", "venvapp", "--home", venv.to_str().unwrap()]);
    assert_eq!(get(s.addr, "/").text(), "from-venv");
}

#[test]
fn without_the_virtualenv_the_venv_package_is_missing() {
    let (code, out) = run_to_exit(
        &[
            "--plugin",
            "python",
            "--http",
            "127.0.0.1:0",
            "--module",
            "venvapp",
            "--need-app",
        ],
        T,
    );
    assert_eq!(code, 22, "{out}");
    assert!(out.contains("rsgi_venv_probe"), "{out}");
}

#[test]
fn missing_module_fails_clearly() {
    let (code, out) = run_to_exit(
        &[
            "--plugin",
            "python",
            "--http",
            "127.0.0.1:0",
            "--module",
            "missing_module",
            "--need-app",
        ],
        T,
    );
    assert_eq!(code, 22, "{out}");
    assert!(out.contains("missing_module"), "{out}");
    assert!(out.contains("No module named 'missing_module'"), "{out}");
}

#[test]
fn wsgi_file_loads_an_app_from_a_path() {
    let s = Server::start(&["--wsgi-file", "wsgifile/site.wsgi"]);
    assert_eq!(get(s.addr, "/").text(), "from a wsgi file");
}

#[test]
fn callable_falls_back_to_app_and_can_be_named() {
    let s = Server::start(&["--module", "other"]);
    assert_eq!(get(s.addr, "/").text(), "callable app");
    drop(s);
    let s = Server::start(&["--module", "other:custom"]);
    assert_eq!(get(s.addr, "/").text(), "callable custom");
    drop(s);
    let s = Server::start(&["--module", "other", "--callable", "custom"]);
    assert_eq!(get(s.addr, "/").text(), "callable custom");
}

#[test]
fn pythonpath_makes_another_directory_importable() {
    let dir = rsgi_e2e::apps_dir().join("wsgifile");
    let dir = dir.to_str().unwrap();
    let tmp = rsgi_e2e::TempDir::new("pp");
    std::fs::write(
        tmp.join("ppapp.py"),
        "def application(e, sr):\n    sr('200 OK', [('Content-Type', 'text/plain')])\n    return [b'from pythonpath']\n",
    )
    .unwrap();
    let s = Server::start(&[
        "--module",
        "ppapp",
        "--pythonpath",
        tmp.path().to_str().unwrap(),
        "--pythonpath",
        dir,
    ]);
    assert_eq!(get(s.addr, "/").text(), "from pythonpath");
}

/// Input: an app that registers `os.register_at_fork(before=..., after_in_child=...)` at
/// import (the standard replacement for uwsgidecorators' `@postfork`), loaded once in the
/// master, 2 workers, with uWSGI's `py-callos-afterfork` spelling of the option.
/// Answer: every response comes from a worker whose after_in_child hook ran exactly once,
/// in that worker; the before hook ran in the master, where the app was imported.
#[test]
fn fork_hooks_registered_by_the_app_run_in_each_worker() {
    let s = Server::start(&[
        "--module",
        "forkhook",
        "--processes",
        "2",
        "--py-callos-afterfork",
    ]);
    let master = s.pid().to_string();
    for _ in 0..6 {
        let text = get(s.addr, "/").text();
        let words: Vec<&str> = text.split(' ').collect();
        assert_eq!(words.len(), 8, "{text}");
        assert_eq!(words[1], master, "imported in the master: {text}");
        assert!(
            words[3].split(',').all(|pid| pid == master),
            "before hooks ran in the master: {text}"
        );
        assert_eq!(words[5], words[7], "after_in_child ran once, here: {text}");
    }
}

/// Input: `--py-autoreload 1`, 2 workers, an app module in a scratch directory answering
/// "v1"; then the module's file rewritten to answer "v2".
/// Answer: a log line naming the changed file, a graceful reload, and every answer after
/// it is "v2"; no request fails meanwhile.
#[test]
fn py_autoreload_reloads_when_a_module_file_changes() {
    let dir = rsgi_e2e::TempDir::new("autoreload");
    let module = dir.join("auto_app.py");
    let app = |v: &str| {
        format!("def application(e, sr):\n    sr('200 OK', [('Content-Type', 'text/plain')])\n    return [b'{v}']\n")
    };
    std::fs::write(&module, app("v1")).unwrap();
    let s = Server::start(&[
        "--pythonpath",
        dir.path().to_str().unwrap(),
        "--module",
        "auto_app",
        "--processes",
        "2",
        "--py-autoreload",
        "1",
    ]);
    assert_eq!(get(s.addr, "/").text(), "v1");
    // The watcher counts a change against its first look at the file, which it takes at
    // a time the test cannot see (and which may come after this write): the file's mtime
    // is moved on again until the watcher reports it, each time to a time of its own
    // (whole seconds ahead, so no file system granularity hides a step).
    rsgi_e2e::write_atomically(&module, app("v2"));
    let changed = "auto_app.py changed: asking the master for a graceful reload";
    let deadline = std::time::Instant::now() + T;
    for ahead in 1.. {
        if s.log().contains(changed) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{}", s.log());
        rsgi_e2e::touch_ahead(&module, Duration::from_secs(ahead));
        std::thread::sleep(Duration::from_millis(100));
    }
    let deadline = std::time::Instant::now() + T;
    loop {
        let text = get(s.addr, "/").text();
        if text == "v2" {
            break;
        }
        assert_eq!(text, "v1", "{}", s.log());
        assert!(std::time::Instant::now() < deadline, "{}", s.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    s.wait_log("old worker 2", T);
    for _ in 0..6 {
        assert_eq!(get(s.addr, "/").text(), "v2");
    }
}

/// Input: `--catch-exceptions` (uWSGI's, for development); a request the app raises on,
/// then another on the same connection.
/// Answer: 500 whose body is the traceback (the exception's type, message and the app's
/// line), with a length, and the connection stays usable; the traceback is logged too.
#[test]
fn catch_exceptions_sends_the_traceback_as_the_500_body() {
    let s = Server::start(&["--module", "app", "--catch-exceptions"]);
    let mut c = rsgi_e2e::Client::connect(s.addr).unwrap();
    let r = c.request("GET", "/raise", &[], b"").unwrap();
    assert_eq!(r.status, 500);
    let body = r.text();
    assert!(
        body.starts_with("Traceback (most recent call last):"),
        "{body}"
    );
    assert!(body.contains("apps/app.py\", line"), "{body}");
    assert!(
        body.ends_with("RuntimeError: boom from the test app"),
        "{body}"
    );
    assert_eq!(
        r.header("content-length"),
        Some(body.len().to_string().as_str())
    );
    let r = c.request("GET", "/", &[], b"").unwrap();
    assert_eq!(r.text(), "Hello, World!");
    s.wait_log("the app raised an exception", T);
}

/// Input: `--reload-on-exception` (uWSGI's); the worker's pid, a request the app raises on,
/// then more requests.
/// Answer: 500 for the raise (no traceback in it); the worker stops gracefully and the
/// master starts a new one, whose pid then answers; without a raise, no stop.
#[test]
fn reload_on_exception_replaces_the_worker_after_the_raise() {
    let s = Server::start(&["--module", "app", "--reload-on-exception"]);
    let first = get(s.addr, "/pid").text();
    assert_eq!(get(s.addr, "/pid").text(), first, "no stop without a raise");
    let r = get(s.addr, "/raise");
    assert_eq!(r.status, 500);
    assert!(!r.text().contains("Traceback"), "{}", r.text());
    s.wait_log("stopping this worker (--reload-on-exception)", T);
    let deadline = std::time::Instant::now() + T;
    loop {
        if let Ok(r) = rsgi_e2e::try_request(s.addr, "GET", "/pid", &[], b"") {
            if r.status == 200 && r.text() != first {
                break;
            }
        }
        assert!(std::time::Instant::now() < deadline, "{}", s.log());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Input: `--gc-freeze` with 2 preforked workers, then `--lazy-apps`, then no option.
/// Answer: each worker's interpreter has frozen objects (the app's, frozen in the master
/// before the fork, or in the worker after its own import) and the log says how many; with
/// no option, none are frozen.
#[test]
fn gc_freeze_moves_the_loaded_app_to_the_permanent_generation() {
    for extra in [&["--processes", "2"][..], &["--lazy-apps"][..]] {
        let mut args = vec!["--module", "gc_app", "--gc-freeze"];
        args.extend_from_slice(extra);
        let s = Server::start(&args);
        let text = get(s.addr, "/").text();
        let frozen: u64 = text.strip_prefix("frozen=").unwrap().parse().unwrap();
        assert!(frozen > 1000, "{extra:?}: {text}");
        s.wait_log(
            "objects moved to the permanent generation",
            Duration::from_secs(30),
        );
    }
    let s = Server::start(&["--module", "gc_app"]);
    assert_eq!(get(s.addr, "/").text(), "frozen=0");
}
