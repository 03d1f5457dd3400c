//! The daemon options: `--attach-daemon CMD`, `--smart-attach-daemon 'PIDFILE CMD'`,
//! `--smart-attach-daemon2 'PIDFILE CMD'` and uWSGI's key=value form
//! `--attach-daemon2 cmd=CMD[,pidfile=F][,daemonize=1][,stopsignal=N]...`, read into the
//! specs the master's daemon keepers follow.
//!
//! `--attach-daemon2` keys, as uWSGI has them: `command`/`cmd`/`exec` (required),
//! `pidfile` (makes it a smart daemon), `daemonize`/`daemon` (with `pidfile`: rsgi writes
//! the pid of the command it runs there; the command stays in the foreground),
//! `stopsignal`/`stop_signal`, `reloadsignal`/`reload_signal`, `notifypid`, `control`,
//! `touch` (files separated by `;`), `chdir`, `stdin`, `uid`, `gid`; `freq` and
//! `max_throttle` are accepted with a warning (rsgi's own back-off applies). `ns_pid` and
//! `legion` are refused by name. A comma inside a value is written `\,` (as uWSGI reads it).

use std::path::PathBuf;
use std::str::FromStr;

use nix::sys::signal::Signal;

/// How a daemon's command is started, beyond `/bin/sh -c CMD` in a group of its own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Launch {
    /// Run it in this directory (`chdir=`).
    pub chdir: Option<PathBuf>,
    /// Keep the master's stdin (`stdin=1`); else it reads `/dev/null`.
    pub stdin: bool,
    /// Run it as this user id (`uid=`; needs a master that may switch users).
    pub uid: Option<u32>,
    /// Run it as this group id (`gid=`).
    pub gid: Option<u32>,
}

/// A daemon the master starts and restarts itself (`--attach-daemon`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonSpec {
    /// The shell command.
    pub command: String,
    /// Sent to its process group to stop it (SIGTERM unless `stopsignal=`).
    pub stop_signal: Signal,
    /// Sent instead of `stop_signal` when the master reloads (`reloadsignal=`).
    pub reload_signal: Option<Signal>,
    /// Its death stops the whole server (`control=1`, uWSGI's control daemon).
    pub control: bool,
    /// Files whose touch restarts it (`touch=`).
    pub touch: Vec<PathBuf>,
    /// How it is started.
    pub launch: Launch,
}

/// A daemon found by its pidfile, left running across reloads (`--smart-attach-daemon`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmartSpec {
    /// Where its pid is.
    pub pidfile: PathBuf,
    /// The shell command that starts it.
    pub command: String,
    /// rsgi writes the pid of the command to `pidfile` (`--smart-attach-daemon2`,
    /// `daemonize=1`): the command stays in the foreground and writes no pidfile.
    pub write_pidfile: bool,
    /// Sent to it at shutdown (SIGTERM unless `stopsignal=`).
    pub stop_signal: Signal,
    /// Sent to it when the master reloads (`notifypid=1`: `reloadsignal=` or SIGHUP).
    pub reload_signal: Option<Signal>,
    /// Files whose touch restarts it (`touch=`).
    pub touch: Vec<PathBuf>,
    /// How its command is started.
    pub launch: Launch,
}

/// One daemon option's value, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    /// Kept by the master.
    Plain(DaemonSpec),
    /// Kept by its pidfile.
    Smart(SmartSpec),
}

/// `--attach-daemon CMD`.
pub fn plain(command: &str) -> DaemonSpec {
    DaemonSpec {
        command: command.to_owned(),
        stop_signal: Signal::SIGTERM,
        reload_signal: None,
        control: false,
        touch: Vec::new(),
        launch: Launch::default(),
    }
}

/// `--smart-attach-daemon 'PIDFILE CMD'` (`write_pidfile` for `--smart-attach-daemon2`).
/// As in uWSGI, `PIDFILE,N` is taken too (N, a check frequency, is not used here).
pub fn smart(spec: &str, write_pidfile: bool) -> Result<SmartSpec, String> {
    let option = if write_pidfile {
        "smart-attach-daemon2"
    } else {
        "smart-attach-daemon"
    };
    let spec = spec.trim();
    match spec.split_once(char::is_whitespace) {
        Some((pidfile, command)) if !command.trim().is_empty() => {
            let pidfile = match pidfile.rsplit_once(',') {
                Some((path, freq)) if freq.parse::<u32>().is_ok() => path,
                _ => pidfile,
            };
            Ok(SmartSpec {
                pidfile: PathBuf::from(pidfile),
                command: command.trim().to_owned(),
                write_pidfile,
                stop_signal: Signal::SIGTERM,
                reload_signal: None,
                touch: Vec::new(),
                launch: Launch::default(),
            })
        }
        _ => Err(format!(
            "--{option} '{spec}': want 'PIDFILE COMMAND' (the pid file {})",
            if write_pidfile {
                "rsgi writes for COMMAND"
            } else {
                "COMMAND writes"
            }
        )),
    }
}

