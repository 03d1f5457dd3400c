//! The Debian packages, end to end: scripts/build-debs.sh builds them, apt installs them on
//! this machine, the installed /usr/bin/rsgi serves an app with the packaged python plugin
//! (`--plugin python --module app` over HTTP; started as rsgi@.service starts it, with an
//! /etc/rsgi/NAME.toml, on a uwsgi socket behind nginx; the echo plugin's package too),
//! removing the python plugin's package gives the one "plugin not found" line, and purging
//! leaves no file behind.
//!
//! It installs system packages (needs root, changes /usr, takes dpkg's lock), so it does
//! not run with the rest of the suite: it is `#[ignore]`d and scripts/test-packages.sh
//! (run by .ci/run) runs it alone. Any rsgi package a failed earlier run left installed is
//! purged first, and again at the end whatever happens, so a second run starts the same.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use rsgi_e2e::{free_addr, get, repo_root, uwsgi_packet, Response, Server, TempDir};

// The nginx harness of tests/nginx.rs, whose module keeps it private (hence a second
// copy here); the parts this file does not use are dead code in this copy.
#[allow(dead_code, clippy::duplicate_mod)]
#[path = "nginx_support.rs"]
mod support;

const PACKAGES: [&str; 3] = ["rsgi", "rsgi-plugin-python3.11", "rsgi-plugin-echo"];

/// Runs `cmd` (a program and its arguments) as it is, panicking with its output on failure;
/// returns stdout.
fn run(cmd: &[&str]) -> String {
    let out = Command::new(cmd[0])
        .args(&cmd[1..])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether dpkg has `package` installed (or its config files left).
fn known_to_dpkg(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${db:Status-Status}", package])
        .output()
        .is_ok_and(|o| o.status.success() && !o.stdout.is_empty() && o.stdout != b"not-installed")
}

/// Purges every rsgi package dpkg knows (apt-get purge refuses names it does not know).
fn purge_all() {
    let known: Vec<&str> = PACKAGES.into_iter().filter(|p| known_to_dpkg(p)).collect();
    if !known.is_empty() {
        let mut cmd = vec!["apt-get", "purge", "-y", "-q"];
        cmd.extend(known);
        run(&cmd);
    }
}

/// Purges the packages when the test ends, passed or not.
struct Purge;

impl Drop for Purge {
    fn drop(&mut self) {
        purge_all();
    }
}

/// The installed rsgi with nothing of the build in reach: a clean environment (PATH only),
/// the app's own directory as cwd.
fn installed_rsgi(cwd: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("/usr/bin/rsgi");
    cmd.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .current_dir(cwd)
        .stdin(Stdio::null())
        .args(args);
    cmd
}

/// The instance of rsgi@.service this test plays, and its config file.
const INSTANCE: &str = "rsgi-package-test";

/// /etc/rsgi/INSTANCE.toml, removed at the end (with /etc/rsgi if the test made it).
struct InstanceConfig {
    path: PathBuf,
    made_dir: bool,
}

impl InstanceConfig {
    fn write(content: &str) -> InstanceConfig {
        let dir = Path::new("/etc/rsgi");
        let made_dir = !dir.exists();
        std::fs::create_dir_all(dir).unwrap();
        let path = dir.join(format!("{INSTANCE}.toml"));
        std::fs::write(&path, content).unwrap();
        InstanceConfig { path, made_dir }
    }
}

impl Drop for InstanceConfig {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        if self.made_dir {
            let _ = std::fs::remove_dir(self.path.parent().unwrap());
        }
    }
}

/// The command line of the installed rsgi@.service's `ExecStart=` for INSTANCE.
fn unit_exec_start() -> Vec<String> {
    let unit = std::fs::read_to_string("/lib/systemd/system/rsgi@.service").unwrap();
    let line = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("an ExecStart= line");
    line.split_whitespace()
        .map(|w| w.replace("%i", INSTANCE))
        .collect()
}

