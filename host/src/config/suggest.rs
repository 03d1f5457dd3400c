//! "Did you mean": the known option nearest to a name that is none, among the host's
//! options, those of the loaded plugins and those of every other plugin in the search
//! path (`--modul` without `--plugin python` is answered with `--module (plugin python)`
//! and how to load that plugin). Nearness is clap's: Jaro similarity above a threshold.

use std::cell::OnceCell;

use super::catalog::{Catalog, Owner};

/// How a name is written where it was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spelling {
    /// On the command line: `--processes`.
    Flag,
    /// A key of a config file: `'processes'`.
    Key,
    /// An environment variable: `RSGI_PROCESSES`.
    Env,
}

impl Spelling {
    fn write(self, name: &str) -> String {
        match self {
            Spelling::Flag => format!("--{name}"),
            Spelling::Key => format!("'{name}'"),
            Spelling::Env => format!("RSGI_{}", name.to_ascii_uppercase().replace('-', "_")),
        }
    }
}

/// The options a plugin file in the search path declares.
#[derive(Debug, Clone)]
pub struct PluginOptions {
    /// The plugin's name.
    pub plugin: String,
    /// An app plugin (`python`), not a protocol.
    pub app: bool,
    /// Every option name and alias it declares.
    pub names: Vec<String>,
}

/// Below this Jaro similarity a name is not offered (clap offers above 0.7; with some
/// three hundred options that offers too much that is not meant).
const THRESHOLD: f64 = 0.8;

/// What to add to an "unknown option" message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Advice {
    /// `; did you mean --processes?`, or empty.
    pub did_you_mean: String,
    /// A line of its own (without the newline): how to load the plugin the option is
    /// from, when it is not loaded.
    pub load_plugin: Option<String>,
}

impl Advice {
    /// `head`, the "did you mean", `tail`, then the line about loading a plugin.
    pub fn around(&self, head: &str, tail: &str) -> String {
        let mut out = format!("{head}{}{tail}", self.did_you_mean);
        if let Some(line) = &self.load_plugin {
            out.push_str("\n  ");
            out.push_str(line);
        }
        out
    }
}

impl std::fmt::Display for Advice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.around("", ""))
    }
}

/// One name that may be meant.
struct Candidate<'a> {
    name: &'a str,
    /// `None` for the host's.
    plugin: Option<&'a str>,
    loaded: bool,
    app: bool,
}

/// The names known to this run, and a way to list the plugins in the search path (which
/// loads each plugin file: done only when a name is unknown, and once).
pub struct Suggestions<'a> {
    loaded: Vec<(String, Owner)>,
    app_loaded: bool,
    search_path: Box<dyn Fn() -> Vec<PluginOptions> + 'a>,
    found: OnceCell<Vec<PluginOptions>>,
}

impl<'a> Suggestions<'a> {
    /// The catalog's names (`app_plugins`: which of its plugins are app plugins), and
    /// `search_path` to list the other plugins' options when needed.
    pub fn new(
        catalog: &Catalog,
        app_plugins: &[&str],
        search_path: impl Fn() -> Vec<PluginOptions> + 'a,
    ) -> Self {
        let loaded = catalog
            .entries()
            .iter()
            .flat_map(|e| {
                std::iter::once(&e.name)
                    .chain(&e.aliases)
                    .map(|n| (n.clone(), e.owner.clone()))
            })
            .collect();
        Suggestions {
            loaded,
            app_loaded: !app_plugins.is_empty(),
            search_path: Box::new(search_path),
            found: OnceCell::new(),
        }
    }

