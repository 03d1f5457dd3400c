//! rsgi as PID 1 of its own PID namespace, as the entry point of a container is: it
//! serves, reaps orphans that the kernel hands to it, and SIGTERM (what `docker stop` and
//! Kubernetes send) is still a graceful shutdown, though PID 1 gets no default signal
//! actions.

use std::process::Command;
use std::time::{Duration, Instant};

use rsgi_e2e::{free_addr, get, http_args, target_dir, Server};

const T: Duration = Duration::from_secs(20);

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
/// exits 0.2 s later); a request; SIGTERM to the master.
/// Answer: the log says master pid 1; the request is served; the orphan is reaped (no
/// zombie among the master's children); SIGTERM stops the workers gracefully and the
/// namespace's init exits 0.
#[test]
fn as_pid_1_it_serves_reaps_orphans_and_stops_gracefully_on_sigterm() {
    let addr = free_addr();
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
                "(sleep 0.2 &); exec sleep 600",
            ],
        ))
        .current_dir(rsgi_e2e::apps_dir())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("RSGI_PLUGIN_DIR");
    let mut s = Server::spawn(&mut cmd, addr);
    s.wait_ready();
    assert!(s.log().contains("master pid 1\n"), "{}", s.log());
    assert_eq!(get(addr, "/").status, 200);

    // unshare's child is rsgi's master (pid 1 inside, another pid outside).
    let master = children(s.pid())
        .first()
        .copied()
        .expect("unshare has a child");
    // Once the orphan has exited: no zombie left among the master's children.
    std::thread::sleep(Duration::from_millis(1000));
    let deadline = Instant::now() + T;
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
    assert!(status.success(), "{status:?}: {}", s.log());
    let log = s.log();
    assert!(
        log.contains("worker 1 stopping gracefully (signal SIGTERM)"),
        "{log}"
    );
    assert!(log.contains("master exiting with status 0"), "{log}");
}
