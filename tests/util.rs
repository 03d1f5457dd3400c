//! Test harness: start `rsgi`, wait for it, talk HTTP or uwsgi to it, read its log.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The cargo target dir holding `rsgi` and the plugins (next to the test binary).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test exe");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target dir")
        .to_path_buf();
    let rsgi = dir.join("rsgi");
    assert!(
        rsgi.is_file(),
        "{} is missing: build the workspace first (cargo build --workspace)",
        rsgi.display()
    );
    dir
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The directory of the test apps.
pub fn apps_dir() -> PathBuf {
    repo_root().join("tests/apps")
}

/// The project's venv (made by scripts/setup.sh).
pub fn venv() -> PathBuf {
    let v = repo_root().join("build/venv");
    assert!(
        v.join("bin/python").exists(),
        "{} is missing: run scripts/setup.sh",
        v.display()
    );
    v
}

/// A free TCP port on 127.0.0.1, for a server to bind.
///
/// Taken below the kernel's ephemeral range (32768-60999 by default), not by binding port
/// 0: a port from that range, released again, can become the local port of one of the
/// many client connections the tests make before the server binds it, and the server then
/// fails to start. Each call gives another port (a counter, started at a place that
/// depends on the process, so that two test processes rarely start at the same port).
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const FIRST: u32 = 20_000;
    const COUNT: u32 = 12_000;
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    let _ = NEXT.compare_exchange(
        u32::MAX,
        (std::process::id() % 60) * 200,
        Ordering::Relaxed,
        Ordering::Relaxed,
    );
    loop {
        let port = (FIRST + NEXT.fetch_add(1, Ordering::Relaxed) % COUNT) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Runs `rsgi --plugin python --module app EXTRA...`, which must refuse to start: exit
/// status 2 (a usage error) and `message` in its output.
pub fn refused_at_start(extra: &[&str], message: &str) {
    let mut args = vec!["--plugin", "python", "--module", "app"];
    args.extend_from_slice(extra);
    let (code, out) = run_to_exit(&args, std::time::Duration::from_secs(20));
    assert_eq!(code, 2, "{out}");
    assert!(out.contains(message), "{out}");
}

/// Sets `path`'s modification time `ahead` into the future: a touch that a watcher
/// comparing mtimes sees even within the file system's timestamp granularity.
pub fn touch_ahead(path: &std::path::Path, ahead: std::time::Duration) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(std::time::SystemTime::now() + ahead)
        .unwrap();
}

/// A fresh, empty directory under the system temp dir, removed on drop. Its name holds
/// `what`, the test process's pid and a counter of the process, so no two tests share one
/// (tests of one binary run in one process: a name keyed on the pid alone would be shared);
/// one left behind by an earlier run whose pid was the same is removed first.
pub struct TempDir(PathBuf);

impl TempDir {
    /// Makes `rsgi-{what}-{pid}-{n}` under the system temp dir.
    pub fn new(what: &str) -> TempDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("rsgi-{what}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        TempDir(dir)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// `name` in the directory.
    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.0.join(name)
    }
}

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Replaces `path`'s content at once: writes a file beside it and renames it into place,
/// so a process reading `path` meanwhile (a worker importing a module) sees the old
/// content or the new one, never an empty or half-written file (`std::fs::write`
/// truncates first).
pub fn write_atomically(path: &Path, content: impl AsRef<[u8]>) {
    let name = path.file_name().expect("a file name").to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.writing"));
    std::fs::write(&tmp, content).unwrap_or_else(|e| panic!("write {}: {e}", tmp.display()));
    std::fs::rename(&tmp, path).unwrap_or_else(|e| panic!("rename to {}: {e}", path.display()));
}

/// How many connections wait in the accept queue of the TCP socket listening on
/// 127.0.0.1:`port` (the `rx_queue` the kernel shows for a listening socket in
/// /proc/net/tcp), if there is one.
pub fn accept_queue_len(port: u16) -> Option<u32> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let local_port = u16::from_str_radix(f.get(1)?.rsplit(':').next()?, 16).ok()?;
        // 0A: LISTEN.
        if local_port != port || *f.get(3)? != "0A" {
            return None;
        }
        u32::from_str_radix(f.get(4)?.split(':').nth(1)?, 16).ok()
    })
}

/// Waits until `count` connections wait in the accept queue of 127.0.0.1:`port`.
pub fn wait_accept_queue(port: u16, count: u32, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while accept_queue_len(port) != Some(count) {
        assert!(
            Instant::now() < deadline,
            "the accept queue of port {port} holds {:?}, waited for {count}",
            accept_queue_len(port)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `127.0.0.1` on a port from [`free_port`].
pub fn free_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], free_port()))
}

