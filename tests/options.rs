use std::time::Duration;

use rsgi_e2e::{free_port, get, rsgi_command, run_to_exit, Server};

const T: Duration = Duration::from_secs(20);

#[test]
fn help_lists_host_options_and_each_plugin_option() {
    let (code, out) = run_to_exit(&["--plugin", "python", "--help"], T);
    assert_eq!(code, 0, "{out}");
    for needle in [
        "--processes",
        "--http",
        "--socket",
        "--lazy-apps",
        "Options of plugin 'python'",
        "--module",
        "--virtualenv",
        "Options of plugin 'http'",
    ] {
        assert!(out.contains(needle), "{needle} missing from --help:\n{out}");
    }
}

#[test]
fn an_unknown_option_is_one_line_naming_it_and_exit_2() {
    let (code, out) = run_to_exit(
        &["--plugin", "python", "--module", "app", "--bogus-option"],
        T,
    );
    assert_eq!(code, 2, "{out}");
    assert_eq!(out.trim().lines().count(), 1, "{out}");
    assert!(out.contains("--bogus-option"), "{out}");
}

/// Input: `--module app` without `--plugin python`, and an ini file with `module` but no
/// `plugins` line. Answer: exit 2, the unknown option named, and a second line saying that
/// no app plugin is loaded and how to load one.
#[test]
fn an_app_option_without_an_app_plugin_says_which_plugin_to_load() {
    let ini = std::env::temp_dir().join(format!("rsgi-noplugin-{}.ini", free_port()));
    std::fs::write(&ini, "[uwsgi]\nmodule = app\n").unwrap();
    for args in [&["--module", "app"][..], &["--ini", ini.to_str().unwrap()]] {
        let (code, out) = run_to_exit(args, T);
        assert_eq!(code, 2, "{out}");
        assert!(out.contains("module"), "{out}");
        assert!(
            out.contains("no app plugin is loaded") && out.contains("--plugin python"),
            "{out}"
        );
    }
    let _ = std::fs::remove_file(&ini);
}

#[test]
fn a_missing_value_is_one_line_naming_the_option() {
    let (code, out) = run_to_exit(&["--plugin", "python", "--module"], T);
    assert_eq!(code, 2, "{out}");
    assert_eq!(out.trim().lines().count(), 1, "{out}");
    assert!(out.contains("--module"), "{out}");
}

#[test]
fn a_bad_value_names_the_option() {
    rsgi_e2e::refused_at_start(
        &["--processes", "lots"],
        "invalid value 'lots' for --processes",
    );
}

