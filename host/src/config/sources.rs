//! Where option values come from: the command line, `RSGI_*` variables and a config file
//! (TOML, or uWSGI's ini format for a name ending in `.ini`).
//! Precedence: command line > environment > file.

use std::collections::BTreeMap;
use std::path::PathBuf;

use rsgi_plugin_api::OptionKind;

use super::catalog::{env_name, Catalog};
use super::env_list;
use super::include::{self, Setting};
use super::suggest::{Spelling, Suggestions};
use crate::error::HostError;

/// Option values by canonical name, each a list of strings (flags are `"true"`/`"false"`).
pub type Values = BTreeMap<String, Vec<String>>;

/// The config files' settings as values, by the catalog: an unknown key is an error naming
/// its file and line (and the nearest known option); a list option takes every value in
/// reading order; a single-valued one the value of the highest rank (see `include.rs`),
/// and two values at one rank (the same key twice in one file) are refused.
pub fn file_values(
    settings: &[Setting],
    catalog: &Catalog,
    suggest: &Suggestions,
) -> Result<Values, HostError> {
    let bad = |s: &Setting, message: String| HostError::ConfigFile {
        path: s.file.clone(),
        message: format!("{}: {message}", s.at()),
    };
    let mut by_name: BTreeMap<&str, Vec<&Setting>> = BTreeMap::new();
    for setting in settings {
        let Some(entry) = catalog.lookup(&setting.key) else {
            let advice = suggest.advise(&setting.key, Spelling::Key);
            return Err(bad(
                setting,
                format!("unknown option '{}'{advice}", setting.key),
            ));
        };
        by_name
            .entry(entry.name.as_str())
            .or_default()
            .push(setting);
    }
    let mut values = Values::new();
    for (name, found) in by_name {
        let kind = catalog.lookup(name).map(|e| e.kind);
        let list: Vec<String> = if kind == Some(OptionKind::List) {
            found
                .iter()
                .flat_map(|s| s.values.iter().cloned())
                .collect()
        } else {
            let top = found.iter().map(|s| &s.rank).max().expect("one at least");
            let winners: Vec<&&Setting> = found.iter().filter(|s| s.rank == *top).collect();
            let count: usize = winners.iter().map(|s| s.values.len()).sum();
            if count > 1 {
                let last = winners.last().expect("one at least");
                return Err(bad(
                    last,
                    format!("option '{}' takes one value, not a list", last.key),
                ));
            }
            winners
                .iter()
                .flat_map(|s| s.values.iter().cloned())
                .collect()
        };
        values.insert(name.to_string(), list);
    }
    Ok(values)
}

/// Reads every known option from `RSGI_<NAME>` variables (or one of an alias,
/// `RSGI_WORKERS`, when `RSGI_PROCESSES` is not set). A list option's entries are
/// separated as `env_list.rs` says (commas, or lines).
pub fn read_env(catalog: &Catalog, env: &dyn Fn(&str) -> Option<String>) -> Values {
    let mut values = Values::new();
    for entry in catalog.entries() {
        if let Some(raw) = entry.env_names().find_map(|name| env(&name)) {
            let list = match entry.kind {
                OptionKind::List => env_list::split(&raw),
                _ => vec![raw],
            };
            values.insert(entry.name.clone(), list);
        }
    }
    values
}

/// A warning for each `RSGI_*` variable among `names` that names no option but is near one
/// (or names an option of a plugin that is not loaded): most likely a typo. Other `RSGI_*`
/// variables are left alone: they may be another program's.
pub fn misspelt_env(
    catalog: &Catalog,
    names: impl Iterator<Item = String>,
    suggest: &Suggestions,
) -> Vec<String> {
    let known: Vec<String> = catalog
        .entries()
        .iter()
        .flat_map(|e| e.env_names())
        .collect();
    names
        .filter(|name| name.starts_with("RSGI_") && !known.contains(name))
        .filter_map(|name| {
            let advice = suggest.advise(&name["RSGI_".len()..], Spelling::Env);
            (advice != Default::default())
                .then(|| advice.around(&format!("{name} names no option and is not used"), ""))
        })
        .collect()
}

