//! uWSGI's `exec-*` hooks: commands the master runs at points of its start.

use std::time::{Duration, Instant};

use rsgi_e2e::{get, run_to_exit, Server, TempDir};

const T: Duration = Duration::from_secs(20);

/// Input: one command for each of `--exec-asap`, `--exec-as-root`, `--exec-as-user`,
/// `--exec-pre-app`, `--exec-post-app`, each appending its name to a file; then SIGHUP.
/// Answer: the file has the five names in that order once rsgi serves, and the five again
/// after the graceful reload (the re-executed master runs them again).
#[test]
fn hooks_run_in_order_at_start_and_again_on_reload() {
    let dir = TempDir::new("hooks");
    let file = dir.join("order");
    let cmd = |name: &str| format!("echo {name} >> {}", file.display());
    let names = ["asap", "as-root", "as-user", "pre-app", "post-app"];
    let mut args: Vec<String> = vec!["--module".into(), "app".into()];
    for name in names {
        args.push(format!("--exec-{name}"));
        args.push(cmd(name));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let s = Server::start(&args);
    let once = names.map(|n| format!("{n}\n")).concat();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), once);
    assert_eq!(get(s.addr, "/").status, 200);

    s.signal(libc::SIGHUP);
    let twice = once.repeat(2);
    let deadline = Instant::now() + T;
    while std::fs::read_to_string(&file).unwrap() != twice {
        assert!(
            Instant::now() < deadline,
            "{}",
            std::fs::read_to_string(&file).unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    s.wait_log("old worker 1", T);
    assert_eq!(get(s.addr, "/").status, 200);
}

/// Input: `--exec-pre-app "exit 7"` with a Unix socket.
/// Answer: exit status 1, a line naming the option, the command and its status; the app
/// is not loaded and the socket file is removed.
#[test]
fn a_failing_hook_stops_the_start() {
    let dir = TempDir::new("hook-fails");
    let sock = dir.join("app.sock");
    let (code, out) = run_to_exit(
        &[
            "--plugin",
            "python",
            "--module",
            "app",
            "--socket",
            sock.to_str().unwrap(),
            "--exec-pre-app",
            "exit 7",
        ],
        T,
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("--exec-pre-app command \"exit 7\" failed (exit status: 7)"),
        "{out}"
    );
    assert!(!out.contains("app loaded:"), "{out}");
    assert!(!sock.exists(), "socket file left behind");
}

/// Input: uWSGI's `hook-*` forms: `--hook-asap mkdir:DIR/run`, `--hook-asap
/// putenv:GREETING=...`, `--hook-as-user write:DIR/run/started yes`, `--hook-pre-app
/// exec:...` (after an `--exec-pre-app`), `--hook-post-app print:...`; then one with an
/// action rsgi does not have.
/// Answer: the directory is made and the file written before the app loads; the variable
/// is set in the master (the later exec hook, its child, sees it); the phase's `exec-*`
/// runs before its `hook-*`; the print line is in the log; `mount:` stops the start with
/// exit 2 and a line naming the action.
#[test]
fn hook_forms_run_their_actions_at_their_points() {
    let dir = TempDir::new("hook-forms");
    let run = dir.join("run");
    let order = run.join("order");
    let s = Server::start(&[
        "--module",
        "app",
        "--hook-asap",
        &format!("mkdir:{}", run.display()),
        "--hook-asap",
        "putenv:GREETING=from-a-hook",
        "--hook-as-user",
        &format!("write:{} yes", run.join("started").display()),
        "--exec-pre-app",
        &format!("echo exec >> {}", order.display()),
        "--hook-pre-app",
        &format!("exec:echo hook $GREETING >> {}", order.display()),
        "--hook-post-app",
        "print:the app is loaded, says a hook",
    ]);
    assert_eq!(std::fs::read_to_string(run.join("started")).unwrap(), "yes");
    assert_eq!(
        std::fs::read_to_string(&order).unwrap(),
        "exec\nhook from-a-hook\n"
    );
    s.wait_log("the app is loaded, says a hook", T);
    assert_eq!(get(s.addr, "/").status, 200);
    rsgi_e2e::refused_at_start(
        &["--hook-as-root", "mount:proc none /proc"],
        "--hook-as-root 'mount:proc none /proc': action 'mount' is not available",
    );
}
