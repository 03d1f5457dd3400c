//! # rsgi-plugin-abi
//!
//! The frozen types of the rsgi plugin ABI: what the `rsgi` host and a plugin library
//! exchange, as `#[repr(C)]` [`abi_stable`] types whose layouts the host checks when it
//! loads a plugin. Plugin authors do not use this crate directly: they write against the
//! SDK, `rsgi-plugin-api`, which re-exports it and generates everything here from safe
//! traits. The contract in prose (which hook runs on which thread, before or after fork)
//! is `docs/plugin-abi.md` in the rsgi repository.
//!
//! * [`module::PluginMod`] — the root module every plugin library exports;
//! * [`host::Host`] — the host's table handed to `init`: its ABI release, logging,
//!   extensions;
//! * [`protocol::ProtocolMod`] — the entry points of a protocol plugin (sans-I/O);
//! * [`app::AppMod`] — the entry points of an app plugin, with [`request::Request`],
//!   [`request::BodyReader`] and [`response::Responder`];
//! * [`extension`] — capabilities asked for by name and version at run time; the
//!   project's own: [`scoreboard`] (`rsgi.scoreboard` v1, since 0.2.1) and [`exchange`]
//!   (`rsgi.exchange` v1, since 0.2.2: an app call answered now or later, with
//!   [`app::AppMod::call`]; v2, since 0.2.3, adds `sendfile`; v3, since 0.2.4, the upgrade
//!   to a message stream) and [`upgrade`] (`rsgi.upgrade` v1, since 0.2.4: a codec for an
//!   upgraded connection, offered by a protocol plugin, such as WebSocket's) and
//!   [`handle_upgrade`] (`rsgi.handle_upgrade` v1, since 0.2.5: the same upgrade for a
//!   request served through `handle`, as a blocking stream);
//! * [`options`], [`error`] — option declarations and values, errors.
//!
//! ## Series and growth
//!
//! The ABI comes in series: `0.N` while the version is below 1.0 (0.2.0, 0.2.1, ... are
//! series `0.2`), then one per major version. A host loads every plugin built against any
//! release of its own series, older or newer than the host, and refuses a plugin of another
//! series with one line naming the file and both series.
//!
//! Within a series, released things never change; new things are added, in one of two
//! ways only:
//!
//! 1. **Appended fields.** The prefix tables ([`module::PluginMod`], [`host::Host`],
//!    [`protocol::ProtocolMod`], [`app::AppMod`]) gain fields after their last one, each
//!    documented "since 0.2.N" and read through an `Option` accessor (`None` when the other
//!    side is older). A newer host reads an older plugin's shorter tables because it checks
//!    the plugin's layout against its own in that direction (the plugin's must be a prefix
//!    of the host's); a plugin reads a newer host's longer [`host::Host`] as abi_stable
//!    allows anyway.
//! 2. **Extensions** ([`extension`]): a table asked for by name and version, whose layout
//!    travels with it and is checked by the asker before the first call. A released name
//!    and version never change; a changed table is the next version.
//!
//! Nothing else changes within a series: no field is removed, reordered or retyped, no
//! enum gains a variant, no function's parameters change. `tests/abi_frozen.rs` holds the
//! promise: it compares every type reachable from [`module::PluginModRef`] with the frozen
//! description of each released version in `abi/<version>.txt` and checks that each older
//! release's root module is a prefix of the current one's.
#![deny(missing_docs)]

pub mod app;
pub mod error;
pub mod exchange;
pub mod extension;
pub mod handle_upgrade;
pub mod host;
pub mod module;
pub mod options;
pub mod protocol;
pub mod request;
pub mod response;
pub mod scoreboard;
pub mod upgrade;

pub use app::{AppContext, AppMod, AppModRef};
pub use error::{ErrorKind, PluginError};
pub use exchange::{
    CallOutcome, Exchange, ExchangeV1, ReadResult, ReadStatus, Readiness, Waker, WriteStatus,
};
pub use extension::{Extension, ExtensionId, ExtensionNeed};
pub use host::{Host, HostRef, LogLevel, LogSink};
pub use module::{abi_series, series_of, PluginKind, PluginMod, PluginModRef, ABI_VERSION};
pub use options::{OptionKind, OptionSpec, OptionValue};
pub use protocol::{ProtocolMod, ProtocolModRef};
pub use request::{BodyReader, Header, NameStyle, Request};
pub use response::{Responder, SendError, SendResult};

/// Re-export of `abi_stable`, so every side builds against the exact version of the ABI.
pub use abi_stable;
