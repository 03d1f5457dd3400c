//! Behind load balancers: `--forwarded-allow-ips` (X-Forwarded-* and RFC 7239 Forwarded
//! from trusted proxies) and `--enable-proxy-protocol` (a PROXY v1/v2 header first on
//! each connection). The WSGI app tests/apps/proxied.py shows what it was told as JSON;
//! the ASGI app tests/apps/asgi_app.py shows its scope. Tests connect from 127.0.0.1 (or
//! ::1), trusted by default.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv6Addr, SocketAddr, TcpListener};
use std::time::Duration;

use rsgi_e2e::{
    free_port, http_args, read_response, rsgi_command, uwsgi_packet, venv, Client, Response, Server,
};
use serde_json::{json, Value};

const T: Duration = Duration::from_secs(30);

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: test\r\n\r\n";

/// `rsgi --plugin python --http 127.0.0.1:PORT --module proxied EXTRA`, ready.
fn start(extra: &[&str]) -> Server {
    let mut args = vec!["--module", "proxied"];
    args.extend_from_slice(extra);
    Server::start(&args)
}

/// `rsgi ... --module proxied --enable-proxy-protocol EXTRA`, ready (asked with a PROXY
/// header: a plain request is refused).
fn start_proxy_protocol(extra: &[&str]) -> Server {
    start_proxy_protocol_as("--enable-proxy-protocol", extra)
}

/// The same with the option spelled `flag` (gunicorn's `--proxy-protocol`).
fn start_proxy_protocol_as(flag: &str, extra: &[&str]) -> Server {
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let mut args = vec!["--module", "proxied", flag];
    args.extend_from_slice(extra);
    let s = Server::spawn(rsgi_command().args(http_args(addr, &args)), addr);
    s.wait_ready_by(|addr| send(addr, &[b"PROXY UNKNOWN\r\n", GET]));
    s
}

fn json(r: &Response) -> Value {
    assert_eq!(r.status, 200, "{}", r.text());
    serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.text()))
}

/// What the app was told for a GET / with `headers`, and the client's own port.
fn ask(addr: SocketAddr, headers: &[(&str, &str)]) -> (Value, u16) {
    let mut c = Client::connect(addr).unwrap();
    let port = c.stream().local_addr().unwrap().port();
    (json(&c.request("GET", "/", headers, b"").unwrap()), port)
}

/// Writes `pieces` one after the other on a new connection (one write each: the server
/// assembles them), then reads the answer.
fn send(addr: SocketAddr, pieces: &[&[u8]]) -> std::io::Result<Response> {
    let mut c = Client::connect(addr)?;
    for piece in pieces {
        c.send_raw(piece)?;
    }
    c.read_response(false)
}

/// Writes `bytes` on a new connection, which the server must close without an answer;
/// returns the client's port (which the server's log line names).
fn refused(addr: SocketAddr, bytes: &[u8]) -> u16 {
    let mut c = Client::connect(addr).unwrap();
    let port = c.stream().local_addr().unwrap().port();
    c.send_raw(bytes).unwrap();
    let mut got = Vec::new();
    match c.stream().read_to_end(&mut got) {
        Ok(_) => assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got)),
        Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e}"),
    }
    port
}

/// A PROXY v2 header: `command` 0 (LOCAL) or 1 (PROXY), `family` byte, address block.
fn v2(command: u8, family: u8, block: &[u8]) -> Vec<u8> {
    let mut h = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    h.push(0x20 | command);
    h.push(family);
    h.extend_from_slice(&(block.len() as u16).to_be_bytes());
    h.extend_from_slice(block);
    h
}

/// A PROXY v2 header for TCP over IPv4 from `src:sport` to `dst:dport`.
fn v2_tcp4(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16) -> Vec<u8> {
    let mut block = src.to_vec();
    block.extend_from_slice(&dst);
    block.extend_from_slice(&sport.to_be_bytes());
    block.extend_from_slice(&dport.to_be_bytes());
    v2(1, 0x11, &block)
}