    /// What to say about `unknown`, which no loaded option has.
    pub fn advise(&self, unknown: &str, spelling: Spelling) -> Advice {
        // `max_requests` in a TOML file or on the command line (gunicorn's settings are
        // written so) is the option `max-requests` misspelt, not the option itself.
        let underscored = spelling != Spelling::Env && unknown.contains('_');
        let unknown = unknown
            .trim_start_matches('-')
            .to_ascii_lowercase()
            .replace('_', "-");
        if unknown.is_empty() {
            return Advice::default();
        }
        let found = self.found.get_or_init(|| (self.search_path)());
        let loaded_plugins: Vec<&str> = self
            .loaded
            .iter()
            .filter_map(|(_, o)| match o {
                Owner::Plugin(p) => Some(p.as_str()),
                Owner::Host => None,
            })
            .collect();
        let candidates = self
            .loaded
            .iter()
            .map(|(name, owner)| Candidate {
                name,
                plugin: match owner {
                    Owner::Plugin(p) => Some(p.as_str()),
                    Owner::Host => None,
                },
                loaded: true,
                app: false,
            })
            .chain(
                found
                    .iter()
                    .filter(|p| !loaded_plugins.contains(&p.plugin.as_str()))
                    .flat_map(|p| {
                        p.names.iter().map(|name| Candidate {
                            name,
                            plugin: Some(&p.plugin),
                            loaded: false,
                            app: p.app,
                        })
                    }),
            );
        let mut best: Option<(f64, Candidate)> = None;
        for candidate in candidates {
            let score = strsim::jaro(&unknown, candidate.name);
            if score > THRESHOLD && best.as_ref().is_none_or(|(s, _)| score > *s) {
                best = Some((score, candidate));
            }
        }
        let Some((_, meant)) = best else {
            return Advice::default();
        };
        let written = spelling.write(meant.name);
        let mut advice = Advice::default();
        if meant.name != unknown || underscored {
            advice.did_you_mean = match (meant.plugin, meant.loaded) {
                (Some(plugin), false) => format!("; did you mean {written} (plugin {plugin})?"),
                _ => format!("; did you mean {written}?"),
            };
        }
        if let (Some(plugin), false) = (meant.plugin, meant.loaded) {
            advice.load_plugin = Some(if meant.app && !self.app_loaded {
                format!(
                    "no app plugin is loaded, and {written} comes from one: add --plugin {plugin} (in an ini file: plugins = {plugin})"
                )
            } else {
                format!("{written} comes from plugin {plugin}, which is not loaded: add --plugin {plugin}")
            });
        }
        advice
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn python() -> Vec<PluginOptions> {
        vec![
            PluginOptions {
                plugin: "python".into(),
                app: true,
                names: vec![
                    "module".into(),
                    "wsgi-file".into(),
                    "virtualenv".into(),
                    "home".into(),
                ],
            },
            PluginOptions {
                plugin: "uwsgi".into(),
                app: false,
                names: vec!["buffer-size".into(), "max-vars".into()],
            },
        ]
    }

    #[test]
    fn a_host_option_typo_gets_the_host_option_and_no_plugin_line() {
        let s = Suggestions::new(&Catalog::host(), &[], python);
        let a = s.advise("--proceses", Spelling::Flag);
        assert_eq!(a.did_you_mean, "; did you mean --processes?");
        assert_eq!(a.load_plugin, None);
        assert_eq!(
            s.advise("proceses", Spelling::Key).did_you_mean,
            "; did you mean 'processes'?"
        );
        assert_eq!(
            s.advise("PROCESES", Spelling::Env).did_you_mean,
            "; did you mean RSGI_PROCESSES?"
        );
        assert_eq!(
            s.advise("max_request", Spelling::Key).did_you_mean,
            "; did you mean 'max-requests'?"
        );
        // gunicorn's spelling of a setting: the name with dashes.
        assert_eq!(
            s.advise("max_requests_jitter", Spelling::Key).did_you_mean,
            "; did you mean 'max-requests-jitter'?"
        );
        assert_eq!(
            s.advise("--graceful_timeout", Spelling::Flag).did_you_mean,
            "; did you mean --graceful-timeout?"
        );
    }

    #[test]
    fn an_unloaded_app_plugins_option_says_how_to_load_it() {
        let s = Suggestions::new(&Catalog::host(), &[], python);
        assert_eq!(
            s.advise("modul", Spelling::Flag).to_string(),
            "; did you mean --module (plugin python)?\n  no app plugin is loaded, and --module comes from one: add --plugin python (in an ini file: plugins = python)"
        );
        // The exact name: no "did you mean", only how to load it.
        let a = s.advise("module", Spelling::Key);
        assert_eq!(a.did_you_mean, "");
        assert!(a.load_plugin.unwrap().contains("add --plugin python"));
        // A protocol plugin's option.
        assert_eq!(
            s.advise("max-vars", Spelling::Flag).load_plugin.unwrap(),
            "--max-vars comes from plugin uwsgi, which is not loaded: add --plugin uwsgi"
        );
    }

    #[test]
    fn a_loaded_plugins_option_is_offered_without_a_plugin_line() {
        let mut catalog = Catalog::host();
        catalog
            .add(super::super::catalog::Entry {
                name: "module".into(),
                aliases: vec![],
                value_name: String::new(),
                help: String::new(),
                kind: rsgi_plugin_api::OptionKind::Value,
                owner: Owner::Plugin("python".into()),
                shared_with: vec![],
                shareable: false,
            })
            .unwrap();
        let s = Suggestions::new(&catalog, &["python"], python);
        assert_eq!(
            s.advise("modul", Spelling::Flag),
            Advice {
                did_you_mean: "; did you mean --module?".into(),
                load_plugin: None
            }
        );
    }

    #[test]
    fn a_name_like_nothing_gets_no_advice_and_the_search_path_is_listed_once() {
        let calls = std::cell::Cell::new(0);
        let s = Suggestions::new(&Catalog::host(), &[], || {
            calls.set(calls.get() + 1);
            python()
        });
        assert_eq!(s.advise("bogus-option", Spelling::Flag), Advice::default());
        assert_eq!(s.advise("zzz", Spelling::Flag), Advice::default());
        assert_eq!(calls.get(), 1);
    }
}