/// `rsgi --plugin python --module app <extra>` exits 2 at start, saying `message`.
fn write_config(text: &str) -> std::path::PathBuf {
    // One directory for the whole test binary (a static is never dropped), a file per call.
    static DIR: std::sync::OnceLock<rsgi_e2e::TempDir> = std::sync::OnceLock::new();
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let dir = DIR.get_or_init(|| rsgi_e2e::TempDir::new("cfg"));
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = dir.path().join(format!("rsgi-{n}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn config_file_unknown_key_is_named_and_exit_2() {
    let cfg = write_config("plugin = \"python\"\nmodule = \"app\"\nfrobnicate = 3\n");
    let (code, out) = run_to_exit(&["--config", cfg.to_str().unwrap()], T);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("unknown option 'frobnicate'"), "{out}");
}

#[test]
fn command_line_beats_environment_beats_config_file() {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    // The file names a module that does not exist and 3 workers; the environment fixes the
    // module; the command line fixes the worker count.
    let cfg = write_config(&format!(
        "plugin = \"python\"\nhttp = \"127.0.0.1:{port}\"\nmodule = \"missing_module\"\nprocesses = 3\n"
    ));
    let s = Server::spawn(
        rsgi_command()
            .args(["--config", cfg.to_str().unwrap(), "--processes", "1"])
            .env("RSGI_MODULE", "other")
            .env("RSGI_PROCESSES", "2"),
        addr,
    );
    s.wait_ready();
    assert_eq!(get(addr, "/").text(), "callable app");
    // The log is read by a thread of the harness: wait for the line rather than read what
    // it has so far (a fresh log may still be empty when the server already answers).
    s.wait_log("1 worker process(es)", Duration::from_secs(30));
}

/// The uid and gid of process `pid`, from /proc (real ids).
fn ids_of(pid: &str) -> (u32, u32) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| -> u32 {
        let line = status.lines().find(|l| l.starts_with(name)).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    (field("Uid:"), field("Gid:"))
}

/// Runs `rsgi --plugin echo --http 127.0.0.1:0 --uid root` as uid/gid 65534 (with
/// setpriv when the tests run as root) and returns its exit code and output.
fn start_as_nobody_asking_for_root() -> (i32, String) {
    let rsgi = rsgi_e2e::target_dir().join("rsgi");
    let args = ["--plugin", "echo", "--http", "127.0.0.1:0", "--uid", "root"];
    // SAFETY: geteuid only reads.
    let out = if unsafe { libc::geteuid() } == 0 {
        std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&rsgi)
            .args(args)
            .output()
    } else {
        std::process::Command::new(&rsgi).args(args).output()
    }
    .expect("run rsgi");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Input: `--uid root` from a process that is not root. Answer: refused at once, before
/// anything is bound or loaded (exit 2, one line saying why).
#[test]
fn uid_is_refused_when_not_root() {
    let (code, log) = start_as_nobody_asking_for_root();
    assert_eq!(code, 2, "{log}");
    assert!(
        log.contains("--uid/--gid: cannot switch to uid 0 (root), gid 0: rsgi runs as uid"),
        "{log}"
    );
}

/// As root (how the tests and CI run): `--uid nobody --gid nogroup` — the master binds its
/// socket as root, then it and every worker run as nobody/nogroup with no other
/// supplementary group, and the log says so.
#[test]
fn uid_and_gid_drop_root_once_the_sockets_are_bound() {
    // SAFETY: geteuid only reads.
    if unsafe { libc::geteuid() } != 0 {
        // Covered by uid_is_refused_when_not_root: only root can switch.
        return;
    }
    let s = Server::start(&[
        "--module",
        "whoami",
        "--uid",
        "nobody",
        "--gid",
        "nogroup",
        "--processes",
        "2",
    ]);
    let log = s.log();
    assert!(
        log.contains("running as uid 65534 (nobody), gid 65534"),
        "{log}"
    );
    for _ in 0..6 {
        let text = get(s.addr, "/").text();
        let f: Vec<&str> = text.split(' ').collect();
        assert_eq!(&f[1..], &["65534", "65534", "65534"], "{text}");
        assert_eq!(ids_of(f[0]), (65534, 65534));
    }
    assert_eq!(ids_of(&s.pid().to_string()), (65534, 65534));
}

/// `--uid` naming no user is a usage error naming the option (exit 2).
#[test]
fn an_unknown_uid_is_a_usage_error() {
    rsgi_e2e::refused_at_start(
        &["--uid", "no-such-user-rsgi"],
        "invalid value for --uid: no user named 'no-such-user-rsgi'",
    );
}

/// An app that answers with its working directory and three environment variables.
const WHERE_APP: &str = r#"
import os

def application(environ, start_response):
    body = "\n".join([os.getcwd(), os.environ.get("GREETING", "-"), os.environ.get("DATABASE_URL", "-"), os.environ.get("RSGI_TEST_DROPPED", "-")]).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
"#;

/// Input: a uWSGI-style setup brought over as is: `--chdir` to the app's directory
/// (given relative), `--env` twice (one value holding `=`, `?` and `,`), `--unenv` of a
/// variable rsgi was started with, a relative `--config` and `--pidfile`, and in the
/// config file uWSGI's `vacuum`, `die-on-term`, `disable-logging`, `tcp-nodelay`,
/// `memory-report`, `log-date` with a format, `so-keepalive` and `http-timeout`.
/// Answer: the app runs in that directory and sees the variables, not the removed one;
/// `http-timeout` gets a warning that it changes nothing; the pidfile lands there; a
/// graceful reload (SIGHUP: re-exec) finds the relative config again (its `processes = 2`
/// holds after it) and the app still answers the same; SIGTERM exits 0 and removes the
/// pidfile.
#[test]
fn chdir_env_and_uwsgi_no_op_options_hold_across_a_reload() {
    let scratch = rsgi_e2e::TempDir::new("chdir");
    let start = scratch.path().to_path_buf();
    let app_dir = start.join("app");
    std::fs::create_dir_all(&app_dir).unwrap();
    std::fs::write(app_dir.join("where_app.py"), WHERE_APP).unwrap();
    std::fs::write(
        start.join("rsgi.toml"),
        "processes = 2\nvacuum = true\ndie-on-term = true\ndisable-logging = true\n\
         tcp-nodelay = true\nmemory-report = true\nlog-date = \"%Y-%m-%d\"\n\
         so-keepalive = true\nhttp-timeout = 30\n",
    )
    .unwrap();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut s = Server::spawn(
        rsgi_command()
            .current_dir(&start)
            .env("RSGI_TEST_DROPPED", "should not reach the app")
            .args([
                "--plugin",
                "python",
                "--http",
                &format!("127.0.0.1:{port}"),
                "--config",
                "rsgi.toml",
                "--chdir",
                "app",
                "--module",
                "where_app",
                "--env",
                "GREETING=hello",
                "--env",
                "DATABASE_URL=postgres://db/app?sslmode=require,x",
                "--pidfile",
                "rsgi.pid",
                "--unenv",
                "RSGI_TEST_DROPPED",
            ]),
        addr,
    );
    s.wait_ready();
    let app_dir = app_dir.canonicalize().unwrap();
    let expected = format!(
        "{}\nhello\npostgres://db/app?sslmode=require,x\n-",
        app_dir.display()
    );
    assert_eq!(get(addr, "/").text(), expected);
    assert!(app_dir.join("rsgi.pid").exists(), "{}", s.log());
    assert!(
        s.log()
            .contains("--http-timeout is not needed in rsgi and has no effect"),
        "{}",
        s.log()
    );

    s.signal(libc::SIGHUP);
    s.wait_log("old worker 2", T);
    s.wait_log("old worker 1", T);
    for _ in 0..4 {
        assert_eq!(get(addr, "/").text(), expected);
    }
    let log = s.log();
    assert_eq!(log.matches("2 worker process(es)").count(), 2, "{log}");

    s.signal(libc::SIGTERM);
    assert!(s.wait_exit(T).success(), "{}", s.log());
    assert!(!app_dir.join("rsgi.pid").exists(), "{}", s.log());
}

#[test]
fn a_missing_chdir_or_a_malformed_env_is_one_line_and_exit_2() {
    rsgi_e2e::refused_at_start(
        &["--chdir", "/nonexistent/rsgi-dir"],
        "cannot change to --chdir /nonexistent/rsgi-dir: No such file or directory",
    );
    rsgi_e2e::refused_at_start(
        &["--env", "JUST_A_NAME"],
        "invalid value 'JUST_A_NAME' for --env: expected KEY=VALUE",
    );
}

/// Input: a uWSGI ini file as a Debian + nginx setup has it (`plugins = python3`, `%d`
/// and `%n` placeholders, `chdir`, `module`, `master`, `socket` with `chmod-socket`,
/// repeated `env`, `vacuum`, `die-on-term`, `harakiri`, `max-requests`, `buffer-size`,
/// `enable-threads`, `single-interpreter`, `strict`, `memory-report`,
/// `max-worker-lifetime(-delta)`, `add-header`, `log-x-forwarded-for`, `hook-asap`,
/// comments), given as `rsgi --ini FILE` and nothing else.
/// Answer: rsgi serves it as is: the app runs in the file's directory with the variables,
/// over HTTP (with the added header) and over the uwsgi socket named after the file, whose
/// mode is 660; the hook made its directory.
#[test]
fn a_uwsgi_ini_file_runs_as_it_is() {
    use std::io::{BufReader, Write};
    use std::os::unix::fs::PermissionsExt;
    let scratch = rsgi_e2e::TempDir::new("ini");
    let dir = scratch.path().to_path_buf();
    std::fs::write(dir.join("where_app.py"), WHERE_APP).unwrap();
    let port = free_port();
    let ini = dir.join("site.ini");
    std::fs::write(
        &ini,
        format!(
            "[uwsgi]\n\
             # the app\n\
             plugins = python3\n\
             chdir = %d\n\
             module = where_app:application\n\
             enable-threads = true\n\
             single-interpreter = true\n\
             strict = true\n\
             master = true\n\
             processes = 2\n\
             ; behind nginx, and HTTP for the health check\n\
             socket = %d%n.sock\n\
             chmod-socket = 660\n\
             http-socket = 127.0.0.1:{port}\n\
             vacuum = true\n\
             die-on-term = true\n\
             harakiri = 30\n\
             max-requests = 5000\n\
             buffer-size = 32768\n\
             env = GREETING=hello\n\
             env = DATABASE_URL=postgres://db/%n\n\
             ; more of what production inis carry\n\
             memory-report = true\n\
             max-worker-lifetime = 3600\n\
             max-worker-lifetime-delta = 30\n\
             add-header = X-Frame-Options: DENY\n\
             log-x-forwarded-for = true\n\
             hook-asap = mkdir:%d/run\n"
        ),
    )
    .unwrap();
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut s = Server::spawn(rsgi_command().args(["--ini", ini.to_str().unwrap()]), addr);
    s.wait_ready();
    let expected = format!("{}\nhello\npostgres://db/site\n-", dir.display());
    let r = get(addr, "/");
    assert_eq!(r.text(), expected, "{}", s.log());
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
    assert!(dir.join("run").is_dir(), "hook-asap mkdir");

    let sock = dir.join("site.sock");
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o660, "{}", s.log());
    let mut stream = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    stream.set_read_timeout(Some(T)).unwrap();
    let packet = rsgi_e2e::uwsgi_packet(
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
    );
    stream.write_all(&packet).unwrap();
    let r = rsgi_e2e::read_response(&mut BufReader::new(stream), false).unwrap();
    assert_eq!((r.status, r.text()), (200, expected));

    s.signal(libc::SIGTERM);
    assert!(s.wait_exit(T).success(), "{}", s.log());
    assert!(!sock.exists(), "{}", s.log());
}