/// The ASGI app with `extra` options, ready.
fn start_asgi(extra: &[&str]) -> Server {
    let venv = venv();
    let mut args = vec![
        "--virtualenv",
        venv.to_str().unwrap(),
        "--asgi",
        "asgi_app:app",
    ];
    args.extend_from_slice(extra);
    Server::start(&args)
}

/// Input: `--forwarded-allow-ips 10.9.9.9` (not the test's 127.0.0.1); a GET with
/// X-Forwarded-For/-Proto/-Host/-Port and Forwarded all claiming another client, scheme
/// and host. Answer: nothing changes: REMOTE_ADDR and REMOTE_PORT are the connection's,
/// the scheme http, Host, SERVER_NAME and SERVER_PORT the request's and listener's; the
/// headers reach the app untouched.
#[test]
fn spoofed_headers_from_an_untrusted_peer_change_nothing() {
    let s = start(&["--forwarded-allow-ips", "10.9.9.9"]);
    let (env, port) = ask(
        s.addr,
        &[
            ("X-Forwarded-For", "1.2.3.4"),
            ("X-Forwarded-Proto", "https"),
            ("X-Forwarded-Host", "bank.example"),
            ("X-Forwarded-Port", "443"),
            ("Forwarded", "for=5.6.7.8;proto=https;host=bank.example"),
        ],
    );
    assert_eq!(
        env,
        json!({
            "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_PORT": port.to_string(),
            "wsgi.url_scheme": "http",
            "HTTP_HOST": "test",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": s.addr.port().to_string(),
            "HTTP_X_FORWARDED_FOR": "1.2.3.4",
            "HTTP_X_FORWARDED_PROTO": "https",
            "HTTP_FORWARDED": "for=5.6.7.8;proto=https;host=bank.example",
        })
    );
}

/// Input: the default `--forwarded-allow-ips` (127.0.0.1, ::1); a GET with
/// `X-Forwarded-For: 198.51.100.7`, `X-Forwarded-Proto: https`, `X-Forwarded-Host:
/// shop.example`; then a GET without any. Answer: REMOTE_ADDR is the forwarded client (no
/// REMOTE_PORT: the header gave none), the scheme https, HTTP_HOST and SERVER_NAME
/// shop.example, SERVER_PORT 443 (https's); the next request on the same connection,
/// without the headers, is the connection's own again.
#[test]
fn a_trusted_proxy_gives_client_scheme_and_host() {
    let s = start(&[]);
    let mut c = Client::connect(s.addr).unwrap();
    let port = c.stream().local_addr().unwrap().port();
    let headers = [
        ("X-Forwarded-For", "198.51.100.7"),
        ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-Host", "shop.example"),
    ];
    let env = json(&c.request("GET", "/", &headers, b"").unwrap());
    assert_eq!(env["REMOTE_ADDR"], "198.51.100.7");
    assert_eq!(env["REMOTE_PORT"], Value::Null);
    assert_eq!(env["wsgi.url_scheme"], "https");
    assert_eq!(env["HTTP_HOST"], "shop.example");
    assert_eq!(env["SERVER_NAME"], "shop.example");
    assert_eq!(env["SERVER_PORT"], "443");
    assert_eq!(env["HTTP_X_FORWARDED_FOR"], "198.51.100.7");
    let env = json(&c.request("GET", "/", &[], b"").unwrap());
    assert_eq!(env["REMOTE_ADDR"], "127.0.0.1");
    assert_eq!(env["REMOTE_PORT"], port.to_string());
    assert_eq!(env["wsgi.url_scheme"], "http");
    assert_eq!(env["HTTP_HOST"], "test");
    assert_eq!(env["SERVER_PORT"], s.addr.port().to_string());
}

