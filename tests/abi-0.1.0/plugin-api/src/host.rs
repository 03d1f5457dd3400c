//! What a plugin may ask of the host.

use abi_stable::{std_types::RStr, StableAbi};

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
/// events never reach the host's subscriber directly. [`crate::log::install`] sets a
/// subscriber in the plugin that forwards every event through this callback.
#[repr(C)]
#[derive(StableAbi, Clone, Copy)]
pub struct LogSink {
    /// Emits one log line in the host's log.
    pub log: extern "C" fn(level: LogLevel, target: RStr<'_>, message: RStr<'_>),
}

/// Services the host offers to every plugin, handed over in [`crate::module::PluginMod::init`].
#[repr(C)]
#[derive(StableAbi, Clone, Copy)]
pub struct HostApi {
    /// Where plugin log lines go.
    pub log: LogSink,
    /// Maximum log level the host will print (events above it can be skipped early).
    pub max_level: LogLevel,
}
