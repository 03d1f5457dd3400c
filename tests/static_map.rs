//! `--static-map PREFIX=DIR`: files served by the worker without the app, over HTTP here
//! (behind nginx in tests/nginx.rs).

use std::time::Duration;

use rsgi_e2e::{get, Client, Server, TempDir};

const T: Duration = Duration::from_secs(20);

/// DIR/static/{app.css, big.bin (1 MiB), a b.txt}, DIR/secret.txt and
/// DIR/static/out -> DIR/secret.txt.
fn site() -> TempDir {
    let dir = TempDir::new("static");
    std::fs::create_dir_all(dir.join("static")).unwrap();
    std::fs::write(dir.join("static/app.css"), "body { color: red }\n").unwrap();
    std::fs::write(dir.join("static/a b.txt"), "spaced").unwrap();
    let big: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.join("static/big.bin"), big).unwrap();
    std::fs::write(dir.join("secret.txt"), "secret").unwrap();
    std::os::unix::fs::symlink(dir.join("secret.txt"), dir.join("static/out")).unwrap();
    dir
}

fn start(dir: &std::path::Path) -> Server {
    let map = format!("/static={}", dir.join("static").display());
    Server::start(&["--module", "app", "--static-map", &map, "--log-requests"])
}

/// Input: GET and HEAD of files under the prefix (a CSS file, a percent-encoded name, a
/// 1 MiB file), then a GET with `If-Modified-Since` equal to the file's `Last-Modified`.
/// Answer: 200 with the file's bytes, its type and length and a Last-Modified (HEAD: the
/// same head, no body), on one keep-alive connection; then 304 without a body. The
/// request log has a line for each.
#[test]
fn files_under_the_prefix_are_sent_with_type_length_and_last_modified() {
    let dir = site();
    let s = start(&dir);
    let mut c = Client::connect(s.addr).unwrap();
    let css = c.request("GET", "/static/app.css", &[], b"").unwrap();
    assert_eq!(css.status, 200, "{}", s.log());
    assert_eq!(css.text(), "body { color: red }\n");
    assert_eq!(css.header("content-type"), Some("text/css"));
    assert_eq!(css.header("content-length"), Some("20"));
    let modified = css
        .header("last-modified")
        .expect("Last-Modified")
        .to_string();

    let spaced = c.request("GET", "/static/a%20b.txt", &[], b"").unwrap();
    assert_eq!((spaced.status, spaced.text().as_str()), (200, "spaced"));
    assert_eq!(spaced.header("content-type"), Some("text/plain"));

    let big = c.request("GET", "/static/big.bin", &[], b"").unwrap();
    assert_eq!(big.status, 200);
    let expected: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
    assert!(big.body == expected, "1 MiB body differs");
    assert_eq!(big.header("content-type"), Some("application/octet-stream"));

    c.send_raw(b"HEAD /static/app.css HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let head = c.read_response(true).unwrap();
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("20"));

    let again = c
        .request(
            "GET",
            "/static/app.css",
            &[("If-Modified-Since", &modified)],
            b"",
        )
        .unwrap();
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    // The connection is still good after all of these.
    assert_eq!(c.request("GET", "/", &[], b"").unwrap().status, 200);

    s.wait_log("\"GET /static/app.css HTTP/1.1\" 304 0 ", T);
    assert!(
        s.log()
            .contains("\"GET /static/big.bin HTTP/1.1\" 200 1048576 "),
        "{}",
        s.log()
    );
}

/// Input: a missing file and a directory under the prefix, a POST to a file, a path
/// outside the prefix. Answer: the app answers each (its hello page, or the echo of the
/// POST body): the static map only takes GET/HEAD of files that exist.
#[test]
fn what_is_not_a_file_goes_to_the_app() {
    let dir = site();
    let s = start(&dir);
    for path in ["/static/missing.css", "/static/", "/staticfile", "/"] {
        let r = get(s.addr, path);
        assert_eq!(
            (r.status, r.text().as_str()),
            (200, "Hello, World!"),
            "{path}"
        );
    }
    let mut c = Client::connect(s.addr).unwrap();
    let r = c
        .request("POST", "/static/app.css", &[], b"posted")
        .unwrap();
    assert_eq!((r.status, r.text().as_str()), (200, "Hello, World!"));
}