/// `--plugin python --http ADDR` and then `args`: the arguments [`Server::start`] gives.
pub fn http_args(addr: SocketAddr, args: &[&str]) -> Vec<String> {
    let mut full = vec![
        "--plugin".to_string(),
        "python".into(),
        "--http".into(),
        addr.to_string(),
    ];
    full.extend(args.iter().map(|s| s.to_string()));
    full
}

/// A running `rsgi`.
pub struct Server {
    child: Option<Child>,
    /// The HTTP address it listens on.
    pub addr: SocketAddr,
    log: Arc<Mutex<String>>,
    /// Set once the log pipe reached its end (every process holding it is gone).
    log_ended: Arc<std::sync::atomic::AtomicBool>,
}

/// The `rsgi` command with cwd = the test apps, stdin from /dev/null, the caller's
/// environment kept out ([`isolate_env`]), bytecode writing off.
pub fn rsgi_command() -> Command {
    let mut cmd = Command::new(target_dir().join("rsgi"));
    cmd.current_dir(apps_dir()).stdin(Stdio::null());
    isolate_env(&mut cmd);
    cmd.env("PYTHONDONTWRITEBYTECODE", "1");
    cmd
}

/// Removes from `cmd`'s environment what would change a test server depending on who
/// runs the tests: rsgi's own options (`RSGI_*`: `RSGI_PROCESSES`, `RSGI_CONFIG`,
/// `RSGI_PLUGIN_DIR`...), the embedded interpreter's settings (`PYTHON*`: a
/// `PYTHONPATH`, `PYTHONHOME`, `PYTHONFAULTHANDLER`...), and a service manager's
/// (`NOTIFY_SOCKET`, `WATCHDOG_*`, `LISTEN_*`: run from a systemd unit, every test server
/// would report to it). A test sets what it needs after this.
pub fn isolate_env(cmd: &mut Command) {
    for (name, _) in std::env::vars_os() {
        let text = name.to_string_lossy();
        if text.starts_with("RSGI_")
            || text.starts_with("PYTHON")
            || text == "NOTIFY_SOCKET"
            || text.starts_with("WATCHDOG_")
            || text.starts_with("LISTEN_")
        {
            cmd.env_remove(&name);
        }
    }
}

impl Server {
    /// Starts `rsgi --plugin python --http 127.0.0.1:PORT <args>` and waits until every
    /// worker answers.
    pub fn start(args: &[&str]) -> Server {
        let addr = free_addr();
        let server = Server::spawn(rsgi_command().args(http_args(addr, args)), addr);
        server.wait_ready();
        server
    }

