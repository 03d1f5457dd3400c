//! WebSockets for ASGI apps: the python plugin's `websocket` scope over the host's
//! `websocket` protocol plugin, with a raw ASGI app (tests/apps/ws_asgi_app.py), Starlette
//! (ws_starlette_app.py) and FastAPI (ws_fastapi_app.py), driven by the `websockets`
//! client library from the project's venv: tests/apps/ws_client.py runs named scenarios,
//! one connection each, and prints one JSON line per scenario. What only the app sees
//! (disconnect codes, what its sends raised) it writes to stderr as `ws-app: ...` lines,
//! waited for in the server's log.

use std::process::Command;
use std::time::Duration;

use rsgi_e2e::{apps_dir, isolate_env, venv, Server};
use serde_json::{json, Value};

const T: Duration = Duration::from_secs(30);

/// The three apps, each serving `/echo` with the same commands.
const APPS: [&str; 3] = [
    "ws_asgi_app:app",
    "ws_starlette_app:app",
    "ws_fastapi_app:app",
];

/// `rsgi --plugin python --http ADDR --virtualenv VENV --asgi APP EXTRA`, ready.
fn start(app: &str, extra: &[&str]) -> Server {
    let venv = venv();
    let mut args = vec!["--virtualenv", venv.to_str().unwrap(), "--asgi", app];
    args.extend_from_slice(extra);
    Server::start(&args)
}

/// The client command for `scenarios` against `s`.
fn client_command(s: &Server, scenarios: &[&str]) -> Command {
    let mut cmd = Command::new(venv().join("bin/python"));
    isolate_env(&mut cmd);
    cmd.arg(apps_dir().join("ws_client.py"))
        .arg(format!("ws://{}", s.addr))
        .args(scenarios);
    cmd
}

/// Runs the client's `scenarios` against `s`, one connection each, in order: what each
/// saw. Panics with the client's stderr and the server's log when the client fails.
fn client(s: &Server, scenarios: &[&str]) -> Vec<Value> {
    let out = client_command(s, scenarios)
        .output()
        .expect("run the venv's python");
    results(s, scenarios, out)
}

/// What the client's run `out` printed for `scenarios`.
fn results(s: &Server, scenarios: &[&str], out: std::process::Output) -> Vec<Value> {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the client failed: {}\n{stdout}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        s.log()
    );
    let results: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(results.len(), scenarios.len(), "{stdout}");
    for (result, scenario) in results.iter().zip(scenarios) {
        assert_eq!(result["scenario"], *scenario);
    }
    results
}

/// One scenario.
fn one(s: &Server, scenario: &str) -> Value {
    client(s, &[scenario]).remove(0)
}

/// Input: a handshake for /echo/caf%C3%A9?room=1 offering subprotocols `other` and
/// `chat.v1`, then the text `scope`. Answer: the scope of ASGI WebSocket spec 2.4: type,
/// asgi versions, http_version, scheme `ws`, decoded and raw path, query string,
/// root_path, headers lower-cased (the handshake's among them), client and server, the
/// subprotocols in the client's order, the lifespan's state, the
/// `websocket.http.response` extension, and no `method`.
#[test]
fn the_websocket_scope_is_complete() {
    let s = start("ws_asgi_app:app", &[]);
    let r = one(&s, "scope:/echo/caf%C3%A9?room=1");
    let scope = &r["scope"];
    assert_eq!(scope["type"], "websocket", "{r}");
    assert_eq!(
        scope["asgi"],
        json!({"version": "3.0", "spec_version": "2.4"})
    );
    assert_eq!(scope["http_version"], "1.1");
    assert_eq!(scope["scheme"], "ws");
    assert_eq!(scope["path"], "/echo/café");
    assert_eq!(scope["raw_path"], "/echo/caf%C3%A9");
    assert_eq!(scope["query_string"], "room=1");
    assert_eq!(scope["root_path"], "");
    let headers = scope["headers"].as_array().unwrap();
    let header = |name: &str| {
        headers
            .iter()
            .find(|h| h[0] == name)
            .map(|h| h[1].as_str().unwrap().to_owned())
    };
    assert_eq!(header("upgrade").as_deref(), Some("websocket"));
    assert_eq!(header("sec-websocket-version").as_deref(), Some("13"));
    assert!(header("sec-websocket-key").is_some(), "{scope}");
    assert_eq!(scope["client"][0], "127.0.0.1");
    assert_eq!(scope["server"][1], s.addr.port());
    assert_eq!(scope["subprotocols"], json!(["other", "chat.v1"]));
    assert_eq!(scope["state"], json!({"from_lifespan": "yes"}));
    assert_eq!(scope["extensions"], json!(["websocket.http.response"]));
    assert_eq!(scope["has_method"], false);
    // The app spoke chat.v1, the one offered it knows.
    assert_eq!(r["subprotocol"], "chat.v1");
}

