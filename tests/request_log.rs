//! `--log-requests`: one line per request, over HTTP and the uwsgi protocol; `--log-4xx`
//! and `--log-5xx`: lines for error answers only.

use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use rsgi_e2e::{free_port, get, read_response, uwsgi_packet, Client, Server};

const T: Duration = Duration::from_secs(20);

/// The log's lines that contain `needle`.
fn lines_with(log: &str, needle: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains(needle))
        .map(str::to_string)
        .collect()
}

/// Input: `--log-requests --log-level warn`; a GET with a query (3-byte answer), a request the app raises
/// on, and a POST of 12 bytes.
/// Answer: one line per request after its response, with the client, the request line,
/// the status (500 for the raise), the body bytes, a duration in ms and the worker; the
/// request lines pass at level warn, where the start-up lines do not.
#[test]
fn each_http_request_gets_one_line_with_status_bytes_and_duration() {
    let s = Server::start(&["--module", "app", "--log-requests", "--log-level", "warn"]);
    assert_eq!(get(s.addr, "/var?REQUEST_METHOD").status, 200);
    assert_eq!(get(s.addr, "/raise").status, 500);
    let mut post = Client::connect(s.addr).unwrap();
    let r = post.request("POST", "/echo", &[], b"twelve bytes").unwrap();
    assert_eq!((r.status, r.text().as_str()), (200, "twelve bytes"));

    s.wait_log("\"POST /echo HTTP/1.1\" 200 12 ", T);
    let log = s.log();
    let get_line = lines_with(&log, "\"GET /var?REQUEST_METHOD HTTP/1.1\"");
    assert_eq!(get_line.len(), 1, "{log}");
    assert!(
        get_line[0].contains(" INFO 127.0.0.1 \"GET /var?REQUEST_METHOD HTTP/1.1\" 200 3 "),
        "{log}"
    );
    assert!(get_line[0].ends_with(" ms worker 1"), "{log}");
    let ms = get_line[0].rsplit(' ').nth(3).unwrap();
    assert!(
        ms.parse::<f64>().is_ok(),
        "duration {ms:?} in {}",
        get_line[0]
    );
    let raised = lines_with(&log, "\"GET /raise HTTP/1.1\"");
    assert_eq!(raised.len(), 1, "{log}");
    assert!(raised[0].contains("\"GET /raise HTTP/1.1\" 500 "), "{log}");
    assert!(
        !log.contains("app loaded"),
        "info lines other than requests: {log}"
    );
}

/// Input: `--log-requests`; a request line that is not HTTP, then a good request on a new
/// connection. Answer: the garbage gets its 400 and a line with `"-"` for the request (it
/// was never parsed), beside the warn line that says why; the next request is served and
/// logged.
#[test]
fn a_request_the_host_refuses_is_logged_with_its_status() {
    let s = Server::start(&["--module", "app", "--log-requests"]);
    let mut c = Client::connect(s.addr).unwrap();
    c.send_raw(b"GARBAGE\r\n\r\n").unwrap();
    assert_eq!(c.read_response(false).unwrap().status, 400);
    assert_eq!(get(s.addr, "/").status, 200);
    s.wait_log("\"GET / HTTP/1.1\" 200 13 ", T);
    let log = s.log();
    assert_eq!(
        lines_with(&log, " INFO 127.0.0.1 \"-\" 400 0 ").len(),
        1,
        "{log}"
    );
    assert!(log.contains("bad request (400)"), "{log}");
}

/// Input: the same server without `--log-requests`. Answer: no request lines.
#[test]
fn without_the_option_requests_are_not_logged() {
    let s = Server::start(&["--module", "app"]);
    assert_eq!(get(s.addr, "/").status, 200);
    // A line the master writes after the request was served: anything logged for the
    // request is in by then.
    s.signal(libc::SIGTERM);
    s.wait_log("master exiting with status 0", T);
    assert!(!s.log().contains("\"GET / HTTP/1.1\""), "{}", s.log());
}

