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
//! 1. one `#[export_root_module]` function returning a [`PluginModRef`] with the plugin's
//!    name, version, kind, options, `init`, and its per-kind module (`AppMod` here);
//! 2. every `extern "C"` entry point runs its body inside [`guard`]/[`guard_or`], because
//!    a panic must never unwind into the host;
//! 3. `init` installs the logging bridge, so `tracing` lines reach the host's log;
//! 4. state lives in statics (`OnceLock`): one loaded library is one plugin instance per
//!    process, shared by the master and (after fork) each worker.

use std::sync::OnceLock;

use abi_stable::export_root_module;
use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::sabi_extern_fn;
use abi_stable::std_types::{RErr, RNone, ROk, RResult, RSlice, RSome, RStr, RString, RVec};
use rsgi_plugin_api::guard::{guard, guard_or};
use rsgi_plugin_api::{
    options, AppContext, AppMod, BodyReader, ErrorKind, Header, HostApi, OptionKind, OptionSpec,
    OptionValue, PluginError, PluginKind, PluginMod, PluginModRef, Request, Responder,
};

/// What `init` was told.
struct Settings {
    greeting: String,
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();

#[sabi_extern_fn]
fn declare_options() -> RVec<OptionSpec> {
    vec![OptionSpec {
        name: RStr::from_str("echo-greeting"),
        aliases: RStr::from_str(""),
        value_name: RStr::from_str("TEXT"),
        help: RStr::from_str("first line of every answer (default: \"echo\")"),
        kind: OptionKind::Value,
    }]
    .into()
}

#[sabi_extern_fn]
fn init(host: &HostApi, values: RSlice<'_, OptionValue>) -> RResult<(), PluginError> {
    guard("echo init", || {
        rsgi_plugin_api::log::install(host);
        let greeting = options::find(values.as_slice(), "echo-greeting").unwrap_or("echo");
        if greeting.contains(['\r', '\n']) {
            return Err(PluginError::new(
                ErrorKind::Config,
                "--echo-greeting must be one line",
            ));
        }
        let _ = SETTINGS.set(Settings {
            greeting: greeting.to_string(),
        });
        Ok(())
    })
    .into()
}

#[sabi_extern_fn]
fn load_app(ctx: &AppContext) -> RResult<RString, PluginError> {
    ROk(RString::from(format!(
        "echo app (worker {})",
        ctx.worker_id
    )))
}

#[sabi_extern_fn]
fn no_op() {}

#[sabi_extern_fn]
fn post_fork_child(_ctx: &AppContext) {}

/// The answer for `request` with `body` (split out so tests can call it without a host).
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

fn serve(
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
    let greeting = SETTINGS
        .get()
        .map(|s| s.greeting.as_str())
        .unwrap_or("echo");
    let answer = describe(greeting, request, &data);
    let length = answer.len().to_string();
    let headers = [
        Header {
            name: RSlice::from_slice(b"Content-Type"),
            value: RSlice::from_slice(b"text/plain; charset=utf-8"),
        },
        Header {
            name: RSlice::from_slice(b"Content-Length"),
            value: RSlice::from_slice(length.as_bytes()),
        },
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

#[sabi_extern_fn]
fn handle(
    request: &Request<'_>,
    body: &mut BodyReader<'_>,
    responder: &mut Responder<'_>,
) -> RResult<(), PluginError> {
    guard_or(
        "echo handle",
        RErr(PluginError::new(ErrorKind::Panic, "echo plugin panicked")),
        || serve(request, body, responder).into(),
    )
}

/// The root module rsgi loads.
#[export_root_module]
pub fn get_library() -> PluginModRef {
    PluginMod {
        name: RStr::from_str("echo"),
        version: RStr::from_str(env!("CARGO_PKG_VERSION")),
        kind: PluginKind::App,
        options: declare_options,
        init,
        protocol: RNone,
        app: RSome(
            AppMod {
                load_app,
                pre_fork: no_op,
                post_fork_parent: no_op,
                post_fork_child,
                handle,
                shutdown: no_op,
            }
            .leak_into_prefix(),
        ),
    }
    .leak_into_prefix()
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi_stable::std_types::RNone;
    use rsgi_plugin_api::NameStyle;

    #[test]
    fn the_answer_lists_method_path_query_headers_and_body_size() {
        let headers = [Header {
            name: RSlice::from_slice(b"X-Test"),
            value: RSlice::from_slice(b"1"),
        }];
        let request = Request {
            method: RSlice::from_slice(b"POST"),
            uri: RSlice::from_slice(b"/a?b=c"),
            path: RSlice::from_slice(b"/a"),
            query: RSlice::from_slice(b"b=c"),
            protocol: RStr::from_str("HTTP/1.1"),
            scheme: RStr::from_str("http"),
            headers: RSlice::from_slice(&headers),
            names: NameStyle::Http,
            vars: RSlice::from_slice(&[]),
            remote_addr: RStr::from_str("127.0.0.1"),
            remote_port: 1,
            server_name: RStr::from_str("127.0.0.1"),
            server_port: 8000,
            content_length: RNone,
            worker_id: 1,
        };
        assert_eq!(
            describe("hi", &request, b"xyz"),
            "hi\nPOST /a HTTP/1.1\nquery: b=c\nheader: X-Test: 1\nbody: 3 bytes\n"
        );
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
