//! Options a plugin declares, so `rsgi --help`, the config file and `RSGI_*` know them.

use abi_stable::{
    std_types::{RStr, RString, RVec},
    StableAbi,
};

/// The shape of an option's value.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionKind {
    /// A switch: `--enable-threads` (true when present).
    Flag = 0,
    /// One value: `--module app`.
    Value = 1,
    /// Repeatable: `--pythonpath a --pythonpath b` (a list in the config file).
    List = 2,
}

/// One option declared by a plugin.
///
/// A name must be the plugin's own: one the host or another loaded plugin already declared
/// stops the start, naming both. The exception: two *protocol* plugins may declare the
/// same option (same name, kind and aliases); it is then one option, and each of them
/// gets its values. The bundled `http` and `uwsgi` plugins share uWSGI's `buffer-size`
/// this way, each applying it to its own protocol.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy)]
pub struct OptionSpec {
    /// Long name without dashes (`module`); also the TOML key and `RSGI_MODULE`.
    pub name: RStr<'static>,
    /// Other names accepted for it (`home` for `virtualenv`), comma-separated; may be empty.
    pub aliases: RStr<'static>,
    /// Placeholder for the value in `--help` (`MODULE[:CALLABLE]`); empty for flags.
    pub value_name: RStr<'static>,
    /// One line for `--help`.
    pub help: RStr<'static>,
    /// Flag, single value or list.
    pub kind: OptionKind,
}

impl OptionSpec {
    /// A switch `--NAME` (true when present).
    pub const fn flag(name: &'static str, help: &'static str) -> OptionSpec {
        OptionSpec::new(name, "", help, OptionKind::Flag)
    }

    /// `--NAME VALUE_NAME`, one value.
    pub const fn value(
        name: &'static str,
        value_name: &'static str,
        help: &'static str,
    ) -> OptionSpec {
        OptionSpec::new(name, value_name, help, OptionKind::Value)
    }

    /// `--NAME VALUE_NAME`, repeatable (a list in the config file).
    pub const fn list(
        name: &'static str,
        value_name: &'static str,
        help: &'static str,
    ) -> OptionSpec {
        OptionSpec::new(name, value_name, help, OptionKind::List)
    }

    /// The same option with other accepted names (comma-separated: `"home,venv"`).
    pub const fn aliases(self, aliases: &'static str) -> OptionSpec {
        OptionSpec {
            aliases: RStr::from_str(aliases),
            ..self
        }
    }

    const fn new(
        name: &'static str,
        value_name: &'static str,
        help: &'static str,
        kind: OptionKind,
    ) -> OptionSpec {
        OptionSpec {
            name: RStr::from_str(name),
            aliases: RStr::from_str(""),
            value_name: RStr::from_str(value_name),
            help: RStr::from_str(help),
            kind,
        }
    }
}

/// The value(s) the user gave for one option, after command line > environment > file
/// precedence was applied. Options the user did not set are absent.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct OptionValue {
    /// The option's canonical name (as in [`OptionSpec::name`]).
    pub name: RString,
    /// The values, in order; a flag has one value, `"true"` or `"false"`.
    pub values: RVec<RString>,
}

/// Looks up the last value given for `name`.
pub fn find<'a>(values: &'a [OptionValue], name: &str) -> Option<&'a str> {
    values
        .iter()
        .find(|v| v.name.as_str() == name)
        .and_then(|v| v.values.as_slice().last())
        .map(|s| s.as_str())
}

/// All values given for `name` (empty when unset).
pub fn find_all<'a>(values: &'a [OptionValue], name: &str) -> Vec<&'a str> {
    values
        .iter()
        .filter(|v| v.name.as_str() == name)
        .flat_map(|v| v.values.iter().map(|s| s.as_str()))
        .collect()
}

/// True when the flag `name` was given and not set to a false-like value.
pub fn flag(values: &[OptionValue], name: &str) -> bool {
    matches!(find(values, name), Some(v) if !matches!(v, "false" | "0" | "no" | "off"))
}
