//! The root module every plugin exports, and the ABI version check.

use abi_stable::{
    declare_root_module_statics,
    library::RootModule,
    package_version_strings,
    sabi_types::VersionStrings,
    std_types::{ROption, RResult, RSlice, RStr, RVec},
    StableAbi,
};

use crate::app::AppModRef;
use crate::error::PluginError;
use crate::extension::{Extension, ExtensionId, ExtensionNeed};
use crate::host::HostRef;
use crate::options::{OptionSpec, OptionValue};
use crate::protocol::ProtocolModRef;

/// What a plugin provides.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginKind {
    /// A wire protocol (HTTP, uwsgi): see [`crate::protocol`].
    Protocol = 0,
    /// A language runtime that serves apps (Python): see [`crate::app`].
    App = 1,
}

impl PluginKind {
    /// `protocol` or `app`.
    pub fn as_str(self) -> &'static str {
        match self {
            PluginKind::Protocol => "protocol",
            PluginKind::App => "app",
        }
    }
}

/// The root module of an rsgi plugin: what the export macros generate.
///
/// The host loads it with `lib_header_from_path`, checks the ABI series, then the layout
/// in the direction that lets an older plugin of the series load in a newer host (the
/// plugin's layout must be a prefix of the host's), and reads every field a later 0.2
/// release appends through its `Option` accessor. See the crate docs, "Growth".
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModRef)))]
#[sabi(missing_field(option))]
pub struct PluginMod {
    /// Short name (`http`, `python`); what `--plugin NAME` refers to.
    pub name: RStr<'static>,
    /// The plugin's own version.
    pub version: RStr<'static>,
    /// Protocol or app.
    pub kind: PluginKind,
    /// Options the plugin understands (shown by `--help`, accepted in the config file).
    pub options: extern "C" fn() -> RVec<OptionSpec>,
    /// The extensions the plugin needs of the host. Asked before `init`: a required one the
    /// host lacks stops the start with one line naming plugin and extension (exit 2).
    pub needs: extern "C" fn() -> RVec<ExtensionNeed>,
    /// Called once in the master, after loading and before anything else: set up logging
    /// through `host`, validate `options`. An error with kind `Config` exits 2.
    pub init:
        extern "C" fn(host: HostRef, options: RSlice<'_, OptionValue>) -> RResult<(), PluginError>,
    /// Every extension the plugin offers, by name and version (`rsgi --list-plugins`).
    pub offers: extern "C" fn() -> RVec<ExtensionId>,
    /// The plugin's table for extension `name` at `version`, if it offers it.
    pub extension: extern "C" fn(name: RStr<'_>, version: u32) -> ROption<Extension>,
    /// The protocol entry points, for [`PluginKind::Protocol`].
    pub protocol: ROption<ProtocolModRef>,
    /// The app entry points, for [`PluginKind::App`].
    #[sabi(last_prefix_field)]
    pub app: ROption<AppModRef>,
}

impl RootModule for PluginModRef {
    declare_root_module_statics! {PluginModRef}
    const BASE_NAME: &'static str = "rsgi_plugin";
    const NAME: &'static str = "rsgi_plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

/// The plugin ABI release this crate is (its package version, `0.2.0`).
pub const ABI_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The series of [`ABI_VERSION`]: `0.2`. Hosts and plugins of one series load each other.
pub fn abi_series() -> &'static str {
    series_of(ABI_VERSION)
}

/// The series of a version string: `0.N` for `0.N.x`, `N` for `N.x.y`.
pub fn series_of(version: &str) -> &str {
    let mut dots = version.match_indices('.').map(|(i, _)| i);
    let first = dots.next();
    match (version.starts_with("0."), first, dots.next()) {
        (true, _, Some(second)) => &version[..second],
        (true, _, None) => version,
        (false, Some(first), _) => &version[..first],
        (false, None, _) => version,
    }
}

#[cfg(test)]
mod tests {
    use super::series_of;

    #[test]
    fn the_series_is_the_minor_before_1_0_and_the_major_after() {
        assert_eq!(series_of("0.2.0"), "0.2");
        assert_eq!(series_of("0.1.7"), "0.1");
        assert_eq!(series_of("0.2"), "0.2");
        assert_eq!(series_of("1.4.2"), "1");
        assert_eq!(series_of("2"), "2");
    }
}