/// Input, to each app (the raw one on uvloop and on asyncio): on one connection with
/// permessage-deflate offered, then on one without (`compression=None`): the text
/// `hello`, the bytes 00 01 fe ff, a text message in three frames, a ping, 64 KiB of
/// repeated text. Answer: each message back as sent (the fragments as one message), the
/// pong, and the extension accepted only when offered.
#[test]
fn text_binary_fragments_and_pings_with_and_without_compression() {
    let runs = [
        ("ws_asgi_app:app", "uvloop", "ws_asgi_app"),
        ("ws_asgi_app:app", "asyncio", "ws_asgi_app"),
        ("ws_starlette_app:app", "auto", "starlette"),
        ("ws_fastapi_app:app", "auto", "fastapi"),
    ];
    for (app, event_loop, accepted_by) in runs {
        let s = start(app, &["--asgi-loop", event_loop]);
        let results = client(&s, &["echo", "echo:/echo:none"]);
        for (r, extensions) in results
            .iter()
            .zip([json!("permessage-deflate"), json!(null)])
        {
            assert_eq!(r["extensions"], extensions, "{app}: {r}");
            assert_eq!(r["accepted_by"], accepted_by, "{app}: {r}");
            assert_eq!(r["text"], "hello", "{app}: {r}");
            assert_eq!(r["binary"], json!([0, 1, 254, 255]), "{app}: {r}");
            assert_eq!(r["fragmented"], "fragmented text", "{app}: {r}");
            assert_eq!(r["pong"], true, "{app}: {r}");
            assert_eq!(r["long_text_ok"], true, "{app}: {r}");
        }
    }
}

/// Input: `--websocket-per-message-deflate false`, and a client offering
/// permessage-deflate. Answer: the handshake accepts no extension; messages still echo.
#[test]
fn compression_can_be_turned_off_on_the_server() {
    let s = start(
        "ws_asgi_app:app",
        &["--websocket-per-message-deflate", "false"],
    );
    let r = one(&s, "echo");
    assert_eq!(r["extensions"], json!(null), "{r}");
    assert_eq!(r["text"], "hello", "{r}");
}

/// Input: `--websocket-max-size 32m` and a 10,000,000-byte binary message, to the raw app
/// and to FastAPI. Answer: all of it back, byte for byte.
#[test]
fn a_ten_megabyte_message_goes_both_ways_with_a_raised_max_size() {
    for app in ["ws_asgi_app:app", "ws_fastapi_app:app"] {
        let s = start(app, &["--websocket-max-size", "32m"]);
        let r = one(&s, "big:10000000");
        assert_eq!(
            (&r["sent"], &r["received"], &r["equal"]),
            (&json!(10_000_000), &json!(10_000_000), &json!(true)),
            "{app}: {r}"
        );
    }
}

/// Input: `--websocket-max-size 1m` and a 2,000,000-byte message, then an echo on a new
/// connection. Answer: the host closes with 1009 (`message too big`), the app's receive()
/// gives websocket.disconnect 1009, and the same worker echoes on.
#[test]
fn a_message_over_the_max_size_is_closed_with_1009_and_the_worker_serves_on() {
    let s = start("ws_asgi_app:app", &["--websocket-max-size", "1m"]);
    let r = one(&s, "too_big:2000000");
    assert_eq!(r["code"], 1009, "{r}");
    s.wait_log("ws-app: disconnect 1009", T);
    let r = one(&s, "command:still here");
    assert_eq!(r["answer"], "still here", "{r}");
    assert!(!s.log().contains("died"), "{}", s.log());
    assert_eq!(s.log().matches("spawned worker").count(), 1, "{}", s.log());
}

