//! # rsgi-plugin-api
//!
//! The stable ABI between the `rsgi` host and its plugins. A plugin is a `cdylib` that
//! exports one root module, [`PluginModRef`], built with `abi_stable` so that a host and a
//! plugin built by different compilers, at different times, can still talk safely: the host
//! checks the version and the layout of every type here when it loads the plugin.
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
//! The ABI comes in series: `0.N` while the version is below 1.0 (0.1.0, 0.1.1, ... are
//! series `0.1`), then one per major version. A host loads every plugin built against any
//! release of its own series, older or newer than the host, and refuses a plugin of another
//! series with one line naming the file and both versions (then: rebuild the plugin).
//!
//! For that, nothing a host and a plugin exchange changes within a series: no field, entry
//! point, variant or parameter is added, removed or retyped. (abi_stable would let an older
//! host load a plugin with fields appended to a prefix module, but it refuses the other way
//! round, a newer host with an older plugin: "too many fields".) A change starts a new
//! series: bump this crate's version (which is its own, not the rsgi release's) to the next
//! minor. `tests/abi_frozen.rs` holds the promise: it compares every type reachable from
//! [`PluginModRef`] with the series' frozen description in `abi/<series>.txt`, and fails
//! on any difference that abi_stable would check.
//!
#![deny(missing_docs)]

pub mod app;
pub mod error;
pub mod guard;
pub mod host;
pub mod log;
pub mod module;
pub mod options;
pub mod protocol;
pub mod request;
pub mod response;
pub mod sdk;
pub mod status;
pub mod testing;

pub use app::{AppContext, AppMod, AppModRef};
pub use error::{ErrorKind, PluginError};
pub use host::{HostApi, LogLevel, LogSink};
pub use module::{PluginKind, PluginMod, PluginModRef, ABI_VERSION};
pub use options::{OptionKind, OptionSpec, OptionValue};
pub use protocol::{ProtocolMod, ProtocolModRef};
pub use request::{BodyReader, Header, NameStyle, Request};
pub use response::{Responder, SendError, SendResult};
pub use sdk::{App, Protocol};

/// Re-export of `abi_stable`, so plugins build against the exact version the host uses.
pub use abi_stable;
