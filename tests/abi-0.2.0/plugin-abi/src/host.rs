//! What a plugin may ask of the host.

use abi_stable::{
    std_types::{ROption, RStr, RVec},
    StableAbi,
};

use crate::extension::{Extension, ExtensionId};

/// Severity of a log line sent from a plugin to the host.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Very verbose diagnostics.
    Trace = 0,
    /// Diagnostics for developers.
    Debug = 1,
    /// Normal operational messages.
    Info = 2,
    /// Something unexpected that the plugin recovered from.
    Warn = 3,
    /// A failure (a request that errored, an app that raised).
    Error = 4,
}

/// The host's log sink: `log(level, target, message)`.
///
/// Each cdylib has its own copy of `tracing`'s global dispatcher, so a plugin's `tracing`
/// events never reach the host's subscriber directly. The SDK's log bridge sets a
/// subscriber in the plugin that forwards every event through this callback.
#[repr(C)]
#[derive(StableAbi, Clone, Copy)]
pub struct LogSink {
    /// Emits one log line in the host's log.
    pub log: extern "C" fn(level: LogLevel, target: RStr<'_>, message: RStr<'_>),
}

/// The host's table, handed to every plugin's `init`: what the host is and what it offers.
///
/// A prefix table the host fills and the plugin reads: a later 0.2 release appends fields
/// (after the last one, each saying "since 0.2.N"), which a plugin built against an older
/// release does not see, and a plugin built against a newer release reads through
/// `Option` accessors (`None` from an older host).
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = HostRef)))]
#[sabi(missing_field(option))]
pub struct Host {
    /// The plugin ABI release the host was built against (`0.2.3`): what it talks to.
    pub abi_version: RStr<'static>,
    /// Where plugin log lines go.
    pub log: LogSink,
    /// Maximum log level the host will print (events above it can be skipped early).
    pub max_level: LogLevel,
    /// Every extension the host offers, by name and version.
    pub extensions: extern "C" fn() -> RVec<ExtensionId>,
    /// The host's table for extension `name` at `version`, if it offers it. Check the
    /// table's layout before the first call (the SDK's `extension::open` does).
    #[sabi(last_prefix_field)]
    pub extension: extern "C" fn(name: RStr<'_>, version: u32) -> ROption<Extension>,
}
