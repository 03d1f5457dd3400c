//! `--smart-attach-daemon 'PIDFILE CMD'`: a daemon found by its pidfile, kept alive,
//! left running across reloads, stopped at shutdown.

use std::path::Path;
use std::time::{Duration, Instant};

use rsgi_e2e::{get, Server, TempDir};

const T: Duration = Duration::from_secs(20);

fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    let exists = unsafe { libc::kill(pid, 0) } == 0;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    exists
        && !stat
            .rsplit_once(')')
            .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
}

/// The pid in `pidfile` once it names a live process other than `not`.
fn daemon_pid(pidfile: &Path, not: Option<i32>) -> i32 {
    let deadline = Instant::now() + T;
    loop {
        let pid = std::fs::read_to_string(pidfile)
            .ok()
            .and_then(|t| t.trim().parse::<i32>().ok());
        if let Some(pid) = pid.filter(|&p| Some(p) != not && alive(p)) {
            return pid;
        }
        assert!(
            Instant::now() < deadline,
            "{} never named a new live pid",
            pidfile.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_gone(pid: i32) {
    let deadline = Instant::now() + T;
    while alive(pid) {
        assert!(Instant::now() < deadline, "pid {pid} still running");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// SIGHUP, then waits until the re-executed master has found daemon `pid` by its pidfile.
fn reload_and_see_daemon_again(s: &Server, pid: i32) {
    s.signal(libc::SIGHUP);
    s.wait_log("graceful reload", T);
    let deadline = Instant::now() + T;
    while s
        .log()
        .matches(&format!("smart daemon up (pid {pid}"))
        .count()
        < 2
    {
        assert!(
            Instant::now() < deadline,
            "the new master never saw the daemon: {}",
            s.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Kills the daemon if the test fails before the master stops it.
struct KillOnDrop(Vec<i32>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        for &pid in &self.0 {
            // SAFETY: kill(2) on a daemon this test started; ESRCH when it is gone.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

/// Input: `--smart-attach-daemon 'PIDFILE CMD'` where CMD starts a background `sleep`,
/// writes its pid to PIDFILE and exits (it detaches, as `celery ... --detach` does); then
/// SIGHUP; then the daemon SIGKILLed; then SIGTERM.
/// Answer: CMD runs once and the daemon is up; the reload leaves it running (same pid, CMD
/// not run again); killed, it is started again (a new pid, CMD run a second time); the
/// shutdown sends it SIGTERM and the master exits 0.
#[test]
fn a_smart_daemon_survives_reloads_is_restarted_when_gone_and_stopped_at_shutdown() {
    let dir = TempDir::new("smart");
    let pidfile = dir.join("d.pid");
    let starts = dir.join("starts");
    let spec = format!(
        "{pid} echo run >> {starts}; sleep 600 </dev/null >/dev/null 2>&1 & echo $! > {pid}",
        pid = pidfile.display(),
        starts = starts.display()
    );
    let mut s = Server::start(&["--module", "app", "--smart-attach-daemon", &spec]);
    let first = daemon_pid(&pidfile, None);
    let mut guard = KillOnDrop(vec![first]);
    s.wait_log(&format!("smart daemon up (pid {first}"), T);
    let runs = || {
        std::fs::read_to_string(&starts)
            .unwrap_or_default()
            .lines()
            .count()
    };
    assert_eq!(runs(), 1);

    reload_and_see_daemon_again(&s, first);
    assert!(alive(first), "the reload left the daemon running");
    assert_eq!(runs(), 1, "and did not run CMD again");
    assert_eq!(get(s.addr, "/").status, 200);

    // SAFETY: SIGKILL to the daemon this test's server started.
    unsafe { libc::kill(first, libc::SIGKILL) };
    let second = daemon_pid(&pidfile, Some(first));
    guard.0.push(second);
    s.wait_log("is gone: starting it again", T);
    assert_eq!(runs(), 2);

    s.signal(libc::SIGTERM);
    assert!(s.wait_exit(T).success(), "{}", s.log());
    wait_gone(second);
    assert!(s
        .log()
        .contains(&format!("stopping smart daemon (pid {second})")));
}

/// Input: `--smart-attach-daemon` with only a pidfile.
/// Answer: a usage error naming the option and the expected form (exit 2).
#[test]
fn a_smart_daemon_without_a_command_is_a_usage_error() {
    let (code, out) = rsgi_e2e::run_to_exit(
        &[
            "--plugin",
            "python",
            "--module",
            "app",
            "--smart-attach-daemon",
            "/tmp/only.pid",
        ],
        T,
    );
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("want 'PIDFILE COMMAND'"), "{out}");
}

/// Input: `--attach-daemon2 cmd=...,pidfile=F,daemonize=1,notifypid=1,reloadsignal=USR2`
/// for a shell that stays in the foreground, counts its starts and records SIGUSR2 (uWSGI's
/// smart daemon whose pidfile the server writes); SIGHUP; SIGTERM. Then
/// `--smart-attach-daemon2 'F CMD'` alone, SIGHUP, SIGTERM.
/// Answer: rsgi writes the command's pid to F; the reload sends it SIGUSR2 and leaves it
/// running (same pid, CMD not run again, no second copy); the shutdown stops it. The
/// `--smart-attach-daemon2` form keeps it across the reload the same way.
#[test]
fn a_smart_daemon_whose_pidfile_rsgi_writes_is_kept_across_reloads_and_notified() {
    let dir = TempDir::new("smart2");
    let (pidfile, starts, signals) = (dir.join("d.pid"), dir.join("starts"), dir.join("signals"));
    let command = format!(
        "trap 'echo usr2 >> {sig}' USR2; echo run >> {st}; while :; do sleep 0.1; done",
        sig = signals.display(),
        st = starts.display()
    );
    let runs = || {
        std::fs::read_to_string(&starts)
            .unwrap_or_default()
            .lines()
            .count()
    };
    let keyval = format!(
        "cmd={command},pidfile={},daemonize=1,notifypid=1,reloadsignal=USR2",
        pidfile.display()
    );
    let plain = format!("{} {command}", pidfile.display());
    for (option, value, notified) in [
        ("--attach-daemon2", &keyval, true),
        ("--smart-attach-daemon2", &plain, false),
    ] {
        let _ = std::fs::remove_file(&starts);
        let _ = std::fs::remove_file(&pidfile);
        let mut s = Server::start(&["--module", "app", option, value]);
        let first = daemon_pid(&pidfile, None);
        let guard = KillOnDrop(vec![first]);
        s.wait_log(&format!("smart daemon up (pid {first}"), T);
        assert_eq!(runs(), 1, "{option}");

        reload_and_see_daemon_again(&s, first);
        assert!(alive(first), "{option}: the reload left the daemon running");
        assert_eq!(runs(), 1, "{option}: and did not run CMD again");
        if notified {
            let deadline = Instant::now() + T;
            while std::fs::read_to_string(&signals).unwrap_or_default() != "usr2\n" {
                assert!(
                    Instant::now() < deadline,
                    "{option}: no SIGUSR2: {}",
                    s.log()
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        assert_eq!(get(s.addr, "/").status, 200);

        s.signal(libc::SIGTERM);
        assert!(s.wait_exit(T).success(), "{}", s.log());
        wait_gone(first);
        drop(guard);
    }
}
