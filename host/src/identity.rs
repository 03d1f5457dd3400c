//! Users and groups: names or ids for `--chown-socket`, and `--uid` / `--gid`, which make a
//! master started as root give up root once its sockets are bound, before any app code
//! runs (workers inherit the identity). The same rules as uWSGI's options of those names.

use std::ffi::CString;

use nix::unistd::{Gid, Group, Uid, User};

use crate::error::HostError;

/// A user looked up for `option`: a number is taken as a uid (its passwd entry, if any, adds
/// the name and primary group), anything else is looked up by name.
pub struct FoundUser {
    /// The uid.
    pub uid: Uid,
    /// The user's name and primary group, when the passwd database knows the user.
    pub entry: Option<(String, Gid)>,
}

/// Looks up `spec` (a name or a uid) for `option`.
pub fn user(spec: &str, option: &str) -> Result<FoundUser, HostError> {
    let lookup_failed = |e: nix::Error| {
        HostError::Runtime(format!("cannot look up user '{spec}' for --{option}: {e}"))
    };
    let found = match spec.parse::<u32>() {
        Ok(id) => User::from_uid(Uid::from_raw(id)).map_err(lookup_failed)?,
        Err(_) => Some(
            User::from_name(spec)
                .map_err(lookup_failed)?
                .ok_or_else(|| {
                    HostError::Usage(format!(
                        "invalid value for --{option}: no user named '{spec}'"
                    ))
                })?,
        ),
    };
    Ok(match found {
        Some(u) => FoundUser {
            uid: u.uid,
            entry: Some((u.name, u.gid)),
        },
        None => FoundUser {
            uid: Uid::from_raw(spec.parse().expect("a number: names were looked up")),
            entry: None,
        },
    })
}

/// Looks up `spec` (a name or a gid) for `option`.
pub fn group(spec: &str, option: &str) -> Result<Gid, HostError> {
    if let Ok(id) = spec.parse::<u32>() {
        return Ok(Gid::from_raw(id));
    }
    Group::from_name(spec)
        .map_err(|e| {
            HostError::Runtime(format!("cannot look up group '{spec}' for --{option}: {e}"))
        })?
        .map(|g| g.gid)
        .ok_or_else(|| {
            HostError::Usage(format!(
                "invalid value for --{option}: no group named '{spec}'"
            ))
        })
}

/// Who the master becomes (`--uid`, `--gid`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The uid to switch to, if any.
    pub uid: Option<Uid>,
    /// The gid to switch to: `--gid`, else the `--uid` user's primary group.
    pub gid: Option<Gid>,
    /// The user's name, for its supplementary groups (initgroups).
    pub user: Option<String>,
}

impl Identity {
    /// Resolves `--uid` and `--gid` (None when neither is given).
    pub fn resolve(uid: Option<&str>, gid: Option<&str>) -> Result<Option<Identity>, HostError> {
        if uid.is_none() && gid.is_none() {
            return Ok(None);
        }
        let user = uid.map(|spec| user(spec, "uid")).transpose()?;
        let gid = match gid {
            Some(spec) => Some(group(spec, "gid")?),
            None => match &user {
                Some(FoundUser {
                    entry: Some((_, primary)),
                    ..
                }) => Some(*primary),
                Some(FoundUser { uid, entry: None }) => {
                    return Err(HostError::Usage(format!(
                    "--uid {uid} has no passwd entry, so it has no primary group: give --gid too"
                )))
                }
                None => None,
            },
        };
        Ok(Some(Identity {
            uid: user.as_ref().map(|u| u.uid),
            gid,
            user: user.and_then(|u| u.entry.map(|(name, _)| name)),
        }))
    }

    /// True when this process already is this identity (a master re-executed by a reload,
    /// after it dropped root).
    fn already(&self) -> bool {
        self.uid
            .is_none_or(|u| u == Uid::current() && u == Uid::effective())
            && self
                .gid
                .is_none_or(|g| g == Gid::current() && g == Gid::effective())
    }

