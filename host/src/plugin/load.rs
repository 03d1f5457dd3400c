//! Open one plugin file, check its ABI, and return its root module — or one line saying
//! why not (missing file, not an rsgi plugin, another ABI series, incompatible layout).
//!
//! Within the host's series a plugin may be older or newer than the host: its root-module
//! layout is checked against the host's in both directions, and either passing means one
//! is a prefix of the other (appended fields, read as optional by whichever side lacks
//! them). abi_stable's own checked load tries only the host-first direction, which refuses
//! an older plugin ("too many fields"), so the check is done here and the module then
//! loaded without a second one.

use std::path::{Path, PathBuf};

use abi_stable::abi_stability::check_layout_compatibility;
use abi_stable::library::{lib_header_from_path, LibHeader, LibraryError};
use abi_stable::StableAbi;
use rsgi_plugin_api::{series_of, PluginKind, PluginModRef, ABI_VERSION};

/// A plugin whose root module passed the host's checks.
#[derive(Clone)]
pub struct LoadedPlugin {
    /// Its short name (`python`).
    pub name: String,
    /// Its own version.
    pub version: String,
    /// The plugin ABI release it was built against (`0.2.0`).
    pub abi_version: String,
    /// Protocol or app.
    pub kind: PluginKind,
    /// The file it came from.
    pub path: PathBuf,
    /// The root module.
    pub module: PluginModRef,
}

/// Opens `path` and checks it is an rsgi plugin of the host's ABI series.
///
/// Uses `lib_header_from_path` rather than `RootModule::load_from_file`, which caches one
/// module per type and would hand back the first plugin for every path.
pub fn load(path: &Path) -> Result<LoadedPlugin, String> {
    if !path.exists() {
        return Err(format!("plugin file {} does not exist", path.display()));
    }
    let header = lib_header_from_path(path).map_err(|e| describe(path, &e))?;
    let abi_version = header.version_strings().version.as_str().to_string();
    check_series(path, &abi_version)?;
    check_layout(path, header)?;
    // SAFETY: the layout was checked just above, in the direction that fits this plugin.
    let module = unsafe { header.init_root_module_with_unchecked_layout::<PluginModRef>() }
        .map_err(|e| describe(path, &e))?;
    Ok(LoadedPlugin {
        name: module.name().to_string(),
        version: module.version().to_string(),
        abi_version,
        kind: module.kind(),
        path: path.to_path_buf(),
        module,
    })
}

/// Refuses a plugin built against another ABI series before its layout is compared (the
/// series says more than a layout diff).
fn check_series(path: &Path, plugin: &str) -> Result<(), String> {
    let (ours, theirs) = (series_of(ABI_VERSION), series_of(plugin));
    if ours == theirs {
        return Ok(());
    }
    Err(format!(
        "plugin {} speaks plugin ABI {theirs} ({plugin}), but this rsgi speaks plugin ABI {ours} \
         ({ABI_VERSION}); rebuild the plugin against rsgi-plugin-api {ours}",
        path.display()
    ))
}

/// Checks the plugin's root-module layout against the host's, host-first (the plugin is
/// as new or newer) and then plugin-first (it is older): one of them passes for any two
/// releases of a series.
fn check_layout(path: &Path, header: &LibHeader) -> Result<(), String> {
    let ours = <PluginModRef as StableAbi>::LAYOUT;
    let Some(theirs) = header.layout() else {
        return Err(format!(
            "plugin {} carries no layout to check (built without abi_stable's layout constant)",
            path.display()
        ));
    };
    let Err(newer) = check_layout_compatibility(ours, theirs).into_result() else {
        return Ok(());
    };
    if check_layout_compatibility(theirs, ours)
        .into_result()
        .is_ok()
    {
        return Ok(());
    }
    Err(format!(
        "plugin {} has an incompatible ABI layout (host plugin ABI {ABI_VERSION}, plugin {}): {}",
        path.display(),
        header.version_strings().version,
        error_lines(&newer.to_string())
    ))
}

/// One line for a load failure.
fn describe(path: &Path, err: &LibraryError) -> String {
    let path = path.display();
    match err {
        LibraryError::OpenError { err, .. } => {
            format!("cannot open plugin {path}: {}", last_clause(&err.to_string()))
        }
        LibraryError::GetSymbolError { .. } => {
            format!("{path} is not an rsgi plugin (it exports no rsgi root module)")
        }
        LibraryError::IncompatibleVersionNumber {
            expected_version,
            actual_version,
            ..
        } => format!(
            "plugin {path} was built for plugin ABI {actual_version}, but this rsgi speaks plugin ABI {expected_version} \
             (rsgi-plugin-api {ABI_VERSION}); rebuild the plugin against it"
        ),
        LibraryError::AbiInstability(e) => format!(
            "plugin {path} has an incompatible ABI layout (host plugin ABI {ABI_VERSION}): {}",
            error_lines(&e.to_string())
        ),
        LibraryError::InvalidAbiHeader(h) => format!(
            "plugin {path} was built with an incompatible abi_stable ({h:?}); host plugin ABI {ABI_VERSION}"
        ),
        LibraryError::RootModule { err, module_name, .. } => {
            format!("plugin {path}: its root module {module_name} failed to initialise: {err}")
        }
        LibraryError::Many(list) => list
            .iter()
            .map(describe_inner)
            .collect::<Vec<_>>()
            .join("; "),
        other => format!("cannot load plugin {path}: {}", error_lines(&other.to_string())),
    }
}

fn describe_inner(err: &LibraryError) -> String {
    error_lines(&err.to_string())
}

/// Keeps only the `Error:` lines of abi_stable's multi-page layout dump.
fn error_lines(text: &str) -> String {
    let picked: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("Error:"))
        .map(|l| l.trim_start_matches("Error:").trim())
        .collect();
    if picked.is_empty() {
        text.lines().next().unwrap_or("").trim().to_string()
    } else {
        let mut unique: Vec<&str> = Vec::new();
        for line in picked {
            if !unique.contains(&line) {
                unique.push(line);
            }
        }
        unique.join("; ")
    }
}

/// `dlopen`'s message ends with the useful part: `...: invalid ELF header`.
fn last_clause(text: &str) -> String {
    text.rsplit(": ").next().unwrap_or(text).trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_lines_condenses_a_layout_dump() {
        let dump = "lots\nof\n  Error:mismatched type Expected: u16 Found: u32\nmore\nError:mismatched type Expected: u16 Found: u32\n";
        assert_eq!(
            error_lines(dump),
            "mismatched type Expected: u16 Found: u32"
        );
    }

    #[test]
    fn missing_file_names_the_path() {
        let err = load(Path::new("/nonexistent/librsgi_x.so")).err().unwrap();
        assert_eq!(err, "plugin file /nonexistent/librsgi_x.so does not exist");
    }
}
