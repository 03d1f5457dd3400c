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
//!
//! uWSGI's `hook-*` options of the same points (`--hook-asap`, `--hook-as-root`,
//! `--hook-as-user`, `--hook-pre-app`, `--hook-post-app`) take `ACTION:ARGS`, run after
//! the phase's `exec-*` commands, and fail the same way. The actions: `exec:CMD` (as
//! `exec-*`), `print:TEXT` / `log:TEXT` (a log line), `write:FILE TEXT`, `unlink:FILE`,
//! `mkdir:DIR` (with its parents), `putenv:KEY=VALUE`, `chdir:DIR`. Other uWSGI actions
//! (`mount`, `call`, `exit`, ...) stop the start with a line naming them.

use std::path::PathBuf;
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
    /// The `exec-*` option's name.
    pub fn option(self) -> &'static str {
        match self {
            Phase::Asap => "exec-asap",
            Phase::AsRoot => "exec-as-root",
            Phase::AsUser => "exec-as-user",
            Phase::PreApp => "exec-pre-app",
            Phase::PostApp => "exec-post-app",
        }
    }

    /// The `hook-*` option's name.
    pub fn hook_option(self) -> &'static str {
        match self {
            Phase::Asap => "hook-asap",
            Phase::AsRoot => "hook-as-root",
            Phase::AsUser => "hook-as-user",
            Phase::PreApp => "hook-pre-app",
            Phase::PostApp => "hook-post-app",
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

/// What one hook does.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Action {
    /// `/bin/sh -c CMD`, waited for (`exec-*`, `exec:`).
    Shell(String),
    /// A log line (`print:`, `log:`).
    Print(String),
    /// Writes TEXT to FILE, replacing it (`write:`).
    Write(PathBuf, String),
    /// Removes a file (`unlink:`).
    Unlink(PathBuf),
    /// Makes a directory and its parents (`mkdir:`).
    Mkdir(PathBuf),
    /// Sets an environment variable (`putenv:`).
    Putenv(String, String),
    /// Changes the working directory (`chdir:`).
    Chdir(PathBuf),
}

/// A `hook-*` value, `ACTION:ARGS`, read; `option` names it in errors.
fn parse_hook(option: &str, value: &str) -> Result<Action, String> {
    let bad = |why: String| format!("--{option} '{value}': {why}");
    let (action, args) = value
        .split_once(':')
        .ok_or_else(|| bad("want ACTION:ARGS (e.g. exec:CMD)".into()))?;
    let path = || {
        Some(PathBuf::from(args.trim()))
            .filter(|p| !p.as_os_str().is_empty())
            .ok_or_else(|| bad(format!("{action}: needs a path")))
    };
    Ok(match action.trim() {
        "exec" => Action::Shell(args.to_owned()),
        "print" | "log" => Action::Print(args.to_owned()),
        "write" => {
            let (file, text) = args
                .trim_start()
                .split_once(' ')
                .ok_or_else(|| bad("write: want FILE TEXT".into()))?;
            Action::Write(PathBuf::from(file), text.to_owned())
        }
        "unlink" => Action::Unlink(path()?),
        "mkdir" => Action::Mkdir(path()?),
        "chdir" => Action::Chdir(path()?),
        "putenv" => match args.split_once('=') {
            Some((key, val)) if !key.is_empty() && !args.contains('\0') => {
                Action::Putenv(key.to_owned(), val.to_owned())
            }
            _ => return Err(bad("putenv: want KEY=VALUE".into())),
        },
        other => {
            return Err(bad(format!(
                "action '{other}' is not available (exec, print, log, write, unlink, mkdir, putenv, chdir are)"
            )))
        }
    })
}

/// The hooks of each phase, in the order given (`exec-*` before `hook-*`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecHooks {
    steps: Vec<(Phase, &'static str, Action)>,
}

impl ExecHooks {
    /// From the merged option values; a malformed `hook-*` value is a usage error.
    pub fn from_values(values: &Values) -> Result<Self, HostError> {
        let mut steps = Vec::new();
        for phase in Phase::ALL {
            for command in values.get(phase.option()).into_iter().flatten() {
                steps.push((phase, phase.option(), Action::Shell(command.clone())));
            }
            let option = phase.hook_option();
            for value in values.get(option).into_iter().flatten() {
                let action = parse_hook(option, value).map_err(HostError::Usage)?;
                steps.push((phase, option, action));
            }
        }
        Ok(ExecHooks { steps })
    }