/// What must be known before plugins are loaded: which plugins, where to find them, and
/// the config file. Gathered from a quick scan of the command line, the environment and
/// the file, with the usual precedence.
#[derive(Debug, Clone, Default)]
pub struct Bootstrap {
    /// The settings of the config files (`--config`, repeatable, or `RSGI_CONFIG`) and of
    /// the files they include, read once.
    pub file_settings: Vec<Setting>,
    /// Plugin names or paths to load.
    pub plugins: Vec<String>,
    /// Extra plugin directories.
    pub plugin_dirs: Vec<PathBuf>,
    /// Whether any uwsgi-protocol socket was asked for.
    pub wants_uwsgi: bool,
    /// Whether any HTTP socket was asked for (or none at all: HTTP is the default).
    pub wants_http: bool,
    /// `--list-plugins` was given.
    pub list_plugins: bool,
    /// `--log-level`, from the command line, `RSGI_LOG_LEVEL` or the config file.
    pub log_level: Option<String>,
}

/// Scans `args` (without the program name) for `--name value` / `--name=value` of the
/// given names; returns the values in order.
pub fn scan_args(args: &[String], names: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let Some(body) = arg.strip_prefix("--") else {
            continue;
        };
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        if names.contains(&name) {
            match inline {
                Some(v) => found.push(v),
                None => {
                    if let Some(v) = iter.next() {
                        found.push(v.clone())
                    }
                }
            }
        }
    }
    found
}

/// True when the flag `--name` appears in `args`.
pub fn has_flag(args: &[String], name: &str) -> bool {
    let long = format!("--{name}");
    args.contains(&long)
}

