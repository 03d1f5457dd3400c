//! Flask and Django, from the project's venv, driven through rsgi with an HTTP client:
//! `examples/flask_app` and `examples/django_project`.

use rsgi_e2e::{repo_root, venv, Client, Response, Server};

use crate::wsgi::{payload, sha256_hex};

fn serve_example(dir: &str, extra: &[&str]) -> Server {
    let venv = venv();
    let path = repo_root().join("examples").join(dir);
    let mut args = vec![
        "--virtualenv",
        venv.to_str().unwrap(),
        "--pythonpath",
        path.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Server::start(&args)
}

fn flask() -> Server {
    serve_example("flask_app", &["--module", "app:app"])
}

fn django() -> Server {
    serve_example(
        "django_project",
        &["--module", "mysite.wsgi", "--log-level", "debug"],
    )
}

/// The value of the cookie `name` among the response's `Set-Cookie` headers.
fn cookie(r: &Response, name: &str) -> Option<String> {
    r.headers
        .iter()
        .filter(|(n, _)| n == "set-cookie")
        .find_map(|(_, v)| {
            let first = v.split(';').next()?;
            let (n, value) = first.split_once('=')?;
            (n.trim() == name).then(|| value.trim().to_string())
        })
}

/// The `value` of the hidden input named `name` in an HTML page.
fn hidden_input(html: &str, name: &str) -> String {
    let at = html
        .find(&format!("name=\"{name}\""))
        .unwrap_or_else(|| panic!("no input {name} in {html}"));
    let tag_start = html[..at].rfind('<').unwrap();
    let tag = &html[tag_start..tag_start + html[tag_start..].find('>').unwrap()];
    let value = tag.split("value=\"").nth(1).expect("value");
    value[..value.find('"').unwrap()].to_string()
}

#[test]
fn flask_serves_a_page_json_and_a_form_post() {
    let s = flask();
    let mut c = Client::connect(s.addr).unwrap();
    let r = c.request("GET", "/", &[], b"").unwrap();
    assert_eq!(r.status, 200, "{}", s.log());
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    let page = r.text();
    assert!(page.contains("<h1>Flask on rsgi</h1>"), "{page}");
    assert!(page.contains("<li>plum</li>") && page.contains("href=\"/api/items\""));

    let r = c.request("GET", "/api/items?name=pl", &[], b"").unwrap();
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.text().trim(),
        r#"{"count":2,"items":[{"id":1,"name":"apple"},{"id":3,"name":"plum"}]}"#
    );

    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    let r = c
        .request("POST", "/greet", &form, b"name=Ada+Lovelace%21")
        .unwrap();
    assert_eq!(r.status, 200);
    assert!(r.text().contains("Hello, Ada Lovelace!!"), "{}", r.text());
    let r = c.request("POST", "/greet", &form, b"name=").unwrap();
    assert_eq!(r.status, 400);
    assert!(r.text().contains("a name is required"));
}

