//! `--attach-daemon`: processes the master runs beside its workers.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rsgi_e2e::{free_port, get, Server};

const T: Duration = Duration::from_secs(20);

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "rsgi-daemons-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
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
    let _ = std::fs::remove_dir_all(&dir);
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
    assert!(s.log().contains("SIGKILL"), "{}", s.log());
    for pid in both {
        wait_gone(pid);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
