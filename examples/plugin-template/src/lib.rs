//! An rsgi app plugin written in Rust, to copy when writing your own.
//!
//! It answers every request with a small text describing the request (method, path,
//! query, headers and the body it read), which makes it useful to see what rsgi hands an
//! app plugin. Build it with `cargo build -p rsgi-plugin-template` and run
//!
//! ```text
//! rsgi --plugin echo --http 127.0.0.1:8000 --echo-greeting "hi from Rust"
//! ```
//!
//! The shape of every plugin:
//!
//! 1. a type implementing [`rsgi_plugin_api::App`] (or `Protocol`): `init` makes it from
//!    the plugin's options, `handle` serves a request; the other hooks have defaults;
//! 2. one `export_app!` line, which generates what rsgi loads: the root module, a panic
//!    guard around every hook (a panic costs a 500, never the worker), option
//!    declaration and the log bridge (`tracing` lines reach rsgi's log);
//! 3. tests call the trait's methods with the fakes of `rsgi_plugin_api::testing`.

use rsgi_plugin_api::{
    options, App, AppContext, BodyReader, ErrorKind, Header, OptionSpec, OptionValue, PluginError,
    Request, Responder,
};

/// The echo plugin: what `init` was told.
pub struct Echo {
    greeting: String,
}

rsgi_plugin_api::export_app!(Echo, name = "echo");

impl App for Echo {
    fn options() -> Vec<OptionSpec> {
        vec![OptionSpec::value(
            "echo-greeting",
            "TEXT",
            "first line of every answer (default: \"echo\")",
        )]
    }

    fn init(options: &[OptionValue]) -> Result<Echo, PluginError> {
        let greeting = options::find(options, "echo-greeting").unwrap_or("echo");
        if greeting.contains(['\r', '\n']) {
            return Err(PluginError::new(
                ErrorKind::Config,
                "--echo-greeting must be one line",
            ));
        }
        Ok(Echo {
            greeting: greeting.to_string(),
        })
    }

    fn load_app(&self, ctx: &AppContext) -> Result<String, PluginError> {
        Ok(format!("echo app (worker {})", ctx.worker_id))
    }

    fn handle(
        &self,
        request: &Request<'_>,
        body: &mut BodyReader<'_>,
        responder: &mut Responder<'_>,
    ) -> Result<(), PluginError> {
        let fail = |what: &str| PluginError::new(ErrorKind::Request, what);
        let mut data = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            match body.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => data.extend_from_slice(&chunk[..n]),
                Err(why) => return Err(fail(why)),
            }
        }
        let answer = describe(&self.greeting, request, &data);
        let length = answer.len().to_string();
        let headers = [
            Header::new(b"Content-Type", b"text/plain; charset=utf-8"),
            Header::new(b"Content-Length", length.as_bytes()),
        ];
        responder
            .start(200, "", &headers)
            .map_err(|e| fail(e.describe()))?;
        responder
            .write(answer.as_bytes())
            .map_err(|e| fail(e.describe()))?;
        tracing::debug!("echoed {} body bytes", data.len());
        Ok(())
    }
}

/// The answer for `request` with `body`.
pub fn describe(greeting: &str, request: &Request<'_>, body: &[u8]) -> String {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let mut out = format!(
        "{greeting}\n{} {} {}\nquery: {}\n",
        text(request.method.as_slice()),
        text(request.path.as_slice()),
        request.protocol.as_str(),
        text(request.query.as_slice())
    );
    for h in request.headers.as_slice() {
        out.push_str(&format!(
            "header: {}: {}\n",
            text(h.name.as_slice()),
            text(h.value.as_slice())
        ));
    }
    out.push_str(&format!("body: {} bytes\n", body.len()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsgi_plugin_api::testing::{option, FakeBody, FakeResponse, RequestSpec};
    use rsgi_plugin_api::PluginKind;

    fn echo(greeting: &str) -> Echo {
        Echo::init(&[option("echo-greeting", &[greeting])]).unwrap()
    }

    #[test]
    fn the_answer_lists_method_path_query_headers_and_body_size() {
        let spec = RequestSpec::post("/a?b=c", b"xyz").header("X-Test", "1");
        let mut body = FakeBody::new(&spec.body, 2);
        let mut response = FakeResponse::default();
        spec.with_request(|r| echo("hi").handle(r, &mut body.reader(), &mut response.responder()))
            .unwrap();
        let want = "hi\nPOST /a HTTP/1.1\nquery: b=c\nheader: X-Test: 1\nbody: 3 bytes\n";
        assert_eq!(response.head().unwrap().0, 200);
        assert_eq!(
            response.header("content-length"),
            Some(want.len().to_string())
        );
        assert_eq!(response.body(), want.as_bytes());
    }

    #[test]
    fn a_client_gone_mid_body_is_a_request_error() {
        let spec = RequestSpec::post("/", b"xyz");
        let mut body = FakeBody::new(&spec.body, 1);
        body.fail = Some("client disconnected");
        let mut response = FakeResponse::default();
        let err = spec
            .with_request(|r| echo("hi").handle(r, &mut body.reader(), &mut response.responder()))
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Request);
        assert!(response.head().is_none());
    }

    #[test]
    fn a_greeting_of_two_lines_is_a_config_error() {
        let err = Echo::init(&[option("echo-greeting", &["a\nb"])])
            .err()
            .unwrap();
        assert_eq!(err.kind, ErrorKind::Config);
    }

    #[test]
    fn the_root_module_says_what_the_plugin_is() {
        let m = get_library();
        assert_eq!(m.name().as_str(), "echo");
        assert_eq!(m.kind(), PluginKind::App);
        assert!(m.app().is_some() && m.protocol().is_none());
        assert_eq!((m.options())().len(), 1);
    }
}
