//! nginx in front of rsgi: a throwaway prefix directory, a config whose sites
//! `uwsgi_pass` to rsgi, and a uwsgi client for talking to rsgi without nginx.

use std::fs::File;
use std::io::{BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rsgi_e2e::{free_port, read_response, rsgi_command, uwsgi_packet, Response, Server};

/// Debian's nginx.
const NGINX: &str = "/usr/sbin/nginx";
/// The `uwsgi_params` file the package ships; copied as is into each prefix.
const UWSGI_PARAMS: &str = "/etc/nginx/uwsgi_params";
/// How long nginx and rsgi may take to come up.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A fresh, empty directory whose name starts with `rsgi-nginx-{what}`.
    pub fn new(what: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("rsgi-nginx-{what}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One nginx `server` block: it listens on its own loopback port and passes every
/// request to `upstream` with `include uwsgi_params; uwsgi_pass`.
pub struct Site {
    /// `server` lines of the upstream block: `127.0.0.1:PORT`, `unix:/path`, with
    /// parameters such as `max_fails=1` if wanted.
    pub upstream: Vec<String>,
    /// Extra directives for the location, after `include uwsgi_params;`.
    pub directives: String,
}

impl Site {
    /// A site passing to one rsgi address, with nothing extra.
    pub fn to(target: impl Into<String>) -> Site {
        Site {
            upstream: vec![target.into()],
            directives: String::new(),
        }
    }

    /// The same site with extra location directives.
    pub fn with(mut self, directives: &str) -> Site {
        self.directives.push_str(directives);
        self
    }
}

/// A running nginx (`master_process off`, in the foreground), stopped on drop.
pub struct Nginx {
    child: Child,
    prefix: PathBuf,
    /// The address of each site, in the order given.
    pub addrs: Vec<SocketAddr>,
}

impl Nginx {
    /// Writes `nginx.conf` into `prefix`, starts nginx on it and waits until every site
    /// accepts connections.
    pub fn start(prefix: &Path, sites: &[Site]) -> Nginx {
        std::fs::copy(UWSGI_PARAMS, prefix.join("uwsgi_params")).expect("copy uwsgi_params");
        let addrs: Vec<SocketAddr> = sites
            .iter()
            .map(|_| format!("127.0.0.1:{}", free_port()).parse().unwrap())
            .collect();
        std::fs::write(prefix.join("nginx.conf"), config(prefix, sites, &addrs))
            .expect("write nginx.conf");
        let stderr = File::create(prefix.join("stderr.log")).expect("nginx stderr file");
        let child = Command::new(NGINX)
            .arg("-p")
            .arg(prefix)
            .arg("-c")
            .arg(prefix.join("nginx.conf"))
            .arg("-e")
            .arg(prefix.join("error.log"))
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("start nginx");
        let mut nginx = Nginx {
            child,
            prefix: prefix.to_path_buf(),
            addrs,
        };
        nginx.wait_ready();
        nginx
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        for addr in self.addrs.clone() {
            while TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err() {
                if let Ok(Some(status)) = self.child.try_wait() {
                    panic!("nginx exited with {status}:\n{}", self.error_log());
                }
                assert!(
                    Instant::now() < deadline,
                    "nginx never listened on {addr}:\n{}",
                    self.error_log()
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// nginx's error log and stderr so far, for assertion messages.
    pub fn error_log(&self) -> String {
        let read = |name: &str| std::fs::read_to_string(self.prefix.join(name)).unwrap_or_default();
        format!("{}{}", read("stderr.log"), read("error.log"))
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SAFETY: SIGTERM (fast shutdown) to our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// nginx.conf for `sites`: everything (pid, logs, temp files) inside `prefix`, no access
/// log, bodies up to 16 MB, header lines up to 32 KB (a 16 KB cookie).
fn config(prefix: &Path, sites: &[Site], addrs: &[SocketAddr]) -> String {
    let p = prefix.display();
    let mut out = format!(
        "master_process off;
worker_processes 1;
pid {p}/nginx.pid;
error_log {p}/error.log info;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {p}/client_body;
    proxy_temp_path {p}/proxy;
    fastcgi_temp_path {p}/fastcgi;
    uwsgi_temp_path {p}/uwsgi;
    scgi_temp_path {p}/scgi;
    client_max_body_size 16m;
    large_client_header_buffers 4 32k;
"
    );
    for (i, (site, addr)) in sites.iter().zip(addrs).enumerate() {
        out.push_str(&format!("    upstream rsgi{i} {{\n"));
        for server in &site.upstream {
            out.push_str(&format!("        server {server};\n"));
        }
        out.push_str(&format!(
            "    }}
    server {{
        listen {addr};
        location / {{
            include uwsgi_params;
            uwsgi_pass rsgi{i};
            {}
        }}
    }}
",
            site.directives
        ));
    }
    out.push_str("}\n");
    out
}

/// Starts `rsgi --plugin python --socket ADDR... --module app <args>` (uwsgi protocol
/// only; without `--module app` when `args` name an ASGI app with `--asgi`) and waits
/// until it answers a uwsgi request on the first socket.
pub fn start_uwsgi(sockets: &[String], args: &[&str]) -> Server {
    let mut full: Vec<String> = vec!["--plugin".into(), "python".into()];
    for socket in sockets {
        full.extend(["--socket".into(), socket.clone()]);
    }
    if !args.contains(&"--asgi") {
        full.extend(["--module".into(), "app".into()]);
    }
    full.extend(args.iter().map(|s| s.to_string()));
    let probe = Target::of(&sockets[0]);
    let dummy: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let server = Server::spawn(rsgi_command().args(&full), probe.tcp().unwrap_or(dummy));
    let deadline = Instant::now() + START_TIMEOUT;
    while uwsgi_request(&probe, "GET", "/__ready", &[], b"").is_err() {
        assert!(
            Instant::now() < deadline,
            "rsgi never answered on {}; log:\n{}",
            sockets[0],
            server.log()
        );
        std::thread::sleep(Duration::from_millis(30));
    }
    server
}

/// Where rsgi's uwsgi socket is.
#[derive(Debug, Clone)]
pub enum Target {
    /// A TCP address.
    Tcp(SocketAddr),
    /// A Unix socket path.
    Unix(PathBuf),
}

impl Target {
    /// `127.0.0.1:PORT` or a path.
    pub fn of(socket: &str) -> Target {
        match socket.parse() {
            Ok(addr) => Target::Tcp(addr),
            Err(_) => Target::Unix(PathBuf::from(socket)),
        }
    }

    fn tcp(&self) -> Option<SocketAddr> {
        match self {
            Target::Tcp(addr) => Some(*addr),
            Target::Unix(_) => None,
        }
    }
}

/// One request over the uwsgi protocol, as nginx would send it, on a fresh connection.
pub fn uwsgi_request(
    target: &Target,
    method: &str,
    uri: &str,
    extra: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Response> {
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    let length = body.len().to_string();
    let mut vars = vec![
        ("REQUEST_METHOD", method),
        ("REQUEST_URI", uri),
        ("PATH_INFO", path),
        ("QUERY_STRING", query),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("SERVER_NAME", "localhost"),
        ("SERVER_PORT", "80"),
        ("REMOTE_ADDR", "127.0.0.1"),
        ("CONTENT_LENGTH", &length),
    ];
    vars.extend_from_slice(extra);
    let packet = uwsgi_packet(&vars, body);
    let timeout = Some(Duration::from_secs(20));
    match target {
        Target::Tcp(addr) => {
            let mut stream = TcpStream::connect_timeout(addr, Duration::from_secs(5))?;
            stream.set_read_timeout(timeout)?;
            stream.write_all(&packet)?;
            read_response(&mut BufReader::new(stream), method == "HEAD")
        }
        Target::Unix(path) => {
            let mut stream = UnixStream::connect(path)?;
            stream.set_read_timeout(timeout)?;
            stream.write_all(&packet)?;
            read_response(&mut BufReader::new(stream), method == "HEAD")
        }
    }
}

/// Waits for `stream` to be closed by the peer without a single byte of answer: EOF
/// or a reset (rsgi closes with our bytes unread). Panics on data or after 10 s.
pub fn assert_closed_without_answer(mut stream: TcpStream, what: &str) {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut got = Vec::new();
    match stream.read_to_end(&mut got) {
        Ok(_) => assert!(
            got.is_empty(),
            "{what}: answered {:?}",
            String::from_utf8_lossy(&got)
        ),
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        Err(e) => panic!("{what}: the connection was not closed: {e}"),
    }
}