/// Input: `..` (plain and percent-encoded), a `%00`, and a symlink leading out of DIR.
/// Answer: 403 and a warn line naming the request for each, the secret never sent; the
/// worker keeps serving (a file right after is 200).
#[test]
fn paths_that_leave_the_directory_get_403() {
    let dir = site();
    let s = start(&dir);
    for target in [
        "/static/../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/%2E%2E%2Fsecret.txt",
        "/static/app.css%00.txt",
        "/static/out",
    ] {
        let mut c = Client::connect(s.addr).unwrap();
        c.send_raw(format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .unwrap();
        let r = c.read_response(false).unwrap();
        assert_eq!(r.status, 403, "{target}");
        assert!(!r.text().contains("secret"), "{target}");
        s.wait_log(&format!("GET {target}: refused (403)"), T);
    }
    assert_eq!(get(s.addr, "/static/app.css").status, 200);
}

/// Input: GET of a file under the prefix that the worker may not read (mode 0600 and the
/// worker running as nobody when the tests run as root; mode 0000 otherwise).
/// Answer: 403 (not 500) and a log line naming the file; the worker serves on.
#[test]
fn a_file_the_worker_may_not_read_gets_403() {
    let dir = site();
    let locked = dir.join("static/locked.txt");
    std::fs::write(&locked, "private").unwrap();
    // SAFETY: geteuid only reads.
    let root = unsafe { libc::geteuid() } == 0;
    let mode = if root { 0o600 } else { 0o000 };
    std::fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(mode)).unwrap();
    let map = format!("/static={}", dir.join("static").display());
    let mut args = vec!["--module", "app", "--static-map", &map];
    if root {
        args.extend(["--uid", "nobody"]);
    }
    let s = Server::start(&args);
    let r = get(s.addr, "/static/locked.txt");
    assert_eq!(r.status, 403, "{}", s.log());
    assert!(!r.text().contains("private"));
    s.wait_log("locked.txt is not readable by the worker", T);
    assert_eq!(get(s.addr, "/static/app.css").status, 200);
}

/// Input: `--check-static DIR/static --check-static DIR/more --static-skip-ext .txt
/// --static-safe DIR`; GET of app.css (in the first directory), of more.html (only in
/// the second), of "a b.txt" (skipped extension), of `out` (a symlink to DIR/secret.txt).
/// Answer: both directories serve, tried in turn; the .txt goes to the app; the symlink
/// into the safe directory is served.
#[test]
fn check_static_directories_are_tried_in_turn_with_skip_ext_and_static_safe() {
    let dir = site();
    std::fs::create_dir_all(dir.join("more")).unwrap();
    std::fs::write(dir.join("more/more.html"), "<p>more</p>").unwrap();
    let static_dir = dir.join("static").display().to_string();
    let more_dir = dir.join("more").display().to_string();
    let safe = dir.display().to_string();
    let s = Server::start(&[
        "--module",
        "app",
        "--check-static",
        &static_dir,
        "--check-static",
        &more_dir,
        "--static-skip-ext",
        ".txt",
        "--static-safe",
        &safe,
    ]);
    assert_eq!(get(s.addr, "/app.css").text(), "body { color: red }\n");
    let more = get(s.addr, "/more.html");
    assert_eq!((more.status, more.text().as_str()), (200, "<p>more</p>"));
    assert_eq!(more.header("content-type"), Some("text/html"));
    assert_eq!(
        get(s.addr, "/a%20b.txt").text(),
        "Hello, World!",
        "left to the app"
    );
    assert_eq!(
        get(s.addr, "/out").text(),
        "secret",
        "a symlink into --static-safe"
    );
}

