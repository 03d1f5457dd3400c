//! ASGI 3 apps in the python plugin (`--asgi`): a raw app showing each behaviour and each
//! way an app gets things wrong (tests/apps/asgi_app.py), lifespan outcomes, FastAPI
//! (examples/fastapi_app), Starlette and Django's ASGI handler, from the project's venv.

use std::io::{BufReader, Read, Write};
use std::time::{Duration, Instant};

use rsgi_e2e::{
    free_addr, get, http_args, read_response, read_until_seen, repo_root, rsgi_command,
    run_to_exit, send_get, venv, wait_answer, Client, Server, TempDir,
};

const T: Duration = Duration::from_secs(30);

/// `rsgi --plugin python --http ADDR --virtualenv VENV --asgi APP EXTRA`, ready.
fn start(app: &str, extra: &[&str]) -> Server {
    let venv = venv();
    let mut args = vec!["--virtualenv", venv.to_str().unwrap(), "--asgi", app];
    args.extend_from_slice(extra);
    Server::start(&args)
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// Input: GET /scope/caf%C3%A9?x=1 with a header sent twice, on each event loop. Answer:
/// the scope of ASGI HTTP spec 2.3: type, asgi versions, http_version, method, scheme,
/// decoded path and raw path, query string, root_path, headers lower-cased in order with
/// the duplicate kept, client and server, and the lifespan's state.
#[test]
fn the_http_scope_is_complete_on_asyncio_and_on_uvloop() {
    for (kind, name) in [
        ("asyncio", "asyncio"),
        ("uvloop", "uvloop"),
        ("auto", "uvloop"),
    ] {
        let s = start("asgi_app:app", &["--asgi-loop", kind]);
        s.wait_log(&format!("ASGI app served on an {name} event loop"), T);
        let mut c = Client::connect(s.addr).unwrap();
        let r = c
            .request(
                "GET",
                "/scope/caf%C3%A9?x=1",
                &[("X-Dup", "one"), ("x-dup", "two")],
                b"",
            )
            .unwrap();
        assert_eq!(r.status, 200, "{}", s.log());
        let scope = json(&r.text());
        assert_eq!(scope["type"], "http");
        assert_eq!(scope["asgi"]["version"], "3.0");
        assert_eq!(scope["asgi"]["spec_version"], "2.3");
        assert_eq!(scope["http_version"], "1.1");
        assert_eq!(scope["method"], "GET");
        assert_eq!(scope["scheme"], "http");
        assert_eq!(scope["path"], "/scope/café");
        assert_eq!(scope["raw_path"], "/scope/caf%C3%A9");
        assert_eq!(scope["query_string"], "x=1");
        assert_eq!(scope["root_path"], "");
        let headers = scope["headers"].as_array().unwrap();
        let dups: Vec<_> = headers
            .iter()
            .filter(|h| h[0] == "x-dup")
            .map(|h| h[1].clone())
            .collect();
        assert_eq!(dups, ["one", "two"]);
        assert_eq!(scope["client"][0], "127.0.0.1");
        assert_eq!(scope["server"][1], s.addr.port());
        assert!(
            scope["state"]["started_in"].as_i64().unwrap() > 0,
            "{scope}"
        );
    }
}

/// Input: a chunked POST /echo whose second chunk is sent only after the first came back.
/// Answer: the first piece arrives while the body is still open (the body reached the app
/// as it arrived, and its answer reached the client as it was sent), then the rest.
#[test]
fn the_body_streams_in_and_the_answer_streams_out() {
    let s = start("asgi_app:app", &[]);
    let mut c = Client::connect(s.addr).unwrap();
    c.send_raw(
        b"POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n8\r\npart-one\r\n",
    )
    .unwrap();
    let mut reader = BufReader::new(c.stream().try_clone().unwrap());
    read_until_seen(&mut reader, "part-one");
    c.send_raw(b"8\r\npart-two\r\n0\r\n\r\n").unwrap();
    let rest = read_until_seen(&mut reader, "0\r\n\r\n");
    assert!(rest.contains("part-two"), "{rest}");
    drop(reader);
    // The connection serves on.
    assert_eq!(c.request("GET", "/", &[], b"").unwrap().text(), "hello");
}

/// Input: a 5 MiB POST body; GET /big for 8 MiB; GET /stream?4. Answer: the body's size
/// counted by the app; every byte of the big answer (written with back-pressure); four
/// chunks.
#[test]
fn large_bodies_both_ways_and_a_streamed_answer() {
    let s = start("asgi_app:app", &[]);
    let body = vec![b'x'; 5 * 1024 * 1024];
    let mut c = Client::connect(s.addr).unwrap();
    assert_eq!(
        c.request("POST", "/post-size", &[], &body).unwrap().text(),
        "5242880"
    );
    let big = c.request("GET", "/big?8388608", &[], b"").unwrap();
    assert_eq!(big.body.len(), 8 * 1024 * 1024);
    assert!(big.body.chunks(10).all(|c| c == &b"0123456789"[..c.len()]));
    let streamed = c.request("GET", "/stream?4", &[], b"").unwrap();
    assert_eq!(streamed.header("transfer-encoding"), Some("chunked"));
    assert_eq!(streamed.text(), "chunk 0\nchunk 1\nchunk 2\nchunk 3\n");
}

/// Input: 1,000 requests that wait in the app (`/wait/many`) on one worker, with one host
/// thread and with four. Answer: all held at once while `/` is still answered; after
/// `/release/many`, all 1,000 complete with 200.
#[test]
fn one_worker_holds_a_thousand_slow_requests() {
    for threads in ["1", "4"] {
        let s = start("asgi_app:app", &["--threads", threads]);
        let held: Vec<_> = (0..1000).map(|_| send_get(s.addr, "/wait/many")).collect();
        wait_answer(&s, "/waiting", "1000");
        assert_eq!(get(s.addr, "/").text(), "hello");
        get(s.addr, "/release/many");
        for mut conn in held {
            let r = read_response(&mut conn, false).unwrap();
            assert_eq!((r.status, r.text().as_str()), (200, "released many"));
        }
        wait_answer(&s, "/waiting", "0");
    }
}

/// Input: a client that sends GET /hold and leaves. Answer: the app's receive() gives
/// http.disconnect, and its send afterwards raises OSError ("1 1"); the worker serves on.
#[test]
fn a_client_that_leaves_is_an_http_disconnect_and_send_raises() {
    let s = start("asgi_app:app", &[]);
    let conn = send_get(s.addr, "/hold");
    wait_answer(&s, "/holding", "1");
    drop(conn);
    wait_answer(&s, "/disconnects", "1 1");
    assert_eq!(get(s.addr, "/").text(), "hello");
}

/// Input, one per request: a body before http.response.start; a return without any
/// response; a raise; a raise after the head and part of the body; a header value with
/// CR LF. Answer: 500 with a log line (the traceback for the raises); the connection closed
/// short for the raise after the head; 500 and no injected header for CR LF. The same
/// worker serves on.
#[test]
fn apps_that_get_it_wrong_cost_only_their_request() {
    let s = start("asgi_app:app", &[]);
    let pid = json(&get(s.addr, "/scope").text())["state"]["started_in"].clone();

    assert_eq!(get(s.addr, "/body-first").status, 500);
    s.wait_log("http.response.body sent before http.response.start", T);
    assert_eq!(get(s.addr, "/no-response").status, 500);
    s.wait_log("the ASGI app returned without sending a response", T);
    assert_eq!(get(s.addr, "/raise").status, 500);
    s.wait_log("RuntimeError: the test app raised", T);

    let mut c = Client::connect(s.addr).unwrap();
    c.send_raw(b"GET /raise-after-head HTTP/1.1\r\nHost: test\r\n\r\n")
        .unwrap();
    let mut all = Vec::new();
    c.stream().read_to_end(&mut all).unwrap();
    let text = String::from_utf8_lossy(&all);
    assert!(
        text.starts_with("HTTP/1.1 200") && text.contains("partial"),
        "{text}"
    );
    assert!(
        !text.ends_with("0\r\n\r\n"),
        "the body must not look complete: {text}"
    );
    s.wait_log("RuntimeError: the test app raised after the head", T);

    let r = get(s.addr, "/bad-header");
    assert_eq!(r.status, 500);
    assert!(r.header("injected").is_none() && r.header("x-split").is_none());
    s.wait_log("invalid response head", T);

    assert_eq!(
        json(&get(s.addr, "/scope").text())["state"]["started_in"],
        pid
    );
    assert!(!s.log().contains("died"), "{}", s.log());
}

/// Input: SIGTERM to a server whose app records its lifespan shutdown. Answer: the
/// shutdown ran in the worker (its pid in the file) before the worker exited cleanly.
#[test]
fn the_lifespan_shutdown_runs_at_a_graceful_stop() {
    let dir = TempDir::new("asgi-shutdown");
    let record = dir.join("shutdown.txt");
    let addr = free_addr();
    let venv = venv();
    let mut cmd = rsgi_command();
    cmd.env("ASGI_SHUTDOWN_FILE", &record).args(http_args(
        addr,
        &[
            "--virtualenv",
            venv.to_str().unwrap(),
            "--asgi",
            "asgi_app:app",
        ],
    ));
    let mut s = Server::spawn(&mut cmd, addr);
    s.wait_ready();
    let pid = json(&get(s.addr, "/scope").text())["state"]["started_in"].clone();
    s.signal(libc::SIGTERM);
    assert!(s.wait_exit(T).success(), "{}", s.log());
    let written = std::fs::read_to_string(&record).unwrap();
    assert_eq!(written.trim(), format!("shutdown {pid}"));
}

/// Input: an app whose lifespan startup sends startup.failed; preforking, then with
/// --lazy-apps --need-app. Answer: a line with the app's message and 500s; exit 22.
#[test]
fn a_failed_lifespan_startup_is_an_app_that_did_not_load() {
    let s = start("asgi_lifespan_failed:app", &[]);
    s.wait_log(
        "the ASGI app's lifespan startup failed: the database is not there",
        T,
    );
    assert_eq!(get(s.addr, "/").status, 500);

    let venv = venv();
    let addr = free_addr();
    let args = http_args(
        addr,
        &[
            "--virtualenv",
            venv.to_str().unwrap(),
            "--asgi",
            "asgi_lifespan_failed:app",
            "--lazy-apps",
            "--need-app",
        ],
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, log) = run_to_exit(&args, T);
    assert_eq!(code, 22, "{log}");
    assert!(
        log.contains("lifespan startup failed: the database is not there"),
        "{log}"
    );
}

/// Input: an app that raises on the lifespan scope (it knows only HTTP), with --lifespan
/// auto (the default), then on, then off. Answer: auto serves it after an info line; on
/// makes it an app that did not start (500s); off never asks.
#[test]
fn an_app_without_lifespan_is_served_unless_lifespan_is_on() {
    let s = start("asgi_no_lifespan:app", &[]);
    s.wait_log("does not seem to support the lifespan protocol", T);
    assert_eq!(get(s.addr, "/").text(), "ok");

    let s = start("asgi_no_lifespan:app", &["--lifespan", "on"]);
    s.wait_log("the ASGI app raised in its lifespan startup", T);
    assert_eq!(get(s.addr, "/").status, 500);

    let s = start("asgi_no_lifespan:app", &["--lifespan", "off"]);
    assert_eq!(get(s.addr, "/").text(), "ok");
    assert!(
        !s.log().contains("lifespan protocol") && !s.log().contains("lifespan startup"),
        "{}",
        s.log()
    );
}

/// Input: --asgi beside --module; --asgi with --mount; --lifespan without --asgi.
/// Answer: exit 2 with one line each.
#[test]
fn asgi_options_that_do_not_fit_are_refused() {
    for (args, line) in [
        (
            vec!["--asgi", "asgi_app:app", "--module", "app"],
            "not both",
        ),
        (
            vec!["--asgi", "asgi_app:app", "--mount", "/x=app"],
            "--mount serves WSGI apps",
        ),
        (
            vec!["--module", "app", "--lifespan", "on"],
            "--lifespan is for ASGI apps",
        ),
    ] {
        let mut full = vec!["--plugin", "python", "--http", "127.0.0.1:1"];
        full.extend(args);
        let (code, log) = run_to_exit(&full, T);
        assert_eq!(code, 2, "{log}");
        assert!(log.contains(line), "{log}");
    }
}

/// FastAPI (examples/fastapi_app): lifespan state in a request, JSON path and query
/// parameters, a validated JSON body (and 422 for a bad one), a streamed response, a
/// file, a background task that runs after the response, a sync view.
#[test]
fn fastapi_serves_json_streams_files_and_background_tasks() {
    let example = repo_root().join("examples/fastapi_app");
    let s = start("main:app", &["--pythonpath", example.to_str().unwrap()]);
    let root = json(&get(s.addr, "/").text());
    assert_eq!(root["message"], "hello from the lifespan");
    let item = json(&get(s.addr, "/items/42?q=find").text());
    assert_eq!(
        (item["item_id"].as_i64(), item["q"].as_str()),
        (Some(42), Some("find"))
    );

    let mut c = Client::connect(s.addr).unwrap();
    let body = br#"{"name": "pen", "price": 1.5, "tags": ["a"]}"#;
    let r = c
        .request(
            "POST",
            "/items",
            &[("Content-Type", "application/json")],
            body,
        )
        .unwrap();
    assert_eq!(json(&r.text())["total"], 3.0);
    let r = c
        .request(
            "POST",
            "/items",
            &[("Content-Type", "application/json")],
            b"{}",
        )
        .unwrap();
    assert_eq!(r.status, 422);

    let r = c.request("GET", "/stream?n=3", &[], b"").unwrap();
    assert_eq!(r.text(), "line 0\nline 1\nline 2\n");
    let r = c.request("GET", "/file", &[], b"").unwrap();
    assert_eq!(r.body, std::fs::read(example.join("sample.txt")).unwrap());
    assert_eq!(
        json(&c.request("GET", "/sync", &[], b"").unwrap().text())["sync"],
        true
    );

    let dir = TempDir::new("fastapi-bg");
    let out = dir.join("bg.txt");
    let path = format!("/background?path={}", out.display());
    let r = c.request("POST", &path, &[], b"").unwrap();
    assert_eq!(json(&r.text())["scheduled"], true);
    let deadline = Instant::now() + T;
    while std::fs::read_to_string(&out).unwrap_or_default() != "written after the response\n" {
        assert!(
            Instant::now() < deadline,
            "the background task never ran\n{}",
            s.log()
        );
        std::thread::yield_now();
    }
}

/// Starlette alone: lifespan state shared by requests, path and query parameters, a form.
#[test]
fn starlette_serves_routes_forms_and_lifespan_state() {
    let s = start("starlette_app:app", &[]);
    assert_eq!(get(s.addr, "/").text(), "starlette home, visit 1");
    assert_eq!(get(s.addr, "/").text(), "starlette home, visit 2");
    let user = json(&get(s.addr, "/users/ada?q=x").text());
    assert_eq!(
        (user["user"].as_str(), user["q"].as_str()),
        (Some("ada"), Some("x"))
    );
    let mut c = Client::connect(s.addr).unwrap();
    let r = c
        .request(
            "POST",
            "/form",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            b"a=1&b=two",
        )
        .unwrap();
    assert_eq!(json(&r.text()), serde_json::json!({"a": "1", "b": "two"}));
}

/// Django's ASGI handler (examples/django_project, mysite.asgi): its pages and a streamed
/// response, as over WSGI.
#[test]
fn django_serves_through_its_asgi_handler() {
    let example = repo_root().join("examples/django_project");
    let s = start(
        "mysite.asgi:application",
        &["--pythonpath", example.to_str().unwrap()],
    );
    let r = get(s.addr, "/");
    assert_eq!(r.status, 200, "{}", s.log());
    let r = get(s.addr, "/stream/");
    assert_eq!(r.status, 200, "{}", s.log());
    assert!(!r.body.is_empty());
}

/// Input: 5 requests kept waiting by the app, with `--stats ... --stats-http`. Answer: the
/// worker's `in_flight` is 5 while they wait (the loop's sweep records them), 0 after.
#[test]
fn requests_kept_by_the_app_show_as_in_flight_in_the_stats() {
    let stats = free_addr();
    let s = start(
        "asgi_app:app",
        &["--stats", &stats.to_string(), "--stats-http"],
    );
    let held: Vec<_> = (0..5).map(|_| send_get(s.addr, "/wait/stats")).collect();
    wait_answer(&s, "/waiting", "5");
    let in_flight = || {
        let doc = json(
            &rsgi_e2e::try_request(stats, "GET", "/", &[], b"")
                .unwrap()
                .text(),
        );
        doc["workers"][0]["in_flight"].as_u64().unwrap()
    };
    let deadline = Instant::now() + T;
    while in_flight() != 5 {
        assert!(
            Instant::now() < deadline,
            "in_flight never 5: {}",
            in_flight()
        );
        std::thread::yield_now();
    }
    get(s.addr, "/release/stats");
    for mut conn in held {
        assert_eq!(read_response(&mut conn, false).unwrap().status, 200);
    }
    while in_flight() != 0 {
        assert!(
            Instant::now() < deadline,
            "in_flight never back to 0: {}",
            in_flight()
        );
        std::thread::yield_now();
    }
}

/// Input: `--harakiri 1` and a request the app never answers (its loop idle), then one
/// that blocks the event loop (`time.sleep` in a coroutine). Answer: each time the harakiri
/// line names the request and a new worker answers; for the blocked loop the stack dump
/// shows the app's frame on the loop's thread.
#[test]
fn harakiri_catches_a_request_never_answered_and_a_blocked_event_loop() {
    let s = start("asgi_app:app", &["--harakiri", "1"]);
    for (round, path) in [(1, "/wait/forever"), (2, "/block")] {
        let stuck = send_get(s.addr, path);
        s.wait_log_count("harakiri: worker 1", round, T);
        s.wait_log(&format!("\"GET {path}\""), T);
        drop(stuck);
        s.wait_log_count("spawned worker 1", round + 1, T);
        let deadline = Instant::now() + T;
        loop {
            if let Ok(r) = rsgi_e2e::try_request(s.addr, "GET", "/", &[], b"") {
                assert_eq!(r.text(), "hello");
                break;
            }
            assert!(Instant::now() < deadline, "{}", s.log());
            std::thread::yield_now();
        }
    }
    s.wait_log("asgi_app.py\", line", T);
}

/// Input: a chunked POST /echo whose body is still open when the master is told to reload
/// (SIGHUP), then a chain reload (`c` on the master FIFO). Answer:
/// the request in flight finishes with its whole body echoed by the old worker, which then
/// runs its lifespan shutdown (its pid in the record); new workers serve.
#[test]
fn reloads_let_requests_in_flight_finish_and_run_the_lifespan_shutdown() {
    let dir = TempDir::new("asgi-reload");
    let record = dir.join("shutdown.txt");
    let fifo = dir.join("master.fifo");
    let addr = free_addr();
    let venv = venv();
    let mut cmd = rsgi_command();
    cmd.env("ASGI_SHUTDOWN_FILE", &record).args(http_args(
        addr,
        &[
            "--virtualenv",
            venv.to_str().unwrap(),
            "--asgi",
            "asgi_app:app",
            "--master-fifo",
            fifo.to_str().unwrap(),
        ],
    ));
    let s = Server::spawn(&mut cmd, addr);
    s.wait_ready();
    for (round, how) in [(1, "SIGHUP"), (2, "chain")] {
        let mut c = Client::connect(s.addr).unwrap();
        c.send_raw(
            b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n",
        )
        .unwrap();
        let mut reader = BufReader::new(c.stream().try_clone().unwrap());
        read_until_seen(&mut reader, "first");
        // The request is in flight in the old worker: reload now.
        match how {
            "SIGHUP" => s.signal(libc::SIGHUP),
            _ => {
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&fifo)
                    .unwrap()
                    .write_all(b"c")
                    .unwrap();
            }
        }
        s.wait_log_count("stopping gracefully", round, T);
        c.send_raw(b"6\r\nsecond\r\n0\r\n\r\n").unwrap();
        let rest = read_until_seen(&mut reader, "0\r\n\r\n");
        assert!(rest.contains("second"), "{rest}");
        // The old worker ran its lifespan shutdown once its request was done.
        let deadline = Instant::now() + T;
        while std::fs::read_to_string(&record)
            .unwrap_or_default()
            .lines()
            .count()
            < round
        {
            assert!(
                Instant::now() < deadline,
                "no shutdown recorded\n{}",
                s.log()
            );
            std::thread::yield_now();
        }
        assert_eq!(get(s.addr, "/").text(), "hello");
    }
}

