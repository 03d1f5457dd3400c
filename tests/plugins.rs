use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use rsgi_e2e::{
    free_port, read_response, rsgi_command, run_to_exit, target_dir, uwsgi_packet, Server,
};

const T: Duration = Duration::from_secs(20);

#[test]
fn missing_plugin_is_one_line_and_exit_2() {
    let (code, out) = run_to_exit(&["--plugin", "nosuchplugin", "--module", "app"], T);
    assert_eq!(code, 2, "{out}");
    assert_eq!(out.trim().lines().count(), 1, "{out}");
    assert!(
        out.contains("plugin 'nosuchplugin' not found: no librsgi_nosuchplugin.so in"),
        "{out}"
    );
}

#[test]
fn missing_plugin_file_names_the_path() {
    let (code, out) = run_to_exit(
        &["--plugin", "/nonexistent/librsgi_x.so", "--module", "app"],
        T,
    );
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("plugin file /nonexistent/librsgi_x.so does not exist"),
        "{out}"
    );
}

#[test]
fn a_shared_library_that_is_not_a_plugin_is_refused() {
    let libm = [
        "/lib/x86_64-linux-gnu/libm.so.6",
        "/usr/lib/x86_64-linux-gnu/libm.so.6",
        "/lib64/libm.so.6",
    ]
    .into_iter()
    .find(|p| std::path::Path::new(p).exists())
    .expect("libm");
    let (code, out) = run_to_exit(&["--plugin", libm, "--module", "app"], T);
    assert_eq!(code, 2, "{out}");
    assert_eq!(out.trim().lines().count(), 1, "{out}");
    assert!(
        out.contains(&format!("{libm} is not an rsgi plugin")),
        "{out}"
    );
}

#[test]
fn a_file_that_is_not_a_library_is_refused() {
    let dir = rsgi_e2e::TempDir::new("notlib");
    let fake = dir.join("librsgi_fake.so");
    std::fs::write(&fake, b"this is not an ELF file\n").unwrap();
    let (code, out) = run_to_exit(&["--plugin", fake.to_str().unwrap(), "--module", "app"], T);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(&format!("cannot open plugin {}", fake.display())),
        "{out}"
    );
}

#[test]
fn a_plugin_of_another_abi_version_names_both_versions() {
    let wrong = target_dir().join("librsgi_wrongabi.so");
    let (code, out) = run_to_exit(&["--plugin", wrong.to_str().unwrap(), "--module", "app"], T);
    assert_eq!(code, 2, "{out}");
    assert_eq!(out.trim().lines().count(), 1, "{out}");
    assert!(
        out.contains(&format!(
            "speaks plugin ABI 0.99 (0.99.0), but this rsgi speaks plugin ABI 0.2 ({})",
            rsgi_plugin_api::ABI_VERSION
        )),
        "{out}"
    );
    assert!(out.contains("librsgi_wrongabi.so"), "{out}");
}

#[test]
fn plugin_dir_option_and_environment_are_searched() {
    let dir = rsgi_e2e::TempDir::new("plugdir");
    let (code, out) = run_to_exit(
        &[
            "--plugin-dir",
            dir.to_str().unwrap(),
            "--plugin",
            "absent",
            "--module",
            "app",
        ],
        T,
    );
    assert_eq!(code, 2);
    assert!(out.contains(&dir.display().to_string()), "{out}");
    // A copy of the http plugin under another name is found through RSGI_PLUGIN_DIR.
    std::fs::copy(
        target_dir().join("librsgi_http.so"),
        dir.join("librsgi_httpcopy.so"),
    )
    .unwrap();
    let out = rsgi_command()
        .args(["--list-plugins"])
        .env("RSGI_PLUGIN_DIR", dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("librsgi_httpcopy.so"), "{text}");
}

#[test]
fn list_plugins_shows_name_version_kind_and_path() {
    let out = rsgi_command().arg("--list-plugins").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    for name in ["python", "http", "uwsgi"] {
        let line = text
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} missing: {text}"));
        assert!(
            line.contains("0.1.0")
                && line.contains(&format!("abi {}", rsgi_plugin_api::ABI_VERSION))
                && line.contains(&format!("librsgi_{name}.so")),
            "{line}"
        );
    }
}

#[test]
fn two_protocol_plugins_serve_side_by_side() {
    let http_port = free_port();
    let uwsgi_port = free_port();
    let addr = format!("127.0.0.1:{http_port}").parse().unwrap();
    let s = Server::spawn(
        rsgi_command().args([
            "--plugin",
            "python,http,uwsgi",
            "--http",
            &format!("127.0.0.1:{http_port}"),
            "--socket",
            &format!("127.0.0.1:{uwsgi_port}"),
            "--module",
            "app",
        ]),
        addr,
    );
    s.wait_ready();
    // The log is read by a thread of the test: an answer does not mean it has read the
    // startup lines yet.
    s.wait_log("plugin http 0.1.0 (protocol)", T);
    s.wait_log("plugin uwsgi 0.1.0 (protocol)", T);
    assert_eq!(rsgi_e2e::get(addr, "/").text(), "Hello, World!");
    let mut stream = TcpStream::connect(("127.0.0.1", uwsgi_port)).unwrap();
    stream.set_read_timeout(Some(T)).unwrap();
    stream
        .write_all(&uwsgi_packet(
            &[
                ("REQUEST_METHOD", "GET"),
                ("REQUEST_URI", "/environ?via=uwsgi"),
                ("PATH_INFO", "/environ"),
                ("QUERY_STRING", "via=uwsgi"),
                ("SERVER_PROTOCOL", "HTTP/1.1"),
                ("SERVER_NAME", "example.org"),
                ("SERVER_PORT", "443"),
                ("REMOTE_ADDR", "10.1.2.3"),
                ("HTTPS", "on"),
                ("HTTP_X_TEST", "through-uwsgi"),
            ],
            b"",
        ))
        .unwrap();
    let r = read_response(&mut BufReader::new(stream), false).unwrap();
    assert_eq!(r.status, 200);
    let t = r.text();
    for expected in [
        r#""QUERY_STRING": "via=uwsgi""#,
        r#""SERVER_NAME": "example.org""#,
        r#""REMOTE_ADDR": "10.1.2.3""#,
        r#""HTTP_X_TEST": "through-uwsgi""#,
        r#""wsgi.url_scheme": "https""#,
    ] {
        assert!(t.contains(expected), "{expected} missing in {t}");
    }
}

#[test]
fn a_third_party_app_plugin_serves_without_python() {
    let port = free_port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let s = Server::spawn(
        rsgi_command().args([
            "--plugin",
            "echo",
            "--http",
            &addr.to_string(),
            "--echo-greeting",
            "hi from Rust",
        ]),
        addr,
    );
    s.wait_ready();
    let r = rsgi_e2e::try_request(
        addr,
        "POST",
        "/path?q=1",
        &[("X-Test", "yes")],
        b"some body",
    )
    .unwrap();
    assert_eq!(r.status, 200);
    let text = r.text();
    assert!(
        text.starts_with("hi from Rust\nPOST /path HTTP/1.1\nquery: q=1\n"),
        "{text}"
    );
    assert!(
        text.contains("header: X-Test: yes\n") && text.ends_with("body: 9 bytes\n"),
        "{text}"
    );
    s.wait_log("plugin echo 0.1.0 (app)", T);
    assert!(!s.log().contains("Python"), "no interpreter is involved");
}