/// Input: `--forwarded-allow-ips 127.0.0.1,10.0.0.0/8`; `X-Forwarded-For: 1.1.1.1,
/// 198.51.100.7, 10.0.0.9` (a spoofed entry, the client, an inner proxy) with
/// `X-Forwarded-Proto: http, https, http` and `X-Forwarded-Port: 8443`; then the same
/// chain to a server trusting only the default loopback.
/// Answer: the walk from the right skips the two trusted proxies (the peer and 10.0.0.9):
/// the client is 198.51.100.7, its scheme https (the entry at its place), SERVER_PORT
/// 8443 and Host's port replaced by it. With loopback alone trusted, 10.0.0.9 is the client.
#[test]
fn a_chain_through_two_trusted_proxies_yields_the_client() {
    let s = start(&["--forwarded-allow-ips", "127.0.0.1, 10.0.0.0/8"]);
    let headers = [
        ("X-Forwarded-For", "1.1.1.1, 198.51.100.7, 10.0.0.9"),
        ("X-Forwarded-Proto", "http, https, http"),
        ("X-Forwarded-Port", "8443"),
    ];
    let (env, _) = ask(s.addr, &headers);
    assert_eq!(env["REMOTE_ADDR"], "198.51.100.7");
    assert_eq!(env["wsgi.url_scheme"], "https");
    assert_eq!(env["HTTP_HOST"], "test:8443");
    assert_eq!(env["SERVER_NAME"], "test");
    assert_eq!(env["SERVER_PORT"], "8443");
    let loopback_only = start(&[]);
    let (env, _) = ask(loopback_only.addr, &headers);
    assert_eq!(env["REMOTE_ADDR"], "10.0.0.9");
    assert_eq!(env["wsgi.url_scheme"], "http");
}

/// Input: a listener on [::1] (default trust: ::1); a GET with `X-Forwarded-For:
/// 2001:db8::7, [::1]:80` and `X-Forwarded-Host: [2001:db8::1]:8443`; then one without.
/// Answer: the client 2001:db8::7, Host [2001:db8::1]:8443, SERVER_NAME [2001:db8::1],
/// SERVER_PORT 8443; without the headers REMOTE_ADDR is ::1. Skipped, saying so, on a
/// machine without IPv6 loopback.
#[test]
fn ipv6_peers_and_clients() {
    let port = free_port();
    if let Err(e) = TcpListener::bind((Ipv6Addr::LOCALHOST, port)) {
        eprintln!("skipped: this machine cannot bind [::1]:{port} ({e}): no IPv6 loopback");
        return;
    }
    let addr = SocketAddr::from((Ipv6Addr::LOCALHOST, port));
    let s = Server::spawn(
        rsgi_command().args(http_args(addr, &["--module", "proxied"])),
        addr,
    );
    s.wait_ready();
    let (env, _) = ask(
        addr,
        &[
            ("X-Forwarded-For", "2001:db8::7, [::1]:80"),
            ("X-Forwarded-Host", "[2001:db8::1]:8443"),
        ],
    );
    assert_eq!(env["REMOTE_ADDR"], "2001:db8::7");
    assert_eq!(env["HTTP_HOST"], "[2001:db8::1]:8443");
    assert_eq!(env["SERVER_NAME"], "[2001:db8::1]");
    assert_eq!(env["SERVER_PORT"], "8443");
    let (env, port) = ask(addr, &[]);
    assert_eq!(env["REMOTE_ADDR"], "::1");
    assert_eq!(env["REMOTE_PORT"], port.to_string());
}

/// Input: RFC 7239 `Forwarded` from the trusted loopback: a client element with an IPv6
/// address and port, proto and host, followed by the loopback proxy's own element; then
/// an obfuscated client. Answer: the client (address and port), https, the host and its
/// port; the obfuscated identifier is REMOTE_ADDR as written, with no REMOTE_PORT.
#[test]
fn rfc_7239_forwarded_is_read() {
    let s = start(&[]);
    let (env, _) = ask(
        s.addr,
        &[(
            "Forwarded",
            "for=\"[2001:db8:cafe::17]:4711\";proto=https;host=api.example, for=127.0.0.1",
        )],
    );
    assert_eq!(env["REMOTE_ADDR"], "2001:db8:cafe::17");
    assert_eq!(env["REMOTE_PORT"], "4711");
    assert_eq!(env["wsgi.url_scheme"], "https");
    assert_eq!(env["HTTP_HOST"], "api.example");
    assert_eq!(env["SERVER_NAME"], "api.example");
    assert_eq!(env["SERVER_PORT"], "443");
    let (env, _) = ask(s.addr, &[("Forwarded", "for=_hidden;proto=http")]);
    assert_eq!(env["REMOTE_ADDR"], "_hidden");
    assert_eq!(env["REMOTE_PORT"], Value::Null);
}

