//! A host table and option values, for calling a plugin's `init` in a test.

use std::sync::Mutex;

use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::std_types::{ROption, RStr, RString, RVec};

use crate::extension::{Extension, ExtensionId};
use crate::host::{Host, HostRef, LogLevel, LogSink};
use crate::options::OptionValue;

/// Lines the plugin logged through the fake host, in order, as `LEVEL message`.
static LOGGED: Mutex<Vec<String>> = Mutex::new(Vec::new());

extern "C" fn keep(level: LogLevel, _target: RStr<'_>, message: RStr<'_>) {
    let mut lines = LOGGED.lock().unwrap_or_else(|p| p.into_inner());
    lines.push(format!("{level:?} {message}"));
}

extern "C" fn no_extensions() -> RVec<ExtensionId> {
    RVec::new()
}

extern "C" fn no_extension(_name: RStr<'_>, _version: u32) -> ROption<Extension> {
    ROption::RNone
}

/// A host table of this SDK's ABI release that offers no extensions and whose log keeps
/// every line (see [`logged`]), up to `Debug`.
pub fn host() -> HostRef {
    Host {
        abi_version: RStr::from_str(crate::ABI_VERSION),
        log: LogSink { log: keep },
        max_level: LogLevel::Debug,
        extensions: no_extensions,
        extension: no_extension,
    }
    .leak_into_prefix()
}

/// What plugins logged through [`host`] so far in this test binary (the log bridge is
/// installed once per library, so the lines of all tests end up here).
pub fn logged() -> Vec<String> {
    LOGGED.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// The value of option `name` as the host passes it to `init` (one entry per time the
/// option was given).
pub fn option(name: &str, values: &[&str]) -> OptionValue {
    OptionValue {
        name: RString::from(name),
        values: values.iter().map(|v| RString::from(*v)).collect(),
    }
}
