//! Extensions, typed: offer a table of your own, or open one the host offers.
//!
//! An extension is a `#[repr(C)]` `StableAbi` struct of `extern "C"` functions (or any
//! `StableAbi` data) that implements [`ExtensionTable`]: its name and version are part of
//! its type. [`offer`] wraps a `'static` table for an answer to a lookup; [`open`] checks
//! a looked-up table's layout against the type you were compiled with and lends it out.
//!
//! Deriving `StableAbi` needs `abi_stable` as a dependency of the crate that defines the
//! table (the derive's expansion names it), the same version the SDK re-exports.
//!
//! ```
//! use abi_stable::StableAbi;
//! use rsgi_plugin_api::sdk::extensions::{offer, open, ExtensionTable};
//!
//! /// Version 1 of an imaginary `example.clock` extension.
//! #[repr(C)]
//! #[derive(StableAbi)]
//! pub struct ClockV1 {
//!     pub now_ms: extern "C" fn() -> u64,
//! }
//! impl ExtensionTable for ClockV1 {
//!     const NAME: &'static str = "example.clock";
//!     const VERSION: u32 = 1;
//! }
//!
//! extern "C" fn now_ms() -> u64 { 42 }
//! static CLOCK: ClockV1 = ClockV1 { now_ms };
//!
//! let answer = offer(&CLOCK);
//! let clock: &ClockV1 = open(answer).unwrap();
//! assert_eq!((clock.now_ms)(), 42);
//! ```

use std::sync::OnceLock;

use abi_stable::abi_stability::check_layout_compatibility;
use abi_stable::std_types::RStr;
use abi_stable::StableAbi;

use crate::extension::{Extension, ExtensionId};
use crate::host::HostRef;

/// A table offered as an extension: a `StableAbi` type that knows its name and version.
pub trait ExtensionTable: StableAbi + Sync + 'static {
    /// Dotted name (`rsgi.scoreboard`); names starting with `rsgi.` are the project's.
    const NAME: &'static str;
    /// Version, from 1. A released name and version never change.
    const VERSION: u32;

    /// The name and version.
    fn id() -> ExtensionId {
        ExtensionId::new(Self::NAME, Self::VERSION)
    }
}

/// The answer to a lookup for `T`: the table with its layout.
pub fn offer<T: ExtensionTable>(table: &'static T) -> Extension {
    Extension {
        id: T::id(),
        layout: T::LAYOUT,
        table: (table as *const T).cast(),
    }
}

/// Lends out the table of `answer` as a `T`, after checking that it is `T`'s name and
/// version and that its layout is compatible with `T`'s as this plugin was compiled.
/// The error says what differs, in one line.
pub fn open<T: ExtensionTable>(answer: Extension) -> Result<&'static T, String> {
    if answer.id != T::id() {
        return Err(format!("asked for {}, got {}", T::id(), answer.id));
    }
    check_layout_compatibility(T::LAYOUT, answer.layout)
        .into_result()
        .map_err(|e| {
            let text = e.to_string();
            let first = text
                .lines()
                .map(str::trim)
                .find(|l| l.starts_with("Error:"))
                .unwrap_or_else(|| text.lines().next().unwrap_or(""))
                .to_string();
            format!("extension {} has another layout: {first}", T::id())
        })?;
    // SAFETY: the table is 'static (the provider's promise, see `offer`) and its layout was
    // just checked to be compatible with T's.
    Ok(unsafe { &*answer.table.cast::<T>() })
}

/// The host table `init` was given; set by the export macros' `init` shim.
static HOST: OnceLock<HostRef> = OnceLock::new();

/// Remembers the host table (the first one wins). Called by the export macros.
#[doc(hidden)]
pub fn remember_host(host: HostRef) {
    let _ = HOST.set(host);
}

/// The host's table, once `init` ran.
pub fn host() -> Option<HostRef> {
    HOST.get().copied()
}

/// Extension `T` of the host: `Ok(None)` when the host does not offer it (or `init` has
/// not run yet), an error when it offers a table of another layout.
pub fn from_host<T: ExtensionTable>() -> Result<Option<&'static T>, String> {
    let Some(host) = host() else {
        return Ok(None);
    };
    match (host.extension())(RStr::from_str(T::NAME), T::VERSION).into_option() {
        Some(answer) => open(answer).map(Some),
        None => Ok(None),
    }
}

impl ExtensionTable for crate::scoreboard::ScoreboardV1 {
    const NAME: &'static str = crate::scoreboard::ScoreboardV1::NAME;
    const VERSION: u32 = crate::scoreboard::ScoreboardV1::VERSION;
}

impl ExtensionTable for crate::exchange::ExchangeV1 {
    const NAME: &'static str = crate::exchange::ExchangeV1::NAME;
    const VERSION: u32 = crate::exchange::ExchangeV1::VERSION;
}

impl ExtensionTable for crate::exchange::ExchangeV2 {
    const NAME: &'static str = crate::exchange::ExchangeV2::NAME;
    const VERSION: u32 = crate::exchange::ExchangeV2::VERSION;
}

impl ExtensionTable for crate::exchange::ExchangeV3 {
    const NAME: &'static str = crate::exchange::ExchangeV3::NAME;
    const VERSION: u32 = crate::exchange::ExchangeV3::VERSION;
}

impl ExtensionTable for crate::upgrade::UpgradeV1 {
    const NAME: &'static str = crate::upgrade::UpgradeV1::NAME;
    const VERSION: u32 = crate::upgrade::UpgradeV1::VERSION;
}

impl ExtensionTable for crate::handle_upgrade::HandleUpgradeV1 {
    const NAME: &'static str = crate::handle_upgrade::HandleUpgradeV1::NAME;
    const VERSION: u32 = crate::handle_upgrade::HandleUpgradeV1::VERSION;
}
