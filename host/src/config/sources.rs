//! Where option values come from: the command line, `RSGI_*` variables and a config file
//! (TOML, or uWSGI's ini format for a name ending in `.ini`).
//! Precedence: command line > environment > file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rsgi_plugin_api::OptionKind;

use super::catalog::Catalog;
use crate::error::HostError;

/// Option values by canonical name, each a list of strings (flags are `"true"`/`"false"`).
pub type Values = BTreeMap<String, Vec<String>>;

/// Reads the config file into values; an unknown key is an error naming it.
pub fn read_file(path: &Path, catalog: &Catalog) -> Result<Values, HostError> {
    let text = std::fs::read_to_string(path).map_err(|e| HostError::ConfigFile {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    parse_file(path, &text, catalog)
}

/// The file's table: TOML, or uWSGI's ini format (its `[uwsgi]` section) for `*.ini`.
fn parse_table(path: &Path, text: &str) -> Result<toml::Table, HostError> {
    let bad = |message: String| HostError::ConfigFile {
        path: path.to_path_buf(),
        message,
    };
    if path.extension().is_some_and(|e| e == "ini") {
        return super::ini::to_table(text, path, &|name| std::env::var(name).ok()).map_err(bad);
    }
    text.parse()
        .map_err(|e: toml::de::Error| bad(e.message().to_string()))
}

fn parse_file(path: &Path, text: &str, catalog: &Catalog) -> Result<Values, HostError> {
    let bad = |message: String| HostError::ConfigFile {
        path: path.to_path_buf(),
        message,
    };
    let table = parse_table(path, text)?;
    let mut values = Values::new();
    for (key, value) in table {
        let entry = catalog
            .lookup(&key)
            .ok_or_else(|| bad(format!("unknown option '{key}'")))?;
        let list = toml_strings(&value)
            .ok_or_else(|| bad(format!("option '{key}': unsupported value {value}")))?;
        if entry.kind != OptionKind::List && list.len() > 1 {
            return Err(bad(format!("option '{key}' takes one value, not a list")));
        }
        values.entry(entry.name.clone()).or_default().extend(list);
    }
    Ok(values)
}

fn toml_strings(value: &toml::Value) -> Option<Vec<String>> {
    Some(match value {
        toml::Value::String(s) => vec![s.clone()],
        toml::Value::Integer(i) => vec![i.to_string()],
        toml::Value::Float(f) => vec![f.to_string()],
        toml::Value::Boolean(b) => vec![b.to_string()],
        toml::Value::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                out.extend(toml_strings(item)?);
            }
            out
        }
        _ => return None,
    })
}

/// Reads every known option from `RSGI_<NAME>` variables. List options split on commas.
pub fn read_env(catalog: &Catalog, env: &dyn Fn(&str) -> Option<String>) -> Values {
    let mut values = Values::new();
    for entry in catalog.entries() {
        if let Some(raw) = env(&entry.env_name()) {
            let list = match entry.kind {
                OptionKind::List => raw
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect(),
                _ => vec![raw],
            };
            values.insert(entry.name.clone(), list);
        }
    }
    values
}

/// What must be known before plugins are loaded: which plugins, where to find them, and
/// the config file. Gathered from a quick scan of the command line, the environment and
/// the file, with the usual precedence.
#[derive(Debug, Clone, Default)]
pub struct Bootstrap {
    /// The config file, if any.
    pub config_file: Option<PathBuf>,
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
        let config_file = scan_args(args, &["config", "ini"])
            .pop()
            .or_else(|| env("RSGI_CONFIG"))
            .map(PathBuf::from);
        let file_text = match &config_file {
            Some(path) => {
                Some(
                    std::fs::read_to_string(path).map_err(|e| HostError::ConfigFile {
                        path: path.clone(),
                        message: e.to_string(),
                    })?,
                )
            }
            None => None,
        };
        let file_table = match (&config_file, &file_text) {
            (Some(path), Some(text)) => Some(parse_table(path, text)?),
            _ => None,
        };
        let from_file = |keys: &[&str]| -> Vec<String> {
            let Some(table) = &file_table else {
                return Vec::new();
            };
            keys.iter()
                .filter_map(|k| table.get(*k))
                .flat_map(|v| toml_strings(v).unwrap_or_default())
                .collect()
        };
        let pick = |arg_names: &[&str], env_name: &str| -> Vec<String> {
            let cli = scan_args(args, arg_names);
            if !cli.is_empty() {
                return cli;
            }
            if let Some(v) = env(env_name) {
                return vec![v];
            }
            from_file(arg_names)
        };
        let plugins = pick(&["plugin", "plugins"], "RSGI_PLUGIN")
            .iter()
            .flat_map(|s| s.split(','))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        let plugin_dirs = pick(&["plugin-dir"], "RSGI_PLUGIN_DIR")
            .iter()
            .flat_map(|s| s.split(':'))
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
            .collect();
        let wants_uwsgi = !pick(&["socket", "uwsgi-socket"], "RSGI_SOCKET").is_empty();
        let http = !pick(&["http", "http-socket"], "RSGI_HTTP").is_empty();
        Ok(Bootstrap {
            config_file,
            plugins,
            plugin_dirs,
            wants_uwsgi,
            wants_http: http || !wants_uwsgi,
            list_plugins: has_flag(args, "list-plugins"),
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

    #[test]
    fn file_rejects_unknown_key_by_name() {
        let err = parse_file(Path::new("x.toml"), "bogus = 1\n", &Catalog::host()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "config file x.toml: unknown option 'bogus'"
        );
    }

    #[test]
    fn file_accepts_aliases_and_lists() {
        let values = parse_file(
            Path::new("x.toml"),
            "workers = 4\nhttp = [\"a:1\", \"b:2\"]\n",
            &Catalog::host(),
        )
        .unwrap();
        assert_eq!(values["processes"], vec!["4"]);
        assert_eq!(values["http"], vec!["a:1", "b:2"]);
    }

    #[test]
    fn env_splits_lists_on_commas() {
        let values = read_env(&Catalog::host(), &|k| {
            (k == "RSGI_HTTP").then(|| "a:1, b:2".to_string())
        });
        assert_eq!(values["http"], vec!["a:1", "b:2"]);
    }
}
