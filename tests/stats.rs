use std::collections::{HashMap, HashSet};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use rsgi_e2e::{free_port, get, repo_root, try_request, venv, Server};

const T: Duration = Duration::from_secs(30);

/// Runs `tests/fixtures/stats_probe.py` with the venv's python.
fn probe_output(args: &[&str]) -> Output {
    Command::new(venv().join("bin/python"))
        .arg(repo_root().join("tests/fixtures/stats_probe.py"))
        .args(args)
        .output()
        .expect("run stats_probe.py")
}

/// The probe's stdout; panics with its stderr when it fails.
fn probe(args: &[&str]) -> String {
    let out = probe_output(args);
    assert!(
        out.status.success(),
        "stats_probe.py {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// One summary line of the probe (`worker 1 pid 42 requests 7 ...`) as key → value.
fn fields(line: &str) -> HashMap<String, String> {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    tokens
        .chunks(2)
        .filter(|c| c.len() == 2)
        .map(|c| (c[0].to_string(), c[1].to_string()))
        .collect()
}

/// The `--stats` document, schema-checked: the master line and one map per worker.
struct Stats {
    master: HashMap<String, String>,
    workers: Vec<HashMap<String, String>>,
}

impl Stats {
    fn read(addr: &str, http: bool) -> Stats {
        let mut args = vec!["stats", addr];
        if http {
            args.push("--http");
        }
        let text = probe(&args);
        let master = text
            .lines()
            .find(|l| l.starts_with("master "))
            .map(fields)
            .expect("master line");
        let workers = text
            .lines()
            .filter(|l| l.starts_with("worker "))
            .map(fields)
            .collect();
        Stats { master, workers }
    }

    fn num(map: &HashMap<String, String>, key: &str) -> u64 {
        map[key]
            .parse()
            .unwrap_or_else(|_| panic!("{key} = {}", map[key]))
    }

    fn total(&self, key: &str) -> u64 {
        self.workers.iter().map(|w| Self::num(w, key)).sum()
    }

    fn pids(&self) -> HashSet<u64> {
        self.workers.iter().map(|w| Self::num(w, "pid")).collect()
    }
}

/// Reads the stats until the workers' requests add up to `want` (a worker counts a
/// request just after its answer is written), then checks it stays there.
fn stats_with_requests(addr: &str, want: u64) -> Stats {
    let deadline = Instant::now() + T;
    loop {
        let s = Stats::read(addr, false);
        if s.total("requests") >= want || Instant::now() > deadline {
            assert_eq!(s.total("requests"), want);
            return s;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn get_close(addr: SocketAddr, path: &str) -> u16 {
    try_request(addr, "GET", path, &[("Connection", "close")], b"")
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
        .status
}

#[test]
fn stats_document_follows_the_uwsgi_schema_and_counts_every_request() {
    let stats = format!("127.0.0.1:{}", free_port());
    let s = Server::start(&[
        "--module",
        "app",
        "--processes",
        "2",
        "--threads",
        "2",
        "--stats",
        &stats,
    ]);
    s.wait_log("spawned worker 2", T);
    let before = Stats::read(&stats, false);
    assert_eq!(Stats::num(&before.master, "master"), s.pid() as u64);
    assert_eq!(Stats::num(&before.master, "sockets"), 1);
    let base = before.total("requests");
    for _ in 0..10 {
        assert_eq!(get_close(s.addr, "/"), 200);
    }
    assert_eq!(get_close(s.addr, "/raise"), 500);
    let after = stats_with_requests(&stats, base + 11);
    assert_eq!(
        after.total("exceptions") - before.total("exceptions"),
        1,
        "{:?}",
        after.workers
    );
    assert_eq!(after.workers.len(), 2);
    for w in &after.workers {
        assert_eq!(w["cores"], "2", "one core per app thread: {w:?}");
        assert_eq!(
            Stats::num(w, "core_requests"),
            Stats::num(w, "delta"),
            "cores add up to the worker's requests: {w:?}"
        );
        assert_eq!(
            (w["status"].as_str(), w["accepting"].as_str()),
            ("idle", "1")
        );
        assert!(Stats::num(w, "rss") > 1 << 20, "{w:?}");
        assert_eq!(w["respawn"], "1");
    }
}

#[test]
fn respawned_workers_keep_their_request_count_and_count_the_respawn() {
    let stats = format!("127.0.0.1:{}", free_port());
    let s = Server::start(&["--module", "app", "--stats", &stats]);
    for _ in 0..4 {
        get_close(s.addr, "/");
    }
    let before = stats_with_requests(&stats, 5);
    let old = Stats::num(&before.workers[0], "pid");
    // SAFETY: SIGKILL to a worker of our own test server.
    unsafe { libc::kill(old as i32, libc::SIGKILL) };
    s.wait_log(&format!("(pid {old}) died"), T);
    assert_eq!(get_close(s.addr, "/"), 200);
    let after = stats_with_requests(&stats, 6);
    let w = &after.workers[0];
    assert_ne!(Stats::num(w, "pid"), old);
    assert_eq!((w["delta"].as_str(), w["respawn"].as_str()), ("1", "2"));
}

/// A tmux server of its own, killed when dropped.
struct Tmux(String);

impl Tmux {
    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.0, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("run tmux")
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

#[test]
fn uwsgitop_shows_each_worker_pid_and_its_requests() {
    let dir = rsgi_e2e::TempDir::new("stats-top");
    let sock = dir.join("stats.sock").to_str().unwrap().to_string();
    let s = Server::start(&["--module", "app", "--processes", "2", "--stats", &sock]);
    s.wait_log("spawned worker 2", T);
    for _ in 0..6 {
        get_close(s.addr, "/");
    }
    let stats = stats_with_requests(&sock, 7);
    let tmux = Tmux(format!(
        "rsgi-top-{}",
        dir.path().file_name().unwrap().to_string_lossy()
    ));
    let top = venv().join("bin/uwsgitop");
    let out = tmux.run(&[
        "new-session",
        "-d",
        "-x",
        "200",
        "-y",
        "40",
        &format!("{} {sock}", top.display()),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want_rows: Vec<(String, String)> = stats
        .workers
        .iter()
        .map(|w| (w["pid"].clone(), w["requests"].clone()))
        .collect();
    let deadline = Instant::now() + T;
    let screen = loop {
        std::thread::sleep(Duration::from_millis(100));
        let screen =
            String::from_utf8_lossy(&tmux.run(&["capture-pane", "-p"]).stdout).into_owned();
        // Rows are " WID  %  PID  REQ  RPS ...".
        let rows: Vec<Vec<&str>> = screen
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .filter(|cols| cols.len() > 4 && cols[0].parse::<u32>().is_ok())
            .collect();
        let all_there = want_rows.iter().all(|(pid, req)| {
            rows.iter()
                .any(|cols| cols[2] == pid.as_str() && cols[3] == req.as_str())
        });
        if all_there && screen.contains("req: 7") || Instant::now() > deadline {
            break screen;
        }
    };
    assert!(screen.contains("req: 7"), "{screen}");
    assert!(
        screen.contains(&format!("masterpid: {}", s.pid())),
        "{screen}"
    );
    for (pid, req) in &want_rows {
        assert!(
            screen.lines().any(|l| {
                let cols: Vec<&str> = l.split_whitespace().collect();
                cols.len() > 4 && cols[2] == pid.as_str() && cols[3] == req.as_str()
            }),
            "no row for pid {pid} with {req} requests:\n{screen}"
        );
    }
}

#[test]
fn stats_http_serves_the_document_as_an_http_response() {
    let stats = format!("127.0.0.1:{}", free_port());
    let s = Server::start(&["--module", "app", "--stats", &stats, "--stats-http"]);
    let doc = Stats::read(&stats, true);
    assert_eq!(Stats::num(&doc.master, "master"), s.pid() as u64);
    assert_eq!(doc.total("requests"), 1);
    let head = try_request(stats.parse().unwrap(), "HEAD", "/", &[], b"").unwrap();
    assert_eq!(head.status, 200);
    let post = try_request(stats.parse().unwrap(), "POST", "/", &[], b"x").unwrap();
    assert_eq!(post.status, 405);
}

/// The metrics as (sample name, labels) → value, and family name → type.
fn metrics(addr: &str) -> (HashMap<(String, String), f64>, HashMap<String, String>) {
    let text = probe(&["metrics", addr]);
    let mut samples = HashMap::new();
    let mut families = HashMap::new();
    for line in text.lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        match parts[0] {
            "family" => {
                families.insert(parts[1].to_string(), parts[2].to_string());
            }
            "sample" => {
                samples.insert(
                    (parts[1].to_string(), parts[2].to_string()),
                    parts[3].parse().unwrap(),
                );
            }
            _ => panic!("unexpected probe line {line:?}"),
        }
    }
    (samples, families)
}

fn sum_of(samples: &HashMap<(String, String), f64>, name: &str) -> f64 {
    samples
        .iter()
        .filter(|((n, _), _)| n == name)
        .map(|(_, v)| v)
        .sum()
}

#[test]
fn prometheus_metrics_parse_and_count_requests_exceptions_and_states() {
    let metrics_addr = format!("127.0.0.1:{}", free_port());
    let s = Server::start(&[
        "--module",
        "app",
        "--processes",
        "2",
        "--metrics",
        &metrics_addr,
    ]);
    s.wait_log("spawned worker 2", T);
    for _ in 0..5 {
        get_close(s.addr, "/");
    }
    get_close(s.addr, "/raise");
    get_close(s.addr, "/raise");
    let deadline = Instant::now() + T;
    let (samples, families) = loop {
        let (samples, families) = metrics(&metrics_addr);
        if sum_of(&samples, "rsgi_worker_requests_total") >= 8.0 || Instant::now() > deadline {
            break (samples, families);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(sum_of(&samples, "rsgi_worker_requests_total"), 8.0);
    assert_eq!(sum_of(&samples, "rsgi_worker_exceptions_total"), 2.0);
    assert_eq!(families["rsgi_worker_requests"], "counter");
    assert_eq!(families["rsgi_worker_status"], "gauge");
    assert_eq!(families["rsgi_listen_queue"], "gauge");
    for worker in ["1", "2"] {
        let label = format!("worker={worker}");
        let states: Vec<(&str, f64)> = samples
            .iter()
            .filter(|((n, l), _)| {
                n == "rsgi_worker_status" && l.starts_with("state=") && l.ends_with(&label)
            })
            .map(|((_, l), v)| (l.as_str(), *v))
            .collect();
        assert_eq!(states.len(), 6, "{states:?}");
        assert_eq!(
            states.iter().filter(|(_, v)| *v == 1.0).count(),
            1,
            "one current state: {states:?}"
        );
        assert!(samples[&("rsgi_worker_rss_bytes".into(), label.clone())] > 1e6);
        assert_eq!(
            samples[&("rsgi_worker_respawns_total".into(), label.clone())],
            0.0
        );
        assert!(samples[&("rsgi_worker_avg_response_time_seconds".into(), label)] >= 0.0);
    }
    let socket = format!("socket={}", s.addr);
    assert_eq!(samples[&("rsgi_listen_queue".into(), socket.clone())], 0.0);
    assert_eq!(samples[&("rsgi_listen_queue_max".into(), socket)], 1024.0);
}

#[test]
fn a_full_listen_queue_is_logged_and_shown_in_stats() {
    let stats = format!("127.0.0.1:{}", free_port());
    let s = Server::start(&["--module", "app", "--listen", "2", "--stats", &stats]);
    let addr = s.addr;
    // The one worker runs the app on its loop thread: while it sleeps nothing is accepted.
    // The request outlasts the test (the server's shutdown cuts it), the clients hold
    // their connections until the stats are read: the queue stays full meanwhile.
    let _slow = std::thread::spawn(move || try_request(addr, "GET", "/slow?600", &[], b""));
    s.wait_log("app: slow request started", T);
    let (release, released) = std::sync::mpsc::channel::<()>();
    let released = std::sync::Arc::new(std::sync::Mutex::new(released));
    let waiting: Vec<_> = (0..8)
        .map(|_| {
            let released = released.clone();
            std::thread::spawn(move || {
                let c = TcpStream::connect_timeout(&addr, Duration::from_secs(2));
                let _ = released.lock().unwrap().recv();
                drop(c);
            })
        })
        .collect();
    s.wait_log(&format!("listen queue of http://{addr} full ("), T);
    let doc = Stats::read(&stats, false);
    assert!(
        Stats::num(&doc.master, "listen_queue") >= 2,
        "{:?}",
        doc.master
    );
    assert!(Stats::num(&doc.master, "listen_queue_errors") >= 1);
    drop(release);
    for t in waiting {
        t.join().unwrap();
    }
}

#[test]
fn a_listen_queue_above_somaxconn_is_warned_about_at_startup() {
    let max: i32 = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let listen = (max + 1).to_string();
    let s = Server::start(&["--module", "app", "--listen", &listen]);
    s.wait_log(
        &format!("--listen {listen} exceeds net.core.somaxconn ({max})"),
        T,
    );
}

#[test]
fn sigusr1_summary_fits_one_screen() {
    let s = Server::start(&["--module", "app", "--processes", "4"]);
    s.wait_log("spawned worker 4", T);
    for _ in 0..8 {
        get(s.addr, "/");
    }
    s.signal(libc::SIGUSR1);
    let pids: Vec<String> = s
        .log()
        .lines()
        .filter_map(|l| l.split("(pid ").nth(1))
        .map(|rest| rest.trim_end_matches(')').to_string())
        .collect();
    assert_eq!(pids.len(), 4);
    let deadline = Instant::now() + T;
    let summary: Vec<String> = loop {
        let lines: Vec<String> = s
            .log()
            .lines()
            .filter_map(|l| l.split_once("stats: ").map(|(_, m)| format!("stats: {m}")))
            .collect();
        if lines.len() >= 6 || Instant::now() > deadline {
            break lines;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(summary.len(), 6, "title, header, 4 workers: {summary:#?}");
    assert!(summary.iter().all(|l| l.len() <= 80), "{summary:#?}");
    for pid in &pids {
        assert!(
            summary.iter().any(|l| l.contains(pid.as_str())),
            "{pid}: {summary:#?}"
        );
    }
}

#[test]
fn workers_do_not_hold_the_stats_socket() {
    let port = free_port();
    let stats = format!("127.0.0.1:{port}");
    let s = Server::start(&["--module", "app", "--processes", "2", "--stats", &stats]);
    s.wait_log("spawned worker 2", T);
    // The inode of the socket listening on the stats port, from /proc/net/tcp.
    let hex_port = format!(":{port:04X}");
    let inode = std::fs::read_to_string("/proc/net/tcp")
        .unwrap()
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|c| c.len() > 9 && c[1].ends_with(&hex_port) && c[3] == "0A")
        .map(|c| c[9].to_string())
        .expect("the stats socket listens");
    let holders = |pid: u64| -> bool {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
            .any(|target| target.to_string_lossy() == format!("socket:[{inode}]"))
    };
    assert!(holders(s.pid() as u64), "the master holds it");
    let doc = Stats::read(&stats, false);
    for pid in doc.pids() {
        assert!(!holders(pid), "worker {pid} holds the stats socket");
    }
}

#[test]
fn the_stats_server_answers_again_after_a_graceful_reload() {
    let stats = format!("127.0.0.1:{}", free_port());
    let s = Server::start(&["--module", "app", "--processes", "2", "--stats", &stats]);
    s.wait_log("spawned worker 2", T);
    let old = Stats::read(&stats, false).pids();
    s.signal(libc::SIGHUP);
    let deadline = Instant::now() + T;
    loop {
        let out = probe_output(&["stats", &stats]);
        if out.status.success() {
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let pids: HashSet<u64> = text
                .lines()
                .filter(|l| l.starts_with("worker "))
                .map(|l| Stats::num(&fields(l), "pid"))
                .collect();
            if pids.len() == 2 && pids.is_disjoint(&old) && !pids.contains(&0) {
                assert!(text.contains(&format!("master {}", s.pid())), "{text}");
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no stats from the new workers; log:\n{}",
            s.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!s.log().contains("cannot listen"), "{}", s.log());
    assert_eq!(s.log().matches("stats server (JSON) on").count(), 2);
}

#[test]
fn clients_that_never_read_or_never_ask_do_not_stall_the_master() {
    let stats = format!("127.0.0.1:{}", free_port());
    let metrics_addr = format!("127.0.0.1:{}", free_port());
    let s = Server::start(&[
        "--module",
        "app",
        "--stats",
        &stats,
        "--metrics",
        &metrics_addr,
    ]);
    let stats_sa: SocketAddr = stats.parse().unwrap();
    let metrics_sa: SocketAddr = metrics_addr.parse().unwrap();
    let idle: Vec<TcpStream> = (0..20)
        .flat_map(|_| [TcpStream::connect(stats_sa), TcpStream::connect(metrics_sa)])
        .map(Result::unwrap)
        .collect();
    // Answered while the 40 idle clients are still there (a master that waited on them
    // would leave the probe's reads to time out).
    let doc = Stats::read(&stats, false);
    let (samples, _) = metrics(&metrics_addr);
    assert_eq!(get(s.addr, "/").status, 200);
    assert_eq!(doc.workers.len(), 1);
    assert!(sum_of(&samples, "rsgi_worker_requests_total") >= 1.0);
    drop(idle);
}