/// Input: `--log-level debug`; from the trusted loopback, malformed values: an
/// X-Forwarded-For entry that is not an address, an unterminated Forwarded quote, a
/// scheme that is neither http nor https beside a good client, a host with a slash, a port
/// out of range. Answer: 200 each time; a malformed chain changes nothing; a malformed
/// scheme, host or port alone is ignored while the good client is taken; each ignored
/// value has its debug line; the worker serves on.
#[test]
fn malformed_values_are_ignored_with_a_debug_line() {
    let s = start(&["--log-level", "debug"]);
    let (env, port) = ask(s.addr, &[("X-Forwarded-For", "198.51.100.7, not-an-ip")]);
    assert_eq!(env["REMOTE_ADDR"], "127.0.0.1");
    s.wait_log(
        &format!("127.0.0.1:{port} X-Forwarded-For ignored: 'not-an-ip' is not an address"),
        T,
    );
    let (env, _) = ask(s.addr, &[("Forwarded", "for=\"198.51.100.7")]);
    assert_eq!(env["REMOTE_ADDR"], "127.0.0.1");
    s.wait_log("Forwarded ignored: unterminated quote", T);
    let (env, port) = ask(
        s.addr,
        &[
            ("X-Forwarded-For", "198.51.100.7"),
            ("X-Forwarded-Proto", "gopher"),
            ("X-Forwarded-Host", "evil.example/x"),
            ("X-Forwarded-Port", "99999"),
        ],
    );
    assert_eq!(env["REMOTE_ADDR"], "198.51.100.7");
    assert_eq!(env["wsgi.url_scheme"], "http");
    assert_eq!(env["HTTP_HOST"], "test");
    assert_eq!(env["SERVER_PORT"], s.addr.port().to_string());
    for why in [
        "X-Forwarded-Proto 'gopher' ignored",
        "X-Forwarded-Host 'evil.example",
        "X-Forwarded-Port '99999' ignored",
    ] {
        s.wait_log(&format!("127.0.0.1:{port} {why}"), T);
    }
    assert_eq!(ask(s.addr, &[]).0["REMOTE_ADDR"], "127.0.0.1");
}

/// Input: `--log-requests` and `--log-format` servers; a GET with `X-Forwarded-For:
/// 198.51.100.7` from the trusted loopback, then one with `X-Forwarded-For: 1.2.3.4` to a
/// server trusting 10.9.9.9 only. Answer: the default request line names 198.51.100.7;
/// `%(addr) %(host)` gives the client and the forwarded host; the untrusted request's line
/// names 127.0.0.1.
#[test]
fn the_request_log_names_the_resolved_client() {
    let s = start(&["--log-requests"]);
    ask(s.addr, &[("X-Forwarded-For", "198.51.100.7")]);
    s.wait_log(" INFO 198.51.100.7 \"GET / HTTP/1.1\" 200 ", T);

    let s = start(&["--log-format", "client=%(addr) host=%(host) %(method)"]);
    ask(
        s.addr,
        &[
            ("X-Forwarded-For", "198.51.100.8"),
            ("X-Forwarded-Host", "shop.example"),
        ],
    );
    s.wait_log("client=198.51.100.8 host=shop.example GET", T);

    let s = start(&["--log-requests", "--forwarded-allow-ips", "10.9.9.9"]);
    ask(s.addr, &[("X-Forwarded-For", "1.2.3.4")]);
    s.wait_log(" INFO 127.0.0.1 \"GET / HTTP/1.1\" 200 ", T);
    assert!(!s.log().contains("1.2.3.4\""), "{}", s.log());
}