/// Input: ini files with an option rsgi does not have, with a placeholder it does not
/// know, and without a `[uwsgi]` section. Answer: exit 2 and one line naming the file and
/// the option, placeholder (with its line) or section.
#[test]
fn an_ini_file_rsgi_cannot_honour_is_refused_naming_what() {
    let scratch = rsgi_e2e::TempDir::new("ini-bad");
    let dir = scratch.path().to_path_buf();
    for (text, message) in [
        (
            "[uwsgi]\nmodule = app\nspooler = /var/spool/site\n",
            "unknown option 'spooler'",
        ),
        (
            "[uwsgi]\nmodule = app\nprocesses = %k\n",
            "line 3: unsupported placeholder %k",
        ),
        ("[app]\nmodule = app\n", "no [uwsgi] section"),
    ] {
        let ini = dir.join("bad.ini");
        std::fs::write(&ini, text).unwrap();
        let (code, out) = run_to_exit(&["--plugin", "python", "--ini", ini.to_str().unwrap()], T);
        assert_eq!(code, 2, "{text}: {out}");
        assert!(
            out.contains(&format!("config file {}: ", ini.display())),
            "{out}"
        );
        assert!(out.contains(message), "{text}: {out}");
        assert_eq!(out.trim().lines().count(), 1, "{out}");
    }
}

