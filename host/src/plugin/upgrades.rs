//! The upgrade codecs the loaded plugins offer (extension `rsgi.upgrade` v1), by token:
//! found once in the master after `init`, before any fork, and read by every worker.

use std::sync::OnceLock;

use abi_stable::std_types::RStr;
use rsgi_plugin_api::sdk::extensions::open;
use rsgi_plugin_api::upgrade::{UpgradeSettings, UpgradeV1};
use rsgi_plugin_api::PluginModRef;

/// One codec: its table and the clocks it asked for.
#[derive(Clone, Copy)]
pub struct Codec {
    /// The plugin's table.
    pub table: &'static UpgradeV1,
    /// Ping interval, pong and close timeouts.
    pub settings: UpgradeSettings,
}

static CODECS: OnceLock<Vec<Codec>> = OnceLock::new();

/// Finds the codecs among the loaded plugins' modules, by name (after their `init`: the
/// settings come from their options). A table of another layout is skipped with a line
/// naming the plugin.
pub fn register<'a>(modules: impl Iterator<Item = (&'a str, PluginModRef)>) {
    let mut found = Vec::new();
    for (name, module) in modules {
        let answer = (module.extension())(RStr::from_str(UpgradeV1::NAME), UpgradeV1::VERSION);
        let Some(answer) = answer.into_option() else {
            continue;
        };
        match open::<UpgradeV1>(answer) {
            Ok(table) => {
                tracing::debug!("upgrade codec {} from plugin {name}", table.token.as_str());
                found.push(Codec {
                    table,
                    settings: (table.settings)(),
                });
            }
            Err(e) => tracing::warn!("plugin {name}: {e}; its upgrade codec is not used"),
        }
    }
    let _ = CODECS.set(found);
}

/// The codec for the `Upgrade` token `token` (compared without case).
pub fn find(token: &[u8]) -> Option<Codec> {
    CODECS
        .get()?
        .iter()
        .find(|c| {
            c.table
                .token
                .as_str()
                .as_bytes()
                .eq_ignore_ascii_case(token)
        })
        .copied()
}

/// True when some codec is loaded.
pub fn any() -> bool {
    CODECS.get().is_some_and(|c| !c.is_empty())
}
