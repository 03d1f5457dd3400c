//! PEP 3333 end to end: environ, wsgi.input, start_response, response iterables, close(),
//! wsgi.file_wrapper, mountpoints, and every test app under `wsgiref.validate`.
//! The apps are `tests/apps/wsgi_app.py` and `tests/apps/validated.py`.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rsgi_e2e::{
    free_port, get, read_response, rsgi_command, try_request, uwsgi_packet, venv, Client, Response,
    Server,
};

const LOG_WAIT: Duration = Duration::from_secs(5);

fn wsgi_server() -> Server {
    Server::start(&["--module", "wsgi_app"])
}

/// The raw JSON text of `"key": <value>` in `text` (a flat value: string, number, bool).
fn field<'t>(text: &'t str, key: &str) -> &'t str {
    let needle = format!("\"{key}\": ");
    let start = text
        .find(&needle)
        .unwrap_or_else(|| panic!("{key} missing in {text}"))
        + needle.len();
    let rest = &text[start..];
    let end = if let Some(quoted) = rest.strip_prefix('"') {
        quoted.find('"').map(|i| i + 2).unwrap()
    } else {
        rest.find([',', '}', ']']).unwrap()
    };
    &rest[..end]
}

pub(crate) fn sha256_hex(data: &[u8]) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sha256sum");
    let mut stdin = child.stdin.take().unwrap();
    let data = data.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_string()
}

/// `len` pseudo-random bytes with a newline now and then (lines of 0 to ~500 bytes).
pub(crate) fn payload(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if x.is_multiple_of(256) {
                b'\n'
            } else {
                (x >> 24) as u8
            }
        })
        .collect()
}

/// Sends `body` with `Transfer-Encoding: chunked`, in chunks of varying sizes.
fn post_chunked(addr: std::net::SocketAddr, path: &str, body: &[u8]) -> Response {
    let mut c = Client::connect(addr).unwrap();
    c.send_raw(
        format!("POST {path} HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n").as_bytes(),
    )
    .unwrap();
    let sizes = [1usize, 7, 4096, 65536, 100_000, 13, 300_000];
    let mut rest = body;
    let mut i = 0;
    while !rest.is_empty() {
        let n = sizes[i % sizes.len()].min(rest.len());
        let mut frame = format!("{n:x}\r\n").into_bytes();
        frame.extend_from_slice(&rest[..n]);
        frame.extend_from_slice(b"\r\n");
        c.send_raw(&frame).unwrap();
        rest = &rest[n..];
        i += 1;
    }
    c.send_raw(b"0\r\n\r\n").unwrap();
    c.read_response(false).unwrap()
}

