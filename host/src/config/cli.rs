//! The command line, parsed with clap from the catalog of host and plugin options.

use clap::{parser::ValueSource, Arg, ArgAction, Command};
use rsgi_plugin_api::OptionKind;

use super::catalog::{Catalog, Owner};
use super::short_flags;
use super::sources::Values;
use super::suggest::{Spelling, Suggestions};
use crate::error::HostError;

/// What the command line asked for.
pub enum Parsed {
    /// Run with these values.
    Run(Values),
    /// Print this text (help or version) and exit 0.
    Print(String),
}

/// Builds the clap command for every option in `catalog`.
pub fn command(catalog: &Catalog) -> Command {
    let mut cmd = Command::new("rsgi")
        .version(env!("CARGO_PKG_VERSION"))
        .about("rsgi: an application server in the uWSGI tradition; protocols and languages are plugins")
        .after_help(
            format!(
                "Every option is also a TOML key for --config and an RSGI_<NAME> environment variable.\n\
                 Precedence: command line > environment > config file.\n{}",
                short_flags::SHORT_HELP
            ),
        );
    for entry in catalog.entries() {
        let heading = match &entry.owner {
            Owner::Host => "Host options".to_string(),
            Owner::Plugin(name) => format!("Options of plugin '{name}'"),
        };
        let mut arg = Arg::new(entry.name.clone())
            .long(entry.name.clone())
            .help(entry.help.clone())
            .help_heading(heading);
        for alias in &entry.aliases {
            arg = arg.visible_alias(alias.clone());
        }
        arg = match entry.kind {
            OptionKind::Flag => arg.action(ArgAction::SetTrue),
            OptionKind::Value | OptionKind::List => arg
                .action(ArgAction::Append)
                .num_args(1)
                .value_name(entry.value_name.clone())
                .allow_hyphen_values(takes_hyphen_values(&entry.name)),
        };
        cmd = cmd.arg(arg);
    }
    cmd
}

/// Options whose values start with `-` (a cron entry's `-1 -1 ...` fields); any other
/// value starting with `-` is taken for an option, so a missing value is reported as such.
fn takes_hyphen_values(name: &str) -> bool {
    matches!(name, "cron" | "unique-cron")
}

/// Parses `args` (program name first). Bad or unknown options give one line naming them;
/// an unknown one also the nearest known option (and how to load its plugin).
pub fn parse(
    catalog: &Catalog,
    args: &[String],
    suggest: &Suggestions,
) -> Result<Parsed, HostError> {
    let matches = match command(catalog).try_get_matches_from(short_flags::expand_shorts(args)) {
        Ok(m) => m,
        Err(e) => {
            use clap::error::ErrorKind as K;
            return match e.kind() {
                K::DisplayHelp | K::DisplayVersion => Ok(Parsed::Print(e.render().to_string())),
                K::UnknownArgument => Err(HostError::Usage(unknown(&e, suggest))),
                _ => Err(HostError::Usage(one_line(&e.render().to_string()))),
            };
        }
    };
    let mut values = Values::new();
    for entry in catalog.entries() {
        if matches.value_source(&entry.name) != Some(ValueSource::CommandLine) {
            continue;
        }
        let list: Vec<String> = match entry.kind {
            OptionKind::Flag => vec!["true".to_string()],
            _ => matches
                .get_many::<String>(&entry.name)
                .map(|v| v.cloned().collect())
                .unwrap_or_default(),
        };
        values.insert(entry.name.clone(), list);
    }
    Ok(Parsed::Run(values))
}

/// `unexpected argument '--proceses' found; did you mean --processes? (see rsgi --help)`.
fn unknown(e: &clap::Error, suggest: &Suggestions) -> String {
    use clap::error::{ContextKind, ContextValue};
    let first = one_line(&e.render().to_string());
    let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg) else {
        return first;
    };
    let head = first.trim_end_matches(" (see rsgi --help)");
    let Some(name) = arg.strip_prefix("--") else {
        if !arg.starts_with('-') {
            // `rsgi app:app`, as `gunicorn app:app` takes its app.
            return format!(
                "{head}; an app is named with --module {arg} (gunicorn's APP_MODULE) (see rsgi --help)"
            );
        }
        return first;
    };
    let name = name.split_once('=').map_or(name, |(n, _)| n);
    suggest
        .advise(name, Spelling::Flag)
        .around(head, " (see rsgi --help)")
}

/// clap's first line (`error: unexpected argument '--bogus' found`) without the prefix.
fn one_line(rendered: &str) -> String {
    let first = rendered
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(rendered);
    let first = first.trim().trim_start_matches("error: ");
    format!("{first} (see rsgi --help)")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Parsed, HostError> {
        let mut all = vec!["rsgi".to_string()];
        all.extend(args.iter().map(|s| s.to_string()));
        let catalog = Catalog::host();
        parse(&catalog, &all, &Suggestions::new(&catalog, &[], Vec::new))
    }

    #[test]
    fn unknown_option_is_one_line_naming_it() {
        let err = run(&["--bogus"]).err().unwrap().to_string();
        assert!(err.contains("--bogus"), "{err}");
        assert_eq!(err.lines().count(), 1);
    }

    #[test]
    fn a_typo_gets_the_nearest_option_on_the_same_line() {
        for typo in ["--proceses", "--proceses=4"] {
            let err = run(&[typo, "4"]).err().unwrap().to_string();
            assert_eq!(
                err,
                "unexpected argument '--proceses' found; did you mean --processes? (see rsgi --help)"
            );
        }
    }

    #[test]
    fn a_gunicorn_app_module_given_alone_is_pointed_to_module() {
        let err = run(&["app:app", "-w", "2"]).err().unwrap().to_string();
        assert_eq!(
            err,
            "unexpected argument 'app:app' found; an app is named with --module app:app (gunicorn's APP_MODULE) (see rsgi --help)"
        );
    }

    #[test]
    fn short_flags_of_gunicorn_fill_the_options_they_stand_for() {
        let Ok(Parsed::Run(v)) = run(&["-w", "3", "-b", "unix:/x.sock", "-t", "30"]) else {
            panic!()
        };
        assert_eq!(v["processes"], vec!["3"]);
        assert_eq!(v["bind"], vec!["unix:/x.sock"]);
        assert_eq!(v["harakiri"], vec!["30"]);
        // Any other short flag is refused by name, as before.
        let err = run(&["-k", "gevent"]).err().unwrap().to_string();
        assert!(err.contains("'-k'"), "{err}");
    }

    #[test]
    fn missing_value_is_one_line_naming_the_option() {
        let err = run(&["--processes"]).err().unwrap().to_string();
        assert!(err.contains("--processes"), "{err}");
        assert_eq!(err.lines().count(), 1);
    }

    #[test]
    fn aliases_fill_the_canonical_name() {
        let Ok(Parsed::Run(v)) = run(&["--workers", "3", "--lazy"]) else {
            panic!()
        };
        assert_eq!(v["processes"], vec!["3"]);
        assert_eq!(v["lazy-apps"], vec!["true"]);
    }

    #[test]
    fn help_is_printed_not_an_error() {
        assert!(matches!(run(&["--help"]), Ok(Parsed::Print(t)) if t.contains("--processes")));
    }
}