/// Input, to each app: the client closes with 4000 "client done" after one echo; then the
/// client sends `close 4001 bye`, which makes the app close. Answer: the app's receive()
/// gives websocket.disconnect 4000 (with the reason, where the framework shows it); the
/// client receives the close 4001 "bye". The raw app's send after its close raises
/// uvicorn's RuntimeError, and its receive() then gives the client's answering close.
#[test]
fn close_codes_go_both_ways() {
    for app in APPS {
        let s = start(app, &[]);
        one(&s, "client_closes:4000:client done");
        let seen = match app {
            "ws_starlette_app:app" => "ws-app: disconnect 4000",
            _ => "ws-app: disconnect 4000 'client done'",
        };
        s.wait_log(seen, T);
        let r = one(&s, "app_closes:4001:bye");
        assert_eq!(
            (&r["code"], &r["reason"]),
            (&json!(4001), &json!("bye")),
            "{app}: {r}"
        );
    }
    let s = start("ws_asgi_app:app", &[]);
    one(&s, "app_closes:4001:bye");
    s.wait_log(
        "ws-app: send after close raised RuntimeError: Unexpected ASGI message 'websocket.send', after sending 'websocket.close'.",
        T,
    );
    s.wait_log("ws-app: after our close: websocket.disconnect 4001", T);
}

/// Input: one echo, then the client's TCP connection dropped without a close. Answer: the
/// app's receive() gives websocket.disconnect 1006, and its send afterwards raises
/// OSError. The worker serves on.
#[test]
fn a_client_that_vanishes_is_a_disconnect_1006_and_send_raises_oserror() {
    let s = start("ws_asgi_app:app", &[]);
    assert_eq!(one(&s, "vanish")["vanished"], true);
    s.wait_log("ws-app: disconnect 1006 ''", T);
    s.wait_log("ws-app: send after disconnect raised OSError", T);
    assert_eq!(one(&s, "command:next")["answer"], "next");
}

/// Input, to each app: subprotocols `chat.v1, chat.v2` offered; none offered; only `x`.
/// Answer: the raw app takes the client's first it speaks (chat.v1), Starlette and
/// FastAPI their own first (chat.v2); none when none offered or none spoken. Input: the
/// raw app accepting a subprotocol the client did not offer. Answer: its send raises, so a
/// 500, with the reason in the log.
#[test]
fn subprotocols_are_negotiated() {
    for (app, chosen) in [
        ("ws_asgi_app:app", "chat.v1"),
        ("ws_starlette_app:app", "chat.v2"),
        ("ws_fastapi_app:app", "chat.v2"),
    ] {
        let s = start(app, &[]);
        let r = client(
            &s,
            &[
                "subprotocol:chat.v1:chat.v2",
                "subprotocol",
                "subprotocol:x",
            ],
        );
        assert_eq!(r[0]["subprotocol"], chosen, "{app}: {r:?}");
        assert_eq!(r[1]["subprotocol"], json!(null), "{app}: {r:?}");
        assert_eq!(r[2]["subprotocol"], json!(null), "{app}: {r:?}");
    }
    let s = start("ws_asgi_app:app", &[]);
    assert_eq!(one(&s, "refused:/bad-subprotocol")["status"], 500);
    s.wait_log("\"never-offered\" is not one the client offered", T);
}

/// Input: handshakes each app denies. The raw app: a websocket.close before accept
/// (/deny), and a websocket.http.response 418 in two body pieces (/deny-response).
/// Starlette: `websocket.close()` before accept, `send_denial_response` with a 401.
/// FastAPI: a WebSocketException before accept, a missing required query parameter, a
/// path parameter that is not an int. Answer: 403 with an empty body for every close
/// before accept (and the raw app's receive() then gives websocket.disconnect 1006); the
/// apps' own status, headers and whole body for the responses. FastAPI's route with its
/// parameters right: its JSON message, then a close 1000.
#[test]
fn handshakes_are_denied_with_403_or_the_apps_own_response() {
    let s = start("ws_asgi_app:app", &[]);
    let r = client(&s, &["refused:/deny", "refused:/deny-response"]);
    assert_eq!(
        (&r[0]["status"], &r[0]["body"]),
        (&json!(403), &json!("")),
        "{r:?}"
    );
    s.wait_log("ws-app: denied; then websocket.disconnect 1006", T);
    assert_eq!(r[1]["status"], 418, "{r:?}");
    assert_eq!(r[1]["body"], "no websockets for teapots", "{r:?}");
    assert_eq!(r[1]["denied_by"], "ws_asgi_app", "{r:?}");

    let s = start("ws_starlette_app:app", &[]);
    let r = client(&s, &["refused:/deny", "refused:/deny-response"]);
    assert_eq!(
        (&r[0]["status"], &r[0]["body"]),
        (&json!(403), &json!("")),
        "{r:?}"
    );
    assert_eq!(r[1]["status"], 401, "{r:?}");
    assert_eq!(r[1]["body"], "starlette says no", "{r:?}");
    assert_eq!(r[1]["denied_by"], "starlette", "{r:?}");

    let s = start("ws_fastapi_app:app", &[]);
    let r = client(
        &s,
        &[
            "refused:/deny",
            "refused:/items/3",
            "refused:/items/x?token=t",
            "first:/items/3?token=t",
        ],
    );
    for denied in &r[..3] {
        assert_eq!(denied["status"], 403, "{r:?}");
    }
    let item: Value = serde_json::from_str(r[3]["answer"].as_str().unwrap()).unwrap();
    assert_eq!(item, json!({"item_id": 3, "token": "t"}));
    assert_eq!(r[3]["code"], 1000, "{r:?}");
}