impl Bootstrap {
    /// Gathers the bootstrap facts from `args`, the environment and the config file.
    pub fn gather(
        args: &[String],
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, HostError> {
        let args = &super::short_flags::expand_shorts(args);
        let mut config_files: Vec<PathBuf> = scan_args(args, &["config", "ini"])
            .into_iter()
            .map(PathBuf::from)
            .collect();
        if config_files.is_empty() {
            config_files.extend(
                ["config", "ini"]
                    .iter()
                    .find_map(|n| env(&env_name(n)))
                    .map(PathBuf::from),
            );
        }
        let file_settings = include::read(&config_files, env)?;
        let from_file = |keys: &[&str]| -> Vec<String> {
            file_settings
                .iter()
                .filter(|s| keys.contains(&s.key.as_str()))
                .flat_map(|s| s.values.iter().cloned())
                .collect()
        };
        // The option's values from the command line, else its variable (or an alias's),
        // else the file.
        let pick = |arg_names: &[&str]| -> Vec<String> {
            let cli = scan_args(args, arg_names);
            if !cli.is_empty() {
                return cli;
            }
            if let Some(v) = arg_names.iter().find_map(|n| env(&env_name(n))) {
                return vec![v];
            }
            from_file(arg_names)
        };
        let plugins = pick(&["plugin", "plugins"])
            .iter()
            .flat_map(|s| env_list::split(s))
            .collect();
        let plugin_dirs = pick(&["plugin-dir", "plugins-dir"])
            .iter()
            .flat_map(|s| s.split(':'))
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
            .collect();
        // gunicorn's name (`--loglevel`) and its highest level (`critical`) too.
        const LOG_LEVEL: [&str; 2] = ["log-level", "loglevel"];
        let log_level = scan_args(args, &LOG_LEVEL)
            .pop()
            .or_else(|| LOG_LEVEL.iter().find_map(|n| env(&env_name(n))))
            .or_else(|| {
                file_settings
                    .iter()
                    .filter(|s| LOG_LEVEL.contains(&s.key.as_str()))
                    .max_by(|a, b| a.rank.cmp(&b.rank))
                    .and_then(|s| s.values.last().cloned())
            })
            .map(|level| match level.to_ascii_lowercase().as_str() {
                "critical" => "error".to_string(),
                _ => level,
            });
        let wants_uwsgi = !pick(&["socket", "uwsgi-socket"]).is_empty();
        let http = !pick(&["http", "http-socket"]).is_empty() || !pick(&["bind"]).is_empty();
        Ok(Bootstrap {
            file_settings,
            plugins,
            plugin_dirs,
            wants_uwsgi,
            wants_http: http || !wants_uwsgi,
            list_plugins: has_flag(args, "list-plugins"),
            log_level,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn scan_finds_separate_and_inline_values() {
        let a = args(&["--plugin", "python", "--module=app", "--plugin=http"]);
        assert_eq!(scan_args(&a, &["plugin"]), vec!["python", "http"]);
        assert_eq!(scan_args(&a, &["module"]), vec!["app"]);
    }

    #[test]
    fn bootstrap_prefers_command_line_over_environment() {
        let a = args(&["--plugin", "python,http"]);
        let boot =
            Bootstrap::gather(&a, &|k| (k == "RSGI_PLUGIN").then(|| "other".to_string())).unwrap();
        assert_eq!(boot.plugins, vec!["python", "http"]);
        assert!(boot.wants_http);
        assert!(!boot.wants_uwsgi);
    }

    #[test]
    fn bootstrap_reads_environment_when_no_flag() {
        let boot = Bootstrap::gather(&[], &|k| match k {
            "RSGI_PLUGIN" => Some("python".into()),
            "RSGI_SOCKET" => Some("/tmp/x.sock".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(boot.plugins, vec!["python"]);
        assert!(boot.wants_uwsgi);
        assert!(!boot.wants_http);
    }

    /// The values of a config file of `text` named `name` (in a directory of its own).
    fn from_file(name: &str, text: &str) -> Result<Values, HostError> {
        let dir = crate::scratch::Scratch::new("sources");
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let settings = include::read(&[path], &|_| None);
        let catalog = Catalog::host();
        file_values(
            &settings?,
            &catalog,
            &Suggestions::new(&catalog, &[], Vec::new),
        )
    }

    #[test]
    fn file_rejects_unknown_key_by_name_and_line_with_the_nearest_option() {
        let err = from_file(
            "x.toml",
            "processes = 2
bogus = 1
",
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .ends_with("x.toml: line 2: unknown option 'bogus'"),
            "{err}"
        );
        let err = from_file(
            "y.ini",
            "[uwsgi]
proceses = 2
",
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .ends_with("y.ini: line 2: unknown option 'proceses'; did you mean 'processes'?"),
            "{err}"
        );
    }

    #[test]
    fn file_accepts_aliases_and_lists() {
        let values = from_file("a.toml", "workers = 4\nhttp = [\"a:1\", \"b:2\"]\n").unwrap();
        assert_eq!(values["processes"], vec!["4"]);
        assert_eq!(values["http"], vec!["a:1", "b:2"]);
    }

    #[test]
    fn a_single_valued_option_twice_in_one_file_is_refused() {
        let err = from_file("twice.ini", "[uwsgi]\nprocesses = 2\nworkers = 3\n").unwrap_err();
        assert!(
            err.to_string()
                .ends_with("twice.ini: line 3: option 'workers' takes one value, not a list"),
            "{err}"
        );
    }

    #[test]
    fn misspelt_rsgi_variables_are_warned_about_and_others_left_alone() {
        let catalog = Catalog::host();
        let suggest = Suggestions::new(&catalog, &[], Vec::new);
        let names = [
            "RSGI_PROCESES",
            "RSGI_PROCESSES",
            "RSGI_SOMETHING_ELSE",
            "PROCESES",
        ];
        assert_eq!(
            misspelt_env(&catalog, names.iter().map(|s| s.to_string()), &suggest),
            ["RSGI_PROCESES names no option and is not used; did you mean RSGI_PROCESSES?"]
        );
    }

    #[test]
    fn env_splits_lists_on_commas_or_lines() {
        let values = read_env(&Catalog::host(), &|k| match k {
            "RSGI_HTTP" => Some("a:1, b:2".to_string()),
            "RSGI_ADD_HEADER" => Some("Cache-Control: no-cache\\, no-store".to_string()),
            "RSGI_ENV" => Some("A=1,2\nB=3\n".to_string()),
            "RSGI_CHDIR" => Some("/srv/a,b".to_string()),
            _ => None,
        });
        assert_eq!(values["http"], vec!["a:1", "b:2"]);
        assert_eq!(
            values["add-header"],
            vec!["Cache-Control: no-cache, no-store"]
        );
        assert_eq!(values["env"], vec!["A=1,2", "B=3"]);
        assert_eq!(values["chdir"], vec!["/srv/a,b"]);
    }

    #[test]
    fn an_alias_names_a_variable_too_and_the_canonical_name_wins() {
        let values = read_env(&Catalog::host(), &|k| match k {
            "RSGI_WORKERS" => Some("3".to_string()),
            "RSGI_HTTP_SOCKET" => Some("a:1".to_string()),
            "RSGI_HTTP" => Some("b:2".to_string()),
            _ => None,
        });
        assert_eq!(values["processes"], vec!["3"]);
        assert_eq!(values["http"], vec!["b:2"]);
        let boot = Bootstrap::gather(&[], &|k| match k {
            "RSGI_PLUGINS" => Some("python".into()),
            "RSGI_UWSGI_SOCKET" => Some("/tmp/x.sock".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(boot.plugins, vec!["python"]);
        assert!(boot.wants_uwsgi);
    }
}
