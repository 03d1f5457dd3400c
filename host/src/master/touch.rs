//! `--touch-reload FILE` / `--touch-chain-reload FILE` / `--touch-workers-reload FILE`: a
//! reload of that kind when a file's mtime changes; `--touch-logreopen FILE`: the log file
//! opened again.

use std::path::PathBuf;
use std::time::SystemTime;

use super::command::Command;

/// Files watched for a change of modification time.
pub struct TouchWatch {
    watched: Vec<(Touched, Command)>,
}

impl TouchWatch {
    /// Watches files for their commands (`--touch-reload` → [`Command::Reload`], ...),
    /// remembering their current mtimes.
    pub fn new(watched: &[(&[PathBuf], Command)]) -> Self {
        let watched = watched
            .iter()
            .map(|(paths, command)| (Touched::new(paths), *command))
            .collect();
        TouchWatch { watched }
    }

    /// The commands of files touched since the last check.
    pub fn check(&mut self) -> Vec<Command> {
        self.watched
            .iter_mut()
            .filter_map(|(touched, command)| touched.changed().then_some(*command))
            .collect()
    }
}

/// The modification times of a set of files, to see them change (also a daemon's
/// `touch=` files).
#[derive(Debug, Default)]
pub struct Touched {
    files: Vec<(PathBuf, Option<SystemTime>)>,
}

impl Touched {
    /// Remembers the current mtimes of `files`.
    pub fn new(files: &[PathBuf]) -> Self {
        let files = files.iter().map(|f| (f.clone(), mtime(f))).collect();
        Touched { files }
    }

    /// True when a file's mtime changed since the last look (a file that appears counts;
    /// one that disappears does not). Each touched file is logged.
    pub fn changed(&mut self) -> bool {
        let mut changed = false;
        for (path, seen) in &mut self.files {
            let now = mtime(path);
            if now.is_some() && now != *seen {
                tracing::info!("{} was touched", path.display());
                changed = true;
            }
            *seen = now;
        }
        changed
    }
}

fn mtime(path: &PathBuf) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Sets `path`'s mtime 5 s ahead: a touch seen whatever the timestamp granularity.
#[cfg(test)]
pub(super) fn touch_ahead(path: &std::path::Path) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(SystemTime::now() + std::time::Duration::from_secs(5))
        .unwrap();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_touched_file_gives_its_command_once() {
        let dir = crate::scratch::Scratch::new("touch");
        let path = dir.join("touched");
        std::fs::write(&path, b"x").unwrap();
        let mut w = TouchWatch::new(&[(std::slice::from_ref(&path), Command::Reload)]);
        assert!(w.check().is_empty());
        touch_ahead(&path);
        assert_eq!(w.check(), vec![Command::Reload]);
        assert!(w.check().is_empty());
        std::fs::remove_file(&path).unwrap();
    }
}
