//! systemd socket activation, played by `systemd-socket-activate` (Debian's `systemd`
//! package; scripts/setup.sh installs it): it binds the socket, waits for the first
//! connection, then execs rsgi with the socket as fd 3 and `LISTEN_FDS`, `LISTEN_PID`
//! (its own pid, which rsgi keeps) and `LISTEN_FDNAMES` set, as systemd does.

use std::io::{BufReader, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use rsgi_e2e::{
    free_addr, get, read_response, target_dir, try_request, uwsgi_packet, Client, LoadLoop, Server,
    TempDir,
};

const T: Duration = Duration::from_secs(30);

/// `systemd-socket-activate -l LISTEN [--fdname NAME] rsgi --plugin python ARGS...`, from
/// the test apps' directory. It passes on only the variables it is told to (`-E`).
fn activate(listen: &str, fdname: Option<&str>, args: &[&str]) -> Command {
    let mut cmd = Command::new("systemd-socket-activate");
    cmd.current_dir(rsgi_e2e::apps_dir())
        .stdin(std::process::Stdio::null())
        .args(["-l", listen, "-E", "PYTHONDONTWRITEBYTECODE=1"]);
    rsgi_e2e::isolate_env(&mut cmd);
    if let Some(name) = fdname {
        cmd.arg(format!("--fdname={name}"));
    }
    cmd.arg(target_dir().join("rsgi"))
        .args(["--plugin", "python"])
        .args(args);
    cmd
}

/// Starts `cmd` and waits until `systemd-socket-activate` listens (rsgi is not started
/// before the first connection).
fn spawn_listening(cmd: &mut Command, addr: SocketAddr) -> Server {
    let s = Server::spawn(cmd, addr);
    s.wait_log("Listening on", T);
    s
}

const CLEAN: &str = "LISTEN_FDS=None LISTEN_PID=None LISTEN_FDNAMES=None RSGI_ACTIVATED_FDS=None";

/// Input: systemd-socket-activate holding 127.0.0.1:PORT, rsgi configured with
/// `--http 127.0.0.1:PORT`; one request sent at once, on the socket that exists before
/// rsgi does. Answer: rsgi starts (on that connection), takes the socket over instead of
/// binding (a log line says so) and answers it; the app sees none of the activation
/// variables.
#[test]
fn a_request_sent_before_rsgi_starts_is_answered_and_the_app_sees_no_activation_variables() {
    let addr = free_addr();
    let a = addr.to_string();
    let s = spawn_listening(
        &mut activate(
            &a,
            None,
            &[
                "--http",
                &a,
                "--module",
                "activation_env",
                "--processes",
                "2",
            ],
        ),
        addr,
    );
    // The connection that makes systemd-socket-activate start rsgi.
    let mut first = Client::connect(addr).unwrap();
    let r = first.request("GET", "/", &[], b"").unwrap();
    assert_eq!(
        (r.status, r.text()),
        (200, CLEAN.to_string()),
        "{}",
        s.log()
    );
    assert!(
        s.log()
            .contains(&format!("--http {a}: socket passed by systemd ({a}, fd 3)")),
        "{}",
        s.log()
    );
    assert!(!s.log().contains("inherited socket"), "{}", s.log());
}

/// Writes `versioned.py`, answering `v<version>`, whole (beside it, then renamed), with a
/// size and an mtime of its own so that no cached compilation is taken for it.
fn write_version(dir: &Path, version: u32) {
    let tmp = dir.join(".versioned.py.writing");
    std::fs::write(
        &tmp,
        format!(
            "import os\n\
             # {}\n\
             def application(environ, start_response):\n\
             \x20   start_response('200 OK', [('Content-Type', 'text/plain')])\n\
             \x20   return [b'v{version} ' + str(os.environ.get('LISTEN_FDS')).encode()]\n",
            "x".repeat(version as usize)
        ),
    )
    .unwrap();
    std::fs::File::options()
        .write(true)
        .open(&tmp)
        .unwrap()
        .set_modified(
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000 + 10 * u64::from(version)),
        )
        .unwrap();
    std::fs::rename(&tmp, dir.join("versioned.py")).unwrap();
}

