use std::io::Read;

use rsgi_e2e::{get, try_request, Client, Server};

#[test]
fn get_round_trip_returns_the_app_body() {
    let s = Server::start(&["--module", "app"]);
    let r = get(s.addr, "/");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "Hello, World!");
    assert_eq!(r.header("content-length"), Some("13"));
    assert!(r.header("date").is_some());
    assert_eq!(r.header("server"), Some("rsgi"));
}

#[test]
fn post_body_is_echoed_byte_for_byte() {
    let s = Server::start(&["--module", "app"]);
    let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let r = try_request(
        s.addr,
        "POST",
        "/echo",
        &[("Content-Type", "application/octet-stream")],
        &body,
    )
    .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.body, body);
}

#[test]
fn a_hundred_sequential_requests_share_one_keepalive_connection() {
    let s = Server::start(&["--module", "app"]);
    let mut c = Client::connect(s.addr).unwrap();
    for i in 0..100 {
        let body = format!("request {i}");
        let r = c.request("POST", "/echo", &[], body.as_bytes()).unwrap();
        assert_eq!(r.status, 200, "request {i}");
        assert_eq!(r.text(), body);
        assert_ne!(r.header("connection"), Some("close"));
    }
}

#[test]
fn http10_keeps_alive_only_when_asked() {
    let s = Server::start(&["--module", "app"]);
    let mut c = Client::connect(s.addr).unwrap();
    c.send_raw(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        .unwrap();
    let r = c.read_response(false).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("connection")
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("keep-alive")
    );
    c.send_raw(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let r = c.read_response(false).unwrap();
    assert_eq!(r.text(), "Hello, World!");
    // Without keep-alive the server closes after the response.
    let mut rest = Vec::new();
    assert_eq!(c.stream().read_to_end(&mut rest).unwrap(), 0);
}

#[test]
fn head_request_gets_headers_without_a_body() {
    let s = Server::start(&["--module", "app"]);
    let mut c = Client::connect(s.addr).unwrap();
    let r = c.request("HEAD", "/", &[], b"").unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some("13"));
    // The connection is still usable: no stray body bytes were sent.
    let r = c.request("GET", "/", &[], b"").unwrap();
    assert_eq!(r.text(), "Hello, World!");
}

#[test]
fn generator_response_is_sent_chunked() {
    let s = Server::start(&["--module", "app"]);
    let r = get(s.addr, "/stream");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    assert_eq!(r.text(), "chunk0\nchunk1\nchunk2\nchunk3\nchunk4\n");
}

#[test]
fn app_exception_gives_500_traceback_and_the_worker_keeps_serving() {
    let s = Server::start(&["--module", "app"]);
    let mut c = Client::connect(s.addr).unwrap();
    let r = c.request("GET", "/raise", &[], b"").unwrap();
    assert_eq!(r.status, 500);
    s.wait_log(
        "RuntimeError: boom from the test app",
        std::time::Duration::from_secs(5),
    );
    s.wait_log("Traceback", std::time::Duration::from_secs(30));
    let r = get(s.addr, "/");
    assert_eq!(r.status, 200);
}

#[test]
fn header_with_crlf_from_the_app_is_a_500_not_a_split_response() {
    let s = Server::start(&["--module", "app"]);
    let mut c = Client::connect(s.addr).unwrap();
    c.send_raw(b"GET /badheader HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let r = c.read_response(false).unwrap();
    assert_eq!(r.status, 500);
    assert!(r.header("x-injected").is_none());
    assert!(!r.text().contains("should not be sent"));
    assert_eq!(get(s.addr, "/").status, 200);
}

#[test]
fn two_workers_both_serve() {
    let s = Server::start(&["--module", "app", "--processes", "2"]);
    s.wait_log("spawned worker 2", std::time::Duration::from_secs(10));
    let pids = rsgi_e2e::distinct_bodies(s.addr, "/pid", 4, 100, 2);
    assert_eq!(pids.len(), 2, "only saw {pids:?}");
}

#[test]
fn environ_carries_request_facts() {
    let s = Server::start(&["--module", "app"]);
    let r = try_request(
        s.addr,
        "GET",
        "/environ?a=1&b=%20",
        &[("X-Test", "yes")],
        b"",
    )
    .unwrap();
    let t = r.text();
    for expected in [
        r#""REQUEST_METHOD": "GET""#,
        r#""PATH_INFO": "/environ""#,
        r#""QUERY_STRING": "a=1&b=%20""#,
        r#""SERVER_PROTOCOL": "HTTP/1.1""#,
        r#""REMOTE_ADDR": "127.0.0.1""#,
        r#""HTTP_X_TEST": "yes""#,
        r#""wsgi.url_scheme": "http""#,
        r#""wsgi.multiprocess": false"#,
    ] {
        assert!(t.contains(expected), "{expected} missing in {t}");
    }
}

/// Input: 1 worker (one thread) busy with a 5-second request A while two 6-second
/// requests B and C wait in the listen queue; once the worker is in B, SIGTTIN adds a
/// worker.
/// Answer: B and C are answered by different workers: the first worker, back from A,
/// takes one queued connection (B), not every queued one, so C is left to the new worker
/// instead of waiting behind B.
#[test]
fn a_worker_takes_one_queued_connection_at_a_time() {
    use std::time::{Duration, Instant};
    const T: Duration = Duration::from_secs(30);
    let s = Server::start(&["--module", "app", "--log-requests"]);
    let addr = s.addr;
    let a = std::thread::spawn(move || get(addr, "/slow?5"));
    s.wait_log_count("app: slow request started", 1, T);
    let queued: Vec<_> = (0..2)
        .map(|_| std::thread::spawn(move || get(addr, "/slow?6")))
        .collect();
    // Both wait in the queue while A runs (two local connections: A lasts far longer).
    rsgi_e2e::wait_accept_queue(addr.port(), 2, T);
    assert_eq!(a.join().unwrap().status, 200);
    // The worker is in B: C waits in the queue, for the worker added now.
    s.wait_log_count("app: slow request started", 2, T);
    s.signal(libc::SIGTTIN);
    for request in queued {
        let r = request.join().unwrap();
        assert_eq!((r.status, r.text().as_str()), (200, "slept 6.0"));
    }
    // Each worker writes its request lines when its loop next waits: poll for both.
    let deadline = Instant::now() + T;
    loop {
        let log = s.log();
        let workers: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("\"GET /slow?6 HTTP/1.1\" 200"))
            .filter_map(|l| l.rsplit(' ').next())
            .collect();
        if workers.len() == 2 {
            assert_ne!(workers[0], workers[1], "{log}");
            break;
        }
        assert!(Instant::now() < deadline, "{log}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