/// Input: the ASGI app with `--log-requests`: GET /scope with a trusted `Forwarded`
/// (client with port, https, host with port); the same to a server trusting 10.9.9.9 only.
/// Answer: the scope's client, scheme, server and host header follow the header, and so
/// does the request line; from the untrusted peer the scope has the connection's own.
#[test]
fn an_asgi_app_sees_the_same() {
    let forwarded = [(
        "Forwarded",
        "for=\"[2001:db8::7]:4711\";proto=https;host=\"shop.example:8443\"",
    )];
    let s = start_asgi(&["--log-requests"]);
    let mut c = Client::connect(s.addr).unwrap();
    let scope = json(&c.request("GET", "/scope", &forwarded, b"").unwrap());
    assert_eq!(scope["client"], json!(["2001:db8::7", 4711]));
    assert_eq!(scope["scheme"], "https");
    assert_eq!(scope["server"], json!(["shop.example", 8443]));
    let headers = scope["headers"].as_array().unwrap();
    assert!(
        headers.contains(&json!(["host", "shop.example:8443"])),
        "{headers:?}"
    );
    s.wait_log(" INFO 2001:db8::7 \"GET /scope HTTP/1.1\" 200 ", T);

    let s = start_asgi(&["--forwarded-allow-ips", "10.9.9.9"]);
    let mut c = Client::connect(s.addr).unwrap();
    let port = c.stream().local_addr().unwrap().port();
    let scope = json(&c.request("GET", "/scope", &forwarded, b"").unwrap());
    assert_eq!(scope["client"], json!(["127.0.0.1", port]));
    assert_eq!(scope["scheme"], "http");
    assert_eq!(scope["server"], json!(["127.0.0.1", s.addr.port()]));
}

/// Input: `--enable-proxy-protocol --log-requests`; a v1 TCP4 header then two requests on
/// the connection; a v1 TCP6 header; a v1 UNKNOWN header. Answer: the header's source is
/// REMOTE_ADDR and REMOTE_PORT for every request of its connection, and the request
/// line's client; UNKNOWN leaves the socket's peer.
#[test]
fn proxy_protocol_v1_names_the_client() {
    let s = start_proxy_protocol(&["--log-requests"]);
    let mut c = Client::connect(s.addr).unwrap();
    c.send_raw(b"PROXY TCP4 203.0.113.1 10.0.0.1 5555 80\r\n")
        .unwrap();
    for _ in 0..2 {
        let env = json(&c.request("GET", "/", &[], b"").unwrap());
        assert_eq!(env["REMOTE_ADDR"], "203.0.113.1");
        assert_eq!(env["REMOTE_PORT"], "5555");
    }
    s.wait_log_count(" INFO 203.0.113.1 \"GET / HTTP/1.1\" 200 ", 2, T);

    let r = send(
        s.addr,
        &[b"PROXY TCP6 2001:db8::5 2001:db8::1 6000 443\r\n", GET],
    );
    let env = json(&r.unwrap());
    assert_eq!(env["REMOTE_ADDR"], "2001:db8::5");
    assert_eq!(env["REMOTE_PORT"], "6000");

    let env = json(&send(s.addr, &[b"PROXY UNKNOWN ffff::1 ::1 1 2\r\n", GET]).unwrap());
    assert_eq!(env["REMOTE_ADDR"], "127.0.0.1");
}

