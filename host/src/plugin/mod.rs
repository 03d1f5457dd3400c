//! The loaded set of plugins, looked up by name (protocols) or by kind (the app runtime).

pub mod bridge;
pub mod find;
pub mod load;
pub mod offered;

use std::path::PathBuf;

use abi_stable::std_types::RSlice;
use rsgi_plugin_api::{AppModRef, LogLevel, OptionValue, PluginKind, ProtocolModRef};

use crate::config::catalog::{Catalog, Entry, Owner};
use crate::config::suggest::PluginOptions;
use crate::error::HostError;
pub use load::LoadedPlugin;

/// Every plugin loaded for this run, in load order.
pub struct Plugins {
    list: Vec<LoadedPlugin>,
}

impl Plugins {
    /// Resolves and loads each spec (name or path). Loading the same plugin twice (by name
    /// and by path, say) keeps the first. Every failure is collected; all are reported.
    pub fn load(specs: &[String], user_dirs: &[PathBuf]) -> Result<Plugins, HostError> {
        let dirs = find::search_dirs(user_dirs);
        let mut list: Vec<LoadedPlugin> = Vec::new();
        let mut errors = Vec::new();
        for spec in specs {
            let loaded = find::resolve(spec, &dirs).and_then(|path| load::load(&path));
            match loaded {
                Ok(plugin) if list.iter().any(|p| p.name == plugin.name) => {
                    tracing::debug!(
                        "plugin {} already loaded; skipping {}",
                        plugin.name,
                        plugin.path.display()
                    );
                }
                Ok(plugin) => match check_needs(&plugin) {
                    Ok(()) => list.push(plugin),
                    Err(e) => errors.push(e),
                },
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            return Err(HostError::Plugin(errors.join("; ")));
        }
        Ok(Plugins { list })
    }

    /// Adds every plugin's declared options to `catalog`.
    pub fn declare_options(&self, catalog: &mut Catalog) -> Result<(), HostError> {
        for plugin in &self.list {
            for spec in (plugin.module.options())().iter() {
                let aliases = spec
                    .aliases
                    .as_str()
                    .split(',')
                    .map(str::trim)
                    .filter(|a| !a.is_empty())
                    .map(String::from)
                    .collect();
                catalog
                    .add(Entry {
                        name: spec.name.to_string(),
                        aliases,
                        value_name: spec.value_name.to_string(),
                        help: spec.help.to_string(),
                        kind: spec.kind,
                        owner: Owner::Plugin(plugin.name.clone()),
                        shared_with: Vec::new(),
                        shareable: plugin.kind == PluginKind::Protocol,
                    })
                    .map_err(HostError::Usage)?;
            }
        }
        Ok(())
    }

    /// The names of the loaded app plugins.
    pub fn app_names(&self) -> Vec<&str> {
        self.list
            .iter()
            .filter(|p| p.kind == PluginKind::App)
            .map(|p| p.name.as_str())
            .collect()
    }

    /// Calls each plugin's `init` with its own options. A refusal names the plugin.
    pub fn init(
        &self,
        options: &std::collections::BTreeMap<String, abi_stable::std_types::RVec<OptionValue>>,
        level: LogLevel,
    ) -> Result<(), HostError> {
        let host = bridge::host_table(level);
        let empty = abi_stable::std_types::RVec::new();
        for plugin in &self.list {
            let values = options.get(&plugin.name).unwrap_or(&empty);
            if let Err(e) =
                (plugin.module.init())(host, RSlice::from_slice(values.as_slice())).into_result()
            {
                return Err(match e.kind {
                    rsgi_plugin_api::ErrorKind::Config => {
                        HostError::Usage(format!("plugin {}: {}", plugin.name, e.message))
                    }
                    _ => HostError::Runtime(format!(
                        "plugin {} failed to initialise: {}",
                        plugin.name, e.message
                    )),
                });
            }
        }
        Ok(())
    }

    /// Every plugin's name and root module, in load order.
    pub fn modules(&self) -> impl Iterator<Item = (&str, rsgi_plugin_api::PluginModRef)> {
        self.list.iter().map(|p| (p.name.as_str(), p.module))
    }

    /// The protocol plugin called `name`.
    pub fn protocol(&self, name: &str) -> Option<ProtocolModRef> {
        self.list
            .iter()
            .filter(|p| p.kind == PluginKind::Protocol && p.name == name)
            .find_map(|p| p.module.protocol().into_option())
    }

    /// The app runtime (the first app plugin loaded), with its name.
    pub fn app(&self) -> Option<(&str, AppModRef)> {
        self.list
            .iter()
            .filter(|p| p.kind == PluginKind::App)
            .find_map(|p| p.module.app().into_option().map(|m| (p.name.as_str(), m)))
    }

    /// One line per plugin for the startup log: `python 0.1.0 (app) from /path`.
    pub fn describe(&self) -> Vec<String> {
        self.list
            .iter()
            .map(|p| {
                format!(
                    "{} {} ({}) from {}",
                    p.name,
                    p.version,
                    p.kind.as_str(),
                    p.path.display()
                )
            })
            .collect()
    }
}

/// Refuses a plugin that needs an extension this host does not offer, naming both; an
/// optional one it lacks is only logged (the plugin falls back).
fn check_needs(plugin: &LoadedPlugin) -> Result<(), String> {
    for need in (plugin.module.needs())().iter() {
        if offered::offers(need.id) {
            continue;
        }
        if need.optional {
            tracing::info!(
                "plugin {} can use extension {}, which this rsgi does not offer: it does without",
                plugin.name,
                need.id
            );
        } else {
            return Err(format!(
                "plugin {} ({}) needs extension {}, which this rsgi (plugin ABI {}) does not offer",
                plugin.name,
                plugin.path.display(),
                need.id,
                rsgi_plugin_api::ABI_VERSION
            ));
        }
    }
    Ok(())
}

/// The options each plugin file in the search path declares, for "did you mean" (a file
/// that does not load is skipped: the plugin asked for reports its own failure).
pub fn options_in_search_path(user_dirs: &[PathBuf]) -> Vec<PluginOptions> {
    find::all(&find::search_dirs(user_dirs))
        .iter()
        .filter_map(|path| load::load(path).ok())
        .map(|p| PluginOptions {
            names: (p.module.options())()
                .iter()
                .flat_map(|spec| {
                    std::iter::once(spec.name.to_string()).chain(
                        spec.aliases
                            .as_str()
                            .split(',')
                            .map(str::trim)
                            .filter(|a| !a.is_empty())
                            .map(String::from)
                            .collect::<Vec<_>>(),
                    )
                })
                .collect(),
            app: p.kind == PluginKind::App,
            plugin: p.name,
        })
        .collect()
}

/// Shows the plugins found in the search path, for `--list-plugins`.
pub fn list_available(user_dirs: &[PathBuf]) -> String {
    let dirs = find::search_dirs(user_dirs);
    let mut out = String::new();
    for path in find::all(&dirs) {
        match load::load(&path) {
            Ok(p) => {
                let offers: Vec<String> = (p.module.offers())()
                    .iter()
                    .map(|id| id.to_string())
                    .collect();
                let needs: Vec<String> = (p.module.needs())()
                    .iter()
                    .map(|n| match n.optional {
                        true => format!("{} (optional)", n.id),
                        false => n.id.to_string(),
                    })
                    .collect();
                let list = |l: &[String]| match l.is_empty() {
                    true => "-".to_string(),
                    false => l.join(", "),
                };
                let description = p.module.description().map_or("-", |d| d.as_str());
                out.push_str(&format!(
                    "{:<12} {:<8} {:<9} abi {:<7} {description}; offers: {}; needs: {}; {}\n",
                    p.name,
                    p.version,
                    p.kind.as_str(),
                    p.abi_version,
                    list(&offers),
                    list(&needs),
                    path.display()
                ))
            }
            Err(e) => out.push_str(&format!(
                "{:<12} {:<8} {:<9} {} ({e})\n",
                "?",
                "?",
                "broken",
                path.display()
            )),
        }
    }
    if out.is_empty() {
        let looked: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        out = format!("no plugins found in {}\n", looked.join(", "));
    }
    out
}
