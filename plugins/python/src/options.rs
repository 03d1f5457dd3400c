//! The options the python plugin declares, and the settings they turn into.

use std::path::PathBuf;
use std::time::Duration;

use abi_stable::std_types::{RStr, RVec};
use rsgi_plugin_api::options::{find, find_all, flag};
use rsgi_plugin_api::{OptionKind, OptionSpec, OptionValue};

use crate::error::Error;
use crate::load::source::{split_module_spec, AppSource};
use crate::wsgi::write_errors::WriteErrors;

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
            "import the WSGI app from MODULE (callable `application`, then `app`); CALLABLE may be a call that makes the app, as gunicorn's create_app() or create_app(\"prod\") (literal arguments)",
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
            "factory",
            "",
            "",
            "the --module or --wsgi-file callable is a factory: the app is what calling it with no arguments returns (granian's and uvicorn's --factory)",
            OptionKind::Flag,
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
            "python-path,pp",
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
        spec(
            "mount",
            "",
            "PREFIX=APP",
            "serve APP (MODULE[:CALLABLE] or a .py/.wsgi file) under PREFIX (repeatable)",
            OptionKind::List,
        ),
        spec(
            "manage-script-name",
            "",
            "",
            "pick the app by the longest --mount prefix of the path; move it to SCRIPT_NAME",
            OptionKind::Flag,
        ),
        spec(
            "enable-threads",
            "",
            "",
            "accepted for uWSGI compatibility: threads the app starts always run (on by default, as in uWSGI >= 2.0.27)",
            OptionKind::Flag,
        ),
        spec(
            "single-interpreter",
            "",
            "",
            "accepted for uWSGI compatibility: each worker always runs its apps in one interpreter",
            OptionKind::Flag,
        ),
        spec(
            "disable-write-exception",
            "",
            "",
            "write() (the legacy callable start_response returns) returns quietly instead of raising OSError when the client went away",
            OptionKind::Flag,
        ),
        spec(
            "ignore-write-errors",
            "",
            "",
            "log requests cut short by the client (it went away) at debug level instead of info",
            OptionKind::Flag,
        ),
        spec(
            "py-autoreload",
            "python-autoreload",
            "SECONDS",
            "development: every SECONDS, look for changed files of imported modules and reload gracefully when one changed (default 0 = off)",
            OptionKind::Value,
        ),
        spec(
            "py-call-osafterfork",
            "py-callos-afterfork",
            "",
            "accepted for uWSGI compatibility: after each fork, functions registered with os.register_at_fork(after_in_child=...) always run in the worker",
            OptionKind::Flag,
        ),
        spec(
            "py-call-uwsgi-fork-hooks",
            "",
            "",
            "accepted for uWSGI compatibility: os.register_at_fork hooks always run around each fork",
            OptionKind::Flag,
        ),
        spec(
            "locks",
            "",
            "N",
            "make the user locks 0 to N for uwsgi.lock(num) (default 0: one lock, number 0)",
            OptionKind::Value,
        ),
        spec(
            "cache2",
            "",
            "name=NAME,items=N[,blocksize=B][,keysize=K]",
            "a cache shared by every worker, for uwsgi.cache_get/cache_set/... (repeatable; blocksize 65536 and keysize 2048 by default)",
            OptionKind::List,
        ),
        spec(
            "no-uwsgi-module",
            "",
            "",
            "do not provide `import uwsgi` (rsgi's subset of uWSGI's Python API, on by default)",
            OptionKind::Flag,
        ),
        spec(
            "catch-exceptions",
            "",
            "",
            "development: when the app raises before it starts its response, the 500 carries the traceback (never in production: it shows code and data)",
            OptionKind::Flag,
        ),
        spec(
            "reload-on-exception",
            "",
            "",
            "when the app raises, the worker stops gracefully after its requests and the master starts a fresh one",
            OptionKind::Flag,
        ),
        spec(
            "gc-freeze",
            "",
            "",
            "after the app is loaded, collect once and move every object to the permanent generation (gc.freeze()): preforked workers then share those pages instead of copying them when the collector touches them",
            OptionKind::Flag,
        ),
        spec(
            "wsgi-disable-file-wrapper",
            "",
            "",
            "leave wsgi.file_wrapper out of the environ (apps then send files as ordinary iterables)",
            OptionKind::Flag,
        ),
    ]
    .into_iter()
    .chain(crate::asgi::settings::specs())
    .collect::<Vec<_>>())
}