#[test]
fn flask_reads_a_chunked_json_body_and_builds_urls_under_a_mount() {
    let s = serve_example(
        "flask_app",
        &["--mount", "/shop=app:app", "--manage-script-name"],
    );
    let mut c = Client::connect(s.addr).unwrap();
    let r = c.request("GET", "/shop/", &[], b"").unwrap();
    assert_eq!(r.status, 200, "{}", s.log());
    assert!(
        r.text().contains("href=\"/shop/api/items\""),
        "{}",
        r.text()
    );
    // No Content-Length: werkzeug reads to the end because wsgi.input_terminated is set.
    let json = br#"{"a": [1, 2, 3], "b": "chunked"}"#;
    let mut raw = b"POST /shop/api/echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n\
                    Transfer-Encoding: chunked\r\n\r\n"
        .to_vec();
    for part in json.chunks(7) {
        raw.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        raw.extend_from_slice(part);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    c.send_raw(&raw).unwrap();
    let r = c.read_response(false).unwrap();
    assert_eq!(r.status, 200, "{}", s.log());
    assert_eq!(
        r.text().trim(),
        r#"{"content_length":null,"json":{"a":[1,2,3],"b":"chunked"},"path":"/api/echo","script_root":"/shop"}"#
    );
}

#[test]
fn django_csrf_form_post_redirects_with_the_token_and_is_403_without() {
    let s = django();
    let mut c = Client::connect(s.addr).unwrap();
    let r = c.request("GET", "/greet/", &[], b"").unwrap();
    assert_eq!(r.status, 200, "{}", s.log());
    let cookie_token = cookie(&r, "csrftoken").expect("csrftoken cookie");
    let form_token = hidden_input(&r.text(), "csrfmiddlewaretoken");
    let cookie_header = format!("csrftoken={cookie_token}");
    let headers = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Cookie", cookie_header.as_str()),
    ];
    let body = format!("csrfmiddlewaretoken={form_token}&name=Ada");
    let r = c
        .request("POST", "/greet/", &headers, body.as_bytes())
        .unwrap();
    assert_eq!(r.status, 302, "{}\n{}", r.text(), s.log());
    assert_eq!(r.header("location"), Some("/greet/?name=Ada"));
    let r = c.request("GET", "/greet/?name=Ada", &[], b"").unwrap();
    assert!(r.text().contains("Hello, Ada!"), "{}", r.text());

    // The same POST without the token (cookie or form field) is refused.
    let r = c
        .request("POST", "/greet/", &headers[..1], b"name=Ada")
        .unwrap();
    assert_eq!(r.status, 403);
    let r = c.request("POST", "/greet/", &headers, b"name=Ada").unwrap();
    assert_eq!(r.status, 403);
    assert!(
        r.text().contains("CSRF verification failed"),
        "{}",
        r.text()
    );
}

#[test]
fn django_takes_a_multipart_upload_streams_and_sends_a_file_response() {
    let s = django();
    let mut c = Client::connect(s.addr).unwrap();
    let r = c.request("GET", "/", &[], b"").unwrap();
    assert_eq!(r.status, 200, "{}", s.log());
    assert!(r.text().contains("<h1>Django on rsgi</h1>"));
    let cookie_token = cookie(&r, "csrftoken").expect("csrftoken cookie");
    let form_token = hidden_input(&r.text(), "csrfmiddlewaretoken");

    // 3 MB: past Django's in-memory limit, so it spools to a temporary file.
    let file = payload(3 * 1024 * 1024);
    let boundary = "rsgi-boundary-7d3f";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrfmiddlewaretoken\"\r\n\r\n\
         {form_token}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; \
         filename=\"data.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let cookie_header = format!("csrftoken={cookie_token}");
    let headers = [
        ("Content-Type", content_type.as_str()),
        ("Cookie", cookie_header.as_str()),
    ];
    let r = c.request("POST", "/upload/", &headers, &body).unwrap();
    assert_eq!(r.status, 200, "{}\n{}", r.text(), s.log());
    assert_eq!(
        r.text(),
        format!(
            r#"{{"name": "data.bin", "size": {}, "sha256": "{}"}}"#,
            file.len(),
            sha256_hex(&file)
        )
    );

    let r = c.request("GET", "/stream/?lines=500", &[], b"").unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    let expected: String = (0..500).map(|i| format!("line {i}\n")).collect();
    assert_eq!(r.text(), expected);

    let sample =
        std::fs::read(repo_root().join("examples/django_project/demo/files/sample.txt")).unwrap();
    let r = c.request("GET", "/file/", &[], b"").unwrap();
    assert_eq!(r.status, 200);
    // Through wsgi.file_wrapper: sized and sent whole, not chunked.
    assert_eq!(
        r.header("content-length"),
        Some(sample.len().to_string().as_str())
    );
    assert_eq!(r.header("transfer-encoding"), None);
    assert_eq!(r.body, sample);
    s.wait_log(
        &format!("GET /file/: sendfile of {} bytes", sample.len()),
        std::time::Duration::from_secs(5),
    );
}