    /// Starts `cmd` (already holding every argument) without waiting.
    pub fn spawn(cmd: &mut Command, addr: SocketAddr) -> Server {
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start rsgi");
        let log = Arc::new(Mutex::new(String::new()));
        let log_ended = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stderr = child.stderr.take().unwrap();
        let (sink, ended) = (log.clone(), log_ended.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if std::env::var_os("RSGI_TEST_LOG").is_some() {
                    eprintln!("[rsgi] {line}");
                }
                let mut l = sink.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
            ended.store(true, std::sync::atomic::Ordering::Release);
        });
        Server {
            child: Some(child),
            addr,
            log,
            log_ended,
        }
    }

    /// Waits until the server answers `GET /` (any status), or panics with its log.
    pub fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(resp) = try_request(self.addr, "GET", "/__ready", &[], b"") {
                if resp.status > 0 {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("rsgi did not become ready; log:\n{}", self.log());
    }

    /// Waits until `probe` (a request of the test's own making, for a server that does not
    /// answer a plain `GET /`: one that expects a PROXY protocol header first) gets an
    /// answer, or panics with the log.
    pub fn wait_ready_by(&self, probe: impl Fn(SocketAddr) -> std::io::Result<Response>) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if probe(self.addr).is_ok_and(|r| r.status > 0) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("rsgi did not become ready; log:\n{}", self.log());
    }

    /// Everything it wrote to stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits until the log contains `needle` (panics after `timeout`).
    pub fn wait_log(&self, needle: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.log().contains(needle) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("log never contained {needle:?}; log:\n{}", self.log());
    }

    /// Waits until the log contains `needle` at least `count` times (panics after
    /// `timeout`).
    pub fn wait_log_count(&self, needle: &str, count: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.log().matches(needle).count() < count {
            assert!(
                Instant::now() < deadline,
                "log never contained {needle:?} {count} times; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Returns once everything the server's processes wrote to the log before this call
    /// is in [`Server::log`]: the master writes a stats summary on SIGUSR1, which comes
    /// through the same pipe after whatever was written before it. For a check that
    /// something was *not* logged after an event, instead of a pause.
    pub fn log_barrier(&self) {
        let before = self.log().matches("stats: up ").count();
        self.signal(libc::SIGUSR1);
        self.wait_log_count("stats: up ", before + 1, Duration::from_secs(30));
    }

    /// The master's pid.
    pub fn pid(&self) -> i32 {
        self.child.as_ref().unwrap().id() as i32
    }

    /// Sends `signal` to the master.
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(self.pid(), signal) };
    }

    /// Waits for the master to exit, and for its last log lines: the log is read on a
    /// thread of its own, which may not have taken everything from the pipe yet when the
    /// process is gone. It waits for the pipe's end, which comes once every process
    /// holding it (workers, daemons) is gone too, or `timeout`, after which it returns
    /// all the same (a test may leave such a process running on purpose).
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        let child = self.child.as_mut().unwrap();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                while !self.log_ended.load(std::sync::atomic::Ordering::Acquire)
                    && Instant::now() < deadline
                {
                    std::thread::sleep(Duration::from_millis(10));
                }
                return status;
            }
            if Instant::now() > deadline {
                panic!("rsgi did not exit within {timeout:?}; log:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if child.try_wait().ok().flatten().is_none() {
                // SAFETY: SIGINT to our own child: immediate shutdown of master and workers.
                unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
                let deadline = Instant::now() + Duration::from_secs(5);
                while Instant::now() < deadline {
                    if child.try_wait().ok().flatten().is_some() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// Runs `rsgi` with `args` to completion; returns (exit code, stdout and stderr).
///
/// Both pipes are drained while it runs (a child that writes more than a pipe holds never
/// blocks on the harness). One that has not exited by `timeout` is killed, and the panic
/// says where it was: what it wrote so far and, for each of its threads, the kernel's
/// wait channel and stack (`/proc/PID/task/TID/{wchan,stack}`), so that a hang names its
/// place.
pub fn run_to_exit(args: &[&str], timeout: Duration) -> (i32, String) {
    let mut child = rsgi_command()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start rsgi");
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        let collected = Arc::new(Mutex::new(Vec::new()));
        let sink = collected.clone();
        let reader = std::thread::spawn(move || {
            let Some(mut pipe) = pipe else { return };
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        (collected, reader)
    };
    let (out, out_reader) = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let (err, err_reader) = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let text = |out: &Arc<Mutex<Vec<u8>>>, err: &Arc<Mutex<Vec<u8>>>| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.lock().unwrap()),
            String::from_utf8_lossy(&err.lock().unwrap())
        )
    };
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let _ = out_reader.join();
            let _ = err_reader.join();
            return (status.code().unwrap_or(-1), text(&out, &err));
        }
        if Instant::now() > deadline {
            let where_ = threads_of(child.id());
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "rsgi {args:?} did not exit within {timeout:?}; its threads:\n{where_}\nit wrote:\n{}",
                text(&out, &err)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Each thread of process `pid`: its name, state, kernel wait channel and kernel stack.
fn threads_of(pid: u32) -> String {
    let mut out = String::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return format!("(no /proc/{pid}/task)");
    };
    for task in tasks.flatten() {
        let dir = task.path();
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
        let state = read("status")
            .lines()
            .find(|l| l.starts_with("State:"))
            .unwrap_or("")
            .to_string();
        out.push_str(&format!(
            "thread {} ({}) {state} wchan={}\n{}\n",
            task.file_name().to_string_lossy(),
            read("comm").trim(),
            read("wchan"),
            read("stack")
        ));
    }
    out
}

/// A parsed HTTP response.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked).
    pub body: Vec<u8>,
}

impl Response {
    /// The first header called `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A keep-alive HTTP/1.1 client connection.
pub struct Client {
    stream: BufReader<TcpStream>,
}

impl Client {
    /// Connects to `addr`.
    pub fn connect(addr: SocketAddr) -> std::io::Result<Client> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        stream.set_nodelay(true)?;
        Ok(Client {
            stream: BufReader::new(stream),
        })
    }

