//! Bind the listening sockets (TCP or Unix) in the master, before any fork.

use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::PathBuf;

use nix::unistd::{Gid, Group, Uid, User};
use socket2::{Domain, SockAddr, Socket, Type};

use crate::config::{Config, SocketOwner, SocketProtocol, SocketSpec};
use crate::error::HostError;

/// Where a listener is bound.
#[derive(Debug, Clone)]
pub enum Bound {
    /// A TCP address.
    Tcp(SocketAddr),
    /// A Unix socket path (removed on shutdown).
    Unix(PathBuf),
}

/// One listening socket, shared by every worker.
pub struct Listener {
    /// What the user asked for.
    pub spec: SocketSpec,
    /// Where it is bound.
    pub bound: Bound,
    /// The socket.
    pub socket: Socket,
    /// `SERVER_NAME` for requests on it.
    pub server_name: String,
    /// `SERVER_PORT` for requests on it (0 for Unix sockets).
    pub server_port: u16,
}

impl Listener {
    /// The raw fd.
    pub fn fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }

    /// The protocol it speaks.
    pub fn protocol(&self) -> SocketProtocol {
        self.spec.protocol
    }

    /// `http://127.0.0.1:8000` style, for the startup log.
    pub fn describe(&self) -> String {
        let scheme = match self.spec.protocol {
            SocketProtocol::Http => "http",
            SocketProtocol::Uwsgi => "uwsgi",
        };
        match &self.bound {
            Bound::Tcp(a) => format!("{scheme}://{a}"),
            Bound::Unix(p) => format!("{scheme}://unix:{}", p.display()),
        }
    }
}

/// Resolves `host:port`, `:port` (all interfaces) or `[v6]:port`.
pub fn parse_tcp(addr: &str) -> Result<SocketAddr, String> {
    let full = if addr.starts_with(':') {
        format!("0.0.0.0{addr}")
    } else {
        addr.to_string()
    };
    full.to_socket_addrs()
        .map_err(|e| format!("{e}"))?
        .next()
        .ok_or_else(|| "address resolves to nothing".to_string())
}

fn is_unix(addr: &str) -> bool {
    addr.starts_with('/') || addr.starts_with("./") || addr.starts_with("unix:")
}

/// `--chown-socket USER[:GROUP]` → ids: a number is taken as an id, anything else is
/// looked up by name. No group means the group is left as it is.
fn resolve_owner(owner: &SocketOwner) -> Result<(Uid, Option<Gid>), HostError> {
    let unknown = |what: &str, name: &str| {
        HostError::Usage(format!(
            "invalid value for --chown-socket: no {what} named '{name}'"
        ))
    };
    let uid = match owner.user.parse::<u32>() {
        Ok(id) => Uid::from_raw(id),
        Err(_) => {
            User::from_name(&owner.user)
                .map_err(|e| {
                    HostError::Runtime(format!(
                        "cannot look up user '{}' for --chown-socket: {e}",
                        owner.user
                    ))
                })?
                .ok_or_else(|| unknown("user", &owner.user))?
                .uid
        }
    };
    let gid = match owner.group.as_deref() {
        None => None,
        Some(group) => Some(match group.parse::<u32>() {
            Ok(id) => Gid::from_raw(id),
            Err(_) => {
                Group::from_name(group)
                    .map_err(|e| {
                        HostError::Runtime(format!(
                            "cannot look up group '{group}' for --chown-socket: {e}"
                        ))
                    })?
                    .ok_or_else(|| unknown("group", group))?
                    .gid
            }
        }),
    };
    Ok((uid, gid))
}

/// Binds every socket of `config`, or adopts `inherited` fds (one per socket, same order)
/// handed over by the master this process re-executed from.
pub fn bind_all(config: &Config, inherited: Option<&[RawFd]>) -> Result<Vec<Listener>, HostError> {
    match inherited {
        Some(fds) if fds.len() == config.sockets.len() => config
            .sockets
            .iter()
            .zip(fds)
            .map(|(spec, &fd)| adopt(spec, fd))
            .collect(),
        Some(fds) => {
            tracing::warn!(
                "{} inherited socket(s) but {} configured: binding afresh",
                fds.len(),
                config.sockets.len()
            );
            for &fd in fds {
                // SAFETY: the fds were handed to us; we own and close them.
                drop(unsafe { Socket::from_raw_fd(fd) });
            }
            config
                .sockets
                .iter()
                .map(|spec| bind(spec, config))
                .collect()
        }
        None => config
            .sockets
            .iter()
            .map(|spec| bind(spec, config))
            .collect(),
    }
}

