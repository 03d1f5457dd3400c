//! The upgrade codecs the loaded plugins offer (extension `rsgi.upgrade` v1), by token:
//! found once in the master after `init`, before any fork, and read by every worker; and
//! which of them a request asks for.

use std::sync::OnceLock;

use abi_stable::std_types::RStr;
use rsgi_plugin_api::sdk::extensions::open;
use rsgi_plugin_api::upgrade::{UpgradeSettings, UpgradeV1};
use rsgi_plugin_api::{PluginModRef, Request};

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

/// The codec for the upgrade `request` asks for: `Upgrade` names a token a loaded codec
/// speaks and `Connection` has `upgrade` (HTTP's names only: over uwsgi the front server
/// does not pass an upgrade on).
pub fn asked(request: &Request<'_>) -> Option<Codec> {
    if request.names != rsgi_plugin_api::NameStyle::Http || !any() {
        return None;
    }
    let headers = request.headers.as_slice();
    fn value<'a>(
        headers: &'a [rsgi_plugin_api::Header<'a>],
        name: &'static [u8],
    ) -> impl Iterator<Item = &'a [u8]> {
        headers
            .iter()
            .filter(move |h| h.name.as_slice().eq_ignore_ascii_case(name))
            .map(|h| h.value.as_slice())
    }
    let connection_upgrade = value(headers, b"connection").any(|v| {
        v.split(|&b| b == b',')
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"upgrade"))
    });
    if !connection_upgrade {
        return None;
    }
    value(headers, b"upgrade")
        .flat_map(|v| v.split(|&b| b == b','))
        .find_map(|t| find(t.trim_ascii()))
}