/// Input: a uWSGI ini file with the options of a typical production setup (strict,
/// need-app, disable-logging with log-4xx and log-5xx, harakiri, py-callos-afterfork,
/// recycling limits, cheaper with the busyness algorithm and its tuning, auto-procname with
/// a prefix, static-map, logto) and nothing
/// else.
/// Answer: rsgi runs it as is: the app answers, the static file is served, the log file
/// gets the 404 and 500 lines and not the 200 one, and `ps` shows the prefixed titles.
#[test]
fn a_production_uwsgi_ini_file_runs_as_it_is() {
    let scratch = rsgi_e2e::TempDir::new("prod");
    let dir = scratch.path().to_path_buf();
    std::fs::create_dir_all(dir.join("static")).unwrap();
    std::fs::write(dir.join("static/site.css"), "p{}").unwrap();
    let port = free_port();
    let ini = dir.join("prod.ini");
    std::fs::write(
        &ini,
        format!(
            "[uwsgi]\n\
             plugins = python3\n\
             strict = true\n\
             master = true\n\
             enable-threads = true\n\
             vacuum = true\n\
             single-interpreter = true\n\
             die-on-term = true\n\
             need-app = true\n\
             disable-logging = true\n\
             log-4xx = true\n\
             log-5xx = true\n\
             harakiri = 60\n\
             py-callos-afterfork = true\n\
             ignore-sigpipe = true\n\
             ignore-write-errors = true\n\
             disable-write-exception = true\n\
             max-requests = 1000\n\
             max-worker-lifetime = 3600\n\
             reload-on-rss = 2048\n\
             worker-reload-mercy = 60\n\
             processes = 2\n\
             cheaper-algo = busyness\n\
             cheaper = 1\n\
             cheaper-initial = 2\n\
             cheaper-overload = 1\n\
             cheaper-step = 1\n\
             cheaper-busyness-multiplier = 30\n\
             cheaper-busyness-min = 20\n\
             cheaper-busyness-max = 70\n\
             cheaper-busyness-backlog-alert = 16\n\
             cheaper-busyness-backlog-step = 2\n\
             auto-procname = true\n\
             procname-prefix-spaced = myapp\n\
             chdir = {apps}\n\
             module = app\n\
             http-socket = 127.0.0.1:{port}\n\
             static-map = /static=%dstatic\n\
             logto = %d%n.log\n",
            apps = rsgi_e2e::apps_dir().display()
        ),
    )
    .unwrap();
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut s = Server::spawn(rsgi_command().args(["--ini", ini.to_str().unwrap()]), addr);
    s.wait_ready();
    let log_file = dir.join("prod.log");
    let file_log = || std::fs::read_to_string(&log_file).unwrap_or_default();
    assert_eq!(get(addr, "/").text(), "Hello, World!", "{}", file_log());
    assert_eq!(
        get(addr, "/static/site.css").text(),
        "p{}",
        "{}",
        file_log()
    );
    assert_eq!(get(addr, "/var?NOPE").status, 404);
    assert_eq!(get(addr, "/raise").status, 500);
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", s.pid())).unwrap();
    assert!(cmdline.starts_with(b"myapp rsgi master\0"), "{cmdline:?}");

    s.signal(libc::SIGTERM);
    assert!(s.wait_exit(T).success(), "{}", file_log());
    let text = file_log();
    assert!(text.contains("\"GET /var?NOPE HTTP/1.1\" 404 "), "{text}");
    assert!(text.contains("\"GET /raise HTTP/1.1\" 500 "), "{text}");
    assert!(!text.contains("\"GET / HTTP/1.1\""), "{text}");
    assert!(!text.contains("\"GET /static/site.css"), "{text}");
    assert!(s.log().is_empty(), "stderr: {}", s.log());
}