#[test]
fn environ_has_every_pep3333_and_cgi_variable() {
    let s = wsgi_server();
    let mut c = Client::connect(s.addr).unwrap();
    c.send_raw(
        b"POST /environ?a=1&b=%20&c=%C3%A9 HTTP/1.1\r\nHost: example.test:8080\r\n\
          Content-Type: text/plain; charset=latin-1\r\nContent-Length: 3\r\n\
          Accept: text/html\r\naccept: application/json\r\n\
          Cookie: a=1\r\nCookie: b=2\r\nX-Latin: caf\xe9\r\n\r\nabc",
    )
    .unwrap();
    let r = c.read_response(false).unwrap();
    assert_eq!(r.status, 200, "{}", s.log());
    let t = r.text();
    let port = s.addr.port().to_string();
    for (key, value) in [
        ("REQUEST_METHOD", "\"POST\""),
        ("SCRIPT_NAME", "\"\""),
        ("PATH_INFO", "\"/environ\""),
        ("QUERY_STRING", "\"a=1&b=%20&c=%C3%A9\""),
        ("REQUEST_URI", "\"/environ?a=1&b=%20&c=%C3%A9\""),
        ("CONTENT_TYPE", "\"text/plain; charset=latin-1\""),
        ("CONTENT_LENGTH", "\"3\""),
        ("SERVER_NAME", "\"127.0.0.1\""),
        ("SERVER_PORT", &format!("\"{port}\"")),
        ("SERVER_PROTOCOL", "\"HTTP/1.1\""),
        ("REMOTE_ADDR", "\"127.0.0.1\""),
        ("HTTP_HOST", "\"example.test:8080\""),
        ("HTTP_ACCEPT", "\"text/html, application/json\""),
        ("HTTP_COOKIE", "\"a=1; b=2\""),
        // latin-1 bytes arrive as the code points of the same number (json escapes them).
        ("HTTP_X_LATIN", "\"caf\\u00e9\""),
        ("wsgi.url_scheme", "\"http\""),
        ("wsgi.multithread", "false"),
        ("wsgi.multiprocess", "false"),
        ("wsgi.run_once", "false"),
        ("wsgi.input_terminated", "true"),
        ("wsgi.errors is sys.stderr", "true"),
    ] {
        assert_eq!(field(&t, key), value, "{key} in {t}");
    }
    let remote_port: u16 = field(&t, "REMOTE_PORT").trim_matches('"').parse().unwrap();
    assert_ne!(remote_port, 0);
    assert!(t.contains(r#""wsgi.version": [1, 0]"#), "{t}");
    assert!(
        t.contains(r#""wsgi.input callables": ["__iter__", "read", "readline", "readlines"]"#),
        "{t}"
    );
    assert!(
        t.contains(r#""wsgi.file_wrapper callables": ["__iter__", "close"]"#),
        "{t}"
    );
    // Every CGI value is a str, and no HTTP_CONTENT_* duplicates exist.
    assert!(t.contains(r#""types": ["str"]"#), "{t}");
    assert!(!t.contains("HTTP_CONTENT_TYPE") && !t.contains("HTTP_CONTENT_LENGTH"));
}

/// Starts rsgi on a uwsgi-protocol socket (as behind nginx) and waits until it answers.
fn uwsgi_server(args: &[&str]) -> Server {
    let addr: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let mut full = vec!["--plugin", "python", "--socket"];
    let socket = addr.to_string();
    full.push(&socket);
    full.extend_from_slice(args);
    let s = Server::spawn(rsgi_command().args(&full), addr);
    let deadline = Instant::now() + Duration::from_secs(30);
    while uwsgi_get(addr, &[("PATH_INFO", "/list")]).is_err() {
        assert!(Instant::now() < deadline, "not ready: {}", s.log());
        std::thread::sleep(Duration::from_millis(30));
    }
    s
}

/// A GET over the uwsgi protocol with nginx's usual vars, `extra` added.
fn uwsgi_get(addr: std::net::SocketAddr, extra: &[(&str, &str)]) -> std::io::Result<Response> {
    let mut vars = vec![
        ("REQUEST_METHOD", "GET"),
        ("QUERY_STRING", ""),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("SERVER_NAME", "front.example"),
        ("SERVER_PORT", "443"),
        ("REMOTE_ADDR", "10.1.2.3"),
        ("REMOTE_PORT", "40000"),
    ];
    vars.extend_from_slice(extra);
    let mut stream = std::net::TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    stream.write_all(&uwsgi_packet(&vars, b""))?;
    read_response(&mut std::io::BufReader::new(stream), false)
}

#[test]
fn over_uwsgi_only_the_unprefixed_content_variables_reach_the_app() {
    let s = uwsgi_server(&["--module", "wsgi_app"]);
    let r = uwsgi_get(
        s.addr,
        &[
            ("REQUEST_URI", "/environ"),
            ("PATH_INFO", "/environ"),
            ("CONTENT_TYPE", "text/plain"),
            ("CONTENT_LENGTH", ""),
            ("HTTP_CONTENT_TYPE", "text/plain"),
            ("HTTP_CONTENT_LENGTH", "0"),
            ("HTTP_HOST", "front.example"),
            ("HTTPS", "on"),
        ],
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", s.log());
    let t = r.text();
    assert_eq!(field(&t, "CONTENT_TYPE"), "\"text/plain\"");
    assert_eq!(field(&t, "HTTP_HOST"), "\"front.example\"");
    assert_eq!(field(&t, "SERVER_NAME"), "\"front.example\"");
    assert_eq!(field(&t, "REMOTE_ADDR"), "\"10.1.2.3\"");
    assert_eq!(field(&t, "wsgi.url_scheme"), "\"https\"");
    assert!(
        !t.contains("HTTP_CONTENT_TYPE") && !t.contains("HTTP_CONTENT_LENGTH"),
        "{t}"
    );
}

#[test]
fn over_uwsgi_the_front_servers_script_name_picks_the_mount() {
    let s = uwsgi_server(&["--module", "wsgi_app", "--mount", "/one=wsgi_app:second"]);
    let r = uwsgi_get(
        s.addr,
        &[
            ("REQUEST_URI", "/one/x"),
            ("SCRIPT_NAME", "/one"),
            ("PATH_INFO", "/x"),
        ],
    )
    .unwrap();
    assert_eq!(
        r.text(),
        r#"{"app": "second", "SCRIPT_NAME": "/one", "PATH_INFO": "/x"}"#
    );
    let r = uwsgi_get(
        s.addr,
        &[("REQUEST_URI", "/where"), ("PATH_INFO", "/where")],
    )
    .unwrap();
    assert_eq!(
        r.text(),
        r#"{"app": "root", "SCRIPT_NAME": "", "PATH_INFO": "/where"}"#
    );
}

#[test]
fn path_info_is_percent_decoded_as_latin1() {
    let s = wsgi_server();
    let r = get(s.addr, "/where%2Fnot?x=%41");
    // %2F decodes to "/" too, so this is not /where: the app's 404 names the decoded path.
    assert_eq!(r.status, 404);
    assert_eq!(r.text(), "no route /where/not");
    let r = get(s.addr, "/caf%C3%A9%20x");
    // UTF-8 bytes C3 A9 become two latin-1 code points, as PEP 3333 requires.
    assert_eq!(r.body, b"no route /caf\xc3\xa9 x");
    let r = get(s.addr, "/environ?q=%2F");
    assert_eq!(field(&r.text(), "QUERY_STRING"), "\"q=%2F\"");
}

#[test]
fn wsgi_input_file_api_reads_sizes_lines_and_past_the_end() {
    let s = wsgi_server();
    let r = try_request(
        s.addr,
        "POST",
        "/input/api",
        &[],
        b"one\ntwo\nthree\nfour\nfive\nrest",
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", s.log());
    assert_eq!(
        r.text(),
        r#"["on", "e\n", "tw", "o\n", ["three\n"], ["four\n", "five\n", "rest"], "", "", ""]"#
    );
    let r = try_request(s.addr, "POST", "/input/iter", &[], b"a\n\nb\nlast").unwrap();
    assert_eq!(r.text(), r#"["a\n", "\n", "b\n", "last"]"#);
    let r = try_request(s.addr, "POST", "/input/iter", &[], b"").unwrap();
    assert_eq!(r.text(), "[]");
}

#[test]
fn a_10_mb_upload_reads_the_same_by_read_readline_and_iteration() {
    let s = wsgi_server();
    let body = payload(10 * 1024 * 1024);
    let expected = sha256_hex(&body);
    let mut c = Client::connect(s.addr).unwrap();
    for mode in ["read", "readline", "iter", "read_n"] {
        let r = c
            .request("POST", &format!("/input/digest?{mode}"), &[], &body)
            .unwrap();
        assert_eq!(r.status, 200, "{mode}: {}", s.log());
        let t = r.text();
        assert_eq!(field(&t, "sha256"), format!("\"{expected}\""), "{mode}");
        assert_eq!(field(&t, "length"), body.len().to_string(), "{mode}");
        assert_eq!(field(&t, "after the end"), "\"\"", "{mode}");
    }
}

#[test]
fn a_chunked_request_body_reaches_the_app_whole() {
    let s = wsgi_server();
    let body = payload(3 * 1024 * 1024 + 17);
    let expected = format!("\"{}\"", sha256_hex(&body));
    for mode in ["read", "readline", "iter"] {
        let r = post_chunked(s.addr, &format!("/input/digest?{mode}"), &body);
        assert_eq!(r.status, 200, "{mode}: {}", s.log());
        let t = r.text();
        assert_eq!(field(&t, "sha256"), expected, "{mode}");
        assert_eq!(field(&t, "length"), body.len().to_string());
        // No length is known up front: CONTENT_LENGTH is absent, the input ends by itself.
        assert_eq!(field(&t, "CONTENT_LENGTH"), "null");
    }
}

#[test]
fn a_48_mb_streamed_upload_keeps_the_worker_memory_bounded() {
    let s = wsgi_server();
    let body = payload(48 * 1024 * 1024);
    let r = post_chunked(s.addr, "/input/memory", &body);
    assert_eq!(r.status, 200, "{}", s.log());
    let t = r.text();
    assert_eq!(field(&t, "length"), body.len().to_string());
    let before: u64 = field(&t, "maxrss_kib_before").parse().unwrap();
    let after: u64 = field(&t, "maxrss_kib_after").parse().unwrap();
    // The body is never held whole: the peak grows by far less than its 48 MiB.
    assert!(
        after - before < 8 * 1024,
        "peak RSS grew from {before} to {after} KiB"
    );
}

#[test]
fn the_write_callable_sends_before_the_returned_iterable() {
    let s = wsgi_server();
    let r = get(s.addr, "/write");
    assert_eq!(r.status, 200, "{}", s.log());
    assert_eq!(r.text(), "written twice, then returned");
}

#[test]
fn exc_info_before_the_head_replaces_it() {
    let s = wsgi_server();
    let r = get(s.addr, "/exc_info/before");
    assert_eq!(r.status, 503, "{}", s.log());
    assert_eq!(r.header("x-replaced"), Some("yes"));
    assert_eq!(r.text(), "replaced");
}

#[test]
fn exc_info_after_the_head_reraises_and_cuts_the_response() {
    let s = wsgi_server();
    let mut c = Client::connect(s.addr).unwrap();
    c.send_raw(b"GET /exc_info/after HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    // The 200 head and the first chunk went out; then the connection is closed without
    // the final chunk, so the client sees an incomplete response, not a complete one.
    let mut raw = Vec::new();
    c.stream().read_to_end(&mut raw).unwrap();
    let raw = String::from_utf8_lossy(&raw);
    assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
    assert!(raw.contains("partial "), "{raw}");
    assert!(
        !raw.contains("never sent") && !raw.ends_with("0\r\n\r\n"),
        "{raw}"
    );
    s.wait_log("KeyError: 'after the head went out'", LOG_WAIT);
    assert_eq!(get(s.addr, "/list").status, 200);
}

#[test]
fn a_bad_status_or_header_is_a_500_with_the_reason_logged() {
    let s = wsgi_server();
    for (path, reason) in [
        ("/bad/status", "ValueError: invalid status 'OK 200'"),
        (
            "/bad/header-lf",
            "ValueError: invalid value for response header 'X-Split'",
        ),
        (
            "/bad/header-name",
            "ValueError: invalid response header name 'X Space'",
        ),
        (
            "/bad/body",
            "the app's response contained a str where bytes were expected",
        ),
    ] {
        let mut c = Client::connect(s.addr).unwrap();
        c.send_raw(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
            .unwrap();
        let r = c.read_response(false).unwrap();
        assert_eq!(r.status, 500, "{path}");
        assert!(r.header("injected").is_none(), "{path}");
        assert!(!r.text().contains("not sent"), "{path}");
        s.wait_log(reason, LOG_WAIT);
    }
    assert_eq!(get(s.addr, "/list").status, 200);
}

#[test]
fn a_list_response_is_sized_and_a_1000_chunk_generator_arrives_complete() {
    let s = wsgi_server();
    let r = get(s.addr, "/list");
    assert_eq!(r.header("content-length"), Some("2000"));
    assert_eq!(r.header("transfer-encoding"), None);
    assert_eq!(r.body, [vec![b'a'; 1000], vec![b'b'; 1000]].concat());
    let r = get(s.addr, "/generator");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    let expected: String = (0..1000).map(|i| format!("chunk {i:04}\n")).collect();
    assert_eq!(r.text(), expected);
}

#[test]
fn close_is_called_exactly_once_on_success_error_and_client_disconnect() {
    let s = wsgi_server();
    assert_eq!(get(s.addr, "/close/ok").text(), "abc");
    // An iterable that raises mid-body: the head is out, so the connection is cut.
    let cut = try_request(s.addr, "GET", "/close/raise", &[], b"");
    assert!(cut.is_err() || cut.unwrap().text() != "abc");
    s.wait_log("the body of raise failed on purpose", LOG_WAIT);

    // A client that hangs up while a slow generator streams.
    let mut c = Client::connect(s.addr).unwrap();
    c.send_raw(b"GET /close/slow HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut got = vec![0u8; 200_000];
    c.stream().read_exact(&mut got).unwrap();
    assert!(got.starts_with(b"HTTP/1.1 200"));
    drop(c);

    // The next request waits for the one worker: it is served once the slow one was
    // abandoned, and shows close() was called once for each body (and the generator
    // stopped before its end, which is the proof that it was abandoned early).
    let counts = get(s.addr, "/close/counts").text();
    assert!(
        counts.starts_with(r#"{"closes": {"ok": 1, "raise": 1, "slow": 1}"#),
        "{counts}"
    );
    let produced: u32 = field(&counts, "slow").parse().unwrap();
    assert!(
        produced < 500,
        "the generator ran to its end ({produced} chunks) after the client left"
    );
    assert_eq!(get(s.addr, "/list").status, 200);
}

#[test]
fn file_wrapper_sends_a_5_mb_file_whole_with_its_length() {
    let s = Server::start(&["--module", "wsgi_app", "--log-level", "debug"]);
    let size = 5 * 1024 * 1024 + 3;
    let r = get(s.addr, &format!("/file?{size}"));
    assert_eq!(r.status, 200, "{}", s.log());
    // Sent as a sized file (sendfile), not as a chunked iteration of its blocks.
    assert_eq!(r.header("content-length"), Some(size.to_string().as_str()));
    assert_eq!(r.header("transfer-encoding"), None);
    assert_eq!(r.body.len(), size);
    assert!(r
        .body
        .iter()
        .enumerate()
        .all(|(i, &b)| b == (i % 251) as u8));
    s.wait_log(
        &format!("GET /file?{size}: sendfile of {size} bytes from offset 0"),
        LOG_WAIT,
    );
    let r = get(s.addr, "/file/seeked");
    assert_eq!(r.header("content-length"), Some("10"));
    assert_eq!(
        r.body,
        (990..1000).map(|i| (i % 251) as u8).collect::<Vec<_>>()
    );
    s.wait_log(
        "GET /file/seeked: sendfile of 10 bytes from offset 990",
        LOG_WAIT,
    );
}

#[test]
fn mounts_pick_the_longest_prefix_and_split_script_name() {
    let s = Server::start(&[
        "--module",
        "wsgi_app",
        "--mount",
        "/one=wsgi_app:second",
        "--mount",
        "/one/two/=wsgi_app:third",
        "--manage-script-name",
    ]);
    for (path, app, script_name, path_info) in [
        ("/one/two/x/y?q=1", "third", "/one/two", "/x/y"),
        ("/one/two", "third", "/one/two", ""),
        ("/one/twox", "second", "/one", "/twox"),
        ("/one/%74wo/z", "third", "/one/two", "/z"),
        ("/one", "second", "/one", ""),
        ("/where", "root", "", "/where"),
    ] {
        let expected = format!(
            r#"{{"app": "{app}", "SCRIPT_NAME": "{script_name}", "PATH_INFO": "{path_info}"}}"#
        );
        assert_eq!(get(s.addr, path).text(), expected, "{path}");
    }
    // A prefix matches whole segments only: /onex is the root app's (which has no route).
    assert_eq!(get(s.addr, "/onex/where").text(), "no route /onex/where");
}

#[test]
fn without_manage_script_name_the_root_app_gets_the_whole_path() {
    let s = Server::start(&["--module", "wsgi_app", "--mount", "/where=wsgi_app:second"]);
    let t = get(s.addr, "/where").text();
    assert_eq!(
        t,
        r#"{"app": "root", "SCRIPT_NAME": "", "PATH_INFO": "/where"}"#
    );
}

#[test]
fn a_path_no_mount_serves_is_a_404() {
    let s = Server::start(&[
        "--mount",
        "/a=wsgi_app:second",
        "--mount",
        "/b=wsgi_app:third",
        "--manage-script-name",
    ]);
    assert!(
        s.log().contains("at '/a'") && s.log().contains("at '/b'"),
        "{}",
        s.log()
    );
    assert_eq!(
        get(s.addr, "/b/x").text(),
        r#"{"app": "third", "SCRIPT_NAME": "/b", "PATH_INFO": "/x"}"#
    );
    let r = get(s.addr, "/c");
    assert_eq!(r.status, 404);
    s.wait_log("GET /c: no app is mounted for this path", LOG_WAIT);
}

#[test]
fn every_test_app_passes_wsgiref_validator() {
    let venv = venv();
    let mut args = vec!["--module", "validated"];
    for mount in [
        "/wsgi=validated:wsgi_app",
        "/second=validated:wsgi_second",
        "/other=validated:other_app",
        "/custom=validated:other_custom",
        "/threaded=validated:threaded",
        "/venv=validated:venv_app",
        "/site=validated:site_wsgi",
    ] {
        args.extend(["--mount", mount]);
    }
    args.extend([
        "--manage-script-name",
        "--virtualenv",
        venv.to_str().unwrap(),
    ]);
    let s = Server::start(&args);
    let body = payload(300_000);
    let mut c = Client::connect(s.addr).unwrap();
    for (method, path, body, status, expect) in [
        ("GET", "/", &b""[..], 200, "Hello, World!"),
        ("POST", "/echo", b"validated echo", 200, "validated echo"),
        ("GET", "/stream", b"", 200, "chunk4"),
        ("GET", "/environ?x=1", b"", 200, "\"QUERY_STRING\": \"x=1\""),
        ("GET", "/pid", b"", 200, ""),
        (
            "GET",
            "/wsgi/environ",
            b"",
            200,
            "\"SCRIPT_NAME\": \"/wsgi\"",
        ),
        ("GET", "/wsgi/list", b"", 200, "aaaa"),
        ("GET", "/wsgi/generator", b"", 200, "chunk 0999"),
        (
            "GET",
            "/wsgi/write",
            b"",
            200,
            "written twice, then returned",
        ),
        ("GET", "/wsgi/exc_info/before", b"", 503, "replaced"),
        ("GET", "/wsgi/close/ok", b"", 200, "abc"),
        ("GET", "/wsgi/file?100000", b"", 200, ""),
        (
            "POST",
            "/wsgi/input/digest?read_n",
            &body,
            200,
            "\"length\": 300000",
        ),
        (
            "POST",
            "/wsgi/input/digest?readline",
            &body,
            200,
            "\"length\": 300000",
        ),
        (
            "POST",
            "/wsgi/input/digest?iter",
            &body,
            200,
            "\"length\": 300000",
        ),
        ("GET", "/second/x", b"", 200, "\"PATH_INFO\": \"/x\""),
        ("GET", "/other", b"", 200, "callable app"),
        ("GET", "/custom", b"", 200, "callable custom"),
        ("GET", "/threaded", b"", 200, " False 1"),
        ("GET", "/venv", b"", 200, "from-venv"),
        ("GET", "/site", b"", 200, "from a wsgi file"),
    ] {
        let r = c.request(method, path, &[], body).unwrap();
        assert_eq!(r.status, status, "{method} {path}: {}", s.log());
        assert!(r.text().contains(expect), "{path}: {}", r.text());
    }
    drop(c);
    // The validator raises AssertionError (a 500, or a message from __del__) and warns
    // with WSGIWarning; neither may appear.
    assert_eq!(get(s.addr, "/").status, 200);
    let log = s.log();
    assert!(!log.contains("AssertionError"), "{log}");
    assert!(!log.contains("WSGIWarning"), "{log}");
    assert!(!log.contains("Traceback"), "{log}");
}

/// Hangs up on `/write/slow` (the legacy write() callable, 2 MB slowly) after its head
/// and first bytes; returns how the app's writes ended (`/write/outcome`).
fn write_outcome_after_hang_up(s: &Server) -> String {
    let mut c = Client::connect(s.addr).unwrap();
    c.send_raw(b"GET /write/slow HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut got = vec![0u8; 20_000];
    c.stream().read_exact(&mut got).unwrap();
    assert!(got.starts_with(b"HTTP/1.1 200"));
    drop(c);
    // One worker: this waits for the slow response to end.
    get(s.addr, "/write/outcome").text()
}

/// Input: a client that hangs up while the app streams with write(), without and with
/// `--disable-write-exception --ignore-write-errors`.
/// Answer: by default write() raises OSError in the app and the cut request is logged at
/// info; with the options write() returns quietly (the app writes to its end, the bytes
/// dropped), nothing is logged at info, and the next request is served alike.
#[test]
fn write_to_a_client_that_went_away_raises_unless_disabled() {
    let s = wsgi_server();
    assert_eq!(write_outcome_after_hang_up(&s), "raised OSError");
    s.wait_log("GET /write/slow: ", LOG_WAIT);
    drop(s);

    let s = Server::start(&[
        "--module",
        "wsgi_app",
        "--disable-write-exception",
        "--ignore-write-errors",
    ]);
    assert_eq!(write_outcome_after_hang_up(&s), "finished");
    assert!(!s.log().contains("GET /write/slow"), "{}", s.log());
}

/// Input: `--wsgi-disable-file-wrapper` (uWSGI's option of that name); the environ route.
/// Answer: the environ has no `wsgi.file_wrapper` (nothing callable under the key), and
/// `wsgi.input` is there as always.
#[test]
fn wsgi_disable_file_wrapper_leaves_it_out_of_the_environ() {
    let s = Server::start(&["--module", "wsgi_app", "--wsgi-disable-file-wrapper"]);
    let t = get(s.addr, "/environ").text();
    assert!(t.contains(r#""wsgi.file_wrapper callables": []"#), "{t}");
    assert!(
        t.contains(r#""wsgi.input callables": ["__iter__", "read", "readline", "readlines"]"#),
        "{t}"
    );
}