/// Takes over a listening socket inherited across a re-exec (it never closed).
fn adopt(spec: &SocketSpec, fd: RawFd) -> Result<Listener, HostError> {
    let fail = |source: std::io::Error| HostError::Listen {
        addr: spec.addr.clone(),
        source,
    };
    // SAFETY: the previous master image passed this fd to us for exactly this socket.
    let socket = unsafe { Socket::from_raw_fd(fd) };
    socket.set_cloexec(true).map_err(fail)?;
    socket.set_nonblocking(true).map_err(fail)?;
    let local = socket.local_addr().map_err(fail)?;
    let (bound, server_name, server_port) = match local.as_socket() {
        Some(a) => (Bound::Tcp(a), a.ip().to_string(), a.port()),
        None => (
            Bound::Unix(PathBuf::from(spec.addr.trim_start_matches("unix:"))),
            "localhost".to_string(),
            0,
        ),
    };
    Ok(Listener {
        spec: spec.clone(),
        bound,
        socket,
        server_name,
        server_port,
    })
}

fn bind(spec: &SocketSpec, config: &Config) -> Result<Listener, HostError> {
    let fail = |source: std::io::Error| HostError::Listen {
        addr: spec.addr.clone(),
        source,
    };
    if is_unix(&spec.addr) {
        let path = PathBuf::from(spec.addr.trim_start_matches("unix:"));
        // Resolved before anything is created, so an unknown name leaves no file behind.
        let owner = config
            .chown_socket
            .as_ref()
            .map(resolve_owner)
            .transpose()?;
        if let Ok(meta) = std::fs::symlink_metadata(&path) {
            if meta.file_type().is_socket() {
                std::fs::remove_file(&path).map_err(fail)?;
            } else {
                return Err(fail(std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "a file that is not a socket is in the way",
                )));
            }
        }
        let socket = Socket::new(Domain::UNIX, Type::STREAM, None).map_err(fail)?;
        socket
            .bind(&SockAddr::unix(&path).map_err(fail)?)
            .map_err(fail)?;
        if let Some(mode) = config.chmod_socket {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).map_err(fail)?;
        }
        if let Some((uid, gid)) = owner {
            nix::unistd::chown(&path, Some(uid), gid).map_err(|e| fail(e.into()))?;
        }
        socket.listen(config.listen).map_err(fail)?;
        socket.set_nonblocking(true).map_err(fail)?;
        return Ok(Listener {
            spec: spec.clone(),
            bound: Bound::Unix(path),
            socket,
            server_name: "localhost".to_string(),
            server_port: 0,
        });
    }
    let addr = parse_tcp(&spec.addr)
        .map_err(|e| fail(std::io::Error::new(std::io::ErrorKind::InvalidInput, e)))?;
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None).map_err(fail)?;
    socket.set_reuse_address(true).map_err(fail)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true).map_err(fail)?;
    }
    socket.bind(&addr.into()).map_err(fail)?;
    socket.listen(config.listen).map_err(fail)?;
    socket.set_nonblocking(true).map_err(fail)?;
    let local = socket
        .local_addr()
        .ok()
        .and_then(|a| a.as_socket())
        .unwrap_or(addr);
    Ok(Listener {
        spec: spec.clone(),
        bound: Bound::Tcp(local),
        socket,
        server_name: local.ip().to_string(),
        server_port: local.port(),
    })
}

/// Removes the files of Unix sockets (at shutdown).
pub fn remove_socket_files(listeners: &[Listener]) {
    for l in listeners {
        if let Bound::Unix(path) = &l.bound {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colon_port_means_all_interfaces() {
        assert_eq!(parse_tcp(":8000").unwrap(), "0.0.0.0:8000".parse().unwrap());
    }

    #[test]
    fn ipv6_in_brackets_parses() {
        assert_eq!(parse_tcp("[::1]:9").unwrap(), "[::1]:9".parse().unwrap());
    }

    fn owner(user: &str, group: Option<&str>) -> SocketOwner {
        SocketOwner {
            user: user.into(),
            group: group.map(Into::into),
        }
    }

    #[test]
    fn socket_owner_numbers_are_ids_and_names_are_looked_up() {
        assert_eq!(
            resolve_owner(&owner("1234", Some("56"))).unwrap(),
            (Uid::from_raw(1234), Some(Gid::from_raw(56)))
        );
        assert_eq!(
            resolve_owner(&owner("root", None)).unwrap(),
            (Uid::from_raw(0), None)
        );
    }

    #[test]
    fn unknown_socket_owner_is_a_usage_error_naming_it() {
        let err = resolve_owner(&owner("no-such-user-rsgi", None)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid value for --chown-socket: no user named 'no-such-user-rsgi'"
        );
        let err = resolve_owner(&owner("root", Some("no-such-group-rsgi"))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid value for --chown-socket: no group named 'no-such-group-rsgi'"
        );
    }

    #[test]
    fn unix_paths_are_recognised() {
        assert!(is_unix("/run/app.sock"));
        assert!(is_unix("./app.sock"));
        assert!(!is_unix("127.0.0.1:80"));
    }
}