/// A signal given as a number (uWSGI's form) or a name (`TERM`, `SIGTERM`).
fn signal(key: &str, value: &str) -> Result<Signal, String> {
    let named = |v: &str| {
        let upper = v.to_ascii_uppercase();
        let full = if upper.starts_with("SIG") {
            upper
        } else {
            format!("SIG{upper}")
        };
        Signal::from_str(&full).ok()
    };
    value
        .parse::<i32>()
        .ok()
        .and_then(|n| Signal::try_from(n).ok())
        .or_else(|| named(value))
        .ok_or_else(|| format!("{key}={value}: not a signal (a number or a name such as TERM)"))
}

/// True for uWSGI's truthy values of a key given with one (`control=1`, `daemonize=true`).
fn truthy(value: &str) -> bool {
    !matches!(
        value.to_ascii_lowercase().as_str(),
        "" | "0" | "false" | "no" | "off"
    )
}

/// The `,`-separated parts of `value`, where `\,` is a comma inside a part.
fn split_escaped(value: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(',') => parts.last_mut().unwrap().push(','),
                Some(other) => parts.last_mut().unwrap().extend(['\\', other]),
                None => parts.last_mut().unwrap().push('\\'),
            },
            ',' => parts.push(String::new()),
            c => parts.last_mut().unwrap().push(c),
        }
    }
    parts
}

