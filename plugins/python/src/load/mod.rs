//! Finding the WSGI callable: `--module pkg.mod[:callable]` or `--wsgi-file path.py`; a
//! callable written as a call (`create_app()`), or named with `--factory`, makes the app
//! (`factory.rs`).
//!
//! Every failure is one line saying what and where (`cannot import module 'x': No module
//! named 'x'`), with the Python traceback logged separately.

use std::path::Path;

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyModule;

pub mod factory;
pub mod mount;
pub mod source;

use crate::error::Error;
use crate::options::{Settings, DEFAULT_CALLABLES};
use crate::traceback;
use source::AppSource;

/// A loaded WSGI app.
pub struct LoadedApp {
    /// The callable, `app(environ, start_response)`.
    pub callable: Py<PyAny>,
    /// For the startup log: `app:application (/srv/app.py)`.
    pub description: String,
}

/// Imports the module or runs the file named in `settings` and finds the callable in it.
pub fn load(py: Python<'_>, settings: &Settings) -> Result<LoadedApp, Error> {
    let source = settings.source.as_ref().ok_or_else(nothing_to_load)?;
    load_source(py, source, settings.callable.as_deref(), settings.factory)
}

/// Every app of `settings` with the prefix it is mounted at: `--module`/`--wsgi-file` at
/// `""`, then each `--mount` in the order given. Fails at the first app that does not load.
pub fn load_all(py: Python<'_>, settings: &Settings) -> Result<Vec<(String, LoadedApp)>, Error> {
    let mut apps = Vec::with_capacity(1 + settings.mounts.len());
    if let Some(source) = &settings.source {
        apps.push((
            String::new(),
            load_source(py, source, settings.callable.as_deref(), settings.factory)?,
        ));
    }
    for mount in &settings.mounts {
        let callable = mount.callable.as_deref().or(settings.callable.as_deref());
        apps.push((
            mount.prefix.clone(),
            load_source(py, &mount.source, callable, false)?,
        ));
    }
    if apps.is_empty() {
        return Err(nothing_to_load());
    }
    Ok(apps)
}

fn nothing_to_load() -> Error {
    Error::AppLoad(
        "no app given: pass --module MODULE[:CALLABLE], --wsgi-file FILE or --mount PREFIX=APP"
            .into(),
    )
}

/// Imports the module or runs the file `source` and finds `callable` (or a default) in it;
/// when `callable` is a call (`create_app("prod")`) or `factory` is set, the app is what
/// calling it returns.
pub fn load_source(
    py: Python<'_>,
    source: &AppSource,
    callable: Option<&str>,
    factory: bool,
) -> Result<LoadedApp, Error> {
    let (path, args) = match callable {
        Some(spec) => {
            let (path, args) = factory::split(spec).map_err(Error::AppLoad)?;
            (Some(path), args)
        }
        None => (None, None),
    };
    let calls = factory || args.is_some();
    let (module, label) = match source {
        AppSource::Module(name) => (import(py, name)?, name.clone()),
        AppSource::File(path) => (run_file(py, path)?, path.display().to_string()),
    };
    let (mut name, mut callable) = find_callable(&module, path, &label, calls)?;
    if calls {
        name = format!("{name}{}", args.unwrap_or("()"));
        callable = factory::call(&callable, args, &format!("{label}:{name}"))?;
    }
    let file = module
        .getattr(intern!(py, "__file__"))
        .and_then(|f| f.extract::<String>())
        .map(|f| format!(" ({f})"))
        .unwrap_or_default();
    Ok(LoadedApp {
        callable: callable.unbind(),
        description: format!("{label}:{name}{file}"),
    })
}

fn import<'py>(py: Python<'py>, name: &str) -> Result<Bound<'py, PyModule>, Error> {
    py.import(name).map_err(|err| {
        let message = format!(
            "cannot import module '{name}': {}",
            traceback::summary(py, &err)
        );
        traceback::log(py, &err, &message);
        Error::AppLoad(message)
    })
}

