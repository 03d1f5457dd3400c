//! `--attach-daemon`: processes the master runs beside its workers.

use std::path::Path;
use std::time::{Duration, Instant};

use rsgi_e2e::{get, touch_ahead, Server, TempDir};

const T: Duration = Duration::from_secs(20);

fn scratch() -> TempDir {
    TempDir::new("daemons")
}

/// The pids the daemon wrote to `file`, one per start, once there are `n`.
fn pids(file: &Path, n: usize) -> Vec<i32> {
    let deadline = Instant::now() + T;
    loop {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let pids: Vec<i32> = text.lines().filter_map(|l| l.parse().ok()).collect();
        if pids.len() >= n {
            return pids;
        }
        assert!(Instant::now() < deadline, "{n} starts expected: {text:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    let exists = unsafe { libc::kill(pid, 0) } == 0;
    // A zombie counts as gone (its parent reaps it; a daemon's child is reparented).
    let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .unwrap_or_default()
        .contains(") Z ");
    exists && !zombie
}

fn wait_gone(pid: i32) {
    let deadline = Instant::now() + T;
    while alive(pid) {
        assert!(Instant::now() < deadline, "pid {pid} still running");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Input: `--attach-daemon` running a shell that records its pid and sleeps; the daemon
/// SIGKILLed; SIGHUP; SIGTERM.
/// Answer: it runs beside the workers (requests served); killed, it is started again at
/// once; a reload stops it and the new master starts a new one; the shutdown stops it and
/// the master exits 0 after it is gone.
#[test]
fn a_daemon_is_started_restarted_reloaded_and_stopped_with_the_master() {
    let dir = scratch();
    let file = dir.join("pids");
    let daemon = format!("echo $$ >> {}; exec sleep 600", file.display());
    let mut s = Server::start(&["--module", "app", "--attach-daemon", &daemon]);
    let first = pids(&file, 1)[0];
    assert!(alive(first));
    assert_eq!(get(s.addr, "/").status, 200);

    // SAFETY: kill(2) on the daemon this test's server started.
    unsafe { libc::kill(first, libc::SIGKILL) };
    let second = pids(&file, 2)[1];
    assert_ne!(second, first);
    s.wait_log("exited: killed by signal 9", T);

    s.signal(libc::SIGHUP);
    let third = pids(&file, 3)[2];
    wait_gone(second);
    assert!(alive(third));
    s.wait_log("stopped daemon", T);
    assert_eq!(get(s.addr, "/").status, 200);

    s.signal(libc::SIGTERM);
    assert!(s.wait_exit(T).success(), "{}", s.log());
    assert!(!alive(third), "daemon outlived the master");
}

/// Input: a daemon that ignores SIGTERM and has a child of its own, `--reload-mercy 1`,
/// then SIGTERM to the master. Answer: after the mercy its whole process group is
/// SIGKILLed (daemon and child) and the master exits 0.
#[test]
fn a_daemon_that_ignores_sigterm_is_killed_after_the_mercy() {
    let dir = scratch();
    let file = dir.join("pids");
    let daemon = format!(
        "trap '' TERM; echo $$ >> {f}; sleep 600 & echo $! >> {f}; wait",
        f = file.display()
    );
    let mut s = Server::start(&[
        "--module",
        "app",
        "--reload-mercy",
        "1",
        "--attach-daemon",
        &daemon,
    ]);
    let both = pids(&file, 2);
    s.signal(libc::SIGTERM);
    assert!(s.wait_exit(T).success(), "{}", s.log());
    s.wait_log("SIGKILL", T);
    for pid in both {
        wait_gone(pid);
    }
}

/// Input: `--attach-daemon2 cmd=...,stopsignal=INT,reloadsignal=USR1,touch=FILE,chdir=DIR`
/// (uWSGI's key=value form) for a shell that records its pid, its directory and each
/// signal it gets; FILE touched; SIGHUP; SIGTERM.
/// Answer: it runs in DIR; the touch stops it with SIGINT and it is started again at once;
/// the reload stops it with SIGUSR1 and the new master starts it anew; the shutdown stops
/// it with SIGINT and the master exits 0.
#[test]
fn attach_daemon2_takes_uwsgis_keys_for_signals_touch_and_directory() {
    let dir = scratch();
    let (file, signals, dirs, touch) = (
        dir.join("pids"),
        dir.join("signals"),
        dir.join("dirs"),
        dir.join("restart-me"),
    );
    std::fs::write(&touch, b"").unwrap();
    let workdir = dir.join("work");
    std::fs::create_dir_all(&workdir).unwrap();
    let daemon = format!(
        "cmd=trap 'echo int >> {s}; exit 0' INT; trap 'echo usr1 >> {s}; exit 0' USR1; \
         echo $$ >> {f}; pwd >> {d}; while :; do sleep 0.1; done,\
         stopsignal=INT,reloadsignal=USR1,touch={t},chdir={w}",
        s = signals.display(),
        f = file.display(),
        d = dirs.display(),
        t = touch.display(),
        w = workdir.display()
    );
    let mut s = Server::start(&["--module", "app", "--attach-daemon2", &daemon]);
    let first = pids(&file, 1)[0];
    let dir_of_first = std::fs::read_to_string(&dirs).unwrap();
    assert_eq!(dir_of_first.trim(), workdir.to_str().unwrap());

    touch_ahead(&touch, Duration::from_secs(5));
    let second = pids(&file, 2)[1];
    wait_gone(first);
    s.wait_log("restarting daemon", T);
    assert_eq!(std::fs::read_to_string(&signals).unwrap(), "int\n");

    s.signal(libc::SIGHUP);
    let third = pids(&file, 3)[2];
    wait_gone(second);
    assert_eq!(std::fs::read_to_string(&signals).unwrap(), "int\nusr1\n");
    assert_eq!(get(s.addr, "/").status, 200);

    s.signal(libc::SIGTERM);
    assert!(s.wait_exit(T).success(), "{}", s.log());
    wait_gone(third);
    assert_eq!(
        std::fs::read_to_string(&signals).unwrap(),
        "int\nusr1\nint\n"
    );
}

/// Input: `--attach-daemon2 cmd=sleep 1,control=1` (uWSGI's control daemon).
/// Answer: when the daemon exits, rsgi logs it and shuts down gracefully with exit status
/// 1, so that a supervisor sees a failure.
#[test]
fn a_control_daemon_exiting_stops_rsgi_with_status_1() {
    let mut s = Server::start(&[
        "--module",
        "app",
        "--attach-daemon2",
        "cmd=sleep 1,control=1",
    ]);
    let status = s.wait_exit(T);
    assert_eq!(status.code(), Some(1), "{}", s.log());
    let log = s.log();
    assert!(log.contains("control daemon (pid "), "{log}");
    assert!(log.contains("stopping rsgi: sleep 1"), "{log}");
}

/// Input: `--attach-daemon2` with a key rsgi does not have, and one without a command.
/// Answer: a usage error naming the option and the key (exit 2).
#[test]
fn attach_daemon2_mistakes_are_usage_errors() {
    rsgi_e2e::refused_at_start(
        &["--attach-daemon2", "cmd=sleep 1,ns_pid=1"],
        "--attach-daemon2 'cmd=sleep 1,ns_pid=1': 'ns_pid' is not available",
    );
    rsgi_e2e::refused_at_start(
        &["--attach-daemon2", "pidfile=/tmp/x.pid"],
        "--attach-daemon2 'pidfile=/tmp/x.pid': give the command: cmd=COMMAND",
    );
}

/// Input: uWSGI's `--cron '-1 -1 -1 -1 -1 CMD'` (every minute) where CMD records a line
/// and exits, `--unique-cron` of the same kind for a command that sleeps, and a
/// malformed entry.
/// Answer: the master runs CMD in the current minute (the log has its start and its end
/// with status 0), the unique one starts once; at SIGTERM the sleeping run gets SIGTERM
/// (it is gone) and the master exits 0; the malformed entry stops the start (exit 2)
/// naming the field.
#[test]
fn cron_runs_commands_at_the_minutes_their_entry_names() {
    let dir = scratch();
    let file = dir.join("ran");
    let cmd = format!("-1 -1 -1 -1 -1 echo ran >> {}", file.display());
    let mut s = Server::start(&[
        "--module",
        "app",
        "--cron",
        &cmd,
        "--unique-cron",
        "-1 -1 -1 -1 -1 exec sleep 600",
    ]);
    let deadline = Instant::now() + T;
    while std::fs::read_to_string(&file).unwrap_or_default() != "ran\n" {
        assert!(Instant::now() < deadline, "{}", s.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    s.wait_log(&format!("done: echo ran >> {}", file.display()), T);
    s.wait_log("): exec sleep 600", T);
    let log = s.log();
    assert_eq!(log.matches("sleep 600").count(), 1, "{log}");
    let sleeper: i32 = log
        .lines()
        .find(|l| l.ends_with("): exec sleep 600"))
        .and_then(|l| l.split("(pid ").nth(1))
        .and_then(|r| r.split(')').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("{log}"));
    assert!(alive(sleeper));
    s.signal(libc::SIGTERM);
    assert!(s.wait_exit(T).success(), "{}", s.log());
    wait_gone(sleeper);
    rsgi_e2e::refused_at_start(
        &["--cron", "-1 -1 oops -1 -1 true"],
        "--cron '-1 -1 oops -1 -1 true': field 3 is \"oops\"",
    );
}