/// Sends a 200, an app 404 (`/var?NOPE`), garbage the host refuses with 400 and an app 500
/// (`/raise`) to a server started with `flags`, stops it and returns its log.
fn log_of_each_status(flags: &[&str]) -> String {
    let mut args = vec!["--module", "app"];
    args.extend_from_slice(flags);
    let s = Server::start(&args);
    assert_eq!(get(s.addr, "/").status, 200);
    assert_eq!(get(s.addr, "/var?NOPE").status, 404);
    let mut c = Client::connect(s.addr).unwrap();
    c.send_raw(b"GARBAGE\r\n\r\n").unwrap();
    assert_eq!(c.read_response(false).unwrap().status, 400);
    assert_eq!(get(s.addr, "/raise").status, 500);
    // Lines are written before the worker exits: all of them are in by this one.
    s.signal(libc::SIGTERM);
    s.wait_log("master exiting with status 0", T);
    s.log()
}

/// Input: `--log-4xx` alone; a 200, an app 404, garbage (400), an app 500.
/// Answer: request lines for the 404 and the 400 only.
#[test]
fn log_4xx_logs_only_requests_answered_with_a_client_error() {
    let log = log_of_each_status(&["--log-4xx"]);
    assert_eq!(
        lines_with(&log, "\"GET /var?NOPE HTTP/1.1\" 404 0 ").len(),
        1,
        "{log}"
    );
    assert_eq!(
        lines_with(&log, " INFO 127.0.0.1 \"-\" 400 0 ").len(),
        1,
        "{log}"
    );
    assert!(lines_with(&log, "\"GET / HTTP/1.1\"").is_empty(), "{log}");
    assert!(
        lines_with(&log, "\"GET /raise HTTP/1.1\"").is_empty(),
        "{log}"
    );
}

/// Input: `--log-5xx` alone (and then with `--log-4xx`); the same four requests.
/// Answer: a request line for the app's 500 only (and then for the 404, 400 and 500).
#[test]
fn log_5xx_logs_only_requests_answered_with_a_server_error() {
    let log = log_of_each_status(&["--log-5xx"]);
    assert_eq!(
        lines_with(&log, "\"GET /raise HTTP/1.1\" 500 ").len(),
        1,
        "{log}"
    );
    assert!(
        lines_with(&log, "\"GET /var?NOPE HTTP/1.1\"").is_empty(),
        "{log}"
    );
    assert!(lines_with(&log, " \"-\" 400 ").is_empty(), "{log}");
    assert!(lines_with(&log, "\"GET / HTTP/1.1\"").is_empty(), "{log}");

    let both = log_of_each_status(&["--log-4xx", "--log-5xx"]);
    for needle in [
        "\"GET /var?NOPE HTTP/1.1\" 404 ",
        " \"-\" 400 ",
        "\"GET /raise HTTP/1.1\" 500 ",
    ] {
        assert_eq!(lines_with(&both, needle).len(), 1, "{needle} in {both}");
    }
    assert!(lines_with(&both, "\"GET / HTTP/1.1\"").is_empty(), "{both}");
}

/// Input: a uwsgi packet from a client on 127.0.0.1 whose `REMOTE_ADDR` var says
/// 10.9.8.7 (as nginx passes the real client) and whose `REQUEST_URI` holds a quote and a
/// newline (the protocol carries any bytes), with a 3-byte body the app echoes.
/// Answer: one line naming 10.9.8.7, not the socket peer, with the quote and the newline
/// escaped (a request cannot forge a log line), status 200 and 3 body bytes.
#[test]
fn behind_nginx_the_line_names_remote_addr_and_escapes_the_uri() {
    let socket = format!("127.0.0.1:{}", free_port());
    let s = Server::start(&["--module", "app", "--socket", &socket, "--log-requests"]);
    let mut stream = TcpStream::connect(&socket).unwrap();
    stream.set_read_timeout(Some(T)).unwrap();
    let uri = "/echo?q=\"x\"\nINFO forged";
    let packet = uwsgi_packet(
        &[
            ("REQUEST_METHOD", "POST"),
            ("REQUEST_URI", uri),
            ("PATH_INFO", "/echo"),
            ("QUERY_STRING", "q=\"x\"\nINFO forged"),
            ("SERVER_PROTOCOL", "HTTP/1.1"),
            ("SERVER_NAME", "localhost"),
            ("SERVER_PORT", "80"),
            ("REMOTE_ADDR", "10.9.8.7"),
            ("CONTENT_LENGTH", "3"),
        ],
        b"abc",
    );
    stream.write_all(&packet).unwrap();
    let r = read_response(&mut BufReader::new(stream), false).unwrap();
    assert_eq!((r.status, r.text().as_str()), (200, "abc"));
    let expected = r#" INFO 10.9.8.7 "POST /echo?q=\"x\"\nINFO forged HTTP/1.1" 200 3 "#;
    s.wait_log(expected, T);
    let log = s.log();
    assert!(!log.lines().any(|l| l.starts_with("INFO forged")), "{log}");
}