/// Runs `path` as a module (any extension, like `app.wsgi`), with its directory put at the
/// front of `sys.path` as when running `python path`, and registers it in `sys.modules`.
fn run_file<'py>(py: Python<'py>, path: &Path) -> Result<Bound<'py, PyModule>, Error> {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    if !absolute.is_file() {
        return Err(Error::AppLoad(format!(
            "cannot load --wsgi-file {}: no such file",
            path.display()
        )));
    }
    let name = module_name_for(&absolute);
    let result = (|| -> PyResult<Bound<'py, PyModule>> {
        let sys = py.import(intern!(py, "sys"))?;
        if let Some(dir) = absolute.parent() {
            sys.getattr(intern!(py, "path"))?
                .call_method1(intern!(py, "insert"), (0, dir.to_string_lossy()))?;
        }
        let file = absolute.to_string_lossy();
        let machinery = py.import(intern!(py, "importlib.machinery"))?;
        let util = py.import(intern!(py, "importlib.util"))?;
        let loader = machinery.call_method1(intern!(py, "SourceFileLoader"), (&name, &file))?;
        let kwargs = pyo3::types::PyDict::new(py);
        kwargs.set_item("loader", &loader)?;
        let spec = util.call_method(
            intern!(py, "spec_from_file_location"),
            (&name, &file),
            Some(&kwargs),
        )?;
        let module = util.call_method1(intern!(py, "module_from_spec"), (&spec,))?;
        let modules = sys.getattr(intern!(py, "modules"))?;
        modules.set_item(&name, &module)?;
        if let Err(err) = loader.call_method1(intern!(py, "exec_module"), (&module,)) {
            let _ = modules.del_item(&name);
            return Err(err);
        }
        Ok(module.cast_into::<PyModule>()?)
    })();
    result.map_err(|err| {
        let message = format!(
            "cannot load --wsgi-file {}: {}",
            path.display(),
            traceback::summary(py, &err)
        );
        traceback::log(py, &err, &message);
        Error::AppLoad(message)
    })
}

/// A module name for a file, unique per path: `rsgi_file_srv_app_app_py`.
fn module_name_for(path: &Path) -> String {
    let mangled: String = path
        .to_string_lossy()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("rsgi_file{mangled}")
}

/// The named callable (a dotted attribute path is allowed), or the default names in order.
/// With `factory`, the callable makes the app: an error says so.
fn find_callable<'py>(
    module: &Bound<'py, PyModule>,
    named: Option<&str>,
    label: &str,
    factory: bool,
) -> Result<(String, Bound<'py, PyAny>), Error> {
    let candidates: Vec<&str> = match named {
        Some(name) => vec![name],
        None => DEFAULT_CALLABLES.to_vec(),
    };
    for name in &candidates {
        let Some(found) = attribute_path(module.as_any(), name, label)? else {
            continue;
        };
        if !found.is_callable() {
            let kind = found
                .get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default();
            let what = if factory {
                ", so it cannot make the app"
            } else {
                ""
            };
            return Err(Error::AppLoad(format!(
                "'{label}:{name}' is not callable (it is a {kind}){what}"
            )));
        }
        return Ok((name.to_string(), found));
    }
    Err(Error::AppLoad(match named {
        Some(name) => format!("'{label}' has no callable '{name}'"),
        None => {
            format!("'{label}' has no callable 'application' or 'app' (name one with --callable)")
        }
    }))
}

/// `module.a.b` for `"a.b"`; `None` when an attribute is missing.
fn attribute_path<'py>(
    module: &Bound<'py, PyAny>,
    path: &str,
    label: &str,
) -> Result<Option<Bound<'py, PyAny>>, Error> {
    let py = module.py();
    let mut current = module.clone();
    for part in path.split('.') {
        match current.getattr_opt(part) {
            Ok(Some(next)) => current = next,
            Ok(None) => return Ok(None),
            Err(err) => {
                let message = format!(
                    "cannot get '{label}:{path}': {}",
                    traceback::summary(py, &err)
                );
                traceback::log(py, &err, &message);
                return Err(Error::AppLoad(message));
            }
        }
    }
    Ok(Some(current))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::python;
    use std::path::PathBuf;

    /// A directory with `files`, put on `sys.path`; module names are unique per test.
    fn app_dir(test: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("rsgi-py-loader-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        python(|py| {
            let path = py.import("sys").unwrap().getattr("path").unwrap();
            path.call_method1("insert", (0, dir.to_string_lossy()))
                .unwrap();
        });
        dir
    }

    fn module(name: &str, callable: Option<&str>) -> Settings {
        Settings {
            source: Some(AppSource::Module(name.into())),
            callable: callable.map(str::to_owned),
            ..Settings::default()
        }
    }

    fn load_err(settings: &Settings) -> String {
        match python(|py| load(py, settings)) {
            Err(Error::AppLoad(message)) => message,
            Err(other) => panic!("wrong kind: {other}"),
            Ok(app) => panic!("loaded {}", app.description),
        }
    }

    #[test]
    fn loads_application_and_describes_it() {
        let dir = app_dir(
            "describe",
            &[("ld_one.py", "def application(e, s):\n    pass\n")],
        );
        let app = python(|py| load(py, &module("ld_one", None))).unwrap();
        assert_eq!(
            app.description,
            format!("ld_one:application ({})", dir.join("ld_one.py").display())
        );
    }

    #[test]
    fn falls_back_to_app_then_honours_a_named_callable() {
        app_dir(
            "fallback",
            &[(
                "ld_two.py",
                "def app(e, s):\n    pass\nclass NS:\n    def make(e, s):\n        pass\n",
            )],
        );
        let app = python(|py| load(py, &module("ld_two", None))).unwrap();
        assert!(
            app.description.starts_with("ld_two:app "),
            "{}",
            app.description
        );
        let app = python(|py| load(py, &module("ld_two", Some("NS.make")))).unwrap();
        assert!(
            app.description.starts_with("ld_two:NS.make "),
            "{}",
            app.description
        );
    }

    #[test]
    fn missing_module_is_one_clear_line() {
        assert_eq!(
            load_err(&module("missing_module", None)),
            "cannot import module 'missing_module': No module named 'missing_module'"
        );
    }

    #[test]
    fn module_that_raises_on_import_names_the_exception() {
        app_dir("raises", &[("ld_raises.py", "x = 1 / 0\n")]);
        assert_eq!(
            load_err(&module("ld_raises", None)),
            "cannot import module 'ld_raises': ZeroDivisionError: division by zero"
        );
    }

    #[test]
    fn missing_or_uncallable_callable_is_an_app_load_error() {
        app_dir("nocall", &[("ld_nocall.py", "handler = 42\n")]);
        assert_eq!(
            load_err(&module("ld_nocall", None)),
            "'ld_nocall' has no callable 'application' or 'app' (name one with --callable)"
        );
        assert_eq!(
            load_err(&module("ld_nocall", Some("nope"))),
            "'ld_nocall' has no callable 'nope'"
        );
        assert_eq!(
            load_err(&module("ld_nocall", Some("handler"))),
            "'ld_nocall:handler' is not callable (it is a int)"
        );
    }

    const FACTORY_APP: &str = "\
def create_app(name='default', debug=False):
    def application(e, s):
        return [name.encode()]
    application.made = (name, debug)
    return application
