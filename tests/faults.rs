//! Faults stay inside: a plugin (the `panicky` fixture, tests/fixtures/panicky-plugin) that
//! panics in each hook in turn, aborts or dies of SIGSEGV costs at most its request or its
//! worker, with one log line naming plugin and hook; the worker (or its replacement)
//! serves on.

use std::time::Duration;

use rsgi_e2e::{free_addr, get, rsgi_command, try_request, Server};

const T: Duration = Duration::from_secs(30);

/// Starts `rsgi --plugin panicky --http ADDR EXTRA` with `RSGI_PANICKY_HOOK=hook`.
fn start(hook: &str, extra: &[&str]) -> Server {
    let addr = free_addr();
    let mut cmd = rsgi_command();
    cmd.env("RSGI_PANICKY_HOOK", hook)
        .args(["--plugin", "panicky", "--http", &addr.to_string()])
        .args(extra);
    let s = Server::spawn(&mut cmd, addr);
    s.wait_ready();
    s
}

/// The line the SDK's guard writes for a panic in `hook`.
fn panic_line(hook: &str) -> String {
    format!("plugin panicky panicked in {hook}: the test asked {hook} to panic (at ")
}

/// Input: GET /panic (the app's handle panics). Answer: 500 and one log line naming plugin
/// and hook; the same worker answers the next request.
#[test]
fn a_panic_in_handle_is_a_500_and_the_worker_serves_on() {
    let s = start("", &[]);
    let before = get(s.addr, "/pid-check");
    assert_eq!(before.text(), "ok /pid-check");
    let r = get(s.addr, "/panic");
    assert_eq!(r.status, 500, "{}", s.log());
    s.wait_log(
        "plugin panicky panicked in handle: the test asked handle to panic (at ",
        T,
    );
    assert_eq!(get(s.addr, "/after").text(), "ok /after");
    assert!(!s.log().contains("died"), "{}", s.log());
}

/// Input: GET /abort and GET /segv (the plugin aborts the process / dies of SIGSEGV).
/// Answer: that connection closes without a response; the master logs the death and
/// respawns the worker, which serves the next request.
#[test]
fn an_abort_or_a_segfault_kills_only_its_worker_which_is_respawned() {
    let s = start("", &[]);
    for (path, signal, n) in [("/abort", "SIGABRT", 2), ("/segv", "SIGSEGV", 3)] {
        assert!(
            try_request(s.addr, "GET", path, &[], b"").is_err(),
            "{path} got an answer"
        );
        // "respawning", or "respawning in 1s" for a worker that died right after start.
        s.wait_log(&format!("({signal}); "), T);
        s.wait_log_count("spawned worker 1", n, T);
        let r = get(s.addr, "/after");
        assert_eq!(r.text(), "ok /after", "{}", s.log());
    }
}

/// Input: a panic in each hook that runs while rsgi starts, forks or stops, in turn.
/// Answer: one line naming plugin and hook each time; where the hook had nothing to give
/// (options, needs, the fork hooks, shutdown), rsgi goes on and serves (and stops with
/// status 0).
#[test]
fn a_panic_in_a_lifecycle_hook_is_one_line_and_rsgi_goes_on() {
    for hook in [
        "options",
        "needs",
        "pre_fork",
        "post_fork_parent",
        "post_fork_child",
        "shutdown",
    ] {
        let mut s = start(hook, &[]);
        assert_eq!(get(s.addr, "/").text(), "ok /", "{hook}: {}", s.log());
        s.signal(libc::SIGTERM);
        let status = s.wait_exit(T);
        assert_eq!(status.code(), Some(0), "{hook}: {}", s.log());
        assert_eq!(
            s.log().matches(&panic_line(hook)).count(),
            1,
            "{hook}: {}",
            s.log()
        );
    }
}

/// Input: a panic in init. Answer: rsgi does not start, exit 1, one line naming plugin and
/// hook.
#[test]
fn a_panic_in_init_stops_the_start_with_one_line() {
    let out = rsgi_command()
        .env("RSGI_PANICKY_HOOK", "init")
        .args(["--plugin", "panicky", "--http", &free_addr().to_string()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert_eq!(text.trim().lines().count(), 1, "{text}");
    assert!(
        text.contains("plugin panicky failed to initialise: ")
            && text.contains(&panic_line("init")),
        "{text}"
    );
}

/// Input: a panic in load_app. Answer: the app counts as not loaded: without --need-app
/// rsgi runs on and logs why (what the requests then get is the plugin's to say: the
/// python plugin answers 500 without an app); with --need-app, exit 22 in both preforking
/// and lazy-apps mode.
#[test]
fn a_panic_in_load_app_is_an_app_that_did_not_load() {
    let s = start("load_app", &[]);
    s.wait_log(
        &format!(
            "app not loaded, every request will get 500: {}",
            panic_line("load_app")
        ),
        T,
    );
    drop(s);
    for extra in [&["--need-app"][..], &["--need-app", "--lazy-apps"][..]] {
        let out = rsgi_command()
            .env("RSGI_PANICKY_HOOK", "load_app")
            .args(["--plugin", "panicky", "--http", &free_addr().to_string()])
            .args(extra)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(22), "{extra:?}: {text}");
        assert!(text.contains(&panic_line("load_app")), "{extra:?}: {text}");
    }
}
