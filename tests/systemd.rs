//! systemd's notify protocol: a test plays the service manager on a datagram socket named
//! by `NOTIFY_SOCKET`, as systemd does for a `Type=notify` unit.

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use rsgi_e2e::{free_addr, free_port, get, http_args, rsgi_command, Server};

const T: Duration = Duration::from_secs(20);

/// The service manager's end: collects what rsgi sends.
struct Manager {
    socket: UnixDatagram,
    path: std::path::PathBuf,
    seen: Vec<String>,
}

impl Manager {
    fn bind() -> Manager {
        let path = std::env::temp_dir().join(format!(
            "rsgi-notify-{}-{}.sock",
            std::process::id(),
            free_port()
        ));
        let _ = std::fs::remove_file(&path);
        let socket = UnixDatagram::bind(&path).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        Manager {
            socket,
            path,
            seen: Vec::new(),
        }
    }

    /// Waits for a message containing `needle` after those already taken; returns it.
    fn expect(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + T;
        let mut buf = [0u8; 4096];
        loop {
            if let Ok(n) = self.socket.recv(&mut buf) {
                let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                self.seen.push(msg.clone());
                if msg.contains(needle) {
                    return msg;
                }
            }
            assert!(
                Instant::now() < deadline,
                "no {needle:?} from rsgi; got {:?}",
                self.seen
            );
        }
    }
}

impl Drop for Manager {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn start(manager: &Manager, extra_env: &[(&str, &str)]) -> Server {
    let addr = free_addr();
    let mut cmd = rsgi_command();
    cmd.env("NOTIFY_SOCKET", &manager.path)
        .args(http_args(addr, &["--module", "app", "--processes", "2"]));
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let s = Server::spawn(&mut cmd, addr);
    s.wait_ready();
    s
}

/// Input: rsgi started with `NOTIFY_SOCKET` (2 workers), then SIGHUP, then SIGTERM.
/// Answer: `READY=1` with a `STATUS=serving, 2 worker(s)` once the workers accept; on
/// SIGHUP `RELOADING=1` with `MONOTONIC_USEC`, then `READY=1` again from the same pid once
/// the new workers accept (requests served throughout); on SIGTERM `STOPPING=1`.
#[test]
fn ready_reloading_and_stopping_reach_the_service_manager() {
    let mut m = Manager::bind();
    let mut s = start(&m, &[]);
    let ready = m.expect("READY=1");
    assert!(ready.contains("STATUS=serving, 2 worker(s)"), "{ready}");
    assert_eq!(get(s.addr, "/").status, 200);

    s.signal(libc::SIGHUP);
    let reloading = m.expect("RELOADING=1");
    assert!(reloading.contains("MONOTONIC_USEC="), "{reloading}");
    m.expect("READY=1");
    s.wait_log("old worker 2", T);
    assert_eq!(get(s.addr, "/").status, 200);

    s.signal(libc::SIGTERM);
    let stopping = m.expect("STOPPING=1");
    assert!(
        stopping.contains("STATUS=stopping: graceful shutdown"),
        "{stopping}"
    );
    assert!(s.wait_exit(T).success(), "{}", s.log());
}

/// Input: rsgi started with `NOTIFY_SOCKET` and `WATCHDOG_USEC=600000` (`WatchdogSec=0.6`).
/// Answer: `WATCHDOG=1` pings, at least two, while it serves.
#[test]
fn the_watchdog_is_pinged() {
    let mut m = Manager::bind();
    let _s = start(&m, &[("WATCHDOG_USEC", "600000")]);
    m.expect("READY=1");
    m.expect("WATCHDOG=1");
    m.expect("WATCHDOG=1");
}

/// Input: no `NOTIFY_SOCKET`. Answer: rsgi runs as ever and logs no notify warning.
#[test]
fn without_notify_socket_nothing_is_sent() {
    let s = Server::start(&["--module", "app"]);
    assert_eq!(get(s.addr, "/").status, 200);
    assert!(!s.log().contains("NOTIFY_SOCKET"), "{}", s.log());
}
