//! Coming from gunicorn: its command line, with `gunicorn app:app` written
//! `rsgi --plugin python --module app:app`, serves; its names take effect (`-w`, `-b`,
//! `--timeout`, `--graceful-timeout`, `--access-logfile`, `--error-logfile`); app
//! factories load as gunicorn (`create_app()`) and granian (`--factory`) load them.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use rsgi_e2e::{
    free_addr, get, repo_root, rsgi_command, run_to_exit, try_request, venv, Server, TempDir,
};

const T: Duration = Duration::from_secs(30);

/// Starts `rsgi --plugin python <args>` (which name the address, with `-b` or `--bind`)
/// listening on `addr`, and waits until it answers.
fn start(addr: SocketAddr, args: &[&str]) -> Server {
    let s = Server::spawn(rsgi_command().args(["--plugin", "python"]).args(args), addr);
    s.wait_ready();
    s
}

/// Waits until the file at `path` contains `needle`; returns its text.
fn wait_file(path: &Path, needle: &str) -> String {
    let deadline = Instant::now() + T;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.contains(needle) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{} never contained {needle:?}:\n{text}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Input: the Flask example started with a typical gunicorn command line
/// (`gunicorn app:app -w 2 -b 127.0.0.1:PORT --timeout 30 --access-logfile - --max-requests
/// 1000 --max-requests-jitter 50 --keep-alive 5 --preload`), `app:app` as `--module`.
/// Answer: two workers start, the JSON endpoint answers, and the request gets its line in
/// the log (gunicorn's `--access-logfile -`).
#[test]
fn a_gunicorn_command_line_serves_the_flask_example() {
    let addr = free_addr();
    let venv = venv();
    let flask_app = repo_root().join("examples/flask_app");
    let bind = addr.to_string();
    let s = start(
        addr,
        &[
            "--virtualenv",
            venv.to_str().unwrap(),
            "--pythonpath",
            flask_app.to_str().unwrap(),
            "--module",
            "app:app",
            "-w",
            "2",
            "-b",
            &bind,
            "--timeout",
            "30",
            "--access-logfile",
            "-",
            "--max-requests",
            "1000",
            "--max-requests-jitter",
            "50",
            "--keep-alive",
            "5",
            "--preload",
        ],
    );
    s.wait_log("spawned worker 2", T);
    let r = get(s.addr, "/api/items?name=pl");
    assert_eq!(r.status, 200, "{}", s.log());
    assert!(r.text().contains("\"count\":2"), "{}", r.text());
    s.wait_log("\"GET /api/items?name=pl HTTP/1.1\" 200 ", T);
}

/// Input: `-w` and `-b` as uWSGI reads them beside gunicorn's: `-w app` (a module, uWSGI's
/// `--module`) and `-w 2` (gunicorn's workers); `--bind` with a Unix socket beside `-b`.
/// Answer: the app of module `app` answers on the TCP address from two workers, and on the
/// Unix socket.
#[test]
fn short_w_is_a_module_or_a_worker_count_by_its_value() {
    let addr = free_addr();
    let dir = TempDir::new("gunicorn-bind");
    let sock = dir.join("app.sock");
    let unix = format!("unix:{}", sock.display());
    let bind = addr.to_string();
    let s = start(
        addr,
        &["-w", "app", "-w", "2", "-b", &bind, "--bind", &unix],
    );
    s.wait_log("spawned worker 2", T);
    assert_eq!(get(s.addr, "/").status, 200);
    let mut stream = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    use std::io::Write;
    stream
        .write_all(b"GET /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nunix")
        .unwrap();
    let r = rsgi_e2e::read_response(&mut std::io::BufReader::new(stream), false).unwrap();
    assert_eq!((r.status, r.text().as_str()), (200, "unix"));
}

/// Input: `--access-logfile FILE --error-logfile FILE2`; one request.
/// Answer: the request's line is in FILE; the server's own log (the start, the workers)
/// is in FILE2 instead of on stderr.
#[test]
fn access_logfile_and_error_logfile_name_the_files() {
    let addr = free_addr();
    let dir = TempDir::new("gunicorn-logs");
    let (access, error) = (dir.join("access.log"), dir.join("error.log"));
    let bind = addr.to_string();
    let s = start(
        addr,
        &[
            "--module",
            "app",
            "-b",
            &bind,
            "--access-logfile",
            access.to_str().unwrap(),
            "--error-logfile",
            error.to_str().unwrap(),
        ],
    );
    assert_eq!(get(s.addr, "/echo?x=1").status, 200);
    wait_file(&access, "\"GET /echo?x=1 HTTP/1.1\" 200 ");
    wait_file(&error, "spawned worker 1");
}

/// Input: gunicorn's `--timeout 1` (harakiri); a request sleeping 30 s.
/// Answer: the worker is killed with the harakiri line and a new one serves.
#[test]
fn timeout_is_harakiri() {
    let addr = free_addr();
    let bind = addr.to_string();
    let s = start(addr, &["--module", "app", "-b", &bind, "--timeout", "1"]);
    let stuck = std::thread::spawn(move || try_request(addr, "GET", "/slow?30", &[], b""));
    s.wait_log("harakiri: worker 1", T);
    s.wait_log("(--harakiri 1)", T);
    assert!(stuck.join().unwrap().is_err(), "the stuck request is cut");
    s.wait_log("spawned worker 1", T);
    s.wait_ready();
}

/// Input: `--graceful-timeout 1`; SIGTERM while a request sleeps 30 s.
/// Answer: the master does not wait for it past the mercy period: it kills the worker
/// (the SIGKILL line) and exits.
#[test]
fn graceful_timeout_bounds_the_shutdown() {
    let addr = free_addr();
    let bind = addr.to_string();
    let mut s = start(
        addr,
        &["--module", "app", "-b", &bind, "--graceful-timeout", "1"],
    );
    let stuck = std::thread::spawn(move || try_request(addr, "GET", "/slow?30", &[], b""));
    s.wait_log("app: slow request started", T);
    s.signal(libc::SIGTERM);
    s.wait_log("workers still running after the mercy period: SIGKILL", T);
    s.wait_exit(T);
    assert!(stuck.join().unwrap().is_err(), "the stuck request is cut");
}

/// Input: the factory forms: gunicorn's `create_app()` and `create_app("prod")` in the
/// callable's place, and granian's `--factory`.
/// Answer: each serves the app the factory made, with the arguments given.
#[test]
fn app_factories_serve_in_gunicorns_and_granians_spelling() {
    for (args, body) in [
        (
            &["--module", "factory_app:create_app()"][..],
            "made by create_app('default')",
        ),
        (
            &["--module", "factory_app:create_app(\"prod\")"][..],
            "made by create_app('prod')",
        ),
        (
            &["--module", "factory_app:create_app", "--factory"][..],
            "made by create_app('default')",
        ),
    ] {
        let s = Server::start(args);
        let r = get(s.addr, "/");
        assert_eq!(
            (r.status, r.text().as_str()),
            (200, body),
            "{args:?}: {}",
            s.log()
        );
    }
}

/// Input: `--need-app` with a factory that raises, and with `()` after something that is
/// not callable; then the raising factory without `--need-app`.
/// Answer: exit 22, with one line saying what (the traceback logged besides); without
/// `--need-app`, 500s and the same line.
#[test]
fn a_factory_that_fails_is_an_app_that_did_not_load() {
    for (module, line) in [
        (
            "factory_app:broken()",
            "the app factory 'factory_app:broken()' raised RuntimeError: no database to connect to",
        ),
        (
            "factory_app:settings()",
            "'factory_app:settings' is not callable (it is a dict), so it cannot make the app",
        ),
    ] {
        let (code, out) = run_to_exit(
            &[
                "--plugin",
                "python",
                "--http",
                "127.0.0.1:0",
                "--module",
                module,
                "--need-app",
            ],
            T,
        );
        assert_eq!(code, 22, "{module}: {out}");
        assert!(out.contains(line), "{module}: {out}");
    }
    let s = Server::start(&["--module", "factory_app:broken()"]);
    assert_eq!(get(s.addr, "/").status, 500);
    s.wait_log(
        "the app factory 'factory_app:broken()' raised RuntimeError",
        T,
    );
}

/// Input: `--preload` beside `--lazy-apps`, which ask opposite things.
/// Answer: refused at start (exit 2), naming both.
#[test]
fn preload_beside_lazy_apps_is_refused() {
    let (code, out) = run_to_exit(
        &[
            "--plugin",
            "python",
            "--module",
            "app",
            "--preload",
            "--lazy-apps",
        ],
        T,
    );
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("--preload loads the app once"), "{out}");
}
