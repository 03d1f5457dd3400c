//! `--logto FILE` and `--daemonize FILE`: the log goes to a file, reopened by a graceful
//! reload; `--daemonize` returns at once and leaves a detached master serving.

use std::path::Path;
use std::time::{Duration, Instant};

use rsgi_e2e::{free_addr, get, http_args, run_to_exit, Server, TempDir};

const T: Duration = Duration::from_secs(20);

fn scratch(what: &str) -> TempDir {
    TempDir::new(what)
}

/// Starts `rsgi --module app --log-requests --logto FILE <extra>`.
fn start_logging_to(file: &Path, extra: &[&str]) -> Server {
    let mut args = vec![
        "--module",
        "app",
        "--log-requests",
        "--logto",
        file.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    Server::start(&args)
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

/// Input: `--logto FILE --log-requests`; a GET, a request the app raises on, then the file
/// moved away (as logrotate does) and SIGHUP.
/// Answer: the master's lines, the request lines and the app's traceback are in FILE and
/// nothing on stderr; the reloaded master creates FILE again and logs there, and serves.
#[test]
fn logto_writes_the_whole_log_to_the_file_and_a_reload_opens_it_again() {
    let dir = scratch("logto");
    let file = dir.join("rsgi.log");
    let s = start_logging_to(&file, &[]);
    assert_eq!(get(s.addr, "/").status, 200);
    assert_eq!(get(s.addr, "/raise").status, 500);
    let text = wait_file(&file, "\"GET /raise HTTP/1.1\" 500 ");
    assert!(text.contains("spawned worker 1"), "{text}");
    assert!(text.contains("\"GET / HTTP/1.1\" 200 13 "), "{text}");
    assert!(text.contains("Traceback"), "the app's traceback: {text}");
    assert!(
        s.log().is_empty(),
        "stderr should be empty, has: {}",
        s.log()
    );

    let rotated = dir.join("rsgi.log.1");
    std::fs::rename(&file, &rotated).unwrap();
    s.signal(libc::SIGHUP);
    let text = wait_file(&file, "spawned worker 1");
    assert!(text.contains("logging to "), "{text}");
    // The old worker, still writing to the moved file, may take requests until it is gone.
    wait_file(&file, "old worker 1");
    assert_eq!(get(s.addr, "/").status, 200);
    wait_file(&file, "\"GET / HTTP/1.1\" 200 13 ");
    let old = std::fs::read_to_string(&rotated).unwrap();
    assert!(old.contains("graceful reload: re-executing"), "{old}");
    drop(s);
}

/// Stops a daemon the test started if the test fails before it does.
struct KillOnDrop(i32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the daemon's pid; ESRCH when it is gone already.
        unsafe { libc::kill(self.0, libc::SIGINT) };
    }
}

/// Input: `--daemonize FILE --pidfile PID`.
/// Answer: the command exits 0 at once; the master (the pid in PID, in a session of its own,
/// no longer our child) serves, logs to FILE, reloads on SIGHUP without detaching again
/// (same pid) and exits on SIGTERM, removing PID.
#[test]
fn daemonize_returns_at_once_and_leaves_a_detached_master_serving() {
    let dir = scratch("daemonize");
    let file = dir.join("rsgi.log");
    let pidfile = dir.join("rsgi.pid");
    let addr = free_addr();
    let args = http_args(
        addr,
        &[
            "--module",
            "app",
            "--daemonize",
            file.to_str().unwrap(),
            "--pidfile",
            pidfile.to_str().unwrap(),
        ],
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out) = run_to_exit(&args, T);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("daemonizing: logging to"), "{out}");
    wait_file(&file, "spawned worker 1");
    let pid: i32 = wait_file(&pidfile, "\n").trim().parse().unwrap();
    let guard = KillOnDrop(pid);
    // SAFETY: getsid(2) on a pid.
    assert_eq!(unsafe { libc::getsid(pid) }, pid, "its own session");
    assert_eq!(get(addr, "/").status, 200);

    // SAFETY: kill(2) on the daemon this test started.
    unsafe { libc::kill(pid, libc::SIGHUP) };
    let deadline = Instant::now() + T;
    while std::fs::read_to_string(&file)
        .unwrap_or_default()
        .matches("spawned worker 1")
        .count()
        < 2
    {
        assert!(Instant::now() < deadline, "no reload in the log");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(get(addr, "/").status, 200);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains("daemonizing"), "detached twice: {text}");
    assert_eq!(
        std::fs::read_to_string(&pidfile).unwrap().trim(),
        pid.to_string()
    );

    // SAFETY: as above.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    wait_file(&file, "master exiting with status 0");
    let deadline = Instant::now() + T;
    // SAFETY: signal 0 only checks that the pid exists.
    while unsafe { libc::kill(pid, 0) } == 0 {
        assert!(Instant::now() < deadline, "the daemon did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Gone: its pid may be reused, so no signal from the guard.
    std::mem::forget(guard);
    assert!(!pidfile.exists(), "pidfile left behind");
}

/// Input: `--logto` and `--daemonize` together; `--logto` in a directory that does not
/// exist. Answer: exit 2 with a line naming both options; exit 1 with a line naming the
/// file (on the terminal: nothing was detached or redirected).
#[test]
fn a_log_file_that_cannot_be_used_is_refused_on_the_terminal() {
    let (code, out) = run_to_exit(
        &[
            "--plugin",
            "python",
            "--module",
            "app",
            "--logto",
            "/tmp/a.log",
            "--daemonize",
            "/tmp/b.log",
        ],
        T,
    );
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("--logto and --daemonize"), "{out}");

    let missing = "/nonexistent-rsgi-dir/rsgi.log";
    let (code, out) = run_to_exit(
        &[
            "--plugin",
            "python",
            "--module",
            "app",
            "--daemonize",
            missing,
        ],
        T,
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("cannot open log file {missing}")),
        "{out}"
    );
}

