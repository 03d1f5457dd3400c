//! systemd socket activation (the `sd_listen_fds` protocol): the service manager binds
//! the sockets and passes them as fds 3, 4, ... with `LISTEN_FDS=N`, `LISTEN_PID=<our
//! pid>` and optionally `LISTEN_FDNAMES=a:b`. rsgi takes each passed socket as the
//! listener of the `--http` / `--socket` whose address it is bound to (or whose option
//! or address it is named after), and binds the others itself.
//!
//! Matching, for each passed socket, first by address, then by name:
//! - address: its `getsockname` equals the configured address (`127.0.0.1:8000`,
//!   `[::1]:80`, `/run/app.sock`; a relative path is taken from the current directory).
//!   An address on all interfaces (`:8000`, `0.0.0.0:8000`, `[::]:8000`) matches a
//!   socket on all interfaces, IPv4 or IPv6, with the same port: systemd's
//!   `ListenStream=8000` is `[::]:8000`.
//! - name (`FileDescriptorName=` in the .socket unit): the configured address as written,
//!   or the option's name, `http` (or `http-socket`) / `socket` (or `uwsgi-socket`), which
//!   takes the first socket of that option not matched yet, in the order given.
//!
//! A passed socket that matches nothing stops the start (exit 2) with a line naming it:
//! serving it with a guessed protocol could answer uwsgi traffic with HTTP.

use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::path::{Path, PathBuf};

use socket2::Socket;

use crate::config::{SocketProtocol, SocketSpec};

/// The first fd the service manager passes (`SD_LISTEN_FDS_START`).
pub const FIRST_FD: RawFd = 3;
/// The variables of the protocol; removed from the environment once read.
pub const ENV_FDS: &str = "LISTEN_FDS";
/// The pid the fds are meant for.
pub const ENV_PID: &str = "LISTEN_PID";
/// The fds' names, colon-separated.
pub const ENV_NAMES: &str = "LISTEN_FDNAMES";

/// One socket passed by the service manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passed {
    /// Its fd (3, 4, ...).
    pub fd: RawFd,
    /// Its `LISTEN_FDNAMES` entry, if the manager named it.
    pub name: Option<String>,
}

/// What a passed socket is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Local {
    /// A TCP address.
    Tcp(SocketAddr),
    /// A Unix socket path.
    Unix(PathBuf),
    /// Something else (an abstract Unix address, another family), described.
    Other(String),
}

impl std::fmt::Display for Local {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Local::Tcp(a) => write!(f, "{a}"),
            Local::Unix(p) => write!(f, "{}", p.display()),
            Local::Other(d) => f.write_str(d),
        }
    }
}

/// Reads the activation variables and removes them from the environment (always, as
/// `sd_listen_fds(1)` does), so neither the app nor the workers nor anything they start
/// sees them. Call while the process has one thread, before the app plugin starts.
/// Sockets meant for another pid are left alone (none is returned).
pub fn take_from_env() -> Result<Vec<Passed>, String> {
    let var = |name| std::env::var(name).ok();
    let (fds, pid, names) = (var(ENV_FDS), var(ENV_PID), var(ENV_NAMES));
    for name in [ENV_FDS, ENV_PID, ENV_NAMES] {
        std::env::remove_var(name);
    }
    parse(
        fds.as_deref(),
        pid.as_deref(),
        names.as_deref(),
        std::process::id(),
    )
}

/// The `sd_listen_fds` rules on the variables' values: no `LISTEN_FDS` or `LISTEN_PID`,
/// or a `LISTEN_PID` that is not `our_pid`, means nothing was passed to us.
pub fn parse(
    fds: Option<&str>,
    pid: Option<&str>,
    names: Option<&str>,
    our_pid: u32,
) -> Result<Vec<Passed>, String> {
    let (Some(fds), Some(pid)) = (fds, pid) else {
        return Ok(Vec::new());
    };
    match pid.trim().parse::<u32>() {
        Ok(p) if p == our_pid => {}
        Ok(p) => {
            tracing::debug!("{ENV_FDS} is meant for pid {p}, not this one ({our_pid}): ignored");
            return Ok(Vec::new());
        }
        Err(_) => return Err(format!("{ENV_PID}={pid} is not a process id")),
    }
    let count: RawFd = fds
        .trim()
        .parse()
        .ok()
        .filter(|n| (0..=4096).contains(n))
        .ok_or_else(|| format!("{ENV_FDS}={fds} is not a number of sockets"))?;
    let names: Vec<&str> = names.map(|n| n.split(':').collect()).unwrap_or_default();
    let names_fit = names.len() == count as usize;
    if !names.is_empty() && !names_fit {
        tracing::warn!(
            "{ENV_NAMES} has {} name(s) for {count} socket(s): the names are ignored",
            names.len()
        );
    }
    Ok((0..count)
        .map(|i| Passed {
            fd: FIRST_FD + i,
            name: names_fit
                .then(|| names[i as usize])
                .filter(|n| !n.is_empty())
                .map(str::to_string),
        })
        .collect())
}

