//! The uwsgi protocol behind a real nginx (`uwsgi_pass` over TCP and a Unix socket),
//! bad uwsgi input sent to rsgi directly, Unix socket files, and graceful restarts of the
//! instances behind one nginx upstream.

#[path = "nginx_support.rs"]
mod support;

use std::collections::HashSet;
use std::ffi::{CStr, CString};
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::UnixListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rsgi_e2e::{free_port, run_to_exit, Client, Response, Server};
use support::{
    assert_closed_without_answer, start_uwsgi, uwsgi_request, Nginx, Site, Target, TempDir,
};

const T: Duration = Duration::from_secs(20);

/// rsgi on a TCP and a Unix uwsgi socket, and nginx with three sites in front of it:
/// over TCP, over the Unix socket, and over TCP with `uwsgi_param HTTPS on`.
struct Stack {
    rsgi: Server,
    nginx: Nginx,
    _dir: TempDir,
}

impl Stack {
    fn start(args: &[&str]) -> Stack {
        let dir = TempDir::new("stack");
        let tcp = format!("127.0.0.1:{}", free_port());
        let unix = dir.path().join("rsgi.sock").display().to_string();
        let rsgi = start_uwsgi(&[tcp.clone(), unix.clone()], args);
        let nginx = Nginx::start(
            dir.path(),
            &[
                Site::to(tcp.clone()),
                Site::to(format!("unix:{unix}")),
                Site::to(tcp).with("uwsgi_param HTTPS on;"),
            ],
        );
        Stack {
            rsgi,
            nginx,
            _dir: dir,
        }
    }

