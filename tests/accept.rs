use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rsgi_e2e::{free_port, repo_root, try_request, venv, LoadLoop, Server};

const T: Duration = Duration::from_secs(30);
const CLIENTS: usize = 48;
const CONNECTIONS_EACH: usize = 10;

/// Requests served per worker pid, from the stats server.
fn served_per_worker(stats: &str) -> HashMap<u64, u64> {
    let out = std::process::Command::new(venv().join("bin/python"))
        .arg(repo_root().join("tests/fixtures/stats_probe.py"))
        .args(["stats", stats])
        .output()
        .expect("run stats_probe.py");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("worker "))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[3].parse().unwrap(), f[5].parse().unwrap())
        })
        .collect()
}

fn total(stats: &str) -> u64 {
    served_per_worker(stats).values().sum()
}

/// Waits until the workers' counters reach `want` (counted just after each answer).
fn wait_total(stats: &str, want: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let n = total(stats);
        if n >= want || Instant::now() > deadline {
            return n;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `CLIENTS` threads, each opening `CONNECTIONS_EACH` connections one after another with
/// one request carrying a unique body; returns the bodies that did not come back.
fn burst(addr: SocketAddr) -> Vec<String> {
    let threads: Vec<_> = (0..CLIENTS)
        .map(|c| {
            std::thread::spawn(move || {
                let mut lost = Vec::new();
                for i in 0..CONNECTIONS_EACH {
                    let id = format!("client {c} connection {i}");
                    let r = try_request(
                        addr,
                        "POST",
                        "/echo",
                        &[("Connection", "close")],
                        id.as_bytes(),
                    );
                    match r {
                        Ok(r) if r.status == 200 && r.text() == id => {}
                        Ok(r) => lost.push(format!("{id}: {} {:?}", r.status, r.text())),
                        Err(e) => lost.push(format!("{id}: {e}")),
                    }
                }
                lost
            })
        })
        .collect();
    threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect()
}

/// Every connection of a burst against 4 workers is answered, with its own body, and
/// served exactly once.
fn every_connection_answered_exactly_once(flag: Option<&str>) -> Server {
    let stats = format!("127.0.0.1:{}", free_port());
    let mut args = vec!["--module", "app", "--processes", "4", "--stats", &stats];
    args.extend(flag);
    let s = Server::start(&args);
    s.wait_log("spawned worker 4", T);
    let before = wait_total(&stats, 1);
    let lost = burst(s.addr);
    assert!(
        lost.is_empty(),
        "{} lost: {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    let want = before + (CLIENTS * CONNECTIONS_EACH) as u64;
    assert_eq!(wait_total(&stats, want), want, "served exactly once each");
    let per_worker = served_per_worker(&stats);
    assert_eq!(per_worker.len(), 4, "{per_worker:?}");
    s
}

#[test]
fn exclusive_wakeups_answer_every_connection_exactly_once() {
    let s = every_connection_answered_exactly_once(None);
    assert!(!s.log().contains("accept on"), "{}", s.log());
}

#[test]
fn thunder_lock_answers_every_connection_exactly_once() {
    every_connection_answered_exactly_once(Some("--thunder-lock"));
}

#[test]
fn reuse_port_answers_every_connection_exactly_once_across_all_workers() {
    let stats = format!("127.0.0.1:{}", free_port());
    let s = Server::start(&[
        "--module",
        "app",
        "--processes",
        "4",
        "--stats",
        &stats,
        "--reuse-port",
    ]);
    s.wait_log("spawned worker 4", T);
    let before = wait_total(&stats, 1);
    let lost = burst(s.addr);
    assert!(
        lost.is_empty(),
        "{} lost: {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    let want = before + (CLIENTS * CONNECTIONS_EACH) as u64;
    assert_eq!(wait_total(&stats, want), want);
    let per_worker = served_per_worker(&stats);
    // The kernel hashes each connection to one worker's socket: all four get some.
    assert!(
        per_worker.len() == 4 && per_worker.values().all(|&n| n > 0),
        "{per_worker:?}"
    );
}

#[test]
fn thunder_lock_keeps_serving_when_workers_are_killed_while_accepting() {
    let s = Server::start(&["--module", "app", "--processes", "4", "--thunder-lock"]);
    s.wait_log("spawned worker 4", T);
    // Many short connections keep the lock busy while workers are killed.
    let load = LoadLoop::start(s.addr, "/pid", 8);
    for _ in 0..6 {
        let victim: i32 = loop {
            if let Ok(r) = try_request(s.addr, "GET", "/pid", &[("Connection", "close")], b"") {
                break r.text().parse().unwrap();
            }
        };
        // SAFETY: SIGKILL to a worker of our own test server.
        unsafe { libc::kill(victim, libc::SIGKILL) };
        s.wait_log(&format!("(pid {victim}) died"), T);
    }
    let report = load.finish();
    assert!(report.ok > 0, "{report:?}");
    // Whoever held the lock when killed, the workers left and the new ones all accept.
    let lost = burst(s.addr);
    assert!(
        lost.is_empty(),
        "{} lost after the kills: {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
}

/// The server-side TCP state of the connection from local port `client_port` to `port`,
/// from /proc/net/tcp (`01` established, `03` SYN-RECV), if the kernel lists one.
fn server_side_state(port: u16, client_port: u16) -> Option<String> {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let local_port = u16::from_str_radix(f[1].rsplit(':').next()?, 16).ok()?;
        let remote_port = u16::from_str_radix(f[2].rsplit(':').next()?, 16).ok()?;
        (local_port == port && remote_port == client_port).then(|| f[3].to_string())
    })
}

/// Input: a client that connects and sends nothing (while another client is answered),
/// then a request. Answer:
/// by default (TCP_DEFER_ACCEPT, as uWSGI) the kernel keeps the silent connection out of the
/// accept queue (server side still SYN-RECV), so no worker wakes for it; once the request
/// arrives it is accepted and answered. With --no-defer-accept it is accepted at once
/// (server side ESTABLISHED) and answered all the same.
#[test]
fn tcp_connections_are_accepted_once_their_first_bytes_arrive() {
    use std::io::{BufReader, Write};
    for (args, want_state) in [(&[][..], "03"), (&["--no-defer-accept"][..], "01")] {
        let mut all = vec!["--module", "app"];
        all.extend_from_slice(args);
        let s = Server::start(&all);
        let mut c = std::net::TcpStream::connect(s.addr).unwrap();
        // A request on another connection, answered: the server side has handled the
        // silent client's handshake (its last ACK came before this request's bytes).
        assert_eq!(rsgi_e2e::get(s.addr, "/").status, 200);
        let client_port = c.local_addr().unwrap().port();
        let state = server_side_state(s.addr.port(), client_port);
        assert_eq!(state.as_deref(), Some(want_state), "{args:?}");
        c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        c.set_read_timeout(Some(T)).unwrap();
        let r = rsgi_e2e::read_response(&mut BufReader::new(&mut c), false).unwrap();
        assert_eq!(
            (r.status, r.text().as_str()),
            (200, "Hello, World!"),
            "{args:?}"
        );
    }
}
