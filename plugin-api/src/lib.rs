//! # rsgi-plugin-api
//!
//! The SDK for rsgi plugins. A plugin is a `cdylib` that exports one root module,
//! [`PluginModRef`], over the stable ABI of `rsgi-plugin-abi` (re-exported here: its
//! modules [`app`], [`protocol`], [`request`], [`response`], [`host`], [`module`],
//! [`options`], [`error`], [`extension`]), so that a host and a plugin built by different
//! compilers, at different times, can still talk safely: the host checks the ABI series and
//! the layout of every type when it loads the plugin.
//!
//! There are two kinds of plugins, each a trait of the SDK ([`sdk`]):
//!
//! * **protocol** plugins ([`Protocol`]) turn bytes into request heads and response heads
//!   into bytes. They never touch a socket: the host owns I/O.
//! * **app** plugins ([`App`]) load an application (a WSGI callable, say) and serve
//!   [`Request`]s through a [`Responder`] and a [`BodyReader`] provided by the host.
//!
//! A plugin implements one of the traits and exports it with one line,
//! [`export_app!`] or [`export_protocol!`]. The macro writes what the host loads: the root
//! module ([`PluginModRef`]), one `extern "C"` shim per entry point running the method
//! inside a panic guard (a panic costs the request a 500, or the connection once the head
//! is out, and logs one line naming plugin and hook; the worker serves on), the options
//! the plugin declares, and the log bridge (after `init`, `tracing` events in the plugin
//! reach the host's log). No plugin writes `extern "C"` by hand. [`testing`] has fakes of
//! the host's side (request, body, responder, host table) for unit tests that call the
//! trait's methods directly.
//!
//! ```
//! use rsgi_plugin_api::{options, App, AppContext, BodyReader, ErrorKind, Header, OptionSpec,
//!     OptionValue, PluginError, Request, Responder};
//!
//! /// Answers every request with a greeting (`--hello-text TEXT`).
//! pub struct Hello {
//!     text: String,
//! }
//!
//! rsgi_plugin_api::export_app!(Hello, name = "hello");
//!
//! impl App for Hello {
//!     fn options() -> Vec<OptionSpec> {
//!         vec![OptionSpec::value("hello-text", "TEXT", "what every answer says")]
//!     }
//!     fn init(options: &[OptionValue]) -> Result<Hello, PluginError> {
//!         let text = options::find(options, "hello-text").unwrap_or("hello").to_string();
//!         Ok(Hello { text })
//!     }
//!     fn load_app(&self, ctx: &AppContext) -> Result<String, PluginError> {
//!         Ok(format!("hello app in worker {}", ctx.worker_id))
//!     }
//!     fn handle(&self, _request: &Request<'_>, _body: &mut BodyReader<'_>,
//!               responder: &mut Responder<'_>) -> Result<(), PluginError> {
//!         let fail = |e: rsgi_plugin_api::SendError| PluginError::new(ErrorKind::Request, e.describe());
//!         let length = self.text.len().to_string();
//!         responder.start(200, "", &[Header::new(b"Content-Length", length.as_bytes())]).map_err(fail)?;
//!         responder.write(self.text.as_bytes()).map_err(fail)
//!     }
//! }
//!
//! # fn main() {
//! // Unit-tested through the fakes, no library loading:
//! use rsgi_plugin_api::testing::{option, FakeBody, FakeResponse, RequestSpec};
//! let hello = Hello::init(&[option("hello-text", &["hi"])]).unwrap();
//! let (spec, mut response) = (RequestSpec::get("/"), FakeResponse::default());
//! let mut body = FakeBody::new(b"", 1);
//! spec.with_request(|r| hello.handle(r, &mut body.reader(), &mut response.responder())).unwrap();
//! assert_eq!(response.body(), b"hi");
//! assert_eq!(get_library().name().as_str(), "hello");
//! # }
//! ```
//!
//! **Start with [`guide`]: "Writing an rsgi plugin"** (lifecycle, threads and fork, options,
//! logging, errors and panics, extensions, the compatibility promise, testing).
//!
//! `plugins/http` and `plugins/uwsgi-proto` are real protocol plugins, `plugins/python` a
//! real app plugin, and `examples/plugin-template` a skeleton to copy. The contract (which
//! hook runs on which thread, before or after fork) is `docs/plugin-abi.md`.
//!
//! Rules every plugin follows:
//!
//! * Keep process-wide setup out of `init` when it must not survive `fork()` (the master
//!   forks after it; start no threads there); use [`App::post_fork_child`].
//! * Methods of [`Protocol`] run on any worker thread, concurrently under `--threads`:
//!   keep per-request state in the arguments, not in `self`.
//!
//! ## Compatibility
//!
//! The ABI comes in series (`0.2` now; `0.1` was the first, request/response only). A host
//! loads every plugin built against any release of its own series, older or newer, and
//! refuses a plugin of another series with one line naming both. Within the series the ABI
//! only grows: fields appended to its tables (read as `Option`s) and extensions asked for
//! by name and version ([`sdk::extensions`]); see `rsgi-plugin-abi`'s docs, "Series and
//! growth". This crate's minor version follows the series it builds on.
#![deny(missing_docs)]

pub mod guard;
pub mod guide;
pub mod log;
pub mod sdk;
pub mod status;
pub mod testing;

pub use rsgi_plugin_abi::{
    abi_series, app, error, exchange, extension, handle_upgrade, host, module, options, protocol,
    request, response, scoreboard, series_of, upgrade, AppContext, AppMod, AppModRef, BodyReader,
    CallOutcome, ErrorKind, Extension, ExtensionId, ExtensionNeed, Header, Host, HostRef, LogLevel,
    LogSink, NameStyle, OptionKind, OptionSpec, OptionValue, PluginError, PluginKind, PluginMod,
    PluginModRef, ProtocolMod, ProtocolModRef, Request, Responder, SendError, SendResult,
    ABI_VERSION,
};
pub use sdk::{App, Protocol};

/// Re-export of `abi_stable`, so plugins build against the exact version the host uses.
pub use abi_stable;