/// Input: `--umask 027 --max-fd 300 --limit-as 4096 --post-buffering 8192
/// --touch-workers-reload FILE`; then FILE touched.
/// Answer: the worker runs with umask 027, 300 open files and a 4096 MB address-space
/// limit; a warning says --post-buffering is not needed; the touch replaces the worker
/// (a new pid answers) without a reload of the master.
#[test]
fn process_limits_not_needed_options_and_touch_workers_reload() {
    let scratch = rsgi_e2e::TempDir::new("limits");
    let dir = scratch.path().to_path_buf();
    let touch = dir.join("workers");
    std::fs::write(&touch, "").unwrap();
    let s = Server::start(&[
        "--module",
        "limits_app",
        "--umask",
        "027",
        "--max-fd",
        "300",
        "--limit-as",
        "4096",
        "--post-buffering",
        "8192",
        "--touch-workers-reload",
        touch.to_str().unwrap(),
    ]);
    let facts = || -> serde_json::Value { serde_json::from_str(&get(s.addr, "/").text()).unwrap() };
    let first = facts();
    assert_eq!(first["umask"], 0o027);
    assert_eq!(first["nofile"], 300);
    assert_eq!(first["as"], 4096u64 << 20);
    s.wait_log("--post-buffering is not needed in rsgi", T);

    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(&touch, "now").unwrap();
    s.wait_log("reloading all workers", T);
    let deadline = std::time::Instant::now() + T;
    while facts()["pid"] == first["pid"] {
        assert!(
            std::time::Instant::now() < deadline,
            "the worker was never replaced"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !s.log().contains("graceful reload"),
        "the master did not reload: {}",
        s.log()
    );
}

/// Input: `--reload-on-as 1` (every worker has more than 1 MB of address space); then
/// `--evil-reload-on-rss 1`.
/// Answer: the first recycles its worker gracefully with a line naming the address space;
/// the second kills it at once with a line naming its memory; the master stays up.
#[test]
fn memory_limits_recycle_or_kill_workers() {
    let s = Server::start(&["--module", "app", "--reload-on-as", "1"]);
    s.wait_log("(--reload-on-as)", T);
    s.wait_log("recycling worker 1: has ", T);
    drop(s);
    let addr = rsgi_e2e::free_addr();
    let mut cmd = rsgi_command();
    cmd.args(rsgi_e2e::http_args(
        addr,
        &["--module", "app", "--evil-reload-on-rss", "1"],
    ));
    let s = Server::spawn(&mut cmd, addr);
    s.wait_log("(--evil-reload-on-rss): killing it", T);
    s.wait_log("killed by signal 9", T);
}

/// The CPUs of a `Cpus_allowed_list` line of /proc/PID/status (`0-2,5`).
fn allowed_cpus(pid: u32) -> Vec<usize> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let list = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .unwrap()
        .trim();
    list.split(',')
        .flat_map(|part| match part.split_once('-') {
            Some((a, b)) => (a.parse().unwrap()..=b.parse().unwrap()).collect::<Vec<usize>>(),
            None => vec![part.parse().unwrap()],
        })
        .collect()
}

