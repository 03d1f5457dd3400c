//! Open one plugin file, check its ABI, and return its root module — or one line saying
//! why not (missing file, not an rsgi plugin, wrong ABI version, incompatible layout).

use std::path::{Path, PathBuf};

use abi_stable::library::{lib_header_from_path, LibraryError};
use rsgi_plugin_api::{PluginKind, PluginModRef, ABI_VERSION};

/// A plugin whose root module passed the host's checks.
#[derive(Clone)]
pub struct LoadedPlugin {
    /// Its short name (`python`).
    pub name: String,
    /// Its own version.
    pub version: String,
    /// Protocol or app.
    pub kind: PluginKind,
    /// The file it came from.
    pub path: PathBuf,
    /// The root module.
    pub module: PluginModRef,
}

/// Opens `path` and checks it is an rsgi plugin of a compatible ABI.
///
/// Uses `lib_header_from_path` + `init_root_module` rather than `RootModule::load_from_file`,
/// which caches one module per type and would hand back the first plugin for every path.
pub fn load(path: &Path) -> Result<LoadedPlugin, String> {
    if !path.exists() {
        return Err(format!("plugin file {} does not exist", path.display()));
    }
    let header = lib_header_from_path(path).map_err(|e| describe(path, &e))?;
    check_version(path, header.version_strings().version.as_str())?;
    let module = header
        .init_root_module::<PluginModRef>()
        .map_err(|e| describe(path, &e))?;
    Ok(LoadedPlugin {
        name: module.name().to_string(),
        version: module.version().to_string(),
        kind: module.kind(),
        path: path.to_path_buf(),
        module,
    })
}

/// Refuses a plugin built against an incompatible `rsgi-plugin-api` before its layout is
/// compared (the version says more than a layout diff): same major version, and for 0.x
/// the same minor version.
fn check_version(path: &Path, plugin: &str) -> Result<(), String> {
    if compatible(ABI_VERSION, plugin) {
        return Ok(());
    }
    Err(format!(
        "plugin {} was built for plugin ABI {plugin}, but this rsgi speaks plugin ABI {ABI_VERSION}; \
         rebuild the plugin against rsgi-plugin-api {ABI_VERSION}",
        path.display()
    ))
}

/// Semver compatibility of two `major.minor.patch` strings.
fn compatible(host: &str, plugin: &str) -> bool {
    let parts = |v: &str| -> Option<(u64, u64)> {
        let mut it = v.split('.').map(|p| p.parse::<u64>().ok());
        Some((it.next()??, it.next()??))
    };
    match (parts(host), parts(plugin)) {
        (Some((0, h_minor)), Some((0, p_minor))) => h_minor == p_minor,
        (Some((h_major, _)), Some((p_major, _))) => h_major == p_major,
        _ => false,
    }
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
    fn versions_are_compatible_by_semver() {
        assert!(compatible("0.1.0", "0.1.7"));
        assert!(!compatible("0.1.0", "0.2.0"));
        assert!(!compatible("0.1.0", "0.99.0"));
        assert!(compatible("1.2.0", "1.0.3"));
        assert!(!compatible("1.2.0", "2.0.0"));
        assert!(!compatible("0.1.0", "garbage"));
    }

    #[test]
    fn missing_file_names_the_path() {
        let err = load(Path::new("/nonexistent/librsgi_x.so")).err().unwrap();
        assert_eq!(err, "plugin file /nonexistent/librsgi_x.so does not exist");
    }
}
