//! The ASGI options: `--asgi MODULE[:CALLABLE]` / `--asgi-file FILE` (what `--module` and
//! `--wsgi-file` are to WSGI), `--asgi-loop`, `--lifespan`.

use std::path::PathBuf;

use abi_stable::std_types::RStr;
use rsgi_plugin_api::options::find;
use rsgi_plugin_api::{OptionKind, OptionSpec, OptionValue};

use crate::error::Error;
use crate::load::source::{split_module_spec, AppSource};

/// Which event loop a worker runs its ASGI app on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoopKind {
    /// uvloop when it can be imported, else asyncio's.
    #[default]
    Auto,
    /// asyncio's own.
    Asyncio,
    /// uvloop (refused at start when it cannot be imported).
    Uvloop,
}

impl LoopKind {
    /// The name the loop factory understands.
    pub fn name(self) -> &'static str {
        match self {
            LoopKind::Auto => "auto",
            LoopKind::Asyncio => "asyncio",
            LoopKind::Uvloop => "uvloop",
        }
    }
}

/// Whether the app's lifespan protocol runs (uvicorn's `--lifespan`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lifespan {
    /// Run it; an app that raises before answering startup does not support it (an info
    /// line, and it is served without).
    #[default]
    Auto,
    /// Run it; an app that raises is an app that did not start.
    On,
    /// Do not run it.
    Off,
}

/// How an ASGI app is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AsgiSettings {
    /// `--asgi-loop`.
    pub loop_kind: LoopKind,
    /// `--lifespan`.
    pub lifespan: Lifespan,
}

/// The ASGI options' declarations.
pub fn specs() -> Vec<OptionSpec> {
    let spec = |name, value_name, help| OptionSpec {
        name: RStr::from_str(name),
        aliases: RStr::from_str(""),
        value_name: RStr::from_str(value_name),
        help: RStr::from_str(help),
        kind: OptionKind::Value,
    };
    vec![
        spec(
            "asgi",
            "MODULE[:CALLABLE]",
            "import an ASGI 3 app from MODULE (callable `application`, then `app`) and serve it on an event loop per worker",
            ),
        spec("asgi-file", "FILE", "load an ASGI 3 app from a Python file"),
        spec(
            "asgi-loop",
            "auto|asyncio|uvloop",
            "the event loop ASGI apps run on (default auto: uvloop when installed)",
        ),
        spec(
            "lifespan",
            "auto|on|off",
            "run the ASGI lifespan protocol (default auto: an app that raises on it is served without)",
        ),
    ]
}

/// The ASGI app to load and how to serve it, when `--asgi` or `--asgi-file` was given:
/// its source, the callable named after `:`, and the settings. `--asgi-loop` or
/// `--lifespan` without an ASGI app is a configuration error.
pub fn read(
    values: &[OptionValue],
) -> Result<Option<(AppSource, Option<String>, AsgiSettings)>, Error> {
    let module = find(values, "asgi").map(str::trim);
    let file = find(values, "asgi-file").map(str::trim);
    let settings = AsgiSettings {
        loop_kind: match find(values, "asgi-loop").map(str::trim) {
            None | Some("auto") => LoopKind::Auto,
            Some("asyncio") => LoopKind::Asyncio,
            Some("uvloop") => LoopKind::Uvloop,
            Some(other) => {
                return Err(Error::Config(format!(
                    "invalid value '{other}' for --asgi-loop: expected auto, asyncio or uvloop"
                )))
            }
        },
        lifespan: match find(values, "lifespan").map(str::trim) {
            None | Some("auto") => Lifespan::Auto,
            Some("on") => Lifespan::On,
            Some("off") => Lifespan::Off,
            Some(other) => {
                return Err(Error::Config(format!(
                    "invalid value '{other}' for --lifespan: expected auto, on or off"
                )))
            }
        },
    };
    let (source, callable) = match (module, file) {
        (Some(_), Some(_)) => {
            return Err(Error::Config(
                "give either --asgi or --asgi-file, not both".into(),
            ))
        }
        (Some(spec), None) => {
            let (name, callable) = split_module_spec("asgi", spec)?;
            (AppSource::Module(name), callable)
        }
        (None, Some("")) => return Err(Error::Config("--asgi-file needs a path".into())),
        (None, Some(path)) => (AppSource::File(PathBuf::from(path)), None),
        (None, None) => {
            for option in ["asgi-loop", "lifespan"] {
                if find(values, option).is_some() {
                    return Err(Error::Config(format!(
                        "--{option} is for ASGI apps: give --asgi MODULE[:CALLABLE] or --asgi-file FILE"
                    )));
                }
            }
            return Ok(None);
        }
    };
    Ok(Some((source, callable, settings)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::opt;

    #[test]
    fn reads_the_asgi_app_and_its_settings() {
        let values = [
            opt("asgi", &["main:api"]),
            opt("asgi-loop", &["asyncio"]),
            opt("lifespan", &["off"]),
        ];
        let (source, callable, settings) = read(&values).unwrap().unwrap();
        assert_eq!(source, AppSource::Module("main".into()));
        assert_eq!(callable.as_deref(), Some("api"));
        assert_eq!(settings.loop_kind, LoopKind::Asyncio);
        assert_eq!(settings.lifespan, Lifespan::Off);
        assert_eq!(read(&[]).unwrap(), None);
    }

    #[test]
    fn refuses_bad_values_and_asgi_options_without_an_asgi_app() {
        let err = |values: &[OptionValue]| read(values).unwrap_err().to_string();
        assert!(err(&[opt("asgi", &["m"]), opt("asgi-loop", &["tokio"])]).contains("--asgi-loop"));
        assert!(err(&[opt("asgi", &["m"]), opt("lifespan", &["maybe"])]).contains("--lifespan"));
        assert!(err(&[opt("lifespan", &["on"])]).contains("is for ASGI apps"));
        assert!(err(&[opt("asgi", &["m"]), opt("asgi-file", &["f.py"])]).contains("not both"));
        assert!(err(&[opt("asgi", &[":app"])]).contains("names no module"));
    }
}
