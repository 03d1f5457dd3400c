//! `--touch-reload FILE` / `--touch-chain-reload FILE` / `--touch-workers-reload FILE`: a
//! reload of that kind when a file's mtime changes; `--touch-logreopen FILE`: the log file
//! opened again.

use std::path::PathBuf;
use std::time::SystemTime;

use super::command::Command;

/// Files watched for a change of modification time.
pub struct TouchWatch {
    files: Vec<(PathBuf, Command, Option<SystemTime>)>,
}

fn mtime(path: &PathBuf) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

impl TouchWatch {
    /// Watches files for their commands (`--touch-reload` → [`Command::Reload`], ...),
    /// remembering their current mtimes.
    pub fn new(watched: &[(&[PathBuf], Command)]) -> Self {
        let files = watched
            .iter()
            .flat_map(|(paths, command)| paths.iter().map(move |p| (p.clone(), *command)))
            .map(|(p, c)| {
                let t = mtime(&p);
                (p, c, t)
            })
            .collect();
        TouchWatch { files }
    }

    /// The commands of files touched since the last check.
    pub fn check(&mut self) -> Vec<Command> {
        let mut out = Vec::new();
        for (path, command, seen) in &mut self.files {
            let now = mtime(path);
            if now.is_some() && now != *seen {
                tracing::info!("{} was touched", path.display());
                out.push(*command);
            }
            *seen = now;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_touched_file_gives_its_command_once() {
        let path = std::env::temp_dir().join(format!("rsgi-touch-{}", std::process::id()));
        std::fs::write(&path, b"x").unwrap();
        let mut w = TouchWatch::new(&[(std::slice::from_ref(&path), Command::Reload)]);
        assert!(w.check().is_empty());
        let later = SystemTime::now() + std::time::Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(later)
            .unwrap();
        assert_eq!(w.check(), vec![Command::Reload]);
        assert!(w.check().is_empty());
        std::fs::remove_file(&path).unwrap();
    }
}