/// Input: `--log-format` alone with Apache's combined format plus the worker, and a GET
/// with a `User-Agent`, a `Referer` and a quote in the query; then a format with uWSGI's
/// `%(cl)`, `%(rssM)`, `%(secs)`, `%(ctime)` and a 5-byte POST; then a server started
/// with an unknown placeholder.
/// Answer: request logging is on, each line is exactly the format filled in (no time or
/// level in front, the quote escaped); the second line has cl=5, the worker's resident MiB,
/// the seconds and the date; the unknown placeholder stops the start with exit 2 and a line
/// naming it.
#[test]
fn log_format_writes_the_line_in_the_given_shape() {
    let format = "%(addr) - %(user) [%(ltime)] \"%(method) %(uri) %(proto)\" %(status) %(size) \"%(referer)\" \"%(uagent)\" w%(wid)";
    let s = Server::start(&["--module", "app", "--log-format", format]);
    let mut c = Client::connect(s.addr).unwrap();
    let r = c
        .request(
            "GET",
            "/var?\"x\"",
            &[("User-Agent", "test-agent/1.0"), ("Referer", "http://ref/")],
            b"",
        )
        .unwrap();
    assert_eq!(r.status, 404);
    s.wait_log("\"test-agent/1.0\" w1", T);
    let log = s.log();
    let line = log
        .lines()
        .find(|l| l.contains("test-agent"))
        .unwrap()
        .to_string();
    assert!(line.starts_with("127.0.0.1 - - ["), "{line}");
    assert!(
        line.ends_with(
            "] \"GET /var?\\\"x\\\" HTTP/1.1\" 404 0 \"http://ref/\" \"test-agent/1.0\" w1"
        ),
        "{line}"
    );
    drop(s);

    // uWSGI's other placeholders: a POST's length and the worker's memory in MiB.
    let s = Server::start(&[
        "--module",
        "app",
        "--log-format",
        "cl=%(cl) rssM=%(rssM) secs=%(secs) [%(ctime)] %(uri)",
    ]);
    let mut c = Client::connect(s.addr).unwrap();
    assert_eq!(
        c.request("POST", "/echo", &[], b"12345").unwrap().status,
        200
    );
    s.wait_log(" /echo", T);
    let log = s.log();
    let line = log.lines().find(|l| l.ends_with(" /echo")).unwrap();
    assert!(line.starts_with("cl=5 rssM="), "{line}");
    let rss_mib: u64 = line[10..].split(' ').next().unwrap().parse().unwrap();
    assert!(rss_mib > 0, "{line}");
    assert!(line.contains(" secs=0.") && line.contains(" 20"), "{line}");
    drop(s);

    let (code, out) = rsgi_e2e::run_to_exit(
        &[
            "--plugin",
            "python",
            "--module",
            "app",
            "--log-format",
            "%(addr) %(nope)",
        ],
        T,
    );
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("unknown placeholder %(nope)"), "{out}");
}