/// Input: `--processes 2 --cpu-affinity 1` (uWSGI's option).
/// Answer: each worker is bound to one CPU: worker 1 to the first CPU rsgi may use, worker
/// 2 to the next (the same one where only one is usable); the master keeps all of them;
/// requests are served.
#[test]
fn cpu_affinity_binds_each_worker_to_its_own_cpus() {
    let s = Server::start(&["--module", "app", "--processes", "2", "--cpu-affinity", "1"]);
    s.wait_log("worker 2 runs on CPU(s)", T);
    let usable = allowed_cpus(std::process::id());
    let master = s.pid() as u32;
    assert_eq!(allowed_cpus(master), usable);
    let children =
        std::fs::read_to_string(format!("/proc/{master}/task/{master}/children")).unwrap();
    let mut bound: Vec<Vec<usize>> = children
        .split_whitespace()
        .map(|pid| allowed_cpus(pid.parse().unwrap()))
        .collect();
    bound.sort();
    let mut expected = vec![vec![usable[0]], vec![usable[1 % usable.len()]]];
    expected.sort();
    assert_eq!(bound, expected, "{}", s.log());
    assert_eq!(get(s.addr, "/").status, 200);
}

/// Input: list options in the environment whose entries hold commas, as an operator
/// writes them: `RSGI_ADD_HEADER` with `\,` inside an entry and a plain comma between
/// two, `RSGI_ENV` one entry per line (what a Kubernetes `value: |` block or `\n` in a
/// systemd `Environment=` gives), `RSGI_PLUGIN=python,http` as before, and
/// `RSGI_WORKERS=2` (the variable of an alias).
/// Answer: the response carries both headers whole, the app sees both variables with
/// their commas, and two workers run.
#[test]
fn environment_lists_keep_commas_inside_entries() {
    let scratch = rsgi_e2e::TempDir::new("envlist");
    let dir = scratch.path().to_path_buf();
    std::fs::write(dir.join("where_app.py"), WHERE_APP).unwrap();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    let s = Server::spawn(
        rsgi_command()
            .current_dir(&dir)
            .env("RSGI_PLUGIN", "python,http")
            .env("RSGI_WORKERS", "2")
            .env(
                "RSGI_ADD_HEADER",
                r"Cache-Control: no-cache\, no-store,X-Frame-Options: DENY",
            )
            .env(
                "RSGI_ENV",
                "GREETING=hello, world\nDATABASE_URL=postgres://db/app?a=1,b=2\n",
            )
            .args([
                "--http",
                &format!("127.0.0.1:{port}"),
                "--module",
                "where_app",
            ]),
        addr,
    );
    s.wait_ready();
    let r = get(addr, "/");
    let cwd = dir.canonicalize().unwrap();
    assert_eq!(
        r.text(),
        format!(
            "{}\nhello, world\npostgres://db/app?a=1,b=2\n-",
            cwd.display()
        ),
        "{}",
        s.log()
    );
    assert_eq!(r.header("cache-control"), Some("no-cache, no-store"));
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
    s.wait_log("2 worker process(es)", T);
    drop(s);
}

