//! # rsgi-plugin-api
//!
//! The stable ABI between the `rsgi` host and its plugins. A plugin is a `cdylib` that
//! exports one root module, [`PluginModRef`], built with `abi_stable` so that a host and a
//! plugin built by different compilers, at different times, can still talk safely: the host
//! checks the version and the layout of every type here when it loads the plugin.
//!
//! There are two kinds of plugins:
//!
//! * **protocol** plugins ([`protocol::ProtocolMod`]) turn bytes into request heads and
//!   response heads into bytes. They never touch a socket: the host owns I/O.
//! * **app** plugins ([`app::AppMod`]) load an application (a WSGI callable, say) and serve
//!   [`Request`]s through a [`Responder`] and a [`BodyReader`] provided by the host.
//!
//! Rules every plugin follows:
//!
//! * Nothing unwinds across the boundary: wrap every exported function's body in
//!   [`guard::guard`] / [`guard::guard_or`].
//! * Log with `tracing` after calling [`log::install`] in `init`; lines reach the host's log.
//! * Keep process-wide setup out of `init` when it must not survive `fork()`; use the fork
//!   hooks of [`app::AppMod`].
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
//! ## A complete protocol plugin
//!
//! This plugin answers every request with nothing: it only shows the shape. See
//! `plugins/http` for a real one and `examples/plugin-template` for a skeleton to copy.
//!
//! ```
//! use abi_stable::{export_root_module, prefix_type::PrefixTypeTrait, sabi_extern_fn,
//!     std_types::{RResult, RSlice, RSliceMut, RStr, RVec, ROption, RNone, RSome, ROk, RErr}};
//! use rsgi_plugin_api::{*, protocol::*};
//!
//! #[sabi_extern_fn]
//! fn options() -> RVec<OptionSpec> { RVec::new() }
//!
//! #[sabi_extern_fn]
//! fn init(host: &HostApi, _opts: RSlice<'_, OptionValue>) -> RResult<(), PluginError> {
//!     rsgi_plugin_api::log::install(host);
//!     ROk(())
//! }
//!
//! #[sabi_extern_fn]
//! fn parse(buf: RSlice<'_, u8>, _h: RSliceMut<'_, HeaderSpan>, _v: RSliceMut<'_, HeaderSpan>) -> ParseOutcome {
//!     guard::guard_or("parse", ParseOutcome::invalid(ProtocolError::new(400, "panic")), || {
//!         if buf.is_empty() { ParseOutcome::partial() }
//!         else { ParseOutcome::invalid(ProtocolError::new(0, "this example accepts nothing")) }
//!     })
//! }
//! #[sabi_extern_fn]
//! fn decode_body(_s: &mut DecoderState, _i: RSlice<'_, u8>, _o: RSliceMut<'_, u8>) -> DecodeOutcome {
//!     DecodeOutcome { consumed: 0, produced: 0, done: true, error: ProtocolError::new(0, "") }
//! }
//! #[sabi_extern_fn]
//! fn encode_head(_c: &ResponseContext<'_>, _s: u16, _r: RStr<'_>, _h: RSlice<'_, Header<'_>>,
//!                _o: &mut RVec<u8>) -> RResult<ResponseFraming, ProtocolError> {
//!     RErr(ProtocolError::new(500, "this example cannot answer"))
//! }
//! #[sabi_extern_fn]
//! fn body_noop(_f: &ResponseFraming, _len: u64, _o: &mut RVec<u8>) {}
//! #[sabi_extern_fn]
//! fn body_end(_f: &ResponseFraming, _o: &mut RVec<u8>) {}
//! #[sabi_extern_fn]
//! fn encode_error(_v: Version, _s: u16, _o: &mut RVec<u8>) -> bool { false }
//!
//! #[export_root_module]
//! pub fn get_library() -> PluginModRef {
//!     PluginMod {
//!         name: RStr::from_str("null"),
//!         version: RStr::from_str("0.1.0"),
//!         kind: PluginKind::Protocol,
//!         options,
//!         init,
//!         protocol: RSome(ProtocolMod {
//!             parse, decode_body, encode_head,
//!             body_prefix: body_noop, body_suffix: body_end, body_end,
//!             encode_error, encode_continue: encode_error_continue,
//!         }.leak_into_prefix()),
//!         app: RNone,
//!     }.leak_into_prefix()
//! }
//! # #[sabi_extern_fn]
//! # fn encode_error_continue(_v: Version, _o: &mut RVec<u8>) -> bool { false }
//! # fn main() { let m = get_library(); assert_eq!(m.name().as_str(), "null"); }
//! ```
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
pub mod status;

pub use app::{AppContext, AppMod, AppModRef};
pub use error::{ErrorKind, PluginError};
pub use host::{HostApi, LogLevel, LogSink};
pub use module::{PluginKind, PluginMod, PluginModRef, ABI_VERSION};
pub use options::{OptionKind, OptionSpec, OptionValue};
pub use protocol::{ProtocolMod, ProtocolModRef};
pub use request::{BodyReader, Header, NameStyle, Request};
pub use response::{Responder, SendError, SendResult};

/// Re-export of `abi_stable`, so plugins build against the exact version the host uses.
pub use abi_stable;