/// Input: `--proxy-protocol` (gunicorn's spelling); v2 headers: TCP over IPv4, TCP over
/// IPv6 with a TLV after the addresses, LOCAL (a balancer's health check). Answer: the
/// source of each PROXY header is the client; LOCAL leaves the socket's peer.
#[test]
fn proxy_protocol_v2_names_the_client() {
    let s = start_proxy_protocol_as("--proxy-protocol", &[]);
    let header = v2_tcp4([198, 51, 100, 9], 40000, [10, 0, 0, 1], 80);
    let env = json(&send(s.addr, &[&header, GET]).unwrap());
    assert_eq!(env["REMOTE_ADDR"], "198.51.100.9");
    assert_eq!(env["REMOTE_PORT"], "40000");

    let src: Ipv6Addr = "2001:db8::9".parse().unwrap();
    let mut block = src.octets().to_vec();
    block.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
    block.extend_from_slice(&41000u16.to_be_bytes());
    block.extend_from_slice(&443u16.to_be_bytes());
    // A PP2_TYPE_NOOP TLV of 3 bytes.
    block.extend_from_slice(&[0x04, 0x00, 0x03, 0, 0, 0]);
    let env = json(&send(s.addr, &[&v2(1, 0x21, &block), GET]).unwrap());
    assert_eq!(env["REMOTE_ADDR"], "2001:db8::9");
    assert_eq!(env["REMOTE_PORT"], "41000");

    let env = json(&send(s.addr, &[&v2(0, 0x00, b""), GET]).unwrap());
    assert_eq!(env["REMOTE_ADDR"], "127.0.0.1");
}

/// Input: `--enable-proxy-protocol`; a v2 header written in four pieces (inside the
/// signature, inside the fixed part, inside the addresses, the rest with the request), and
/// a v1 header in three (inside `PROXY`, inside an address, between CR and LF). Answer:
/// the server assembles each header: the source is the client.
#[test]
fn a_proxy_header_split_over_several_writes_is_assembled() {
    let s = start_proxy_protocol(&[]);
    let header = v2_tcp4([192, 0, 2, 44], 1234, [10, 0, 0, 1], 80);
    let mut last = header[20..].to_vec();
    last.extend_from_slice(GET);
    let r = send(
        s.addr,
        &[&header[..5], &header[5..14], &header[14..20], &last],
    );
    let env = json(&r.unwrap());
    assert_eq!(env["REMOTE_ADDR"], "192.0.2.44");
    assert_eq!(env["REMOTE_PORT"], "1234");

    let r = send(
        s.addr,
        &[
            b"PRO",
            b"XY TCP4 192.0.2.4",
            b"5 10.0.0.1 4321 80\r",
            b"\nGET / HTTP/1.1\r\nHost: test\r\n\r\n",
        ],
    );
    let env = json(&r.unwrap());
    assert_eq!(env["REMOTE_ADDR"], "192.0.2.45");
    assert_eq!(env["REMOTE_PORT"], "4321");
}

/// Input: `--enable-proxy-protocol --log-level debug`; a v2 header and then a v1 header,
/// each written in three pieces, the next piece sent only once the server has said (debug
/// line) that it read the part before and waits for more. Answer: the server read each
/// header over several reads and assembled it: the source is the client.
#[test]
fn a_proxy_header_the_server_reads_in_pieces_is_assembled() {
    let s = start_proxy_protocol(&["--log-level", "debug"]);
    let header = v2_tcp4([192, 0, 2, 46], 1235, [10, 0, 0, 1], 80);
    let mut last = header[14..].to_vec();
    last.extend_from_slice(GET);
    let v1: [&[u8]; 3] = [
        b"PROXY TCP4 192.0.2.4",
        b"7 10.0.0.1 4322 8",
        b"0\r\nGET / HTTP/1.1\r\nHost: test\r\n\r\n",
    ];
    let mut waits = 0;
    for (pieces, client, port) in [
        (
            [&header[..5], &header[5..14], &last[..]],
            "192.0.2.46",
            "1235",
        ),
        (v1, "192.0.2.47", "4322"),
    ] {
        let mut c = Client::connect(s.addr).unwrap();
        let (first, rest) = pieces.split_first().unwrap();
        c.send_raw(first).unwrap();
        for piece in rest {
            waits += 1;
            s.wait_log_count("PROXY protocol header incomplete", waits, T);
            c.send_raw(piece).unwrap();
        }
        let env = json(&c.read_response(false).unwrap());
        assert_eq!(
            (env["REMOTE_ADDR"].as_str(), env["REMOTE_PORT"].as_str()),
            (Some(client), Some(port))
        );
    }
}