/// Input: `--log-requests --harakiri 2`; one connection sends three pipelined requests in
/// one write, two quick ones and one that sleeps 30 s, so the event loop answers all three
/// without waiting in between (where it writes the lines it has gathered).
/// Answer: both quick answers arrive, and their lines are in the log before the harakiri
/// line: a worker thread wrote them while the loop was stuck, so the kill loses none.
#[test]
fn lines_of_requests_answered_before_a_stuck_one_survive_harakiri() {
    let s = Server::start(&["--module", "app", "--log-requests", "--harakiri", "2"]);
    let mut c = Client::connect(s.addr).unwrap();
    c.send_raw(
        b"GET /var?REQUEST_METHOD HTTP/1.1\r\nHost: a\r\n\r\n\
          GET /var?SERVER_PROTOCOL HTTP/1.1\r\nHost: a\r\n\r\n\
          GET /slow?30 HTTP/1.1\r\nHost: a\r\n\r\n",
    )
    .unwrap();
    assert_eq!(c.read_response(false).unwrap().text(), "GET");
    assert_eq!(c.read_response(false).unwrap().text(), "HTTP/1.1");
    s.wait_log("harakiri: worker 1", T);
    let log = s.log();
    let at = |needle: &str| {
        log.find(needle)
            .unwrap_or_else(|| panic!("no {needle:?} in {log}"))
    };
    let harakiri = at("harakiri: worker 1");
    assert!(
        at("\"GET /var?REQUEST_METHOD HTTP/1.1\" 200 3 ") < harakiri,
        "{log}"
    );
    assert!(
        at("\"GET /var?SERVER_PROTOCOL HTTP/1.1\" 200 8 ") < harakiri,
        "{log}"
    );
}

/// Input: `--log-slow 200 --log-big 100 --log-zero --log-x-forwarded-for` (uWSGI's
/// selectors, no `--log-requests`): a fast 13-byte answer, a 300 ms one, a 150-byte echo,
/// a 404 with an empty body, and a slow request with `X-Forwarded-For: 203.0.113.9,
/// 10.0.0.1`.
/// Answer: a line for each but the fast small one; the forwarded request's line names
/// 203.0.113.9 as the client, the others the socket peer.
#[test]
fn uwsgi_selectors_log_slow_big_and_empty_answers_with_the_forwarded_client() {
    let s = Server::start(&[
        "--module",
        "app",
        "--log-slow",
        "200",
        "--log-big",
        "100",
        "--log-zero",
        "--log-x-forwarded-for",
    ]);
    assert_eq!(get(s.addr, "/").status, 200);
    assert_eq!(get(s.addr, "/slow?0.3").status, 200);
    let mut c = Client::connect(s.addr).unwrap();
    let r = c.request("POST", "/echo", &[], &[b'x'; 150]).unwrap();
    assert_eq!(r.body.len(), 150);
    assert_eq!(get(s.addr, "/var?NOT_THERE").status, 404);
    let r = c
        .request(
            "GET",
            "/slow?0.25",
            &[("X-Forwarded-For", "203.0.113.9, 10.0.0.1")],
            b"",
        )
        .unwrap();
    assert_eq!(r.status, 200);
    s.wait_log("\"GET /slow?0.25 HTTP/1.1\"", T);
    let log = s.log();
    assert!(lines_with(&log, "\"GET / HTTP/1.1\"").is_empty(), "{log}");
    let line = |needle: &str| {
        let found = lines_with(&log, needle);
        assert_eq!(found.len(), 1, "{needle}: {log}");
        found[0].clone()
    };
    assert!(
        line("\"GET /slow?0.3 HTTP/1.1\" 200 ").contains(" INFO 127.0.0.1 "),
        "{log}"
    );
    assert!(
        line("\"POST /echo HTTP/1.1\" 200 150 ").contains(" INFO 127.0.0.1 "),
        "{log}"
    );
    assert!(
        line("\"GET /var?NOT_THERE HTTP/1.1\" 404 0 ").contains(" INFO 127.0.0.1 "),
        "{log}"
    );
    assert!(
        line("\"GET /slow?0.25 HTTP/1.1\" 200 ").contains(" INFO 203.0.113.9 "),
        "{log}"
    );
}
