//! Where plugins are looked for: `--plugin-dir` (also `RSGI_PLUGIN_DIR` or the config
//! file, as every option), then `../lib/rsgi/plugins` beside the `rsgi` binary (an install
//! under any prefix), the binary's own directory (a cargo target dir in a dev build, so
//! `cargo run` just works), then [`DEFAULT_DIR`].

use std::path::{Path, PathBuf};

/// The default plugin directory of an installed rsgi: `RSGI_DEFAULT_PLUGIN_DIR` in the
/// environment of the build (`cargo build`), read at compile time; without it
/// `/usr/local/lib/rsgi/plugins`.
pub const DEFAULT_DIR: &str = match option_env!("RSGI_DEFAULT_PLUGIN_DIR") {
    Some(dir) => dir,
    None => "/usr/local/lib/rsgi/plugins",
};

/// The ordered list of directories searched for plugins.
pub fn search_dirs(user_dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = user_dirs.to_vec();
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
    {
        dirs.push(exe_dir.join("../lib/rsgi/plugins"));
        dirs.push(exe_dir);
    }
    dirs.push(PathBuf::from(DEFAULT_DIR));
    dirs
}

/// The file name of plugin `name`.
pub fn file_name(name: &str) -> String {
    format!("librsgi_{name}.so")
}

/// True when `spec` is a path rather than a plugin name.
pub fn is_path(spec: &str) -> bool {
    spec.contains('/') || spec.ends_with(".so")
}

/// The rsgi plugin a uWSGI plugin name stands for when no plugin has that name itself:
/// uWSGI configs say `plugins = python3` (Debian's uwsgi-plugin-python3).
fn uwsgi_name(spec: &str) -> Option<&'static str> {
    (spec == "python3").then_some("python")
}

/// Resolves `spec` (a name or a path) to a file, or says where it looked.
pub fn resolve(spec: &str, dirs: &[PathBuf]) -> Result<PathBuf, String> {
    if is_path(spec) {
        return Ok(PathBuf::from(spec));
    }
    let file = file_name(spec);
    let fallback = uwsgi_name(spec).map(file_name);
    for name in std::iter::once(&file).chain(fallback.as_ref()) {
        for dir in dirs {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    let looked: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    Err(format!(
        "plugin '{spec}' not found: no {file} in {}",
        looked.join(", ")
    ))
}

/// Every `librsgi_*.so` in `dirs` (first occurrence of a file name wins).
pub fn all(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("librsgi_") && n.ends_with(".so"))
            })
            .collect();
        files.sort();
        for f in files {
            if !found.iter().any(|g| g.file_name() == f.file_name()) {
                found.push(f);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_paths_are_told_apart() {
        assert!(is_path("./librsgi_http.so"));
        assert!(is_path("/x/y"));
        assert!(!is_path("python"));
    }

    #[test]
    fn not_found_lists_the_directories() {
        let err = resolve("nope", &[PathBuf::from("/a"), PathBuf::from("/b")]).unwrap_err();
        assert_eq!(err, "plugin 'nope' not found: no librsgi_nope.so in /a, /b");
    }

    #[test]
    fn uwsgis_python3_finds_the_python_plugin_unless_there_is_a_python3_one() {
        let scratch = crate::scratch::Scratch::new("find");
        let dir = scratch.path().to_path_buf();
        std::fs::write(dir.join("librsgi_python.so"), b"").unwrap();
        let dirs = [dir.clone()];
        assert_eq!(
            resolve("python3", &dirs).unwrap(),
            dir.join("librsgi_python.so")
        );
        std::fs::write(dir.join("librsgi_python3.so"), b"").unwrap();
        assert_eq!(
            resolve("python3", &dirs).unwrap(),
            dir.join("librsgi_python3.so")
        );
        assert!(resolve("python2", &dirs).is_err());
    }
}