    /// Runs the hooks of `phase`, one after the other; the first that fails stops them.
    pub fn run(&self, phase: Phase) -> Result<(), HostError> {
        for (_, option, action) in self.steps.iter().filter(|(p, _, _)| *p == phase) {
            run(option, action)?;
        }
        Ok(())
    }
}

fn run(option: &str, action: &Action) -> Result<(), HostError> {
    let failed = |what: String, e: std::io::Error| {
        HostError::Runtime(format!("--{option} {what} failed: {e}"))
    };
    match action {
        Action::Shell(command) => {
            tracing::info!("--{option}: running {command}");
            let status = Command::new("/bin/sh")
                .arg("-c")
                .arg(command)
                .stdin(Stdio::null())
                .status()
                .map_err(|e| {
                    HostError::Runtime(format!(
                        "--{option} command {command:?} could not start: {e}"
                    ))
                })?;
            if !status.success() {
                return Err(HostError::Runtime(format!(
                    "--{option} command {command:?} failed ({status})"
                )));
            }
        }
        Action::Print(text) => tracing::info!("{text}"),
        Action::Write(file, text) => std::fs::write(file, text)
            .map_err(|e| failed(format!("write to {}", file.display()), e))?,
        Action::Unlink(file) => std::fs::remove_file(file)
            .map_err(|e| failed(format!("unlink of {}", file.display()), e))?,
        Action::Mkdir(dir) => std::fs::create_dir_all(dir)
            .map_err(|e| failed(format!("mkdir of {}", dir.display()), e))?,
        // The master has one thread while the start-up hooks run (see process_env::apply).
        Action::Putenv(key, value) => std::env::set_var(key, value),
        Action::Chdir(dir) => std::env::set_current_dir(dir)
            .map_err(|e| failed(format!("chdir to {}", dir.display()), e))?,
    }
    Ok(())
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
        ExecHooks::from_values(&values).unwrap()
    }

    #[test]
    fn commands_run_in_order_and_the_first_failure_names_itself() {
        let dir = crate::scratch::Scratch::new("hooks");
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
    }

    #[test]
    fn hook_actions_run_after_the_exec_commands_of_their_phase() {
        let scratch = crate::scratch::Scratch::new("hook-actions");
        let dir = scratch.join("actions");
        let out = dir.join("sub/out");
        let h = hooks(&[
            ("hook-asap", &format!("mkdir:{}", dir.join("sub").display())),
            ("hook-asap", &format!("write:{} first", out.display())),
            (
                "exec-asap",
                &format!("mkdir -p {}", dir.join("sub").display()),
            ),
            (
                "hook-asap",
                &format!("exec:echo second >> {}", out.display()),
            ),
            ("hook-asap", "putenv:RSGI_HOOK_TEST=set"),
            ("hook-pre-app", &format!("unlink:{}", out.display())),
        ]);
        h.run(Phase::Asap).unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "firstsecond\n");
        assert_eq!(std::env::var("RSGI_HOOK_TEST").as_deref(), Ok("set"));
        h.run(Phase::PreApp).unwrap();
        assert!(!out.exists());
        let err = h.run(Phase::PreApp).unwrap_err().to_string();
        assert!(err.contains("--hook-pre-app unlink of"), "{err}");
    }

    #[test]
    fn unknown_or_malformed_hook_actions_are_usage_errors() {
        for (value, why) in [
            ("mount:proc none /proc", "action 'mount' is not available"),
            ("no colon", "want ACTION:ARGS"),
            ("write:/tmp/only-a-file", "write: want FILE TEXT"),
            ("putenv:NOVALUE", "putenv: want KEY=VALUE"),
            ("mkdir:", "mkdir: needs a path"),
        ] {
            let mut values = Values::new();
            values.insert("hook-as-user".into(), vec![value.into()]);
            let err = ExecHooks::from_values(&values).unwrap_err().to_string();
            assert!(err.contains(&format!("--hook-as-user '{value}'")), "{err}");
            assert!(err.contains(why), "{value}: {err}");
        }
    }
}