/// Input: `--static-expires-type-mtime text/css=3600` and `--static-expires-uri
/// '\?v=\d+$ 86400'`; GET of app.css, of big.bin?v=7, of "a b.txt"; then the rule without
/// any --static-map.
/// Answer: app.css expires an hour after its modification time; big.bin?v=7 a day from
/// now (the URI rule); "a b.txt" has no Expires; without --static-map, exit 2 naming it.
#[test]
fn static_expires_rules_set_the_expires_header() {
    let dir = site();
    let map = format!("/static={}", dir.join("static").display());
    let s = Server::start(&[
        "--module",
        "app",
        "--static-map",
        &map,
        "--static-expires-type-mtime",
        "text/css=3600",
        "--static-expires-uri",
        "\\?v=\\d+$ 86400",
    ]);
    let css = get(s.addr, "/static/app.css");
    let modified = std::fs::metadata(dir.join("static/app.css"))
        .unwrap()
        .modified()
        .unwrap();
    let modified_secs = modified
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let expected = std::time::UNIX_EPOCH + Duration::from_secs(modified_secs + 3600);
    assert_eq!(
        css.header("expires"),
        Some(httpdate::fmt_http_date(expected).as_str())
    );
    let bin = get(s.addr, "/static/big.bin?v=7");
    let expires = httpdate::parse_http_date(bin.header("expires").expect("Expires")).unwrap();
    let ahead = expires
        .duration_since(std::time::SystemTime::now())
        .unwrap()
        .as_secs();
    assert!((86_390..=86_400).contains(&ahead), "{ahead}");
    assert_eq!(get(s.addr, "/static/a%20b.txt").header("expires"), None);

    let (code, out) = rsgi_e2e::run_to_exit(
        &[
            "--plugin",
            "python",
            "--module",
            "app",
            "--static-expires-type",
            "text/css=60",
        ],
        T,
    );
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("add --static-map"), "{out}");
}

/// Input: `--static-index index.html --static-gzip-all`; GET of the directory; GET of
/// `app.js` (which has an `app.js.gz` beside it) with `Accept-Encoding: gzip`, with
/// `gzip;q=0`, and without the header; GET of `app.css`, which has no `.gz`.
/// Answer: the directory serves its index.html; with gzip accepted the `.gz` bytes go out
/// with `Content-Encoding: gzip` and app.js's type; otherwise app.js itself; every answer
/// says `Vary: Accept-Encoding`.
#[test]
fn index_files_and_precompressed_files() {
    let dir = site();
    std::fs::write(dir.join("static/index.html"), "<h1>index</h1>").unwrap();
    std::fs::write(dir.join("static/app.js"), "let plain = 1;").unwrap();
    std::fs::write(dir.join("static/app.js.gz"), b"\x1f\x8bnot-really-gzip").unwrap();
    let map = format!("/static={}", dir.join("static").display());
    let s = Server::start(&[
        "--module",
        "app",
        "--static-map",
        &map,
        "--static-index",
        "index.html",
        "--static-gzip-all",
    ]);
    let index = get(s.addr, "/static/");
    assert_eq!(
        (index.status, index.text().as_str()),
        (200, "<h1>index</h1>")
    );
    assert_eq!(index.header("content-type"), Some("text/html"));

    let mut c = Client::connect(s.addr).unwrap();
    let gz = c
        .request(
            "GET",
            "/static/app.js",
            &[("Accept-Encoding", "br, gzip")],
            b"",
        )
        .unwrap();
    assert_eq!(gz.status, 200);
    assert_eq!(gz.body, b"\x1f\x8bnot-really-gzip");
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    assert_eq!(gz.header("vary"), Some("Accept-Encoding"));
    let js_type = gz.header("content-type").unwrap().to_string();
    assert!(js_type.contains("javascript"), "{js_type}");

    for accept in [&[("Accept-Encoding", "gzip;q=0")][..], &[]] {
        let plain = c.request("GET", "/static/app.js", accept, b"").unwrap();
        assert_eq!(plain.text(), "let plain = 1;", "{accept:?}");
        assert_eq!(plain.header("content-encoding"), None);
        assert_eq!(plain.header("content-type"), Some(js_type.as_str()));
        assert_eq!(plain.header("vary"), Some("Accept-Encoding"));
    }
    let css = c
        .request(
            "GET",
            "/static/app.css",
            &[("Accept-Encoding", "gzip")],
            b"",
        )
        .unwrap();
    assert_eq!(css.text(), "body { color: red }\n");
    assert_eq!(css.header("content-encoding"), None);
}