/// Input: `--logto FILE --log-requests --master-fifo FIFO --touch-logreopen TOUCH`; a GET;
/// FILE moved away and `l` written to the FIFO; a GET; FILE moved away again and TOUCH
/// touched; a GET.
/// Answer: each time the master and the worker open FILE again (a line says so, in the
/// new file), with no reload (same worker pid); each request line is in the file that
/// was current when it was served.
#[test]
fn the_fifo_and_touch_logreopen_reopen_the_log_without_a_reload() {
    let dir = scratch("logreopen");
    let file = dir.join("rsgi.log");
    let fifo = dir.join("fifo");
    let touch = dir.join("reopen");
    std::fs::write(&touch, "").unwrap();
    let s = start_logging_to(
        &file,
        &[
            "--master-fifo",
            fifo.to_str().unwrap(),
            "--touch-logreopen",
            touch.to_str().unwrap(),
        ],
    );
    let pid = get(s.addr, "/pid").text();
    wait_file(&file, "\"GET /pid HTTP/1.1\" 200");

    std::fs::rename(&file, dir.join("rsgi.log.1")).unwrap();
    std::fs::write(&fifo, "l").unwrap();
    wait_file(&file, "worker 1: log file opened again");
    assert_eq!(get(s.addr, "/pid").text(), pid, "no reload");
    wait_file(&file, "\"GET /pid HTTP/1.1\" 200");

    std::fs::rename(&file, dir.join("rsgi.log.2")).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(&touch, "again").unwrap();
    wait_file(&file, "worker 1: log file opened again");
    assert_eq!(get(s.addr, "/").status, 200);
    wait_file(&file, "\"GET / HTTP/1.1\" 200");
    let second = std::fs::read_to_string(dir.join("rsgi.log.2")).unwrap();
    assert!(second.contains("\"GET /pid HTTP/1.1\" 200"), "{second}");
    assert!(!second.contains("\"GET / HTTP/1.1\""), "{second}");
    drop(s);
}

/// Input: `--logto FILE --log-maxsize 4000 --log-requests`, then requests until FILE
/// has grown past 4000 bytes.
/// Answer: the master moves FILE to FILE.<unix time> and starts a new FILE, which names
/// where the old one went; later request lines go to the new FILE.
#[test]
fn log_maxsize_rotates_the_log_file() {
    let dir = scratch("logmaxsize");
    let file = dir.join("rsgi.log");
    let s = start_logging_to(&file, &["--log-maxsize", "4000"]);
    let rotated = || {
        std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .find(|n| {
                n.strip_prefix("rsgi.log.")
                    .is_some_and(|t| t.parse::<u64>().is_ok())
            })
    };
    let deadline = Instant::now() + T;
    while rotated().is_none() {
        assert!(Instant::now() < deadline, "never rotated");
        assert_eq!(get(s.addr, "/").status, 200);
    }
    let text = wait_file(&file, "--log-maxsize 4000 bytes: moved to");
    assert!(text.contains(&rotated().unwrap()), "{text}");
    wait_file(&file, "worker 1: log file opened again");
    assert_eq!(get(s.addr, "/pid").status, 200);
    wait_file(&file, "\"GET /pid HTTP/1.1\" 200");
    drop(s);
}

/// Input: uWSGI's `--logger file:LOG --req-logger file:REQ --log-requests --master-fifo
/// FIFO`; a GET; REQ moved away and `l` written to the FIFO; another GET. Then `--logger
/// syslog`.
/// Answer: the master's lines go to LOG and the request lines to REQ alone; after the
/// FIFO's `l` the worker opens REQ again (no reload: same pid), so the first request's
/// line stays in the moved file and the second's is in the new REQ. A logger rsgi does
/// not have stops the start with exit 2 and a line naming it.
#[test]
fn req_logger_sends_request_lines_to_a_file_of_their_own() {
    let dir = scratch("reqlogger");
    let (log, req, fifo) = (dir.join("app.log"), dir.join("req.log"), dir.join("fifo"));
    let s = Server::start(&[
        "--module",
        "app",
        "--log-requests",
        "--logger",
        &format!("file:{}", log.display()),
        "--req-logger",
        &format!("file:{}", req.display()),
        "--master-fifo",
        fifo.to_str().unwrap(),
    ]);
    let pid = get(s.addr, "/pid").text();
    wait_file(&req, "\"GET /pid HTTP/1.1\" 200");
    let master_lines = wait_file(&log, "spawned worker 1");
    assert!(!master_lines.contains("\"GET /pid"), "{master_lines}");

    std::fs::rename(&req, dir.join("req.log.1")).unwrap();
    std::fs::write(&fifo, "l").unwrap();
    wait_file(&log, "worker 1: log file opened again");
    assert_eq!(get(s.addr, "/").status, 200);
    wait_file(&req, "\"GET / HTTP/1.1\" 200");
    assert_eq!(get(s.addr, "/pid").text(), pid, "no reload");
    let first = std::fs::read_to_string(dir.join("req.log.1")).unwrap();
    assert!(first.contains("\"GET /pid HTTP/1.1\" 200"), "{first}");
    assert!(!first.contains("\"GET / HTTP/1.1\""), "{first}");
    drop(s);

    rsgi_e2e::refused_at_start(
        &["--logger", "syslog"],
        "--logger syslog: rsgi logs to stdio or to a file",
    );
}