def broken():
    raise RuntimeError('no database')
def returns_none():
    return None
handler = 42
";

    #[test]
    fn a_call_in_the_callables_place_makes_the_app_with_literal_arguments() {
        app_dir("factory", &[("ld_factory.py", FACTORY_APP)]);
        for (callable, factory, made) in [
            ("create_app()", false, "('default', False)"),
            ("create_app('prod', debug=True)", false, "('prod', True)"),
            ("create_app", true, "('default', False)"),
        ] {
            let settings = Settings {
                factory,
                ..module("ld_factory", Some(callable))
            };
            let app = python(|py| {
                let app = load(py, &settings).unwrap();
                let made = app
                    .callable
                    .bind(py)
                    .getattr("made")
                    .unwrap()
                    .repr()
                    .unwrap();
                (app.description, made.to_string())
            });
            assert_eq!(app.1, made, "{callable}");
            let shown = if factory { "create_app()" } else { callable };
            assert!(
                app.0.starts_with(&format!("ld_factory:{shown} (")),
                "{}",
                app.0
            );
        }
    }

    #[test]
    fn a_factory_that_raises_returns_no_callable_or_is_no_callable_is_one_line() {
        app_dir("factory_bad", &[("ld_factory_bad.py", FACTORY_APP)]);
        assert_eq!(
            load_err(&module("ld_factory_bad", Some("broken()"))),
            "the app factory 'ld_factory_bad:broken()' raised RuntimeError: no database"
        );
        assert_eq!(
            load_err(&module("ld_factory_bad", Some("returns_none()"))),
            "the app factory 'ld_factory_bad:returns_none()' returned a NoneType, not a WSGI callable"
        );
        assert_eq!(
            load_err(&module("ld_factory_bad", Some("handler()"))),
            "'ld_factory_bad:handler' is not callable (it is a int), so it cannot make the app"
        );
        assert_eq!(
            load_err(&module("ld_factory_bad", Some("create_app(1, 2, 3)"))),
            "the app factory 'ld_factory_bad:create_app(1, 2, 3)' raised TypeError: create_app() takes from 0 to 2 positional arguments but 3 were given"
        );
    }

    #[test]
    fn nothing_to_load_is_an_app_load_error() {
        assert!(load_err(&Settings::default()).starts_with("no app given"));
    }

    #[test]
    fn wsgi_file_with_any_extension_loads_with_its_directory_on_sys_path() {
        let dir = app_dir(
            "file",
            &[
                ("helper_for_file.py", "GREETING = b'hi'\n"),
                ("site.wsgi", "import helper_for_file\ndef application(e, s):\n    return [helper_for_file.GREETING]\n"),
            ],
        );
        let settings = Settings {
            source: Some(AppSource::File(dir.join("site.wsgi"))),
            ..Settings::default()
        };
        let app = python(|py| load(py, &settings)).unwrap();
        assert!(app.description.ends_with(&format!(
            "site.wsgi:application ({})",
            dir.join("site.wsgi").display()
        )));
    }

    #[test]
    fn missing_wsgi_file_is_an_app_load_error() {
        let settings = Settings {
            source: Some(AppSource::File(PathBuf::from("/nonexistent/app.py"))),
            ..Settings::default()
        };
        assert_eq!(
            load_err(&settings),
            "cannot load --wsgi-file /nonexistent/app.py: no such file"
        );
    }
}