/// Input: each app raising after accept (the `raise` command). Answer: the client gets a
/// close 1011, the log the traceback's last line; the worker serves on. Input: the raw
/// app raising before accept, and returning before accept. Answer: 500 each, with the
/// traceback, or a line saying it returned without accepting.
#[test]
fn an_app_that_raises_closes_with_1011_after_accept_and_is_a_500_before() {
    for (app, line) in [
        (
            "ws_asgi_app:app",
            "RuntimeError: the websocket test app raised after accept",
        ),
        (
            "ws_starlette_app:app",
            "RuntimeError: the starlette endpoint raised after accept",
        ),
        (
            "ws_fastapi_app:app",
            "RuntimeError: the fastapi endpoint raised after accept",
        ),
    ] {
        let s = start(app, &[]);
        let r = one(&s, "command:raise");
        assert_eq!(r["code"], 1011, "{app}: {r}");
        s.wait_log("WebSocket /echo: the ASGI app raised", T);
        s.wait_log(line, T);
        assert_eq!(one(&s, "command:on")["answer"], "on", "{app}");
    }
    let s = start("ws_asgi_app:app", &[]);
    let r = client(
        &s,
        &[
            "refused:/raise-before-accept",
            "refused:/return-before-accept",
        ],
    );
    assert_eq!(
        (&r[0]["status"], &r[1]["status"]),
        (&json!(500), &json!(500)),
        "{r:?}"
    );
    s.wait_log(
        "RuntimeError: the websocket test app raised before accept",
        T,
    );
    s.wait_log(
        "the ASGI app returned without accepting or denying the WebSocket",
        T,
    );
}

/// Input: the raw app asked for 400 binary messages of 64 KiB (25 MiB in all) by a
/// client that reads them as they come. Answer: every one, in order: the app's sends
/// waited for room (back-pressure) instead of failing or dropping any.
#[test]
fn sends_wait_for_a_slow_client_and_lose_nothing() {
    let s = start("ws_asgi_app:app", &[]);
    let r = one(&s, "flood:400:65536");
    assert_eq!(r["in_order"], 400, "{r}");
}

/// Input: SIGTERM to the server while a client holds a WebSocket open (the raw app waits
/// in receive()). Answer: the client gets the host's close 1001, the app's receive() gives
/// websocket.disconnect 1001, and the server exits cleanly once the app returned.
#[test]
fn a_graceful_stop_closes_open_websockets_with_1001() {
    let mut s = start("ws_asgi_app:app", &[]);
    let held = client_command(&s, &["hold"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run the venv's python");
    s.wait_log("ws-app: accepted /echo", T);
    s.signal(libc::SIGTERM);
    let r = results(&s, &["hold"], held.wait_with_output().unwrap());
    assert_eq!(r[0]["code"], 1001, "{r:?}");
    s.wait_log("ws-app: disconnect 1001", T);
    assert!(s.wait_exit(T).success(), "{}", s.log());
}

/// Input: `--websocket-ping-interval 0` (no pings from the host) and 50 connections, one
/// after the other, each sending a message as soon as its handshake completed. Answer:
/// each message echoed.
///
/// Host bug (ABI 0.2.4, 470e2c9): `ExchangeState::upgrade` queues the 101 (`start`, which
/// notifies the loop) and only then, under a second lock, sets `inner.duplex`, without a
/// notify. When the loop writes the 101 and reads the client's first frame in between,
/// the frame is taken as bytes after the request (it stays in the read buffer), and
/// nothing feeds it to the session until the next notify: the host's next ping (20 s by
/// default), never with pings off. Seen here as a message never echoed (the client gives
/// up after 60 s).
#[test]
fn messages_sent_right_after_the_handshake_are_read() {
    let s = start("ws_asgi_app:app", &["--websocket-ping-interval", "0"]);
    let r = one(&s, "right_away:50");
    assert_eq!(r["echoed"], 50, "{r}");
}
