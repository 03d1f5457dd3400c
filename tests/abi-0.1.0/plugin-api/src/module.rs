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
use crate::host::HostApi;
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

/// The root module of an rsgi plugin: what `#[export_root_module]` returns.
///
/// The host loads it with `lib_header_from_path` + `init_root_module`, which checks that the
/// plugin was built against a compatible `rsgi-plugin-api` (same major version; for 0.x the
/// same minor) and that the layouts match. Its layout, like every type here, is frozen
/// within an ABI series (see the crate docs, "Compatibility").
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModRef)))]
#[sabi(missing_field(panic))]
pub struct PluginMod {
    /// Short name (`http`, `python`); what `--plugin NAME` refers to.
    pub name: RStr<'static>,
    /// The plugin's own version.
    pub version: RStr<'static>,
    /// Protocol or app.
    pub kind: PluginKind,
    /// Options the plugin understands (shown by `--help`, accepted in the config file).
    pub options: extern "C" fn() -> RVec<OptionSpec>,
    /// Called once in the master, after loading and before anything else: set up logging
    /// through `host`, validate `options`. An error with kind `Config` exits 2.
    pub init:
        extern "C" fn(host: &HostApi, options: RSlice<'_, OptionValue>) -> RResult<(), PluginError>,
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

/// The plugin ABI version this crate defines (its package version).
pub const ABI_VERSION: &str = env!("CARGO_PKG_VERSION");
