//! rsgi as PID 1 of its own PID namespace, as the entry point of a container is: it
//! serves, reaps orphans that the kernel hands to it, and SIGTERM (what `docker stop` and
//! Kubernetes send) is still a graceful shutdown, though PID 1 gets no default signal
//! actions.

use std::process::Command;
use std::time::{Duration, Instant};

use rsgi_e2e::{free_addr, get, http_args, target_dir, Server, TempDir};

const T: Duration = Duration::from_secs(20);

/// SIGKILLs a process when dropped unless disarmed (rsgi's master behind unshare, which
/// the test server's own SIGINT at drop does not reach, on a test failing before it stops
/// it); in a PID namespace, its workers and daemons go with it.
struct KillOnDrop(Option<i32>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            // SAFETY: kill(2) on the master this test started, still running (the test
            // disarms this once it has stopped it).
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

/// The children of `pid`, from /proc.
fn children(pid: i32) -> Vec<i32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

fn state(pid: i32) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit_once(") ")
        .and_then(|(_, rest)| rest.chars().next())
        .unwrap_or('?')
}

/// Input: `unshare --pid --fork --mount-proc rsgi ...` with 2 workers and an attached
/// daemon whose shell leaves an orphan behind (it is handed to PID 1, rsgi's master, and
/// exits once the test creates a file); a request; SIGTERM to the master.
/// Answer: the log says master pid 1; the request is served; the orphan is reaped (no
/// zombie among the master's children); SIGTERM stops the workers gracefully and the
/// namespace's init exits 0.
#[test]
fn as_pid_1_it_serves_reaps_orphans_and_stops_gracefully_on_sigterm() {
    let addr = free_addr();
    let dir = TempDir::new("container");
    let go = dir.join("go");
    let daemon = format!(
        "(while [ ! -e {} ]; do sleep 0.05; done &); exec sleep 600",
        go.display()
    );
    let mut cmd = Command::new("unshare");
    cmd.args(["--pid", "--fork", "--mount-proc"])
        .arg(target_dir().join("rsgi"))
        .args(http_args(
            addr,
            &[
                "--module",
                "app",
                "--processes",
                "2",
                "--attach-daemon",
                &daemon,
            ],
        ))
        .current_dir(rsgi_e2e::apps_dir())
        .stdin(std::process::Stdio::null());
    rsgi_e2e::isolate_env(&mut cmd);
    cmd.env("PYTHONDONTWRITEBYTECODE", "1");
    let mut s = Server::spawn(&mut cmd, addr);
    s.wait_ready();
    s.wait_log("master pid 1\n", std::time::Duration::from_secs(30));
    assert_eq!(get(addr, "/").status, 200);

    // unshare's child is rsgi's master (pid 1 inside, another pid outside). Should the
    // test fail before its SIGTERM, the guard stops it (unshare passes no signal on).
    let master = children(s.pid())
        .first()
        .copied()
        .expect("unshare has a child");
    let mut stop = KillOnDrop(Some(master));
    // The orphan: the loop the daemon's subshell left behind, now the master's child.
    // Until the daemon's shell has become `sleep 600` it has the same command line; by
    // then its subshell has exited, so the loop has been handed to the master.
    let cmdline = |pid: i32| {
        let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        String::from_utf8_lossy(&raw).replace('\0', " ")
    };
    let deadline = Instant::now() + T;
    let orphan = loop {
        let kids = children(master);
        let daemon_execd = kids.iter().any(|&p| cmdline(p).trim_end() == "sleep 600");
        // A shell (the workers' command lines hold the daemon's too).
        let found = kids
            .into_iter()
            .find(|&p| cmdline(p).starts_with("/bin/sh -c (while"));
        if let (true, Some(pid)) = (daemon_execd, found) {
            break pid;
        }
        assert!(Instant::now() < deadline, "no orphan: {}", s.log());
        std::thread::sleep(Duration::from_millis(20));
    };
    // It exits; the master reaps it (a zombie keeps its /proc entry until then).
    std::fs::write(&go, b"").unwrap();
    while std::path::Path::new(&format!("/proc/{orphan}")).exists() {
        assert!(
            Instant::now() < deadline,
            "orphan {orphan} not reaped (state {})",
            state(orphan)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // No zombie left among the master's children.
    loop {
        let zombies: Vec<i32> = children(master)
            .into_iter()
            .filter(|&p| state(p) == 'Z')
            .collect();
        if zombies.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "zombies left: {zombies:?}");
        std::thread::sleep(Duration::from_millis(50));
    }

    // SAFETY: kill(2) on the master this test started (through unshare).
    unsafe { libc::kill(master, libc::SIGTERM) };
    let status = s.wait_exit(T);
    stop.0 = None;
    assert!(status.success(), "{status:?}: {}", s.log());
    let log = s.log();
    assert!(
        log.contains("worker 1 stopping gracefully (signal SIGTERM)"),
        "{log}"
    );
    assert!(log.contains("master exiting with status 0"), "{log}");
}