/// GET `path` through nginx at `addr` until rsgi behind it answers (nginx says 502 while
/// rsgi's socket is not there yet).
fn get_through(addr: SocketAddr, path: &str, server: &Server) -> Response {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let resp = get(addr, path);
        if resp.status != 502 {
            return resp;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "nginx kept answering 502; rsgi log:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One uwsgi-protocol request to `addr`; the raw HTTP response it gets.
fn uwsgi_get(addr: SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect to the uwsgi socket");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let packet = uwsgi_packet(
        &[
            ("REQUEST_METHOD", "GET"),
            ("PATH_INFO", path),
            ("SERVER_PROTOCOL", "HTTP/1.1"),
            ("SERVER_NAME", "localhost"),
            ("SERVER_PORT", "80"),
            ("REMOTE_ADDR", "127.0.0.1"),
        ],
        b"",
    );
    stream.write_all(&packet).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
#[ignore = "installs system packages: run by scripts/test-packages.sh"]
fn debs_install_serve_and_purge_clean() {
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "installing packages needs root"
    );
    purge_all();
    let _purge = Purge;

    let out = TempDir::new("debs");
    let built = run(&[
        repo_root().join("scripts/build-debs.sh").to_str().unwrap(),
        out.to_str().unwrap(),
    ]);
    let debs: Vec<PathBuf> = built.lines().map(PathBuf::from).collect();
    for package in PACKAGES {
        assert!(
            debs.iter().any(|d| d
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{package}_"))),
            "no {package} package in {debs:?}"
        );
    }
    let mut install = vec!["apt-get", "install", "-y", "-q", "--no-install-recommends"];
    let debs_arg: Vec<String> = debs.iter().map(|d| d.display().to_string()).collect();
    install.extend(debs_arg.iter().map(String::as_str));
    run(&install);

    // What each package installed, before anything is removed.
    let mut files: Vec<PathBuf> = Vec::new();
    for package in PACKAGES {
        files.extend(run(&["dpkg", "-L", package]).lines().map(PathBuf::from));
    }
    for expected in [
        "/usr/bin/rsgi",
        "/usr/lib/rsgi/plugins/librsgi_http.so",
        "/usr/lib/rsgi/plugins/librsgi_uwsgi.so",
        "/usr/lib/rsgi/plugins/librsgi_python3.11.so",
        "/usr/lib/rsgi/plugins/librsgi_python.so",
        "/usr/lib/rsgi/plugins/librsgi_echo.so",
        "/usr/share/man/man1/rsgi.1.gz",
        "/usr/share/bash-completion/completions/rsgi",
        "/usr/share/zsh/vendor-completions/_rsgi",
        "/usr/share/fish/vendor_completions.d/rsgi.fish",
        "/lib/systemd/system/rsgi@.service",
        "/lib/systemd/system/rsgi@.socket",
        "/usr/share/doc/rsgi/examples/hello/app.py",
    ] {
        assert!(
            files.contains(&PathBuf::from(expected)),
            "{expected} not in the packages"
        );
    }

    // The app, in a directory of its own (no target dir, no repository in reach).
    let app = TempDir::new("debs-app");
    std::fs::write(
        app.join("app.py"),
        "def application(environ, start_response):\n    \
         start_response('200 OK', [('Content-Type', 'text/plain')])\n    \
         return [b'hello from the package ' + environ['PATH_INFO'].encode()]\n",
    )
    .unwrap();

    // --plugin python: the default python plugin, over HTTP and the uwsgi protocol.
    let (http, uwsgi) = (free_addr(), free_addr());
    let server = Server::spawn(
        &mut installed_rsgi(
            app.path(),
            &[
                "--plugin",
                "python",
                "--module",
                "app",
                "--http",
                &http.to_string(),
                "--socket",
                &uwsgi.to_string(),
            ],
        ),
        http,
    );
    server.wait_ready();
    let resp = get(http, "/x");
    assert_eq!(resp.status, 200, "{}", server.log());
    assert_eq!(resp.text(), "hello from the package /x");
    let answer = uwsgi_get(uwsgi, "/y");
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.ends_with("hello from the package /y"),
        "{answer}"
    );
    let log = server.log();
    assert!(
        log.contains("from /usr/bin/../lib/rsgi/plugins/librsgi_python.so"),
        "{log}"
    );
    assert!(!log.contains("target/"), "{log}");
    drop(server);

    // Started as rsgi@.service starts it: its ExecStart= line, the instance's file in
    // /etc/rsgi naming the plugins and a uwsgi socket, behind nginx's uwsgi_pass.
    let sock = app.join("rsgi.sock");
    let _config = InstanceConfig::write(&format!(
        "plugin = [\"python\", \"uwsgi\"]\nmodule = \"app\"\nchdir = \"{}\"\n\
         socket = \"{}\"\nprocesses = 2\n",
        app.path().display(),
        sock.display()
    ));
    let exec = unit_exec_start();
    assert_eq!(exec[0], "/usr/bin/rsgi");
    let exec_args: Vec<&str> = exec[1..].iter().map(String::as_str).collect();
    let nginx_dir = TempDir::new("debs-nginx");
    let nginx = support::Nginx::start(
        nginx_dir.path(),
        &[support::Site::to(format!("unix:{}", sock.display()))],
    );
    let server = Server::spawn(
        &mut installed_rsgi(Path::new("/"), &exec_args),
        nginx.addrs[0],
    );
    let resp = get_through(nginx.addrs[0], "/via-nginx", &server);
    assert_eq!(resp.status, 200, "{}\n{}", server.log(), nginx.error_log());
    assert_eq!(resp.text(), "hello from the package /via-nginx");
    drop(server);
    drop(nginx);

    // A third party's plugin from its own package.
    let echo = free_addr();
    let server = Server::spawn(
        &mut installed_rsgi(
            app.path(),
            &["--plugin", "echo", "--http", &echo.to_string()],
        ),
        echo,
    );
    server.wait_ready();
    assert_eq!(get(echo, "/e").status, 200, "{}", server.log());
    drop(server);

    // Without the python plugin's package: one line naming the directories searched.
    run(&["apt-get", "remove", "-y", "-q", "rsgi-plugin-python3.11"]);
    let out = installed_rsgi(app.path(), &["--plugin", "python", "--module", "app"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        "rsgi: plugin 'python' not found: no librsgi_python.so in \
         /usr/bin/../lib/rsgi/plugins, /usr/bin, /usr/lib/rsgi/plugins"
    );

    // Purged: nothing the packages installed is left, rsgi's own directories included.
    purge_all();
    for package in PACKAGES {
        assert!(!known_to_dpkg(package), "{package} still known to dpkg");
    }
    let left: Vec<&PathBuf> = files
        .iter()
        .filter(|f| {
            let own_dir = f.to_string_lossy().contains("rsgi");
            (own_dir || !f.is_dir()) && f.symlink_metadata().is_ok()
        })
        .collect();
    assert!(left.is_empty(), "left after purge: {left:?}");
}

/// The pip wheel (scripts/build-wheel.sh, for python3 on PATH): installed into a fresh venv
/// with pip, `rsgi --module app` from the app's folder serves with no other option, the
/// venv's packages being the app's (the app imports a module only the venv has).
#[test]
#[ignore = "builds release binaries: run by scripts/test-packages.sh"]
fn wheel_in_a_fresh_venv_serves_with_module_alone() {
    let out = TempDir::new("wheel");
    let built = run(&[
        repo_root().join("scripts/build-wheel.sh").to_str().unwrap(),
        out.to_str().unwrap(),
    ]);
    let wheel = built.lines().last().expect("the wheel's path").to_string();
    assert!(wheel.ends_with("-linux_x86_64.whl"), "{wheel}");
    let venv = TempDir::new("wheel-venv");
    run(&["python3", "-m", "venv", venv.to_str().unwrap()]);
    let pip = venv.join("bin/pip");
    run(&[pip.to_str().unwrap(), "install", "-q", "--no-index", &wheel]);

    let app = TempDir::new("wheel-app");
    std::fs::write(
        app.join("app.py"),
        "import rsgi_server\n\
         def application(environ, start_response):\n    \
         start_response('200 OK', [('Content-Type', 'text/plain')])\n    \
         return [rsgi_server.__file__.encode()]\n",
    )
    .unwrap();
    let addr = free_addr();
    let rsgi = venv.join("bin/rsgi");
    let mut cmd = Command::new(&rsgi);
    cmd.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .current_dir(app.path())
        .stdin(Stdio::null())
        .args(["--module", "app", "--http", &addr.to_string()]);
    let server = Server::spawn(&mut cmd, addr);
    server.wait_ready();
    let resp = get(addr, "/");
    assert_eq!(resp.status, 200, "{}", server.log());
    let site = std::fs::canonicalize(venv.path()).unwrap();
    assert!(
        resp.text().starts_with(&site.display().to_string()),
        "{} is not in {}",
        resp.text(),
        site.display()
    );
}