/// One `--mount PREFIX=APP`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountSpec {
    /// The prefix without a trailing `/` (`/api`); `""` for the root.
    pub prefix: String,
    /// Where the app comes from.
    pub source: AppSource,
    /// The callable named after `:`, else `--callable` or the defaults.
    pub callable: Option<String>,
}

/// The plugin's settings, validated from the options the user gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// Where to load the app from; `None` when neither `--module` nor `--wsgi-file` was given.
    pub source: Option<AppSource>,
    /// The callable named by `--callable` or after `:` in `--module`; a call of it
    /// (`create_app("prod")`) makes the app.
    pub callable: Option<String>,
    /// `--factory`: the app is what calling the callable with no arguments returns.
    pub factory: bool,
    /// Directories prepended to `sys.path`, in the order given.
    pub pythonpath: Vec<PathBuf>,
    /// The virtualenv to run with.
    pub virtualenv: Option<PathBuf>,
    /// `--mount` apps, in the order given.
    pub mounts: Vec<MountSpec>,
    /// `--manage-script-name`: route by the path and split it into SCRIPT_NAME/PATH_INFO.
    pub manage_script_name: bool,
    /// `--disable-write-exception`, `--ignore-write-errors`.
    pub write_errors: WriteErrors,
    /// `--py-autoreload`: how often to look for changed module files (`None`: never).
    pub autoreload: Option<Duration>,
    /// Provide `import uwsgi` (off with `--no-uwsgi-module`).
    pub uwsgi_module: bool,
    /// `--locks N`: the highest user lock number.
    pub highest_lock: usize,
    /// `--cache2` caches.
    pub caches: Vec<crate::uwsgi_module::cache::CacheSpec>,
    /// Offer `wsgi.file_wrapper` (off with `--wsgi-disable-file-wrapper`).
    pub file_wrapper: bool,
    /// `--catch-exceptions`, `--reload-on-exception`.
    pub app_errors: crate::wsgi::app_errors::AppErrors,
    /// How the app is served when it is an ASGI app (`--asgi`, `--asgi-file`); `None` for
    /// WSGI.
    pub asgi: Option<crate::asgi::settings::AsgiSettings>,
    /// `--gc-freeze`: `gc.freeze()` once the app is loaded.
    pub gc_freeze: bool,
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
        let asgi = crate::asgi::settings::read(values)?;
        let source = match (module, file) {
            (Some(_), Some(_)) => {
                return Err(Error::Config(
                    "give either --module or --wsgi-file, not both".into(),
                ))
            }
            (Some(_), _) | (_, Some(_)) if asgi.is_some() => {
                return Err(Error::Config(
                    "give either a WSGI app (--module, --wsgi-file) or an ASGI app (--asgi, --asgi-file), not both"
                        .into(),
                ))
            }
            (Some(spec), None) => {
                let (name, named) = split_module_spec("module", spec)?;
                if named.is_some() {
                    callable = named;
                }
                Some(AppSource::Module(name))
            }
            (None, Some("")) => return Err(Error::Config("--wsgi-file needs a path".into())),
            (None, Some(path)) => Some(AppSource::File(PathBuf::from(path))),
            (None, None) => None,
        };
        let (source, asgi) = match asgi {
            Some((asgi_source, named, settings)) => {
                if named.is_some() {
                    callable = named;
                }
                (Some(asgi_source), Some(settings))
            }
            None => (source, None),
        };
        let factory = flag(values, "factory");
        if let Some(spec) = &callable {
            let (_, call) = crate::load::factory::split(spec).map_err(Error::Config)?;
            if call.is_some() && factory {
                return Err(Error::Config(format!(
                    "'{spec}' calls the factory already: drop --factory (it calls the callable with no arguments)"
                )));
            }
        }
        if factory && source.is_none() {
            return Err(Error::Config(
                "--factory calls the --module or --wsgi-file callable: give one".into(),
            ));
        }
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
        let mut mounts: Vec<MountSpec> = Vec::new();
        for spec in find_all(values, "mount") {
            let mount = parse_mount(spec)?;
            if mount.prefix.is_empty() && source.is_some() {
                return Err(Error::Config(format!(
                    "--mount '{spec}' mounts an app at the root, where --module or --wsgi-file already is"
                )));
            }
            if mounts.iter().any(|m| m.prefix == mount.prefix) {
                return Err(Error::Config(format!(
                    "--mount '{spec}': another app is already mounted at '{}'",
                    mount.prefix
                )));
            }
            mounts.push(mount);
        }
        if asgi.is_some() && !mounts.is_empty() {
            return Err(Error::Config(
                "--mount serves WSGI apps; an ASGI app is served at the root (--asgi, --asgi-file)"
                    .into(),
            ));
        }
        if flag(values, "no-uwsgi-module") {
            if let Some(option) = ["cache2", "locks"]
                .iter()
                .find(|o| find(values, o).is_some())
            {
                return Err(Error::Config(format!(
                    "--{option} is for the uwsgi module, which --no-uwsgi-module turns off"
                )));
            }
        }
        Ok(Settings {
            source,
            callable,
            factory,
            pythonpath,
            virtualenv,
            mounts,
            manage_script_name: flag(values, "manage-script-name"),
            autoreload: autoreload(values)?,
            uwsgi_module: !flag(values, "no-uwsgi-module"),
            file_wrapper: !flag(values, "wsgi-disable-file-wrapper"),
            app_errors: crate::wsgi::app_errors::AppErrors {
                catch: flag(values, "catch-exceptions"),
                reload: flag(values, "reload-on-exception"),
            },
            highest_lock: highest_lock(values)?,
            caches: find_all(values, "cache2")
                .into_iter()
                .map(crate::uwsgi_module::cache::parse_spec)
                .collect::<Result<_, _>>()
                .map_err(Error::Config)?,
            write_errors: WriteErrors {
                raise: !flag(values, "disable-write-exception"),
                report: !flag(values, "ignore-write-errors"),
            },
            asgi,
            gc_freeze: flag(values, "gc-freeze"),
        })
    }
}