    /// Fails early (before anything is bound) when the switch will not be possible: not
    /// root, and not already this identity.
    pub fn check(&self) -> Result<(), HostError> {
        if self.already() || Uid::effective().is_root() {
            return Ok(());
        }
        Err(HostError::Usage(format!(
            "--uid/--gid: cannot switch to {}: rsgi runs as uid {}, not root",
            self.describe(),
            Uid::effective()
        )))
    }

    /// Becomes this identity: supplementary groups, gid, then uid. A process that already
    /// is it has nothing to do; any other process that is not root cannot switch, which is
    /// an error.
    pub fn assume(&self) -> Result<(), HostError> {
        if self.already() {
            return Ok(());
        }
        self.check()?;
        let failed = |what: &str, e: nix::Error| {
            HostError::Runtime(format!("cannot drop privileges ({what}): {e}"))
        };
        if let Some(gid) = self.gid {
            match &self.user {
                Some(name) => {
                    let name = CString::new(name.as_str()).map_err(|_| {
                        HostError::Runtime(format!("user name {name:?} holds a NUL byte"))
                    })?;
                    nix::unistd::initgroups(&name, gid).map_err(|e| failed("initgroups", e))?;
                }
                None => nix::unistd::setgroups(&[gid]).map_err(|e| failed("setgroups", e))?,
            }
            nix::unistd::setgid(gid).map_err(|e| failed("setgid", e))?;
        }
        if let Some(uid) = self.uid {
            nix::unistd::setuid(uid).map_err(|e| failed("setuid", e))?;
            // A setuid that left a way back to root would be worse than an error.
            if !uid.is_root() && nix::unistd::setuid(Uid::from_raw(0)).is_ok() {
                return Err(HostError::Runtime(
                    "cannot drop privileges: root could be regained after setuid".into(),
                ));
            }
        }
        Ok(())
    }

    /// `uid 65534 (nobody), gid 65534` for the log.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(uid) = self.uid {
            parts.push(match &self.user {
                Some(name) => format!("uid {uid} ({name})"),
                None => format!("uid {uid}"),
            });
        }
        if let Some(gid) = self.gid {
            parts.push(format!("gid {gid}"));
        }
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_ids_and_names_are_looked_up() {
        assert_eq!(user("0", "uid").unwrap().uid, Uid::from_raw(0));
        assert_eq!(user("root", "uid").unwrap().uid, Uid::from_raw(0));
        assert_eq!(group("0", "gid").unwrap(), Gid::from_raw(0));
        assert_eq!(group("root", "gid").unwrap(), Gid::from_raw(0));
    }

    #[test]
    fn unknown_names_are_usage_errors_naming_the_option() {
        let err = user("no-such-user-rsgi", "uid").err().unwrap();
        assert_eq!(
            err.to_string(),
            "invalid value for --uid: no user named 'no-such-user-rsgi'"
        );
        let err = group("no-such-group-rsgi", "gid").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid value for --gid: no group named 'no-such-group-rsgi'"
        );
    }

    #[test]
    fn uid_alone_takes_the_users_primary_group() {
        let id = Identity::resolve(Some("root"), None).unwrap().unwrap();
        assert_eq!(id.gid, Some(Gid::from_raw(0)));
        assert_eq!(id.user.as_deref(), Some("root"));
        assert_eq!(Identity::resolve(None, None).unwrap(), None);
    }

    #[test]
    fn a_uid_without_passwd_entry_needs_a_gid() {
        let err = Identity::resolve(Some("4000123"), None).unwrap_err();
        assert!(err.to_string().contains("give --gid too"), "{err}");
        let id = Identity::resolve(Some("4000123"), Some("4000123"))
            .unwrap()
            .unwrap();
        assert_eq!(id.describe(), "uid 4000123, gid 4000123");
    }
}