/// Waits until a fresh connection is answered `want`.
fn wait_for_body(s: &Server, want: &str) {
    let deadline = std::time::Instant::now() + T;
    loop {
        let last = match try_request(s.addr, "GET", "/", &[("Connection", "close")], b"") {
            Ok(r) if r.text() == want => return,
            Ok(r) => format!("status {} body {:?}", r.status, r.text()),
            Err(e) => format!("error {e}"),
        };
        assert!(
            std::time::Instant::now() < deadline,
            "never saw {want} (last answer: {last}); log:\n{}",
            s.log()
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Input: an activated rsgi under 4 clients sending requests in a loop; three SIGHUPs,
/// each after new code was written and once the clients were answered since the last
/// one. Answer: each reload re-executes the master (same pid) on the socket systemd
/// passed, nothing is bound afresh, every request is answered 200, the new code serves,
/// and the app never sees the variables.
#[test]
fn graceful_reloads_under_load_keep_the_passed_socket_and_drop_nothing() {
    let dir = TempDir::new("activation-reload");
    write_version(dir.path(), 0);
    let addr = free_addr();
    let a = addr.to_string();
    let s = spawn_listening(
        &mut activate(
            &a,
            Some("http"),
            &[
                "--http",
                &a,
                "--module",
                "versioned",
                "--pythonpath",
                dir.path().to_str().unwrap(),
                "--processes",
                "2",
            ],
        ),
        addr,
    );
    wait_for_body(&s, "v0 None");
    let load = LoadLoop::start(addr, "/", 4);
    for version in 1..=3 {
        load.wait_answers(load.ok(), 1, T);
        write_version(dir.path(), version);
        s.signal(libc::SIGHUP);
        wait_for_body(&s, &format!("v{version} None"));
    }
    load.wait_body("v3 None", T);
    let report = load.finish();
    assert_eq!(
        report.failed,
        0,
        "failures: {:?}\n{}",
        report.errors,
        s.log()
    );
    let log = s.log();
    assert_eq!(
        log.matches("graceful reload: re-executing").count(),
        3,
        "{log}"
    );
    assert_eq!(
        log.matches("socket 'http' passed by systemd").count(),
        1,
        "{log}"
    );
    assert!(!log.contains("binding afresh"), "{log}");
    assert!(
        log.contains(&format!("master pid {}", s.pid())),
        "the master keeps systemd's pid: {log}"
    );
}

/// Input: systemd-socket-activate holding a Unix socket `app.sock`; rsgi configured with
/// `--http` on that path, then SIGTERM. Answer: served over the passed socket; at exit the socket file stays, because
/// it is systemd's.
#[test]
fn a_passed_unix_socket_is_matched_by_path_and_left_in_place_at_exit() {
    let dir = TempDir::new("activation-unix");
    let sock = dir.join("app.sock");
    let path = sock.to_str().unwrap();
    let mut s = spawn_listening(
        &mut activate(path, None, &["--http", path, "--module", "activation_env"]),
        free_addr(),
    );
    let mut stream = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    stream.set_read_timeout(Some(T)).unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let r = read_response(&mut BufReader::new(stream), false).unwrap();
    assert_eq!(
        (r.status, r.text()),
        (200, CLEAN.to_string()),
        "{}",
        s.log()
    );
    s.wait_log(
        &format!("--http {path}: socket passed by systemd ({path}, fd 3)"),
        T,
    );
    s.signal(libc::SIGTERM);
    assert!(s.wait_exit(T).success(), "{}", s.log());
    assert!(
        sock.exists(),
        "systemd's socket file was removed: {}",
        s.log()
    );
}

/// Input: a socket passed with `--fdname=socket` on another address than rsgi's
/// `--socket` and `--http` name. Answer: the name picks the `--socket` option, so the
/// socket speaks the uwsgi protocol; the `--http` address, which nothing passed, is bound
/// by rsgi itself.
#[test]
fn a_name_picks_the_option_and_its_protocol() {
    let passed = free_addr();
    let configured = free_addr();
    let http = free_addr();
    let (p, c, h) = (passed.to_string(), configured.to_string(), http.to_string());
    let s = spawn_listening(
        &mut activate(
            &p,
            Some("socket"),
            &["--socket", &c, "--http", &h, "--module", "activation_env"],
        ),
        http,
    );
    let mut stream = std::net::TcpStream::connect(passed).unwrap();
    stream.set_read_timeout(Some(T)).unwrap();
    stream
        .write_all(&uwsgi_packet(
            &[
                ("REQUEST_METHOD", "GET"),
                ("REQUEST_URI", "/"),
                ("PATH_INFO", "/"),
                ("QUERY_STRING", ""),
                ("SERVER_PROTOCOL", "HTTP/1.1"),
                ("SERVER_NAME", "localhost"),
                ("SERVER_PORT", "80"),
                ("REMOTE_ADDR", "127.0.0.1"),
            ],
            b"",
        ))
        .unwrap();
    let r = read_response(&mut BufReader::new(stream), false).unwrap();
    assert_eq!(
        (r.status, r.text()),
        (200, CLEAN.to_string()),
        "{}",
        s.log()
    );
    assert_eq!(get(http, "/").text(), CLEAN, "{}", s.log());
    assert!(
        s.log().contains(&format!(
            "--socket {c}: socket 'socket' passed by systemd ({p}, fd 3)"
        )),
        "{}",
        s.log()
    );
}

/// Input: a socket passed on an address no option names, without a name rsgi knows.
/// Answer: exit 2 with one line naming the fd, its address and its name.
#[test]
fn a_passed_socket_matching_no_option_stops_the_start_naming_it() {
    let passed = free_addr();
    let configured = free_addr().to_string();
    let p = passed.to_string();
    let mut s = spawn_listening(
        &mut activate(
            &p,
            Some("web"),
            &["--http", &configured, "--module", "activation_env"],
        ),
        passed,
    );
    // The connection that starts rsgi; it is closed unanswered.
    let _ = try_request(passed, "GET", "/", &[], b"");
    let status = s.wait_exit(T);
    assert_eq!(status.code(), Some(2), "{}", s.log());
    assert!(
        s.log().contains(&format!(
            "systemd passed a socket that matches no --http or --socket: fd 3 on {p}, named 'web'"
        )),
        "{}",
        s.log()
    );
}

/// Input: `LISTEN_FDS`, `LISTEN_PID` (another process's pid) and `LISTEN_FDNAMES` in rsgi's
/// environment, as a process started by a socket-activated service would inherit them.
/// Answer: the sockets are not rsgi's (it binds its own, as always), and the variables
/// are removed all the same: the app does not see them.
#[test]
fn activation_variables_for_another_process_are_ignored_and_removed() {
    let addr = free_addr();
    let mut cmd = rsgi_e2e::rsgi_command();
    cmd.args(rsgi_e2e::http_args(addr, &["--module", "activation_env"]))
        .env("LISTEN_FDS", "1")
        .env("LISTEN_PID", "1")
        .env("LISTEN_FDNAMES", "http");
    let s = Server::spawn(&mut cmd, addr);
    s.wait_ready();
    assert_eq!(get(addr, "/").text(), CLEAN, "{}", s.log());
    assert!(!s.log().contains("passed by systemd"), "{}", s.log());
}