/// Input: typos of a newcomer: `--proceses 4` (a host option), `--plugin python --modul
/// app`, `--modul app` without any `--plugin` (an option of the python plugin, found in
/// the search path), `--module app` without `--plugin`, an ini key `proceses`.
/// Answer: exit 2; the nearest option on the same line (with its plugin when that is not
/// loaded), and the line about loading an app plugin only for the python plugin's option.
#[test]
fn a_typo_gets_the_nearest_option_and_the_plugin_line_only_for_an_app_option() {
    let cases: [(&[&str], &str, bool); 4] = [
        (
            &["--proceses", "4"],
            "unexpected argument '--proceses' found; did you mean --processes? (see rsgi --help)",
            false,
        ),
        (
            &["--plugin", "python", "--modul", "app"],
            "unexpected argument '--modul' found; did you mean --module? (see rsgi --help)",
            false,
        ),
        (
            &["--modul", "app"],
            "unexpected argument '--modul' found; did you mean --module (plugin python)? (see rsgi --help)",
            true,
        ),
        (
            &["--module", "app"],
            "unexpected argument '--module' found (see rsgi --help)",
            true,
        ),
    ];
    for (args, first_line, app_line) in cases {
        let (code, out) = run_to_exit(args, T);
        assert_eq!(code, 2, "{args:?}: {out}");
        let lines: Vec<&str> = out.trim().lines().collect();
        assert_eq!(lines[0], format!("rsgi: {first_line}"), "{args:?}: {out}");
        if app_line {
            assert_eq!(lines.len(), 2, "{args:?}: {out}");
            assert!(
                lines[1].contains(
                    "no app plugin is loaded, and --module comes from one: add --plugin python"
                ),
                "{args:?}: {out}"
            );
        } else {
            assert_eq!(lines.len(), 1, "{args:?}: {out}");
        }
    }
    let scratch = rsgi_e2e::TempDir::new("typo");
    let ini = scratch.path().join("site.ini");
    std::fs::write(
        &ini,
        "[uwsgi]\nplugins = python3\nmodule = app\nproceses = 4\n",
    )
    .unwrap();
    let (code, out) = run_to_exit(&["--ini", ini.to_str().unwrap()], T);
    assert_eq!(code, 2, "{out}");
    assert_eq!(
        out.trim(),
        format!(
            "rsgi: config file {}: line 4: unknown option 'proceses'; did you mean 'processes'?",
            ini.display()
        )
    );
    let _ = std::fs::remove_file(&ini);
}