    /// Sends raw bytes.
    pub fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.get_mut().write_all(bytes)
    }

    /// Sends a request with `headers` and `body` (Content-Length added when the body is
    /// not empty) and reads the response.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> std::io::Result<Response> {
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: test\r\n");
        for (n, v) in headers {
            req.push_str(&format!("{n}: {v}\r\n"));
        }
        if !body.is_empty() {
            req.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(body);
        self.send_raw(&bytes)?;
        self.read_response(method == "HEAD")
    }

    /// Reads one response.
    pub fn read_response(&mut self, head_only: bool) -> std::io::Result<Response> {
        read_response(&mut self.stream, head_only)
    }

    /// The underlying stream.
    pub fn stream(&mut self) -> &mut TcpStream {
        self.stream.get_mut()
    }
}

fn eof() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "connection closed")
}

/// Reads one HTTP response from `r`.
pub fn read_response(r: &mut impl BufRead, head_only: bool) -> std::io::Result<Response> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(eof());
    }
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("bad status line {line:?}"),
            )
        })?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Err(eof());
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((n, v)) = l.split_once(':') {
            headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let mut resp = Response {
        status,
        headers,
        body: Vec::new(),
    };
    if head_only || status == 204 || status == 304 || (100..200).contains(&status) {
        return Ok(resp);
    }
    if resp
        .header("transfer-encoding")
        .is_some_and(|v| v.contains("chunked"))
    {
        loop {
            line.clear();
            r.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("bad chunk size {line:?}"),
                    )
                })?;
            if size == 0 {
                loop {
                    line.clear();
                    if r.read_line(&mut line)? == 0 || line.trim().is_empty() {
                        break;
                    }
                }
                break;
            }
            let mut chunk = vec![0; size];
            r.read_exact(&mut chunk)?;
            resp.body.extend_from_slice(&chunk);
            line.clear();
            r.read_line(&mut line)?;
        }
    } else if let Some(len) = resp
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok())
    {
        let mut body = vec![0; len];
        r.read_exact(&mut body)?;
        resp.body = body;
    } else {
        r.read_to_end(&mut resp.body)?;
    }
    Ok(resp)
}

/// One request on a fresh connection.
pub fn try_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Response> {
    Client::connect(addr)?.request(method, path, headers, body)
}