/// Input: GET /pathsend for a 20 MB file three times on one connection (the app sends
/// `http.response.pathsend`, which the scope's extensions offer), and a HEAD. Answer: every
/// byte of the file each time (sent with sendfile after the head, framed by
/// Content-Length), the connection kept; the HEAD's length without a body.
#[test]
fn pathsend_sends_the_file_zero_copy_and_keeps_the_connection() {
    let dir = TempDir::new("asgi-pathsend");
    let file = dir.join("big.bin");
    let data: Vec<u8> = (0..20_000_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(&file, &data).unwrap();
    let s = start("asgi_app:app", &[]);
    let path = format!("/pathsend?{}", file.display());
    let mut c = Client::connect(s.addr).unwrap();
    for _ in 0..3 {
        let r = c.request("GET", &path, &[], b"").unwrap();
        assert_eq!(r.status, 200, "{}", s.log());
        assert!(
            r.body == data,
            "{} bytes back of {}",
            r.body.len(),
            data.len()
        );
    }
    let head = c.request("HEAD", &path, &[], b"").unwrap();
    assert_eq!(head.header("content-length"), Some("20000000"));
    assert_eq!(c.request("GET", "/", &[], b"").unwrap().text(), "hello");
}

/// Input, to an ASGI app, with `--limit-post 1000`: a 2,000-byte Content-Length body; a
/// chunked body that grows past 1,000 bytes; a chunked body with a chunk size that is not
/// hex. Answer: 413 before the app is called; 413 once the body passes the limit (the app's
/// receive() got http.disconnect and it gave up); 400 for the malformed chunk. The worker
/// serves on.
#[test]
fn bodies_over_the_limit_or_malformed_are_refused_with_413_and_400() {
    let s = start("asgi_app:app", &["--limit-post", "1000"]);
    let r = rsgi_e2e::try_request(s.addr, "POST", "/post-size", &[], &[b'a'; 2000]).unwrap();
    assert_eq!(r.status, 413);

    let mut c = Client::connect(s.addr).unwrap();
    let mut chunked =
        b"POST /post-size HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..3 {
        chunked.extend_from_slice(b"200\r\n");
        chunked.extend_from_slice(&[b'b'; 0x200]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    c.send_raw(&chunked).unwrap();
    assert_eq!(c.read_response(false).unwrap().status, 413, "{}", s.log());

    let mut c = Client::connect(s.addr).unwrap();
    c.send_raw(b"POST /post-size HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n")
        .unwrap();
    assert_eq!(c.read_response(false).unwrap().status, 400, "{}", s.log());
    assert_eq!(get(s.addr, "/").text(), "hello");
}