fn autoreload(values: &[OptionValue]) -> Result<Option<Duration>, Error> {
    match find(values, "py-autoreload").map(str::trim) {
        None | Some("0") => Ok(None),
        Some(v) => match v.parse::<u64>() {
            Ok(secs) => Ok(Some(Duration::from_secs(secs))),
            Err(_) => Err(Error::Config(format!(
                "invalid value '{v}' for --py-autoreload: expected seconds"
            ))),
        },
    }
}

/// The most locks `--locks` may ask for (uWSGI has no limit; each is 40 bytes of shared
/// memory, so this only stops a typo).
const MAX_LOCKS: usize = 65_535;

fn highest_lock(values: &[OptionValue]) -> Result<usize, Error> {
    match find(values, "locks").map(str::trim) {
        None => Ok(0),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n <= MAX_LOCKS => Ok(n),
            _ => Err(Error::Config(format!(
                "invalid value '{v}' for --locks: expected a number from 0 to {MAX_LOCKS}"
            ))),
        },
    }
}

/// Parses `PREFIX=APP`: `/api=pkg.mod:app`, `/legacy=site.wsgi`, `/=app`.
///
/// The prefix must start with `/`; trailing slashes are dropped (`/` is the root, `""`).
/// APP is a file when it ends in `.py` or `.wsgi` or contains a `/`, else a module.
pub fn parse_mount(spec: &str) -> Result<MountSpec, Error> {
    let bad = |why: &str| {
        Error::Config(format!(
            "--mount '{spec}': {why} (want PREFIX=APP, e.g. /api=pkg.wsgi:app)"
        ))
    };
    let (prefix, app) = spec.split_once('=').ok_or_else(|| bad("no '='"))?;
    let (prefix, app) = (prefix.trim(), app.trim());
    if !prefix.starts_with('/') {
        return Err(bad("the prefix must start with '/'"));
    }
    if app.is_empty() {
        return Err(bad("no app after '='"));
    }
    let prefix = prefix.trim_end_matches('/').to_owned();
    let is_file =
        |path: &str| path.ends_with(".py") || path.ends_with(".wsgi") || path.contains('/');
    let (source, callable) = match app.rsplit_once(':') {
        Some((path, callable)) if is_file(path) && !callable.contains('/') => {
            let callable = callable.trim();
            if callable.is_empty() {
                return Err(bad("no callable after ':'"));
            }
            (
                AppSource::File(PathBuf::from(path)),
                Some(callable.to_owned()),
            )
        }
        _ if is_file(app) => (AppSource::File(PathBuf::from(app)), None),
        _ => {
            let (module, callable) = split_module_spec("mount", app)?;
            (AppSource::Module(module), callable)
        }
    };
    Ok(MountSpec {
        prefix,
        source,
        callable,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::opt;

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
                ("factory", ""),
                ("callable", ""),
                ("pythonpath", "python-path,pp"),
                ("virtualenv", "home,venv"),
                ("mount", ""),
                ("manage-script-name", ""),
                ("enable-threads", ""),
                ("single-interpreter", ""),
                ("disable-write-exception", ""),
                ("ignore-write-errors", ""),
                ("py-autoreload", "python-autoreload"),
                ("py-call-osafterfork", "py-callos-afterfork"),
                ("py-call-uwsgi-fork-hooks", ""),
                ("locks", ""),
                ("cache2", ""),
                ("no-uwsgi-module", ""),
                ("catch-exceptions", ""),
                ("reload-on-exception", ""),
                ("gc-freeze", ""),
                ("wsgi-disable-file-wrapper", ""),
                ("asgi", ""),
                ("asgi-file", ""),
                ("asgi-loop", ""),
                ("lifespan", ""),
            ]
        );
        assert_eq!(specs[2].kind, OptionKind::Flag);
        assert_eq!(specs[4].kind, OptionKind::List);
        assert_eq!(specs[6].kind, OptionKind::List);
        assert_eq!(specs[7].kind, OptionKind::Flag);
    }

    #[test]
    fn locks_take_a_bounded_number_and_the_uwsgi_module_is_on_unless_refused() {
        let s = Settings::from_options(&[opt("locks", &["3"])]).unwrap();
        assert_eq!(s.highest_lock, 3);
        assert!(s.uwsgi_module);
        let s = Settings::from_options(&[]).unwrap();
        assert_eq!(s.highest_lock, 0, "lock 0 always exists");
        for bad in ["-1", "x", "65536"] {
            let err = Settings::from_options(&[opt("locks", &[bad])]).unwrap_err();
            assert!(err.to_string().contains("--locks"), "{err}");
        }
        let s = Settings::from_options(&[opt("no-uwsgi-module", &["true"])]).unwrap();
        assert!(!s.uwsgi_module);
        let err = Settings::from_options(&[
            opt("no-uwsgi-module", &["true"]),
            opt("cache2", &["name=a,items=1"]),
        ])
        .unwrap_err();
        assert!(
            err.to_string().contains("--cache2 is for the uwsgi module"),
            "{err}"
        );
    }

    #[test]
    fn mounts_parse_modules_files_and_normalise_the_prefix() {
        let s = Settings::from_options(&[
            opt(
                "mount",
                &["/api/=pkg.api:make", "/legacy=sites/old.wsgi", "/=root"],
            ),
            opt("manage-script-name", &["true"]),
        ])
        .unwrap();
        assert!(s.manage_script_name);
        assert_eq!(
            s.mounts,
            [
                MountSpec {
                    prefix: "/api".into(),
                    source: AppSource::Module("pkg.api".into()),
                    callable: Some("make".into()),
                },
                MountSpec {
                    prefix: "/legacy".into(),
                    source: AppSource::File("sites/old.wsgi".into()),
                    callable: None,
                },
                MountSpec {
                    prefix: "".into(),
                    source: AppSource::Module("root".into()),
                    callable: None,
                },
            ]
        );
        let file = parse_mount("/f=app.py:custom").unwrap();
        assert_eq!(file.source, AppSource::File("app.py".into()));
        assert_eq!(file.callable.as_deref(), Some("custom"));
    }

    #[test]
    fn bad_or_clashing_mounts_are_config_errors() {
        for spec in ["api=app", "/api", "/api=", "/api=app:"] {
            let err = parse_mount(spec).unwrap_err();
            assert!(matches!(err, Error::Config(_)), "{spec}: {err}");
        }
        let err = Settings::from_options(&[opt("mount", &["/a=x", "/a/=y"])]).unwrap_err();
        assert!(err.to_string().contains("already mounted"), "{err}");
        let err =
            Settings::from_options(&[opt("module", &["app"]), opt("mount", &["/=x"])]).unwrap_err();
        assert!(err.to_string().contains("root"), "{err}");
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
    fn factory_calls_in_the_module_spec_or_with_the_flag_but_not_both() {
        let s = Settings::from_options(&[opt("module", &["app:create_app(\"prod\")"])]).unwrap();
        assert_eq!(s.callable.as_deref(), Some("create_app(\"prod\")"));
        assert!(!s.factory);
        let s = Settings::from_options(&[
            opt("module", &["app:create_app"]),
            opt("factory", &["true"]),
        ])
        .unwrap();
        assert!(s.factory);
        let err = Settings::from_options(&[
            opt("module", &["app:create_app()"]),
            opt("factory", &["true"]),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("drop --factory"), "{err}");
        let err = Settings::from_options(&[opt("factory", &["true"])]).unwrap_err();
        assert!(err.to_string().starts_with("--factory calls"), "{err}");
        let err = Settings::from_options(&[opt("module", &["app:create_app("])]).unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err}");
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