/// Input: `RSGI_PROCESES=2` (a typo) in the environment of a server that starts.
/// Answer: it starts, and its log warns that the variable names no option, naming the
/// one meant.
#[test]
fn a_misspelt_rsgi_variable_is_warned_about() {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    let s = Server::spawn(
        rsgi_command().env("RSGI_PROCESES", "2").args([
            "--plugin",
            "python",
            "--module",
            "app",
            "--http",
            &format!("127.0.0.1:{port}"),
        ]),
        addr,
    );
    s.wait_ready();
    s.wait_log(
        "RSGI_PROCESES names no option and is not used; did you mean RSGI_PROCESSES?",
        T,
    );
}

/// Input: options that act only with another one, given without it: `--static-index`
/// without a static map, `--max-requests-delta` without `--max-requests`,
/// `--cheaper-step` without `--cheaper`, `--touch-logreopen` without a log file;
/// `list-plugins` in a config file.
/// Answer: exit 2 and one line naming the option and what it needs.
#[test]
fn an_option_that_would_change_nothing_is_refused_by_name() {
    for (args, message) in [
        (
            &["--static-index", "index.html"][..],
            "--static-index applies to directories --static-map (or --check-static) serves: add one",
        ),
        (
            &["--max-requests-delta", "10"],
            "--max-requests-delta spreads --max-requests over the workers: give --max-requests",
        ),
        (
            &["--cheaper-step", "2"],
            "--cheaper-step tunes --cheaper: give --cheaper N too",
        ),
        (
            &["--touch-logreopen", "/tmp/rsgi-never-touched"],
            "--touch-logreopen opens the log file again",
        ),
    ] {
        rsgi_e2e::refused_at_start(args, message);
    }
    let cfg = write_config("list-plugins = true\n");
    rsgi_e2e::refused_at_start(
        &["--config", cfg.to_str().unwrap()],
        "--list-plugins lists the plugins and exits: give it on the command line",
    );
    let _ = std::fs::remove_file(&cfg);
}

/// Input: an ini file with `log-level = warn` (read only from the command line and the
/// environment before), `chmod-socket = 660` with only a TCP socket and
/// `log-x-forwarded-for` without request logging (both common in uWSGI inis).
/// Answer: it serves; the log has no info lines, and a warning for each of the two
/// options saying why it changes nothing.
#[test]
fn log_level_in_a_file_counts_and_idle_uwsgi_options_are_warned_about() {
    let port = free_port();
    let scratch = rsgi_e2e::TempDir::new("warn");
    let ini = scratch.path().join("site.ini");
    std::fs::write(
        &ini,
        format!(
            "[uwsgi]\nplugins = python3\nmodule = app\nhttp-socket = 127.0.0.1:{port}\n\
             log-level = warn\nchmod-socket = 660\nlog-x-forwarded-for = true\n"
        ),
    )
    .unwrap();
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    let s = Server::spawn(rsgi_command().args(["--ini", ini.to_str().unwrap()]), addr);
    s.wait_ready();
    // The harness reads the log on a thread of its own: wait for the lines.
    s.wait_log(
        "--chmod-socket changes nothing: every socket is a TCP one",
        Duration::from_secs(30),
    );
    s.wait_log(
        "--log-x-forwarded-for changes nothing: no request gets a line",
        Duration::from_secs(30),
    );
    let log = s.log();
    assert!(!log.contains(" INFO "), "{log}");
    let _ = std::fs::remove_file(&ini);
}