    /// The plain sites: (name, address) over TCP and over the Unix socket.
    fn sites(&self) -> [(&'static str, SocketAddr); 2] {
        [("tcp", self.nginx.addrs[0]), ("unix", self.nginx.addrs[1])]
    }

    fn https_site(&self) -> SocketAddr {
        self.nginx.addrs[2]
    }

    /// One request through nginx on a fresh connection; panics with both logs on I/O errors.
    fn request(
        &self,
        addr: SocketAddr,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        Client::connect(addr)
            .and_then(|mut c| c.request(method, path, headers, body))
            .unwrap_or_else(|e| panic!("{method} {path} via {addr}: {e}\n{}", self.logs()))
    }

    fn get(&self, addr: SocketAddr, path: &str) -> Response {
        self.request(addr, "GET", path, &[], b"")
    }

    fn logs(&self) -> String {
        format!(
            "rsgi log:\n{}\nnginx log:\n{}",
            self.rsgi.log(),
            self.nginx.error_log()
        )
    }
}

/// `"KEY": "value"` as the `/environ` route's JSON has it.
fn json_pair(key: &str, value: &str) -> String {
    format!(r#""{key}": "{value}""#)
}

/// Deterministic bytes of every value (xorshift), so a shifted or dropped byte shows.
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

// --- through nginx -------------------------------------------------------------------

/// `--socket [::1]:PORT` and `--socket :PORT` (all interfaces) next to an IPv6
/// `--http-socket`: nginx passes to the IPv6 uwsgi socket, a uwsgi client reaches the
/// all-interfaces one over 127.0.0.1, and an HTTP client over IPv6 sees its own address
/// and port as REMOTE_ADDR / REMOTE_PORT (`::1`, formatted by the worker).
#[test]
fn ipv6_and_all_interfaces_addresses_serve_both_protocols() {
    let dir = TempDir::new("ipv6");
    let v6 = format!("[::1]:{}", free_port());
    let any_port = free_port();
    let http: SocketAddr = format!("[::1]:{}", free_port()).parse().unwrap();
    let rsgi = start_uwsgi(
        &[v6.clone(), format!(":{any_port}")],
        &["--http-socket", &http.to_string()],
    );
    let nginx = Nginx::start(dir.path(), &[Site::to(v6)]);
    let logs = || format!("rsgi:\n{}\nnginx:\n{}", rsgi.log(), nginx.error_log());

    let via_nginx = Client::connect(nginx.addrs[0])
        .and_then(|mut c| c.request("GET", "/environ", &[], b""))
        .unwrap_or_else(|e| panic!("via nginx: {e}\n{}", logs()));
    assert_eq!(via_nginx.status, 200, "{}", logs());
    // nginx's own variable: the client of nginx, not nginx's IPv6 connection to rsgi.
    let text = via_nginx.text();
    assert!(
        text.contains(&json_pair("REMOTE_ADDR", "127.0.0.1")),
        "{text}"
    );

    let any: SocketAddr = format!("127.0.0.1:{any_port}").parse().unwrap();
    let r = uwsgi_request(&Target::Tcp(any), "GET", "/", &[], b"").unwrap();
    assert_eq!((r.status, r.text().as_str()), (200, "Hello, World!"));

    let mut stream = TcpStream::connect_timeout(&http, T).unwrap();
    let local_port = stream.local_addr().unwrap().port();
    stream.set_read_timeout(Some(T)).unwrap();
    stream
        .write_all(b"GET /environ HTTP/1.1\r\nHost: v6\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut stream, &mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    for expected in [
        json_pair("REMOTE_ADDR", "::1"),
        json_pair("REMOTE_PORT", &local_port.to_string()),
    ] {
        assert!(answer.contains(&expected), "{expected} missing in {answer}");
    }
}

#[test]
fn get_through_nginx_reaches_the_app_over_tcp_and_a_unix_socket() {
    let stack = Stack::start(&["--processes", "2"]);
    for (name, addr) in stack.sites() {
        let r = stack.get(addr, "/");
        assert_eq!(
            (r.status, r.text().as_str()),
            (200, "Hello, World!"),
            "via {name}"
        );
        let env = stack.get(addr, "/environ").text();
        for expected in [
            json_pair("REQUEST_METHOD", "GET"),
            json_pair("PATH_INFO", "/environ"),
            json_pair("SERVER_PROTOCOL", "HTTP/1.1"),
            json_pair("REMOTE_ADDR", "127.0.0.1"),
            json_pair("SERVER_PORT", &addr.port().to_string()),
            json_pair("wsgi.url_scheme", "http"),
        ] {
            assert!(
                env.contains(&expected),
                "via {name}: {expected} missing in {env}"
            );
        }
        assert!(env.contains(r#""HTTPS": null"#), "via {name}: {env}");
    }
}

#[test]
fn query_strings_pass_through_nginx_unchanged() {
    let stack = Stack::start(&[]);
    let long = format!("k={}", "v".repeat(4000));
    let cases: [(String, &str); 6] = [
        ("/environ?a=1&b=2".into(), "a=1&b=2"),
        (
            "/environ?q=caf%C3%A9&sp=a+b%20c".into(),
            "q=caf%C3%A9&sp=a+b%20c",
        ),
        ("/environ?x=1?y=2/z".into(), "x=1?y=2/z"),
        ("/environ?".into(), ""),
        ("/environ".into(), ""),
        (format!("/environ?{long}"), &long),
    ];
    for (name, addr) in stack.sites() {
        for (uri, query) in &cases {
            let r = stack.get(addr, uri);
            assert_eq!(r.status, 200, "via {name} {uri}");
            let env = r.text();
            assert!(
                env.contains(&json_pair("QUERY_STRING", query)),
                "via {name} {uri}: {env}"
            );
            assert!(
                env.contains(&json_pair("REQUEST_URI", uri)),
                "via {name} {uri}: {env}"
            );
            assert!(
                env.contains(&json_pair("PATH_INFO", "/environ")),
                "via {name} {uri}: {env}"
            );
        }
        // nginx decodes the path for PATH_INFO and keeps REQUEST_URI as sent.
        let env = stack.get(addr, "/env%69ron?a=%2F").text();
        assert!(
            env.contains(&json_pair("PATH_INFO", "/environ")),
            "via {name}: {env}"
        );
        assert!(
            env.contains(&json_pair("REQUEST_URI", "/env%69ron?a=%2F")),
            "via {name}: {env}"
        );
        assert!(
            env.contains(&json_pair("QUERY_STRING", "a=%2F")),
            "via {name}: {env}"
        );
    }
}

#[test]
fn a_5_mb_post_through_nginx_is_echoed_back_intact() {
    let stack = Stack::start(&[]);
    let body = noise(5 * 1024 * 1024);
    for (name, addr) in stack.sites() {
        let r = stack.request(
            addr,
            "POST",
            "/echo",
            &[("Content-Type", "application/octet-stream")],
            &body,
        );
        assert_eq!(r.status, 200, "via {name}");
        assert_eq!(r.body.len(), body.len(), "via {name}");
        assert!(r.body == body, "via {name}: the echoed body differs");
    }
}

#[test]
fn a_16_kb_cookie_passes_with_the_default_buffer_size() {
    let stack = Stack::start(&[]);
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let value: String = noise(16 * 1024 - 8)
        .iter()
        .map(|b| alphabet[*b as usize % alphabet.len()] as char)
        .collect();
    let cookie = format!("session={value}");
    assert_eq!(cookie.len(), 16 * 1024);
    for (name, addr) in stack.sites() {
        let r = stack.request(addr, "GET", "/var?HTTP_COOKIE", &[("Cookie", &cookie)], b"");
        assert_eq!(r.status, 200, "via {name}: {}", stack.logs());
        assert!(
            r.text() == cookie,
            "via {name}: the cookie came back as {} bytes",
            r.body.len()
        );
    }
}

#[test]
fn a_16_kb_cookie_over_a_4_kb_buffer_size_is_a_502_and_a_log_line_naming_the_option() {
    let stack = Stack::start(&["--buffer-size", "4096"]);
    let cookie = format!("session={}", "c".repeat(16 * 1024));
    let (name, addr) = stack.sites()[0];
    let r = stack.request(addr, "GET", "/var?HTTP_COOKIE", &[("Cookie", &cookie)], b"");
    assert_eq!(r.status, 502, "via {name}");
    stack
        .rsgi
        .wait_log("exceeds buffer-size 4096; raise the buffer-size option", T);
    // The same worker goes on serving normal requests.
    assert_eq!(stack.get(addr, "/").text(), "Hello, World!");
}

#[test]
fn a_chunked_upload_is_dechunked_by_nginx_and_arrives_with_content_length() {
    let stack = Stack::start(&[]);
    let data = noise(300_000);
    let sizes = [1usize, 10, 1000, 65_536, 3, 233_450];
    assert_eq!(sizes.iter().sum::<usize>(), data.len());
    let mut chunked = Vec::new();
    let mut at = 0;
    for size in sizes {
        chunked.extend_from_slice(format!("{size:x}\r\n").as_bytes());
        chunked.extend_from_slice(&data[at..at + size]);
        chunked.extend_from_slice(b"\r\n");
        at += size;
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    for (name, addr) in stack.sites() {
        for path in ["/echo", "/length"] {
            let mut c = Client::connect(addr).unwrap();
            let head = format!(
                "POST {path} HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\nContent-Type: application/octet-stream\r\n\r\n"
            );
            c.send_raw(head.as_bytes()).unwrap();
            c.send_raw(&chunked).unwrap();
            let r = c.read_response(false).unwrap();
            assert_eq!(r.status, 200, "via {name} {path}: {}", stack.logs());
            if path == "/echo" {
                assert!(
                    r.body == data,
                    "via {name}: echoed {} bytes, not the {} sent",
                    r.body.len(),
                    data.len()
                );
            } else {
                let expected = format!("{0} {0}", data.len());
                assert_eq!(
                    r.text(),
                    expected,
                    "via {name}: CONTENT_LENGTH and bytes read"
                );
            }
        }
    }
}

#[test]
fn https_param_from_nginx_makes_the_url_scheme_https() {
    let stack = Stack::start(&[]);
    let env = stack.get(stack.https_site(), "/environ").text();
    assert!(env.contains(&json_pair("HTTPS", "on")), "{env}");
    assert!(
        env.contains(&json_pair("wsgi.url_scheme", "https")),
        "{env}"
    );
    let plain = stack.get(stack.sites()[0].1, "/environ").text();
    assert!(
        plain.contains(&json_pair("wsgi.url_scheme", "http")),
        "{plain}"
    );
}

/// A location written for uWSGI, mounting the app under `/app` with
/// `uwsgi_param SCRIPT_NAME /app; uwsgi_modifier1 30;`: the app sees the prefix as
/// SCRIPT_NAME and the rest of the path as PATH_INFO (modifier1 30 is served as WSGI),
/// also for a packet without PATH_INFO.
#[test]
fn uwsgi_modifier1_30_from_nginx_moves_the_script_name_out_of_path_info() {
    let dir = TempDir::new("modifier30");
    let tcp = format!("127.0.0.1:{}", free_port());
    let rsgi = start_uwsgi(std::slice::from_ref(&tcp), &[]);
    let tcp_addr: SocketAddr = tcp.parse().unwrap();
    let nginx = Nginx::start(
        dir.path(),
        &[Site::to(tcp).with("uwsgi_param SCRIPT_NAME /app; uwsgi_modifier1 30;")],
    );
    let logs = || {
        format!(
            "rsgi log:\n{}\nnginx log:\n{}",
            rsgi.log(),
            nginx.error_log()
        )
    };
    let response = Client::connect(nginx.addrs[0])
        .and_then(|mut c| c.request("GET", "/app/environ?q=1", &[], b""))
        .unwrap_or_else(|e| panic!("GET /app/environ: {e}\n{}", logs()));
    assert_eq!(response.status, 200, "{}", logs());
    let env = response.text();
    for (key, value) in [
        ("SCRIPT_NAME", "/app"),
        ("PATH_INFO", "/environ"),
        ("REQUEST_URI", "/app/environ?q=1"),
        ("QUERY_STRING", "q=1"),
    ] {
        assert!(env.contains(&json_pair(key, value)), "{key}: {env}");
    }
    assert!(!rsgi.log().contains("modifier1"), "{}", logs());
    // Straight to rsgi, a modifier1 30 packet without PATH_INFO: the path is cut instead
    // (the app derives PATH_INFO from it).
    let mut block = Vec::new();
    for (key, value) in [
        ("REQUEST_METHOD", "GET"),
        ("REQUEST_URI", "/app/environ"),
        ("SCRIPT_NAME", "/app"),
    ] {
        block.extend_from_slice(&var(key, value));
    }
    let mut stream = TcpStream::connect(tcp_addr).unwrap();
    stream.write_all(&packet(30, &block)).unwrap();
    let response = rsgi_e2e::read_response(&mut std::io::BufReader::new(stream), false)
        .unwrap_or_else(|e| panic!("raw modifier1 30 packet: {e}\n{}", logs()));
    let env = response.text();
    assert!(env.contains(&json_pair("PATH_INFO", "/environ")), "{env}");
    assert!(env.contains(&json_pair("SCRIPT_NAME", "/app")), "{env}");
}

// --- bad input straight to rsgi's uwsgi socket ----------------------------------------

/// rsgi with one worker, small limits, and a 1 s header timeout, on a TCP uwsgi socket.
fn strict_rsgi() -> (Server, Target) {
    let socket = format!("127.0.0.1:{}", free_port());
    let args = [
        "--processes",
        "1",
        "--buffer-size",
        "2048",
        "--max-vars",
        "16",
        "--http-header-timeout",
        "1",
    ];
    (
        start_uwsgi(std::slice::from_ref(&socket), &args),
        Target::of(&socket),
    )
}

fn worker_pid(target: &Target) -> String {
    let r = uwsgi_request(target, "GET", "/pid", &[], b"").expect("GET /pid over uwsgi");
    assert_eq!(r.status, 200);
    r.text()
}

/// Sends `bytes` on a raw connection and checks the three promises: the connection is
/// closed without an answer, the log names the problem, the same worker still serves.
fn refused_with_a_log_line(bytes: &[u8], log_line: &str) {
    let (server, target) = strict_rsgi();
    let Target::Tcp(addr) = target else {
        unreachable!()
    };
    let pid = worker_pid(&target);
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(bytes).unwrap();
    assert_closed_without_answer(stream, log_line);
    server.wait_log(log_line, T);
    assert_eq!(
        worker_pid(&target),
        pid,
        "the worker changed; log:\n{}",
        server.log()
    );
    let r = uwsgi_request(&target, "GET", "/", &[], b"").unwrap();
    assert_eq!((r.status, r.text().as_str()), (200, "Hello, World!"));
}

/// A uwsgi packet with `modifier1` around a raw vars block.
fn packet(modifier1: u8, block: &[u8]) -> Vec<u8> {
    let mut out = vec![modifier1];
    out.extend_from_slice(&(block.len() as u16).to_le_bytes());
    out.push(0);
    out.extend_from_slice(block);
    out
}

/// One var as the protocol encodes it, with the value length given separately.
fn var_with_len(key: &[u8], value: &[u8], value_len: u16) -> Vec<u8> {
    let mut out = (key.len() as u16).to_le_bytes().to_vec();
    out.extend_from_slice(key);
    out.extend_from_slice(&value_len.to_le_bytes());
    out.extend_from_slice(value);
    out
}

fn var(key: &str, value: &str) -> Vec<u8> {
    var_with_len(key.as_bytes(), value.as_bytes(), value.len() as u16)
}

#[test]
fn truncated_uwsgi_header_is_closed_after_the_header_timeout() {
    // Two of the four header bytes, then nothing: the connection stays open on our side.
    refused_with_a_log_line(
        &[0, 0x20],
        "closing a connection whose request head took over 1s",
    );
}

#[test]
fn uwsgi_var_length_past_the_packet_closes_the_connection() {
    let mut block = var("REQUEST_METHOD", "GET");
    block.extend(var_with_len(b"PATH_INFO", b"/x", 40_000));
    refused_with_a_log_line(
        &packet(0, &block),
        "closing: uwsgi var length runs past the end of the packet",
    );
}

#[test]
fn uwsgi_zero_length_key_closes_the_connection() {
    let mut block = var("REQUEST_METHOD", "GET");
    block.extend(var_with_len(b"", b"value", 5));
    refused_with_a_log_line(&packet(0, &block), "closing: uwsgi var with an empty key");
}

#[test]
fn uwsgi_packet_with_more_vars_than_max_vars_closes_the_connection() {
    let mut block = var("REQUEST_METHOD", "GET");
    for i in 0..16 {
        block.extend(var(&format!("HTTP_X_{i}"), "v"));
    }
    refused_with_a_log_line(
        &packet(0, &block),
        "closing: uwsgi packet has more vars than max-vars; raise the max-vars option",
    );
}

#[test]
fn uwsgi_packet_larger_than_buffer_size_is_logged_naming_the_option() {
    let mut block = var("REQUEST_METHOD", "GET");
    block.extend(var("HTTP_X_BIG", &"b".repeat(3000)));
    let size = block.len();
    refused_with_a_log_line(
        &packet(0, &block),
        &format!(
            "uwsgi packet of {size} bytes exceeds buffer-size 2048; raise the buffer-size option"
        ),
    );
}

#[test]
fn uwsgi_packet_with_an_unknown_modifier1_closes_the_connection() {
    let mut block = var("REQUEST_METHOD", "GET");
    block.extend(var("PATH_INFO", "/"));
    refused_with_a_log_line(
        &packet(7, &block),
        "uwsgi packet with modifier1 7 but no plugin serves it",
    );
}

// --- Unix socket files -----------------------------------------------------------------

/// A user and group the socket can be given: nobody's when we are root (a real change of
/// owner), our own otherwise (the only chown an ordinary user may do).
fn socket_owner() -> (String, String, u32, u32) {
    // SAFETY: libc user-database lookups; the returned records are copied out at once and
    // the tests do no other lookups concurrently that would overwrite them before that.
    unsafe {
        let pw = if libc::geteuid() == 0 {
            let name = CString::new("nobody").unwrap();
            libc::getpwnam(name.as_ptr())
        } else {
            libc::getpwuid(libc::geteuid())
        };
        assert!(!pw.is_null(), "no passwd entry for the socket owner");
        let user = CStr::from_ptr((*pw).pw_name).to_string_lossy().into_owned();
        let (uid, gid) = ((*pw).pw_uid, (*pw).pw_gid);
        let gr = libc::getgrgid(gid);
        assert!(!gr.is_null(), "no group entry for gid {gid}");
        let group = CStr::from_ptr((*gr).gr_name).to_string_lossy().into_owned();
        (user, group, uid, gid)
    }
}

#[test]
fn chmod_and_chown_socket_set_the_unix_socket_mode_and_owner() {
    let dir = TempDir::new("chmod");
    let path = dir.path().join("app.sock");
    let socket = path.display().to_string();
    let (user, group, uid, gid) = socket_owner();
    let owner = format!("{user}:{group}");
    let _rsgi = start_uwsgi(
        std::slice::from_ref(&socket),
        &["--chmod-socket", "660", "--chown-socket", &owner],
    );
    let meta = std::fs::metadata(&path).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(
        meta.mode() & 0o7777,
        0o660,
        "mode {:o}",
        meta.mode() & 0o7777
    );
    assert_eq!((meta.uid(), meta.gid()), (uid, gid), "owner {owner}");
    let r = uwsgi_request(&Target::of(&socket), "GET", "/", &[], b"").unwrap();
    assert_eq!(r.text(), "Hello, World!");
}

#[test]
fn chown_socket_naming_an_unknown_user_exits_2_and_leaves_no_socket_file() {
    let dir = TempDir::new("chown-unknown");
    let path = dir.path().join("app.sock");
    let socket = path.display().to_string();
    let args = [
        "--plugin",
        "python",
        "--socket",
        &socket,
        "--module",
        "app",
        "--chown-socket",
        "no-such-user-rsgi:root",
    ];
    let (code, out) = run_to_exit(&args, T);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("no user named 'no-such-user-rsgi'"), "{out}");
    assert!(!path.exists(), "a socket file was left behind");
}

#[test]
fn unix_socket_file_is_removed_on_sigterm_shutdown() {
    let dir = TempDir::new("sigterm");
    let path = dir.path().join("app.sock");
    // One worker: it has answered, so its signal handling is set up before SIGTERM comes.
    let mut rsgi = start_uwsgi(&[path.display().to_string()], &["--processes", "1"]);
    assert!(path.exists());
    rsgi.signal(libc::SIGTERM);
    let status = rsgi.wait_exit(T);
    assert_eq!(status.code(), Some(0), "{}", rsgi.log());
    assert!(!path.exists(), "the socket file outlived the server");
}

#[test]
fn a_stale_unix_socket_file_is_replaced_on_start() {
    let dir = TempDir::new("stale");
    let path = dir.path().join("app.sock");
    // A socket file nobody listens on any more, as a killed server leaves it.
    drop(UnixListener::bind(&path).unwrap());
    assert!(std::fs::symlink_metadata(&path)
        .unwrap()
        .file_type()
        .is_socket());
    assert!(std::os::unix::net::UnixStream::connect(&path).is_err());
    let _rsgi = start_uwsgi(&[path.display().to_string()], &[]);
    let r = uwsgi_request(&Target::Unix(path), "GET", "/", &[], b"").unwrap();
    assert_eq!((r.status, r.text().as_str()), (200, "Hello, World!"));
}

// --- graceful restarts behind one upstream --------------------------------------------

/// What the client loop saw.
#[derive(Default)]
struct Tally {
    ok: usize,
    failures: Vec<String>,
    pids: HashSet<String>,
}

/// GETs `/pid` through nginx on a keep-alive connection until `stop` (a test that fails
/// before it stops them ends after 5 minutes anyway); every non-200 and every I/O error is
/// a failure (and a reconnect).
fn client_loop(addr: SocketAddr, stop: Arc<AtomicBool>, tally: Arc<Mutex<Tally>>) {
    let started = Instant::now();
    let mut client: Option<Client> = None;
    while !stop.load(Ordering::Relaxed) && started.elapsed() < Duration::from_secs(300) {
        let outcome = match client.as_mut() {
            Some(c) => c.request("GET", "/pid", &[], b""),
            None => Client::connect(addr)
                .and_then(|c| client.insert(c).request("GET", "/pid", &[], b"")),
        };
        let mut t = tally.lock().unwrap();
        match outcome {
            Ok(r) if r.status == 200 => {
                t.ok += 1;
                t.pids.insert(r.text());
            }
            Ok(r) => t.failures.push(format!(
                "status {} after {:?}: {}",
                r.status,
                started.elapsed(),
                r.text()
            )),
            Err(e) => {
                t.failures
                    .push(format!("I/O error after {:?}: {e}", started.elapsed()));
                client = None;
            }
        }
        drop(t);
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits until the clients have had `more` answers beyond what they have now.
fn wait_more_answers(tally: &Mutex<Tally>, more: usize) {
    let want = tally.lock().unwrap().ok + more;
    let deadline = Instant::now() + T;
    while tally.lock().unwrap().ok < want {
        assert!(
            Instant::now() < deadline,
            "the clients got no answers: {:?}",
            tally.lock().unwrap().failures
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The pids of the workers `server` spawned, from its log (all of them, not only those
/// that happened to answer a few requests).
fn worker_pids(server: &Server, workers: usize) -> HashSet<String> {
    server.wait_log_count("spawned worker ", workers, T);
    server
        .log()
        .lines()
        .filter_map(|l| l.split("spawned worker ").nth(1)?.split("(pid ").nth(1))
        .filter_map(|rest| rest.split(')').next().map(str::to_string))
        .collect()
}

#[test]
fn graceful_restarts_behind_nginx_lose_no_request() {
    let dir = TempDir::new("restart");
    let sockets: Vec<String> = (0..2)
        .map(|_| format!("127.0.0.1:{}", free_port()))
        .collect();
    let args = ["--processes", "2"];
    let mut instances: Vec<Server> = sockets
        .iter()
        .map(|s| start_uwsgi(std::slice::from_ref(s), &args))
        .collect();
    let site = Site {
        upstream: sockets
            .iter()
            .map(|s| format!("{s} max_fails=1 fail_timeout=1s"))
            .collect(),
        directives: "uwsgi_next_upstream error timeout; uwsgi_connect_timeout 2s;".into(),
    };
    let nginx = Nginx::start(dir.path(), &[site]);

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Mutex::new(Tally::default()));
    // Four clients at once, so requests are in flight and queued while an instance stops.
    let traffic: Vec<_> = (0..4)
        .map(|_| {
            let (addr, stop, tally) = (nginx.addrs[0], stop.clone(), tally.clone());
            std::thread::spawn(move || client_loop(addr, stop, tally))
        })
        .collect();
    wait_more_answers(&tally, 8);
    for (i, socket) in sockets.iter().enumerate() {
        let old = &mut instances[i];
        old.signal(libc::SIGTERM);
        let status = old.wait_exit(T);
        assert_eq!(status.code(), Some(0), "instance {i}: {}", old.log());
        instances[i] = start_uwsgi(std::slice::from_ref(socket), &args);
        // Back in nginx's rotation once the traffic reaches one of its new workers.
        let fresh = worker_pids(&instances[i], 2);
        let deadline = Instant::now() + T;
        while tally.lock().unwrap().pids.is_disjoint(&fresh) {
            assert!(
                Instant::now() < deadline,
                "nginx never sent traffic to restarted instance {i}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    wait_more_answers(&tally, 20);
    stop.store(true, Ordering::Relaxed);
    for client in traffic {
        client.join().unwrap();
    }

    let t = tally.lock().unwrap();
    assert!(
        t.failures.is_empty(),
        "{} of {} requests failed: {:#?}\nnginx log:\n{}",
        t.failures.len(),
        t.ok + t.failures.len(),
        t.failures,
        nginx.error_log()
    );
    assert!(t.ok >= 300, "only {} requests in the run", t.ok);
}

/// Input: `--static-map /static=DIR` behind nginx over a Unix socket; GET of a 2 MiB file
/// and of a CSS file through nginx, a GET with `If-Modified-Since` from the first answer,
/// and a GET of a missing file.
/// Answer: the files' bytes with their types (sent by rsgi's worker with sendfile over the
/// uwsgi protocol), then 304, then the app's page for the missing file.
#[test]
fn static_map_files_pass_through_nginx() {
    let dir = TempDir::new("static");
    let files = dir.path().join("files");
    std::fs::create_dir_all(&files).unwrap();
    let big: Vec<u8> = (0..2 << 20).map(|i| (i % 253) as u8).collect();
    std::fs::write(files.join("big.bin"), &big).unwrap();
    std::fs::write(files.join("site.css"), "p{}").unwrap();
    let unix = dir.path().join("rsgi.sock").display().to_string();
    let map = format!("/static={}", files.display());
    let rsgi = start_uwsgi(std::slice::from_ref(&unix), &["--static-map", &map]);
    let nginx = Nginx::start(dir.path(), &[Site::to(format!("unix:{unix}"))]);
    let logs = || format!("rsgi:\n{}\nnginx:\n{}", rsgi.log(), nginx.error_log());

    let mut c = Client::connect(nginx.addrs[0]).unwrap();
    let r = c.request("GET", "/static/big.bin", &[], b"").unwrap();
    assert_eq!(r.status, 200, "{}", logs());
    assert!(r.body == big, "2 MiB body differs; {}", logs());
    let css = c.request("GET", "/static/site.css", &[], b"").unwrap();
    assert_eq!((css.status, css.text().as_str()), (200, "p{}"));
    assert_eq!(css.header("content-type"), Some("text/css"));
    let modified = css.header("last-modified").unwrap().to_string();
    let again = c
        .request(
            "GET",
            "/static/site.css",
            &[("If-Modified-Since", &modified)],
            b"",
        )
        .unwrap();
    assert_eq!(again.status, 304, "{}", logs());
    let missing = c.request("GET", "/static/nope.css", &[], b"").unwrap();
    assert_eq!(
        (missing.status, missing.text().as_str()),
        (200, "Hello, World!")
    );
}

/// An ASGI app behind nginx over the uwsgi protocol (HTTP only: nginx's uwsgi module does not
/// pass an upgrade). Input: GET /scope/caf%C3%A9?x=1 on each site, and a 5 MB POST. Answer:
/// the scope's path decoded, raw_path and query as sent, the client, the scheme (https on
/// the site with `uwsgi_param HTTPS on`) and headers from nginx's variables lower-cased;
/// the body's size counted by the app.
#[test]
fn an_asgi_app_behind_nginx_sees_the_request_as_sent() {
    let venv = rsgi_e2e::venv();
    let stack = Stack::start(&[
        "--virtualenv",
        venv.to_str().unwrap(),
        "--asgi",
        "asgi_app:app",
    ]);
    let sites = stack.sites();
    let all = [sites[0], sites[1], ("https", stack.https_site())];
    for (name, addr) in all {
        let r = stack.request(
            addr,
            "GET",
            "/scope/caf%C3%A9?x=1",
            &[("X-Test", "yes")],
            b"",
        );
        assert_eq!(r.status, 200, "via {name}: {}", stack.logs());
        let scope: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(scope["path"], "/scope/café", "via {name}");
        assert_eq!(scope["raw_path"], "/scope/caf%C3%A9", "via {name}");
        assert_eq!(scope["query_string"], "x=1", "via {name}");
        assert_eq!(scope["client"][0], "127.0.0.1", "via {name}");
        let scheme = if name == "https" { "https" } else { "http" };
        assert_eq!(scope["scheme"], scheme, "via {name}");
        let headers = scope["headers"].as_array().unwrap();
        assert!(
            headers.iter().any(|h| h[0] == "x-test" && h[1] == "yes"),
            "via {name}: {scope}"
        );
    }
    let body = vec![b'z'; 5_000_000];
    let r = stack.request(sites[0].1, "POST", "/post-size", &[], &body);
    assert_eq!(r.text(), "5000000", "{}", stack.logs());
}