/// What a passed fd is bound to; an error unless it is a listening stream socket.
pub fn inspect(fd: RawFd) -> Result<Local, String> {
    // SAFETY: the fd was passed to us; ManuallyDrop keeps it open whatever happens here.
    let socket =
        std::mem::ManuallyDrop::new(unsafe { <Socket as std::os::fd::FromRawFd>::from_raw_fd(fd) });
    let bad = |e: std::io::Error| format!("fd {fd} passed by systemd is not a socket: {e}");
    let kind = socket.r#type().map_err(bad)?;
    let local = socket.local_addr().map_err(bad)?;
    let local = match (local.as_socket(), local.as_pathname()) {
        (Some(a), _) => Local::Tcp(a),
        (None, Some(p)) => Local::Unix(p.to_path_buf()),
        (None, None) => Local::Other(format!("{local:?}")),
    };
    if kind != socket2::Type::STREAM || !listening(fd) {
        return Err(format!(
            "fd {fd} passed by systemd ({local}) is not a listening stream socket \
             (ListenStream= in the .socket unit, without Accept=yes)"
        ));
    }
    Ok(local)
}

fn listening(fd: RawFd) -> bool {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: a valid fd and an int-sized out value.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ACCEPTCONN,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    rc == 0 && value == 1
}

/// For each configured socket (same order as `specs`), the index into `passed` of the
/// socket it takes over, or `None` when rsgi binds it itself. `cwd` resolves relative
/// Unix paths. A passed socket that matches no option is an error naming it.
pub fn assign(
    specs: &[SocketSpec],
    passed: &[(Passed, Local)],
    cwd: &Path,
) -> Result<Vec<Option<usize>>, String> {
    let mut taken: Vec<Option<usize>> = vec![None; specs.len()];
    let mut matched = vec![false; passed.len()];
    for (i, (_, local)) in passed.iter().enumerate() {
        let free = |s: usize| taken[s].is_none();
        if let Some(s) = (0..specs.len()).find(|&s| free(s) && same_address(&specs[s], local, cwd))
        {
            taken[s] = Some(i);
            matched[i] = true;
        }
    }
    for (i, (p, _)) in passed.iter().enumerate() {
        let Some(name) = p.name.as_deref().filter(|_| !matched[i]) else {
            continue;
        };
        let free = |s: usize| taken[s].is_none();
        let by_name = (0..specs.len())
            .find(|&s| free(s) && specs[s].addr == name)
            .or_else(|| (0..specs.len()).find(|&s| free(s) && option_named(&specs[s], name)));
        if let Some(s) = by_name {
            taken[s] = Some(i);
            matched[i] = true;
        }
    }
    if let Some(i) = matched.iter().position(|m| !m) {
        let (p, local) = &passed[i];
        let name = p
            .name
            .as_deref()
            .map_or(String::new(), |n| format!(", named '{n}'"));
        return Err(format!(
            "systemd passed a socket that matches no --http or --socket: fd {} on {local}{name}; \
             give its address to --http or --socket, or name it after one \
             (FileDescriptorName=http or =socket in the .socket unit)",
            p.fd
        ));
    }
    Ok(taken)
}

/// `http`/`http-socket` names the HTTP sockets, `socket`/`uwsgi-socket` the uwsgi ones.
fn option_named(spec: &SocketSpec, name: &str) -> bool {
    match spec.protocol {
        SocketProtocol::Http => matches!(name, "http" | "http-socket"),
        SocketProtocol::Uwsgi => matches!(name, "socket" | "uwsgi-socket"),
    }
}

