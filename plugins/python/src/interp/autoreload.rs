//! `--py-autoreload SECONDS` (uWSGI's), for development: a thread in worker 1 looks at the
//! file of every imported module (`__file__` of each entry of `sys.modules`) every SECONDS.
//! When one changed since it was first seen, the thread logs which and asks the master for
//! a graceful reload (SIGHUP): the master re-executes itself and every worker runs the new
//! code, with no request refused. Off by default; it costs a `stat` of every module file
//! per period, so it is not meant for production (`--touch-reload` is).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::interp::thread_state;

/// Starts the watching thread (call in the worker, after the fork).
pub fn start(period: Duration) {
    let spawned = std::thread::Builder::new()
        .name("rsgi-autoreload".into())
        .spawn(move || watch(period));
    if let Err(e) = spawned {
        tracing::error!("--py-autoreload: cannot start its thread: {e}");
    }
}

fn watch(period: Duration) {
    let mut seen = HashMap::new();
    loop {
        let files = thread_state::attach(module_files);
        if let Some(file) = changed(&mut seen, files) {
            tracing::info!(
                "--py-autoreload: {} changed: asking the master for a graceful reload",
                file.display()
            );
            // SAFETY: getppid and kill have no memory effects; the parent is the master.
            unsafe { libc::kill(libc::getppid(), libc::SIGHUP) };
            return;
        }
        std::thread::sleep(period);
    }
}

/// The files of the modules imported now.
fn module_files(py: Python<'_>) -> Vec<PathBuf> {
    let Ok(modules) = py.import("sys").and_then(|sys| sys.getattr("modules")) else {
        return Vec::new();
    };
    let Ok(modules) = modules.cast_into::<PyDict>() else {
        return Vec::new();
    };
    // `values()` is a list copied now: imports on other threads cannot disturb the walk.
    modules
        .values()
        .iter()
        .filter_map(|m| m.getattr("__file__").ok()?.extract::<String>().ok())
        .map(PathBuf::from)
        .collect()
}

/// Records the modification time of files seen for the first time; returns the first
/// file whose time differs from the one recorded (files that vanished are skipped).
fn changed(seen: &mut HashMap<PathBuf, SystemTime>, files: Vec<PathBuf>) -> Option<PathBuf> {
    for file in files {
        let Ok(modified) = std::fs::metadata(&file).and_then(|m| m.modified()) else {
            continue;
        };
        match seen.get(&file) {
            None => {
                seen.insert(file, modified);
            }
            Some(&before) if before != modified => return Some(file),
            Some(_) => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_counts_as_changed_once_its_time_differs_from_the_first_look() {
        let dir = std::env::temp_dir().join(format!("rsgi-autoreload-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = dir.join("a.py");
        let b = dir.join("b.py");
        std::fs::write(&a, "x = 1\n").unwrap();
        std::fs::write(&b, "y = 1\n").unwrap();
        let mut seen = HashMap::new();
        let missing = dir.join("missing.py");
        assert_eq!(changed(&mut seen, vec![a.clone(), missing.clone()]), None);
        // b is new at the second look: recorded, not "changed".
        assert_eq!(changed(&mut seen, vec![a.clone(), b.clone()]), None);
        let later = SystemTime::now() + Duration::from_secs(10);
        std::fs::File::options()
            .write(true)
            .open(&b)
            .unwrap()
            .set_modified(later)
            .unwrap();
        assert_eq!(changed(&mut seen, vec![a, b.clone(), missing]), Some(b));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn module_files_lists_imported_modules() {
        crate::testing::python(|py| {
            py.import("json").unwrap();
            let files = module_files(py);
            assert!(
                files.iter().any(|f| f.ends_with("json/__init__.py")),
                "{files:?}"
            );
        });
    }
}