/// One GET on a fresh connection; panics on I/O errors.
pub fn get(addr: SocketAddr, path: &str) -> Response {
    try_request(addr, "GET", path, &[], b"").unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

/// The distinct bodies of `GET path` sent by `clients` clients at once, each on a fresh
/// connection per request, up to `each` requests per client or until `distinct` different
/// bodies were seen. Concurrent on purpose: one request after another, the worker first in
/// the kernel's queue may take every one (it is idle again before each next connection), so
/// "every worker answers" needs requests that overlap.
pub fn distinct_bodies(
    addr: SocketAddr,
    path: &'static str,
    clients: usize,
    each: usize,
    distinct: usize,
) -> std::collections::HashSet<String> {
    let seen = Arc::new(Mutex::new(std::collections::HashSet::new()));
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let seen = seen.clone();
            std::thread::spawn(move || {
                for _ in 0..each {
                    if seen.lock().unwrap().len() >= distinct {
                        return;
                    }
                    let text = get(addr, path).text();
                    seen.lock().unwrap().insert(text);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let seen = seen.lock().unwrap().clone();
    seen
}

/// Builds a uwsgi packet (modifier1 0) from vars.
pub fn uwsgi_packet(vars: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut data = Vec::new();
    for (k, v) in vars {
        data.extend_from_slice(&(k.len() as u16).to_le_bytes());
        data.extend_from_slice(k.as_bytes());
        data.extend_from_slice(&(v.len() as u16).to_le_bytes());
        data.extend_from_slice(v.as_bytes());
    }
    let mut packet = vec![0u8];
    packet.extend_from_slice(&(data.len() as u16).to_le_bytes());
    packet.push(0);
    packet.extend_from_slice(&data);
    packet.extend_from_slice(body);
    packet
}

/// Counts of a load loop.
#[derive(Debug, Default, Clone)]
pub struct LoadReport {
    /// Requests answered 200.
    pub ok: u64,
    /// Requests that failed (I/O error or a non-200 answer), with the first few reasons.
    pub failed: u64,
    /// Some failure reasons.
    pub errors: Vec<String>,
    /// The slowest request.
    pub max_latency: Duration,
    /// Bodies seen, in order of first appearance.
    pub bodies: Vec<String>,
}

/// Client threads sending `GET path` in a loop (keep-alive; reconnecting only when the
/// server said `Connection: close`) until stopped. Every failure is counted.
pub struct LoadLoop {
    stop: Arc<std::sync::atomic::AtomicBool>,
    threads: Vec<std::thread::JoinHandle<LoadReport>>,
    /// Requests answered 200 so far, by every client.
    ok: Arc<std::sync::atomic::AtomicU64>,
    /// Bodies seen so far, by every client.
    seen: Arc<Mutex<std::collections::HashSet<String>>>,
}

impl LoadLoop {
    /// Starts `clients` threads against `addr`.
    pub fn start(addr: SocketAddr, path: &'static str, clients: usize) -> LoadLoop {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let ok = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let seen = Arc::new(Mutex::new(std::collections::HashSet::new()));
        let threads = (0..clients)
            .map(|_| {
                let stop = stop.clone();
                let ok = ok.clone();
                let seen = seen.clone();
                std::thread::spawn(move || {
                    let mut report = LoadReport::default();
                    let mut conn: Option<Client> = None;
                    // Bounded: a test that forgets to stop us ends after 5 minutes anyway.
                    let hard_stop = Instant::now() + Duration::from_secs(300);
                    while !stop.load(std::sync::atomic::Ordering::Relaxed)
                        && Instant::now() < hard_stop
                    {
                        let started = Instant::now();
                        let result = match conn.as_mut() {
                            Some(c) => c.request("GET", path, &[], b""),
                            None => Client::connect(addr).and_then(|mut c| {
                                let r = c.request("GET", path, &[], b"");
                                conn = Some(c);
                                r
                            }),
                        };
                        report.max_latency = report.max_latency.max(started.elapsed());
                        match result {
                            Ok(r) if r.status == 200 => {
                                report.ok += 1;
                                let body = r.text();
                                if !report.bodies.contains(&body) {
                                    seen.lock().unwrap().insert(body.clone());
                                    report.bodies.push(body);
                                }
                                ok.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                if r.header("connection")
                                    .is_some_and(|v| v.eq_ignore_ascii_case("close"))
                                {
                                    conn = None;
                                }
                            }
                            Ok(r) => {
                                report.failed += 1;
                                if report.errors.len() < 5 {
                                    report.errors.push(format!("status {}", r.status));
                                }
                                conn = None;
                            }
                            Err(e) => {
                                report.failed += 1;
                                if report.errors.len() < 5 {
                                    report.errors.push(e.to_string());
                                }
                                conn = None;
                            }
                        }
                    }
                    report
                })
            })
            .collect();
        LoadLoop {
            stop,
            threads,
            ok,
            seen,
        }
    }

    /// Requests answered 200 so far.
    pub fn ok(&self) -> u64 {
        self.ok.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Waits until the clients have had `more` answers (200) beyond the `since` they had
    /// (from [`LoadLoop::ok`]); panics after `timeout`.
    pub fn wait_answers(&self, since: u64, more: u64, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.ok() < since + more {
            assert!(
                Instant::now() < deadline,
                "the load clients had {} answers, waited for {}",
                self.ok(),
                since + more
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until some client got `body` (200); panics after `timeout`.
    pub fn wait_body(&self, body: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.seen.lock().unwrap().contains(body) {
            assert!(
                Instant::now() < deadline,
                "the load clients never got {body:?}; they got {:?}",
                self.seen.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops the clients and adds up their reports.
    pub fn finish(self) -> LoadReport {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut total = LoadReport::default();
        for t in self.threads {
            let r = t.join().unwrap();
            total.ok += r.ok;
            total.failed += r.failed;
            total.errors.extend(r.errors);
            total.max_latency = total.max_latency.max(r.max_latency);
            for b in r.bodies {
                if !total.bodies.contains(&b) {
                    total.bodies.push(b);
                }
            }
        }
        total
    }
}

/// Asks `GET path` until it answers `want`, for up to 30 s (an app's counters move when the
/// events they count happen; each answer is one more look, not a pause).
pub fn wait_answer(s: &Server, path: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = get(s.addr, path).text();
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "GET {path} answers {got:?}, waited for {want:?}\n{}",
            s.log()
        );
        std::thread::yield_now();
    }
}

/// A connection that sent `GET path` and has not read the answer.
pub fn send_get(addr: SocketAddr, path: &str) -> BufReader<TcpStream> {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("read timeout");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").expect("send");
    BufReader::new(stream)
}

/// Reads lines from `reader` until what was read contains `needle`; returns it all. Panics
/// when the connection ends first.
pub fn read_until_seen(reader: &mut impl BufRead, needle: &str) -> String {
    let mut seen = String::new();
    while !seen.contains(needle) {
        let mut line = String::new();
        let n = reader.read_line(&mut line).expect("read");
        assert!(n > 0, "the connection ended before {needle:?}: {seen}");
        seen.push_str(&line);
    }
    seen
}