/// `--attach-daemon2 key=value,...`; also returns warnings for keys accepted without effect.
pub fn keyval(value: &str) -> Result<(Spec, Vec<String>), String> {
    let fail = |why: String| format!("--attach-daemon2 '{value}': {why}");
    let mut command = None;
    let mut pidfile = None;
    let (mut daemonize, mut control, mut notifypid) = (false, false, false);
    let (mut stop_signal, mut reload_signal) = (Signal::SIGTERM, None);
    let mut touch = Vec::new();
    let mut launch = Launch::default();
    let mut warnings = Vec::new();
    for pair in split_escaped(value) {
        let pair = pair.trim();
        if pair.is_empty() {
            continue;
        }
        let (key, val) = pair
            .split_once('=')
            .ok_or_else(|| fail(format!("'{pair}' is not key=value")))?;
        let (key, val) = (key.trim(), val.trim());
        let id = |v: &str| {
            v.parse::<u32>()
                .map_err(|_| fail(format!("{key}={v}: want a numeric id")))
        };
        match key {
            "command" | "cmd" | "exec" => command = Some(val.to_owned()),
            "pidfile" => pidfile = Some(PathBuf::from(val)),
            "daemonize" | "daemon" => daemonize = truthy(val),
            "control" => control = truthy(val),
            "notifypid" => notifypid = truthy(val),
            "stopsignal" | "stop_signal" => stop_signal = signal(key, val).map_err(fail)?,
            "reloadsignal" | "reload_signal" => {
                reload_signal = Some(signal(key, val).map_err(fail)?)
            }
            "touch" => touch.extend(
                val.split(';')
                    .filter(|f| !f.is_empty())
                    .map(PathBuf::from),
            ),
            "chdir" => launch.chdir = Some(PathBuf::from(val)),
            "stdin" => launch.stdin = truthy(val),
            "uid" => launch.uid = Some(id(val)?),
            "gid" => launch.gid = Some(id(val)?),
            "freq" | "max_throttle" => warnings.push(format!(
                "--attach-daemon2 {key}={val} changes nothing: a daemon that keeps dying is started again after 1 s, 2 s, 4 s ... up to 30 s"
            )),
            "ns_pid" | "legion" => {
                return Err(fail(format!("'{key}' is not available in rsgi")))
            }
            _ => return Err(fail(format!("unknown key '{key}'"))),
        }
    }
    let command = command
        .filter(|c| !c.is_empty())
        .ok_or_else(|| fail("give the command: cmd=COMMAND".into()))?;
    let spec = match pidfile {
        Some(pidfile) => {
            if control {
                return Err(fail(
                    "control=1 needs a daemon the master runs itself (no pidfile)".into(),
                ));
            }
            Spec::Smart(SmartSpec {
                pidfile,
                command,
                write_pidfile: daemonize,
                stop_signal,
                reload_signal: notifypid.then(|| reload_signal.unwrap_or(Signal::SIGHUP)),
                touch,
                launch,
            })
        }
        None => {
            if daemonize {
                return Err(fail(
                    "daemonize=1 needs pidfile= (where rsgi writes the daemon's pid)".into(),
                ));
            }
            if notifypid {
                return Err(fail(
                    "notifypid=1 is for daemons with a pidfile; without one, reloadsignal= is sent at reload".into(),
                ));
            }
            Spec::Plain(DaemonSpec {
                command,
                stop_signal,
                reload_signal,
                control,
                touch,
                launch,
            })
        }
    };
    Ok((spec, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smart_specs_are_a_pidfile_then_a_command() {
        let s = smart(
            "/run/celery.pid celery -A proj worker --pidfile=/run/celery.pid",
            false,
        )
        .unwrap();
        assert_eq!(s.pidfile, PathBuf::from("/run/celery.pid"));
        assert_eq!(s.command, "celery -A proj worker --pidfile=/run/celery.pid");
        assert!(!s.write_pidfile);
        assert_eq!(
            smart("/run/x.pid,5 x", true).unwrap().pidfile,
            PathBuf::from("/run/x.pid")
        );
        assert!(smart("/run/only-a-pidfile", false)
            .unwrap_err()
            .contains("PIDFILE COMMAND"));
        assert!(smart("  ", true)
            .unwrap_err()
            .contains("smart-attach-daemon2"));
    }

    #[test]
    fn keyval_without_pidfile_is_a_plain_daemon_with_its_settings() {
        let (spec, warnings) = keyval(
            "cmd=celery beat,stopsignal=2,reload_signal=HUP,control=1,touch=/a;/b,chdir=/srv,stdin=1,uid=33,gid=34,freq=5",
        )
        .unwrap();
        assert_eq!(
            spec,
            Spec::Plain(DaemonSpec {
                command: "celery beat".into(),
                stop_signal: Signal::SIGINT,
                reload_signal: Some(Signal::SIGHUP),
                control: true,
                touch: vec![PathBuf::from("/a"), PathBuf::from("/b")],
                launch: Launch {
                    chdir: Some("/srv".into()),
                    stdin: true,
                    uid: Some(33),
                    gid: Some(34),
                },
            })
        );
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("freq=5"));
    }

    #[test]
    fn an_escaped_comma_stays_in_its_value() {
        let (spec, _) = keyval(r"cmd=printf '%s\n' a\,b,stopsignal=TERM").unwrap();
        let Spec::Plain(d) = spec else {
            panic!("{spec:?}")
        };
        assert_eq!(d.command, r"printf '%s\n' a,b");
        assert_eq!(split_escaped(r"a\\b,c\"), vec![r"a\\b", r"c\"]);
    }

    #[test]
    fn keyval_with_pidfile_is_a_smart_daemon() {
        let (spec, _) =
            keyval("exec=redis-server,pidfile=/run/r.pid,daemonize=1,notifypid=1").unwrap();
        let Spec::Smart(s) = spec else {
            panic!("{spec:?}")
        };
        assert_eq!(s.pidfile, PathBuf::from("/run/r.pid"));
        assert!(s.write_pidfile);
        assert_eq!(s.stop_signal, Signal::SIGTERM);
        assert_eq!(s.reload_signal, Some(Signal::SIGHUP));
        let (spec, _) = keyval("command=x,pidfile=/p,daemonize=0").unwrap();
        assert!(matches!(
            spec,
            Spec::Smart(SmartSpec {
                write_pidfile: false,
                reload_signal: None,
                ..
            })
        ));
    }

    #[test]
    fn keyval_mistakes_are_refused_with_the_reason() {
        for (value, why) in [
            ("pidfile=/p", "cmd=COMMAND"),
            ("cmd=x,bogus=1", "unknown key 'bogus'"),
            ("cmd=x,stopsignal=NOPE", "not a signal"),
            ("cmd=x,uid=www-data", "numeric id"),
            ("cmd=x,daemonize=1", "needs pidfile="),
            ("cmd=x,pidfile=/p,control=1", "no pidfile"),
            ("cmd=x,notifypid=1", "with a pidfile"),
            ("cmd=x,ns_pid=1", "not available"),
            ("cmd=x,oops", "not key=value"),
        ] {
            let err = keyval(value).unwrap_err();
            assert!(err.contains(why), "{value}: {err}");
            assert!(err.starts_with("--attach-daemon2 '"), "{err}");
        }
    }
}