/// Input: `--enable-proxy-protocol`; connections starting with: a v2 header whose length
/// is shorter than its IPv4 addresses, a v1 line over 107 bytes, a plain HTTP request (no
/// header), a v1 header with a bad address. Answer: each is closed without an answer,
/// with one warn line naming the peer (address and port) and the reason; the next
/// connection with a good header is served each time.
#[test]
fn invalid_proxy_headers_close_the_connection_with_a_line() {
    let s = start_proxy_protocol(&[]);
    let mut short = v2(1, 0x11, &[0; 4]);
    short.extend_from_slice(GET);
    let mut long = b"PROXY TCP4 ".to_vec();
    long.extend_from_slice(&[b'1'; 120]);
    long.extend_from_slice(b"\r\n");
    long.extend_from_slice(GET);
    for (bytes, why) in [
        (short, "v2 header length shorter than its addresses"),
        (long, "v1 header longer than 107 bytes"),
        (GET.to_vec(), "not a PROXY protocol header"),
        (
            b"PROXY TCP4 999.0.0.1 10.0.0.1 1 2\r\nGET / HTTP/1.1\r\n\r\n".to_vec(),
            "v1 TCP4 header with a bad IPv4 address",
        ),
    ] {
        let port = refused(s.addr, &bytes);
        let line = format!("127.0.0.1:{port} closing: invalid PROXY protocol header: {why}");
        s.wait_log(&line, T);
        assert_eq!(s.log().matches(&line).count(), 1, "{}", s.log());
        let env = json(&send(s.addr, &[b"PROXY TCP4 192.0.2.1 10.0.0.1 1 2\r\n", GET]).unwrap());
        assert_eq!(env["REMOTE_ADDR"], "192.0.2.1");
    }
}

/// Input: `--enable-proxy-protocol` with the default trust (loopback): a PROXY header
/// naming 203.0.113.9 followed by a request with `X-Forwarded-For: 1.2.3.4`; then a PROXY
/// header naming 127.0.0.1 (a trusted proxy) with the same request. Answer: trust is
/// judged on the PROXY header's source: 203.0.113.9 is not trusted, so the header is the
/// client's word and ignored; from 127.0.0.1 the forwarded client is taken.
#[test]
fn forwarded_headers_are_trusted_by_the_proxy_headers_source() {
    let s = start_proxy_protocol(&[]);
    let request = b"GET / HTTP/1.1\r\nHost: test\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n";
    let r = send(
        s.addr,
        &[b"PROXY TCP4 203.0.113.9 10.0.0.1 7000 80\r\n", request],
    );
    assert_eq!(json(&r.unwrap())["REMOTE_ADDR"], "203.0.113.9");
    let r = send(
        s.addr,
        &[b"PROXY TCP4 127.0.0.1 10.0.0.1 7000 80\r\n", request],
    );
    assert_eq!(json(&r.unwrap())["REMOTE_ADDR"], "1.2.3.4");
}

/// Input: `--enable-proxy-protocol` with an HTTP listener and a uwsgi `--socket`; a uwsgi
/// packet without any PROXY header on the socket. Answer: served (200): the PROXY
/// protocol is for HTTP listeners only.
#[test]
fn the_uwsgi_socket_expects_no_proxy_header() {
    let socket = format!("127.0.0.1:{}", free_port());
    let s = start_proxy_protocol(&["--socket", &socket]);
    let mut stream = std::net::TcpStream::connect(&socket).unwrap();
    stream.set_read_timeout(Some(T)).unwrap();
    let packet = uwsgi_packet(
        &[
            ("REQUEST_METHOD", "GET"),
            ("REQUEST_URI", "/"),
            ("PATH_INFO", "/"),
            ("SERVER_PROTOCOL", "HTTP/1.1"),
            ("SERVER_NAME", "localhost"),
            ("SERVER_PORT", "80"),
            ("REMOTE_ADDR", "10.9.8.7"),
        ],
        b"",
    );
    stream.write_all(&packet).unwrap();
    let r = read_response(&mut std::io::BufReader::new(stream), false).unwrap();
    assert_eq!(json(&r)["REMOTE_ADDR"], "10.9.8.7");
    drop(s);
}
