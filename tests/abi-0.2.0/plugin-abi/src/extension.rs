//! Extensions: capabilities asked for by name and version at run time.
//!
//! The host offers extensions to plugins ([`crate::host::Host::extension`]) and a plugin
//! may offer them to the host ([`crate::module::PluginMod::extension`]). An extension is a
//! `#[repr(C)]` `StableAbi` table of functions; the answer to a lookup carries the table's
//! [`TypeLayout`], which the asker checks against the layout it was compiled with before the
//! first call (`abi_stable::abi_stability::check_layout_compatibility`), so a mismatch is an
//! error message, not a crash. Once released, a name at a version never changes: a changed
//! table is the next version, and a provider may offer several versions at once.

use std::ffi::c_void;

use abi_stable::{std_types::RStr, type_layout::TypeLayout, StableAbi};

/// An extension's name and version (`rsgi.scoreboard`, 1).
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtensionId {
    /// Dotted name; names starting with `rsgi.` are the project's.
    pub name: RStr<'static>,
    /// Its version, from 1.
    pub version: u32,
}

impl ExtensionId {
    /// Extension `name` at `version`.
    pub const fn new(name: &'static str, version: u32) -> ExtensionId {
        ExtensionId {
            name: RStr::from_str(name),
            version,
        }
    }
}

impl std::fmt::Display for ExtensionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} v{}", self.name, self.version)
    }
}

/// A plugin's requirement: the host must offer `id`, or (when `optional`) the plugin
/// works without it and falls back.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtensionNeed {
    /// The extension.
    pub id: ExtensionId,
    /// The plugin works without it (it asks, finds `None`, and falls back).
    pub optional: bool,
}

/// One extension's table, as a lookup answers it.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy)]
pub struct Extension {
    /// What it is.
    pub id: ExtensionId,
    /// The layout of the table `table` points to.
    pub layout: &'static TypeLayout,
    /// The table: `'static`, of the type `layout` describes.
    pub table: *const c_void,
}
