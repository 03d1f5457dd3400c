//! uWSGI's `exec-*` hooks: shell commands the master runs, and waits for, at fixed points
//! of its start, such as `python manage.py migrate --noinput` before the app loads. Each
//! runs as `/bin/sh -c CMD` with the master's environment, directory and log; one that
//! fails (non-zero status, or cannot start) stops rsgi with exit status 1 and a line
//! naming it. A graceful reload re-executes the master, so they run again, as in uWSGI.
//!
//! | option | when |
//! |---|---|
//! | `--exec-asap` | once the options are read (after `--chdir`, `--env`, `--logto`) |
//! | `--exec-as-root` | sockets bound, before `--uid`/`--gid` drop root |
//! | `--exec-as-user` | after that drop (as the user the workers run as) |
//! | `--exec-pre-app` | right before the master loads the app (also with `--lazy-apps`, where the workers load it) |
//! | `--exec-post-app` | right after |

use std::process::{Command, Stdio};

use crate::config::sources::Values;
use crate::error::HostError;

/// The points of the start where commands run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// `--exec-asap`.
    Asap,
    /// `--exec-as-root`.
    AsRoot,
    /// `--exec-as-user`.
    AsUser,
    /// `--exec-pre-app`.
    PreApp,
    /// `--exec-post-app`.
    PostApp,
}

impl Phase {
    /// The option's name.
    pub fn option(self) -> &'static str {
        match self {
            Phase::Asap => "exec-asap",
            Phase::AsRoot => "exec-as-root",
            Phase::AsUser => "exec-as-user",
            Phase::PreApp => "exec-pre-app",
            Phase::PostApp => "exec-post-app",
        }
    }

    /// Every phase, in order.
    pub const ALL: [Phase; 5] = [
        Phase::Asap,
        Phase::AsRoot,
        Phase::AsUser,
        Phase::PreApp,
        Phase::PostApp,
    ];
}

/// The commands of each phase, in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecHooks {
    commands: Vec<(Phase, String)>,
}

impl ExecHooks {
    /// From the merged option values.
    pub fn from_values(values: &Values) -> Self {
        let commands = Phase::ALL
            .iter()
            .flat_map(|&phase| {
                values
                    .get(phase.option())
                    .into_iter()
                    .flatten()
                    .map(move |command| (phase, command.clone()))
            })
            .collect();
        ExecHooks { commands }
    }

    /// Runs the commands of `phase`, one after the other; the first that fails stops them.
    pub fn run(&self, phase: Phase) -> Result<(), HostError> {
        for (_, command) in self.commands.iter().filter(|(p, _)| *p == phase) {
            tracing::info!("--{}: running {command}", phase.option());
            let status = Command::new("/bin/sh")
                .arg("-c")
                .arg(command)
                .stdin(Stdio::null())
                .status()
                .map_err(|e| {
                    HostError::Runtime(format!(
                        "--{} command {command:?} could not start: {e}",
                        phase.option()
                    ))
                })?;
            if !status.success() {
                return Err(HostError::Runtime(format!(
                    "--{} command {command:?} failed ({status})",
                    phase.option()
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hooks(pairs: &[(&str, &str)]) -> ExecHooks {
        let mut values = Values::new();
        for (name, command) in pairs {
            values
                .entry(name.to_string())
                .or_default()
                .push(command.to_string());
        }
        ExecHooks::from_values(&values)
    }

    #[test]
    fn commands_run_in_order_and_the_first_failure_names_itself() {
        let dir = std::env::temp_dir().join(format!("rsgi-hooks-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("out");
        let h = hooks(&[
            ("exec-pre-app", &format!("echo one >> {}", out.display())),
            ("exec-pre-app", &format!("echo two >> {}", out.display())),
            ("exec-post-app", "exit 3"),
        ]);
        h.run(Phase::PreApp).unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "one\ntwo\n");
        h.run(Phase::Asap).unwrap();
        let err = h.run(Phase::PostApp).unwrap_err().to_string();
        assert!(
            err.contains("--exec-post-app command \"exit 3\" failed"),
            "{err}"
        );
        assert!(err.contains("3"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
