//! The root-module entries every plugin kind shares (options, needs, offers, extension,
//! init), as plain functions the kind's generated `extern "C"` shims call with the trait's
//! own functions, each inside a guard naming the plugin and the hook.

use abi_stable::std_types::{ROption, RResult, RSlice, RStr, RVec};

use super::instance::Instance;
use crate::extension::{Extension, ExtensionId, ExtensionNeed};
use crate::guard::{guard_hook, guard_hook_or};
use crate::host::HostRef;
use crate::options::{OptionSpec, OptionValue};
use crate::PluginError;

/// `options`: what `declared` returns, or none after a panic.
pub fn options<T: Instance>(declared: fn() -> Vec<OptionSpec>) -> RVec<OptionSpec> {
    guard_hook_or(T::NAME, "options", RVec::new(), || RVec::from(declared()))
}

/// `needs`: what `declared` returns, or none after a panic.
pub fn needs<T: Instance>(declared: fn() -> Vec<ExtensionNeed>) -> RVec<ExtensionNeed> {
    guard_hook_or(T::NAME, "needs", RVec::new(), || RVec::from(declared()))
}

/// `offers`: the names and versions of what `offered` returns.
pub fn offers<T: Instance>(offered: fn() -> Vec<Extension>) -> RVec<ExtensionId> {
    guard_hook_or(T::NAME, "offers", RVec::new(), || {
        offered().into_iter().map(|e| e.id).collect()
    })
}

/// `extension`: the table of `name` at `version` among what `offered` returns.
pub fn extension<T: Instance>(
    offered: fn() -> Vec<Extension>,
    name: RStr<'_>,
    version: u32,
) -> ROption<Extension> {
    guard_hook_or(T::NAME, "extension", ROption::RNone, || {
        offered()
            .into_iter()
            .find(|e| e.id.name == name && e.id.version == version)
            .into()
    })
}

/// `init`: the log bridge and the host table first, then the plugin's value from `make`.
pub fn init<T: Instance>(
    host: HostRef,
    options: RSlice<'_, OptionValue>,
    make: fn(&[OptionValue]) -> Result<T, PluginError>,
) -> RResult<(), PluginError> {
    guard_hook(T::NAME, "init", || {
        crate::log::install(host);
        super::extensions::remember_host(host);
        T::install(make(options.as_slice())?);
        Ok(())
    })
    .into()
}
