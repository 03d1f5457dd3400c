//! The options the python plugin declares, and the settings they turn into.

use std::path::PathBuf;

use abi_stable::std_types::{RStr, RVec};
use rsgi_plugin_api::options::{find, find_all};
use rsgi_plugin_api::{OptionKind, OptionSpec, OptionValue};

use crate::error::Error;

/// The callables tried, in order, when none is named (like uWSGI, then gunicorn/Flask).
pub const DEFAULT_CALLABLES: [&str; 2] = ["application", "app"];

/// Option declarations shown by `rsgi --help` and accepted in the config file.
pub fn specs() -> RVec<OptionSpec> {
    let spec = |name, aliases, value_name, help, kind| OptionSpec {
        name: RStr::from_str(name),
        aliases: RStr::from_str(aliases),
        value_name: RStr::from_str(value_name),
        help: RStr::from_str(help),
        kind,
    };
    RVec::from(vec![
        spec(
            "module",
            "wsgi",
            "MODULE[:CALLABLE]",
            "import the WSGI app from MODULE (callable `application`, then `app`)",
            OptionKind::Value,
        ),
        spec(
            "wsgi-file",
            "file",
            "FILE",
            "load the WSGI app from a Python file",
            OptionKind::Value,
        ),
        spec(
            "callable",
            "",
            "NAME",
            "name of the WSGI callable in the module or file",
            OptionKind::Value,
        ),
        spec(
            "pythonpath",
            "python-path",
            "DIR",
            "add DIR to the front of sys.path (repeatable)",
            OptionKind::List,
        ),
        spec(
            "virtualenv",
            "home,venv",
            "DIR",
            "run with the virtualenv at DIR (made from the same Python)",
            OptionKind::Value,
        ),
    ])
}

/// Where the WSGI app comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppSource {
    /// `--module pkg.mod[:callable]`: an importable module.
    Module(String),
    /// `--wsgi-file path/app.py`: a file executed as a module.
    File(PathBuf),
}

/// The plugin's settings, validated from the options the user gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// Where to load the app from; `None` when neither `--module` nor `--wsgi-file` was given.
    pub source: Option<AppSource>,
    /// The callable named by `--callable` or after `:` in `--module`.
    pub callable: Option<String>,
    /// Directories prepended to `sys.path`, in the order given.
    pub pythonpath: Vec<PathBuf>,
    /// The virtualenv to run with.
    pub virtualenv: Option<PathBuf>,
}

impl Settings {
    /// Reads and checks the plugin's options. Conflicting or empty values are `Error::Config`.
    pub fn from_options(values: &[OptionValue]) -> Result<Settings, Error> {
        let module = find(values, "module").map(str::trim);
        let file = find(values, "wsgi-file").map(str::trim);
        let mut callable = find(values, "callable").map(str::trim).map(str::to_owned);
        if callable.as_deref() == Some("") {
            return Err(Error::Config("--callable needs a name".into()));
        }
        let source = match (module, file) {
            (Some(_), Some(_)) => {
                return Err(Error::Config(
                    "give either --module or --wsgi-file, not both".into(),
                ))
            }
            (Some(spec), None) => {
                let (name, named) = split_module_spec(spec)?;
                if named.is_some() {
                    callable = named;
                }
                Some(AppSource::Module(name))
            }
            (None, Some("")) => return Err(Error::Config("--wsgi-file needs a path".into())),
            (None, Some(path)) => Some(AppSource::File(PathBuf::from(path))),
            (None, None) => None,
        };
        let pythonpath = find_all(values, "pythonpath")
            .into_iter()
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .collect();
        let virtualenv = match find(values, "virtualenv") {
            Some("") => return Err(Error::Config("--virtualenv needs a directory".into())),
            Some(dir) => Some(PathBuf::from(dir)),
            None => None,
        };
        Ok(Settings {
            source,
            callable,
            pythonpath,
            virtualenv,
        })
    }
}

/// Splits `pkg.mod:callable` into the module and the optional callable.
fn split_module_spec(spec: &str) -> Result<(String, Option<String>), Error> {
    let (module, callable) = match spec.split_once(':') {
        Some((module, callable)) => (module.trim(), Some(callable.trim())),
        None => (spec, None),
    };
    if module.is_empty() {
        return Err(Error::Config(format!("--module '{spec}' names no module")));
    }
    if callable == Some("") {
        return Err(Error::Config(format!(
            "--module '{spec}' names no callable after ':'"
        )));
    }
    Ok((module.to_owned(), callable.map(str::to_owned)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi_stable::std_types::RString;

    fn opt(name: &str, values: &[&str]) -> OptionValue {
        OptionValue {
            name: RString::from(name),
            values: values.iter().map(|v| RString::from(*v)).collect(),
        }
    }

    #[test]
    fn declares_the_uwsgi_option_names_and_aliases() {
        let specs = specs();
        let names: Vec<_> = specs
            .iter()
            .map(|s| (s.name.as_str(), s.aliases.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("module", "wsgi"),
                ("wsgi-file", "file"),
                ("callable", ""),
                ("pythonpath", "python-path"),
                ("virtualenv", "home,venv"),
            ]
        );
        assert_eq!(specs[3].kind, OptionKind::List);
    }

    #[test]
    fn module_with_callable_sets_both() {
        let s = Settings::from_options(&[opt("module", &["myproj.wsgi:make"])]).unwrap();
        assert_eq!(s.source, Some(AppSource::Module("myproj.wsgi".into())));
        assert_eq!(s.callable.as_deref(), Some("make"));
    }

    #[test]
    fn callable_in_module_spec_wins_over_callable_option() {
        let s = Settings::from_options(&[opt("module", &["app:one"]), opt("callable", &["two"])])
            .unwrap();
        assert_eq!(s.callable.as_deref(), Some("one"));
        let s =
            Settings::from_options(&[opt("module", &["app"]), opt("callable", &["two"])]).unwrap();
        assert_eq!(s.callable.as_deref(), Some("two"));
    }

    #[test]
    fn module_and_wsgi_file_together_is_a_config_error() {
        let err = Settings::from_options(&[opt("module", &["app"]), opt("wsgi-file", &["app.py"])])
            .unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err}");
    }

    #[test]
    fn empty_callable_after_colon_is_a_config_error() {
        let err = Settings::from_options(&[opt("module", &["app:"])]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--module 'app:' names no callable after ':'"
        );
    }

    #[test]
    fn pythonpath_keeps_every_value_in_order() {
        let s = Settings::from_options(&[
            opt("pythonpath", &["/a", "/b"]),
            opt("virtualenv", &["/venv"]),
        ])
        .unwrap();
        assert_eq!(s.pythonpath, [PathBuf::from("/a"), PathBuf::from("/b")]);
        assert_eq!(s.virtualenv, Some(PathBuf::from("/venv")));
        assert_eq!(s.source, None);
    }
}
