use std::time::{Duration, Instant};

use rsgi_e2e::{get, Server};

const T: Duration = Duration::from_secs(30);

/// `/proc/PID/cmdline` as `ps -ef` shows it: the strings joined by spaces, trailing NULs
/// (a title's padding) dropped.
fn cmdline(pid: i32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let text = String::from_utf8_lossy(&raw);
    text.trim_end_matches('\0').replace('\0', " ")
}

/// `/proc/PID/comm` without its newline (what `ps -e`, `top` and `pgrep` show).
fn comm(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim_end_matches('\n')
        .to_string()
}

/// Waits until process `pid` shows `title` in its cmdline (a worker sets it just after
/// fork, possibly after the master logged the spawn).
fn wait_title(s: &Server, pid: i32, title: &str) {
    let deadline = Instant::now() + T;
    while cmdline(pid) != title {
        assert!(
            Instant::now() < deadline,
            "pid {pid} shows {:?}, not {title:?}; log:\n{}",
            cmdline(pid),
            s.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The pid of each worker id from the latest "spawned worker N (pid P)" log lines.
fn worker_pids(log: &str) -> Vec<(u32, i32)> {
    let mut latest: Vec<(u32, i32)> = Vec::new();
    for line in log.lines() {
        let Some((_, rest)) = line.split_once("spawned worker ") else {
            continue;
        };
        let Some((id, rest)) = rest.split_once(" (pid ") else {
            continue;
        };
        let Some((pid, _)) = rest.split_once(')') else {
            continue;
        };
        let (id, pid) = (id.parse().unwrap(), pid.parse().unwrap());
        latest.retain(|&(i, _)| i != id);
        latest.push((id, pid));
    }
    latest.sort();
    latest
}

/// Asserts the master's and both workers' titles, in cmdline and (cut to 15 bytes) comm.
fn assert_titles(s: &Server) {
    wait_title(s, s.pid(), "myapp rsgi master");
    assert_eq!(comm(s.pid()), "myapp rsgi mast");
    let workers = worker_pids(&s.log());
    assert_eq!(
        workers.iter().map(|&(id, _)| id).collect::<Vec<_>>(),
        [1, 2],
        "{}",
        s.log()
    );
    for (id, pid) in workers {
        wait_title(s, pid, &format!("myapp rsgi worker {id}"));
        assert_eq!(comm(pid), "myapp rsgi work");
    }
}

/// Input: `--auto-procname --procname-prefix-spaced myapp --processes 2`, then SIGHUP.
/// Answer: the master's cmdline is `myapp rsgi master`, the workers' `myapp rsgi worker 1`
/// and `... 2`, their comm those cut to 15 bytes; after the graceful reload (a re-exec
/// with the arguments as started, not the title) the master serves and has its title
/// again, and so do the new workers.
#[test]
fn auto_procname_titles_master_and_workers_across_a_reload() {
    let s = Server::start(&[
        "--module",
        "app",
        "--auto-procname",
        "--procname-prefix-spaced",
        "myapp",
        "--processes",
        "2",
    ]);
    s.wait_log("spawned worker 2", T);
    assert_titles(&s);

    s.signal(libc::SIGHUP);
    s.wait_log("old worker 1", T);
    s.wait_log("old worker 2", T);
    for _ in 0..4 {
        assert_eq!(get(s.addr, "/").status, 200, "{}", s.log());
    }
    let log = s.log();
    assert_eq!(log.matches("2 worker process(es)").count(), 2, "{log}");
    assert_eq!(log.matches("spawned worker").count(), 4, "{log}");
    assert_titles(&s);
}

/// Input: no procname option. Answer: the master's cmdline is its command line (with
/// `--module app`) and its comm is `rsgi`; a worker's likewise.
#[test]
fn without_procname_options_the_command_line_stays() {
    let s = Server::start(&["--module", "app"]);
    s.wait_log("spawned worker 1", T);
    let master = cmdline(s.pid());
    assert!(master.contains("--module app"), "{master}");
    assert_eq!(comm(s.pid()), "rsgi");
    let worker: i32 = get(s.addr, "/pid").text().parse().unwrap();
    assert_eq!(cmdline(worker), master);
    assert_eq!(comm(worker), "rsgi");
}
