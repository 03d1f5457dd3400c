//! The extensions this host offers plugins (`Host::extension`), by name and version.
//!
//! Each is a `'static` table of its own type; a plugin checks the table's layout against
//! the type it was compiled with before the first call. A released name and version never
//! change: a changed table is offered as the next version, beside the old one while plugins
//! may still ask for it.

use abi_stable::std_types::{ROption, RStr, RVec};
use rsgi_plugin_api::{Extension, ExtensionId};

/// Every extension offered, as lookups answer them.
fn all() -> Vec<Extension> {
    Vec::new()
}

/// Whether the host offers `id`.
pub fn offers(id: ExtensionId) -> bool {
    all().iter().any(|e| e.id == id)
}

/// `Host::extensions`: every extension offered.
pub extern "C" fn list() -> RVec<ExtensionId> {
    all().into_iter().map(|e| e.id).collect()
}

/// `Host::extension`: the table of `name` at `version`, if offered.
pub extern "C" fn lookup(name: RStr<'_>, version: u32) -> ROption<Extension> {
    all()
        .into_iter()
        .find(|e| e.id.name == name && e.id.version == version)
        .into()
}