/// Input: `--add-header 'X-Frame-Options: DENY' --add-header 'Strict-Transport-Security:
/// max-age=63072000'` (uWSGI's); an app response and a static file; then a header with a
/// space in its name.
/// Answer: both responses carry both headers, beside their own; the malformed one stops
/// the start with exit 2 and a line naming it.
#[test]
fn add_header_goes_on_app_and_static_responses() {
    let dir = site();
    let map = format!("/static={}", dir.join("static").display());
    let s = Server::start(&[
        "--module",
        "app",
        "--static-map",
        &map,
        "--add-header",
        "X-Frame-Options: DENY",
        "--add-header",
        "Strict-Transport-Security: max-age=63072000",
    ]);
    let mut c = Client::connect(s.addr).unwrap();
    for path in ["/", "/static/app.css"] {
        let r = c.request("GET", path, &[], b"").unwrap();
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("x-frame-options"), Some("DENY"), "{path}");
        assert_eq!(
            r.header("strict-transport-security"),
            Some("max-age=63072000"),
            "{path}"
        );
        assert!(r.header("content-type").is_some(), "{path}");
    }
    rsgi_e2e::refused_at_start(
        &["--add-header", "Bad Name: x"],
        "--add-header 'Bad Name: x': the name is not an HTTP header name",
    );
}

/// Input: Range requests for the 1 MiB static file: `bytes=0-9`, `bytes=-5`,
/// `bytes=1048570-`, one past the end, two ranges at once, and one with an `If-Range`
/// that is not the file's date; all on one keep-alive connection.
/// Answer: 206 with that span and its `Content-Range` (`bytes 0-9/1048576`, ...); 416 with
/// `bytes */1048576` and no body; the whole file (200) for two ranges and for the stale
/// `If-Range`; every answer says `Accept-Ranges: bytes`.
#[test]
fn a_range_of_a_static_file_gets_206_with_that_span() {
    let dir = site();
    let s = start(&dir);
    let big: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
    let mut c = Client::connect(s.addr).unwrap();
    let mut get_range = |range: &str, extra: &[(&str, &str)]| {
        let mut headers = vec![("Range", range)];
        headers.extend_from_slice(extra);
        c.request("GET", "/static/big.bin", &headers, b"").unwrap()
    };
    for (range, first, len) in [
        ("bytes=0-9", 0usize, 10usize),
        ("bytes=-5", (1 << 20) - 5, 5),
        ("bytes=1048570-", 1048570, 6),
    ] {
        let r = get_range(range, &[]);
        assert_eq!(r.status, 206, "{range}");
        assert_eq!(r.body, big[first..first + len], "{range}");
        let content_range = format!("bytes {first}-{}/1048576", first + len - 1);
        assert_eq!(r.header("content-range"), Some(content_range.as_str()));
        assert_eq!(r.header("content-length"), Some(len.to_string().as_str()));
        assert_eq!(r.header("accept-ranges"), Some("bytes"));
    }
    let r = get_range("bytes=2000000-", &[]);
    assert_eq!(r.status, 416);
    assert_eq!(r.header("content-range"), Some("bytes */1048576"));
    assert!(r.body.is_empty());
    let r = get_range("bytes=0-1,5-6", &[]);
    assert_eq!((r.status, r.body.len()), (200, 1 << 20));
    let r = get_range(
        "bytes=0-9",
        &[("If-Range", "Mon, 01 Jan 2001 00:00:00 GMT")],
    );
    assert_eq!((r.status, r.body.len()), (200, 1 << 20));
    assert_eq!(r.header("accept-ranges"), Some("bytes"));
}