fn same_address(spec: &SocketSpec, local: &Local, cwd: &Path) -> bool {
    match local {
        Local::Tcp(got) if !spec.is_unix() => {
            let Ok(want) = super::parse_tcp(&spec.addr) else {
                return false;
            };
            want == *got
                || (want.port() == got.port()
                    && want.port() != 0
                    && want.ip().is_unspecified()
                    && got.ip().is_unspecified())
        }
        Local::Unix(got) if spec.is_unix() => {
            let want = Path::new(spec.addr.trim_start_matches("unix:"));
            cwd.join(want).components().eq(cwd.join(got).components())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(addr: &str) -> SocketSpec {
        SocketSpec {
            protocol: SocketProtocol::Http,
            addr: addr.into(),
        }
    }

    fn uwsgi(addr: &str) -> SocketSpec {
        SocketSpec {
            protocol: SocketProtocol::Uwsgi,
            addr: addr.into(),
        }
    }

    fn passed(fd: RawFd, name: Option<&str>, local: Local) -> (Passed, Local) {
        (
            Passed {
                fd,
                name: name.map(Into::into),
            },
            local,
        )
    }

    fn tcp(a: &str) -> Local {
        Local::Tcp(a.parse().unwrap())
    }

    const CWD: &str = "/srv/site";

    #[test]
    fn variables_for_this_pid_give_fds_from_three_with_their_names() {
        assert_eq!(
            parse(Some("2"), Some("42"), Some("web:api"), 42).unwrap(),
            vec![
                Passed {
                    fd: 3,
                    name: Some("web".into())
                },
                Passed {
                    fd: 4,
                    name: Some("api".into())
                }
            ]
        );
    }

    #[test]
    fn variables_for_another_pid_or_without_a_pid_pass_nothing() {
        assert!(parse(Some("2"), Some("41"), None, 42).unwrap().is_empty());
        assert!(parse(Some("2"), None, None, 42).unwrap().is_empty());
        assert!(parse(None, None, None, 42).unwrap().is_empty());
    }

    #[test]
    fn names_that_do_not_fit_the_count_are_ignored() {
        let got = parse(Some("2"), Some("42"), Some("only-one"), 42).unwrap();
        assert!(got.iter().all(|p| p.name.is_none()), "{got:?}");
    }

    #[test]
    fn malformed_variables_are_errors_naming_them() {
        let err = parse(Some("x"), Some("42"), None, 42).unwrap_err();
        assert!(err.contains("LISTEN_FDS=x"), "{err}");
        let err = parse(Some("1"), Some("pid"), None, 42).unwrap_err();
        assert!(err.contains("LISTEN_PID=pid"), "{err}");
    }

    #[test]
    fn sockets_match_options_by_address_tcp_and_unix() {
        let specs = [http("127.0.0.1:8000"), uwsgi("./run/app.sock")];
        let got = assign(
            &specs,
            &[
                passed(3, None, Local::Unix("/srv/site/run/app.sock".into())),
                passed(4, None, tcp("127.0.0.1:8000")),
            ],
            Path::new(CWD),
        )
        .unwrap();
        assert_eq!(got, vec![Some(1), Some(0)]);
    }

    #[test]
    fn all_interfaces_match_whichever_family_systemd_bound() {
        for spec in [":8000", "0.0.0.0:8000", "[::]:8000"] {
            let got = assign(
                &[http(spec)],
                &[passed(3, None, tcp("[::]:8000"))],
                Path::new(CWD),
            );
            assert_eq!(got.unwrap(), vec![Some(0)], "{spec}");
        }
    }

    #[test]
    fn sockets_match_by_name_option_or_address_as_written() {
        let specs = [
            http("127.0.0.1:8000"),
            uwsgi("/run/a.sock"),
            uwsgi("/run/b.sock"),
        ];
        let got = assign(
            &specs,
            &[
                passed(3, Some("socket"), Local::Unix("/elsewhere/x.sock".into())),
                passed(4, Some("http"), tcp("0.0.0.0:80")),
                passed(5, Some("/run/b.sock"), Local::Unix("/other/b.sock".into())),
            ],
            Path::new(CWD),
        )
        .unwrap();
        assert_eq!(got, vec![Some(1), Some(0), Some(2)]);
    }

    #[test]
    fn options_not_passed_are_bound_by_rsgi() {
        let specs = [http("127.0.0.1:8000"), http("127.0.0.1:8001")];
        let got = assign(
            &specs,
            &[passed(3, None, tcp("127.0.0.1:8001"))],
            Path::new(CWD),
        )
        .unwrap();
        assert_eq!(got, vec![None, Some(0)]);
    }

    #[test]
    fn a_socket_matching_no_option_is_an_error_naming_it() {
        let err = assign(
            &[http("127.0.0.1:8000")],
            &[
                passed(3, None, tcp("127.0.0.1:8000")),
                passed(4, Some("rsgi.socket"), tcp("127.0.0.1:9000")),
            ],
            Path::new(CWD),
        )
        .unwrap_err();
        assert!(
            err.contains("fd 4 on 127.0.0.1:9000, named 'rsgi.socket'"),
            "{err}"
        );
    }

    #[test]
    fn the_protocol_comes_from_the_option_a_name_picks() {
        // `http` does not take a uwsgi socket, even a free one.
        let err = assign(
            &[uwsgi("/run/a.sock")],
            &[passed(3, Some("http"), tcp("127.0.0.1:80"))],
            Path::new(CWD),
        );
        assert!(err.is_err());
    }

    #[test]
    fn a_passed_fd_that_is_not_a_listening_socket_is_refused() {
        let file = std::fs::File::open("/dev/null").unwrap();
        let err = inspect(std::os::fd::AsRawFd::as_raw_fd(&file)).unwrap_err();
        assert!(err.contains("is not a socket"), "{err}");
        let unbound = Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        let err = inspect(std::os::fd::AsRawFd::as_raw_fd(&unbound)).unwrap_err();
        assert!(err.contains("not a listening stream socket"), "{err}");
        let listening = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let got = inspect(std::os::fd::AsRawFd::as_raw_fd(&listening)).unwrap();
        assert_eq!(got, Local::Tcp(listening.local_addr().unwrap()));
    }
}
