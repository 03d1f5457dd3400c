//! Bind the listening sockets (TCP or Unix) in the master, before any fork; read their
//! accept queues (`--listen`).

use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::unistd::{Gid, Uid};
use socket2::{Domain, SockAddr, Socket, Type};

use crate::config::{AcceptStrategy, Config, SocketOwner, SocketProtocol, SocketSpec};
use crate::error::HostError;
use crate::thunder_lock::ThunderLock;

pub mod activation;

/// Where a listener is bound.
#[derive(Debug, Clone)]
pub enum Bound {
    /// A TCP address.
    Tcp(SocketAddr),
    /// A Unix socket path (removed on shutdown).
    Unix(PathBuf),
}

/// How the workers accept from a socket (`--thunder-lock`, `--reuse-port`, or neither).
pub enum Sharing {
    /// Every worker waits on the one socket; the kernel wakes one idle worker.
    Exclusive,
    /// Every worker waits on the one socket; accept runs under this lock.
    ThunderLock(ThunderLock),
    /// The master's socket is bound but not listening (it only holds the address);
    /// each worker listens on a SO_REUSEPORT socket of its own.
    ReusePort,
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
    /// Its listen backlog (`--listen`).
    pub backlog: i32,
    /// How workers accept from it.
    pub sharing: Sharing,
    /// TCP_DEFER_ACCEPT seconds (0: off; always 0 for Unix sockets).
    pub defer_accept: u32,
    /// SO_KEEPALIVE for its connections (`--so-keepalive`; TCP only).
    pub keepalive: bool,
    /// Passed by systemd (socket activation): systemd owns it, and its Unix socket file,
    /// which is left in place at exit.
    pub activated: bool,
}

impl Listener {
    /// The raw fd.
    pub fn fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }

    /// Accepts one connection, already non-blocking and close-on-exec (one `accept4`).
    pub fn accept(&self) -> std::io::Result<(Socket, SockAddr)> {
        let listener = self.fd();
        // SAFETY: accept4 writes at most `*len` bytes of address into `storage`, and the
        // returned fd is new and owned by the Socket.
        unsafe {
            SockAddr::try_init(|storage, len| {
                let fd = libc::accept4(
                    listener,
                    storage.cast(),
                    len,
                    libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                );
                if fd < 0 {
                    Err(std::io::Error::last_os_error())
                } else {
                    Ok(Socket::from_raw_fd(fd))
                }
            })
        }
    }

    /// A new SO_REUSEPORT socket listening on this listener's TCP address (a worker's
    /// own, for `--reuse-port`): non-blocking and close-on-exec.
    pub fn reuse_port_socket(&self) -> std::io::Result<Socket> {
        let Bound::Tcp(addr) = self.bound else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "SO_REUSEPORT needs a TCP socket",
            ));
        };
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
        socket.set_reuse_address(true)?;
        socket.set_reuse_port(true)?;
        if addr.is_ipv6() {
            socket.set_only_v6(true)?;
        }
        socket.bind(&addr.into())?;
        set_tcp_options(&socket, self.defer_accept, self.keepalive)?;
        socket.listen(self.backlog)?;
        socket.set_nonblocking(true)?;
        Ok(socket)
    }

    /// The protocol it speaks.
    pub fn protocol(&self) -> SocketProtocol {
        self.spec.protocol
    }

    /// The accept queue as (connections waiting, maximum), for TCP sockets: on a listening
    /// socket `TCP_INFO` reports the queue length in `tcpi_unacked` and the backlog in
    /// `tcpi_sacked`. `None` for Unix sockets.
    pub fn queue(&self) -> Option<(u32, u32)> {
        if !matches!(self.bound, Bound::Tcp(_)) {
            return None;
        }
        // SAFETY: tcp_info is plain data; zeroed is a valid value.
        let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
        // SAFETY: `info` is writable for `len` bytes and the fd is a TCP socket we own.
        let rc = unsafe {
            libc::getsockopt(
                self.fd(),
                libc::IPPROTO_TCP,
                libc::TCP_INFO,
                (&mut info as *mut libc::tcp_info).cast(),
                &mut len,
            )
        };
        (rc == 0).then_some((info.tcpi_unacked, info.tcpi_sacked))
    }

    /// The address alone (`127.0.0.1:8000`, `/run/app.sock`), as uWSGI's stats name it.
    pub fn name(&self) -> String {
        match &self.bound {
            Bound::Tcp(a) => a.to_string(),
            Bound::Unix(p) => p.display().to_string(),
        }
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

/// The kernel's cap on any listen backlog (`net.core.somaxconn`), if readable.
pub fn somaxconn() -> Option<i32> {
    std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Logs a warning when `--listen` asks for more than the kernel grants.
pub fn warn_if_above_somaxconn(listen: i32, somaxconn: Option<i32>) -> bool {
    match somaxconn {
        Some(max) if listen > max => {
            tracing::warn!(
                "--listen {listen} exceeds net.core.somaxconn ({max}): the kernel caps every \
                 listen queue at {max}; raise it with `sysctl -w net.core.somaxconn={listen}`"
            );
            true
        }
        _ => false,
    }
}

/// With `--reuse-port`: says whether the kernel hands connections queued on a closing
/// worker's socket to another worker (`net.ipv4.tcp_migrate_req`, Linux 5.14+).
pub fn note_reuse_port_migration() {
    let migrate = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_migrate_req")
        .map(|v| v.trim() == "1")
        .unwrap_or(false);
    if migrate {
        tracing::info!("--reuse-port: net.ipv4.tcp_migrate_req=1, connections queued on a closing worker's socket move to another worker");
    } else {
        tracing::info!(
            "--reuse-port: retiring workers drain their queues before closing; connections \
             queued on a worker that is killed are reset unless net.ipv4.tcp_migrate_req=1"
        );
    }
}

fn is_unix(addr: &str) -> bool {
    addr.starts_with('/') || addr.starts_with("./") || addr.starts_with("unix:")
}

/// `--chown-socket USER[:GROUP]` → ids: a number is taken as an id, anything else is
/// looked up by name. No group means the group is left as it is.
fn resolve_owner(owner: &SocketOwner) -> Result<(Uid, Option<Gid>), HostError> {
    let uid = crate::identity::user(&owner.user, "chown-socket")?.uid;
    let gid = owner
        .group
        .as_deref()
        .map(|g| crate::identity::group(g, "chown-socket"))
        .transpose()?;
    Ok((uid, gid))
}

/// Binds every socket of `config`, or adopts `inherited` fds (one per socket, same order)
/// handed over by the master this process re-executed from (`from_systemd`: those of them
/// systemd passed at the first start), or adopts the sockets systemd `passed` for the
/// options they match ([`activation`]) and binds the others.
pub fn bind_all(
    config: &Config,
    inherited: Option<&[RawFd]>,
    from_systemd: &[RawFd],
    passed: &[activation::Passed],
) -> Result<Vec<Listener>, HostError> {
    match inherited {
        Some(fds) if fds.len() == config.sockets.len() => config
            .sockets
            .iter()
            .zip(fds)
            .map(|(spec, &fd)| adopt(spec, fd, config, from_systemd.contains(&fd)))
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
        None if !passed.is_empty() => activate(config, passed),
        None => config
            .sockets
            .iter()
            .map(|spec| bind(spec, config))
            .collect(),
    }
}

/// Socket activation: each passed socket becomes the listener of the option it matches,
/// the options no socket matches are bound here. A socket matching nothing is refused.
fn activate(config: &Config, passed: &[activation::Passed]) -> Result<Vec<Listener>, HostError> {
    let inspected = passed
        .iter()
        .map(|p| Ok((p.clone(), activation::inspect(p.fd)?)))
        .collect::<Result<Vec<_>, String>>()
        .map_err(HostError::Usage)?;
    let cwd = std::env::current_dir().unwrap_or_default();
    let taken = activation::assign(&config.sockets, &inspected, &cwd).map_err(HostError::Usage)?;
    config
        .sockets
        .iter()
        .zip(taken)
        .map(|(spec, taken)| match taken {
            Some(i) => {
                let (p, local) = &inspected[i];
                let name = p
                    .name
                    .as_deref()
                    .map_or(String::new(), |n| format!(" '{n}'"));
                tracing::info!(
                    "--{} {}: socket{name} passed by systemd ({local}, fd {})",
                    option_name(spec),
                    spec.addr,
                    p.fd
                );
                warn_not_applied(config, spec);
                adopt(spec, p.fd, config, true)
            }
            None => bind(spec, config),
        })
        .collect()
}

fn option_name(spec: &SocketSpec) -> &'static str {
    match spec.protocol {
        SocketProtocol::Http => "http",
        SocketProtocol::Uwsgi => "socket",
    }
}

/// How workers will share a socket bound at `bound`. `--reuse-port` applies to TCP only:
/// Unix sockets stay shared (the kernel does not spread Unix connections over sockets).
fn sharing(config: &Config, bound: &Bound) -> std::io::Result<Sharing> {
    Ok(match (config.accept, bound) {
        (AcceptStrategy::Exclusive, _) => Sharing::Exclusive,
        (AcceptStrategy::ThunderLock, _) => Sharing::ThunderLock(ThunderLock::new()?),
        (AcceptStrategy::ReusePort, Bound::Tcp(_)) => Sharing::ReusePort,
        (AcceptStrategy::ReusePort, Bound::Unix(path)) => {
            tracing::warn!(
                "--reuse-port does not apply to Unix socket {}: its workers share it",
                path.display()
            );
            Sharing::Exclusive
        }
    })
}

/// Takes over a listening socket inherited across a re-exec (it never closed), or passed
/// by systemd (`activated`).
fn adopt(
    spec: &SocketSpec,
    fd: RawFd,
    config: &Config,
    activated: bool,
) -> Result<Listener, HostError> {
    let fail = |source: std::io::Error| HostError::Listen {
        addr: spec.addr.clone(),
        source,
    };
    // SAFETY: the previous master image passed this fd to us for exactly this socket.
    let socket = unsafe { Socket::from_raw_fd(fd) };
    socket.set_cloexec(true).map_err(fail)?;
    socket.set_nonblocking(true).map_err(fail)?;
    let local = socket.local_addr().map_err(fail)?;
    let (bound, server_name, server_port) = match (local.as_socket(), local.as_pathname()) {
        (Some(a), _) => (Bound::Tcp(a), a.ip().to_string(), a.port()),
        // systemd's path, whatever the option says (they may match by name only).
        (None, Some(path)) if activated => {
            (Bound::Unix(path.to_path_buf()), "localhost".to_string(), 0)
        }
        _ => (
            Bound::Unix(PathBuf::from(spec.addr.trim_start_matches("unix:"))),
            "localhost".to_string(),
            0,
        ),
    };
    // The new configuration decides, whatever the previous master set.
    let defer_accept = match bound {
        Bound::Tcp(_) => defer_accept_seconds(config),
        Bound::Unix(_) => 0,
    };
    let keepalive = config.so_keepalive && matches!(bound, Bound::Tcp(_));
    if let Bound::Tcp(_) = bound {
        set_tcp_options(&socket, defer_accept, keepalive).map_err(fail)?;
    }
    let sharing = if activated {
        activated_sharing(config, &bound)
    } else {
        sharing(config, &bound)
    };
    Ok(Listener {
        spec: spec.clone(),
        sharing: sharing.map_err(fail)?,
        bound,
        socket,
        server_name,
        server_port,
        backlog: config.listen,
        defer_accept,
        keepalive,
        activated,
    })
}

/// How workers share a socket systemd passed. It already listens, so `--reuse-port`
/// (workers' own sockets, the master's only holding the address) would leave its share of
/// the connections unanswered: workers share it instead.
fn activated_sharing(config: &Config, bound: &Bound) -> std::io::Result<Sharing> {
    match config.accept {
        AcceptStrategy::ReusePort => Ok(Sharing::Exclusive),
        _ => sharing(config, bound),
    }
}

/// Says which options do not apply to a socket systemd passed (at the first start only).
fn warn_not_applied(config: &Config, spec: &SocketSpec) {
    if config.accept == AcceptStrategy::ReusePort && !spec.is_unix() {
        tracing::warn!(
            "--reuse-port does not apply to {} (passed by systemd, already listening): its workers share it",
            spec.addr
        );
    }
    if spec.is_unix() && (config.chmod_socket.is_some() || config.chown_socket.is_some()) {
        tracing::warn!(
            "--chmod-socket and --chown-socket do not apply to {} (passed by systemd): set \
             SocketMode=, SocketUser= and SocketGroup= in the .socket unit",
            spec.addr
        );
    }
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
        let socket = unix_socket(&path).map_err(fail)?;
        if let Some(mode) = config.chmod_socket {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).map_err(fail)?;
        }
        if let Some((uid, gid)) = owner {
            nix::unistd::chown(&path, Some(uid), gid).map_err(|e| fail(e.into()))?;
        }
        socket.listen(config.listen).map_err(fail)?;
        socket.set_nonblocking(true).map_err(fail)?;
        let bound = Bound::Unix(path);
        return Ok(Listener {
            spec: spec.clone(),
            sharing: sharing(config, &bound).map_err(fail)?,
            bound,
            socket,
            server_name: "localhost".to_string(),
            server_port: 0,
            backlog: config.listen,
            defer_accept: 0,
            keepalive: false,
            activated: false,
        });
    }
    let addr = parse_tcp(&spec.addr)
        .map_err(|e| fail(std::io::Error::new(std::io::ErrorKind::InvalidInput, e)))?;
    let reuse_port = config.accept == AcceptStrategy::ReusePort;
    let socket = tcp_socket(addr, reuse_port).map_err(fail)?;
    let defer_accept = defer_accept_seconds(config);
    set_tcp_options(&socket, defer_accept, config.so_keepalive).map_err(fail)?;
    // With --reuse-port the master only holds the address: a listening socket nobody
    // accepts from would get its share of the connections and never answer them.
    if !reuse_port {
        socket.listen(config.listen).map_err(fail)?;
    }
    socket.set_nonblocking(true).map_err(fail)?;
    let local = socket
        .local_addr()
        .ok()
        .and_then(|a| a.as_socket())
        .unwrap_or(addr);
    let bound = Bound::Tcp(local);
    Ok(Listener {
        spec: spec.clone(),
        sharing: sharing(config, &bound).map_err(fail)?,
        bound,
        socket,
        server_name: local.ip().to_string(),
        server_port: local.port(),
        backlog: config.listen,
        defer_accept,
        keepalive: config.so_keepalive,
        activated: false,
    })
}

/// The options of an app's TCP listening socket: TCP_DEFER_ACCEPT (`defer_accept`
/// seconds, 0 = off), TCP_NODELAY, and SO_KEEPALIVE if `keepalive` (`--so-keepalive`).
/// Accepted sockets inherit TCP_NODELAY and SO_KEEPALIVE from the listening one (Linux):
/// one setsockopt here rather than one per connection.
fn set_tcp_options(socket: &Socket, defer_accept: u32, keepalive: bool) -> std::io::Result<()> {
    set_defer_accept(socket, defer_accept)?;
    socket.set_tcp_nodelay(true)?;
    if keepalive {
        socket.set_keepalive(true)?;
    }
    Ok(())
}

/// TCP_DEFER_ACCEPT for the app's TCP sockets: on unless `--no-defer-accept`, as in uWSGI.
/// The kernel then hands a connection to `accept()` only once its first bytes arrived, so
/// a worker never wakes for a connection it cannot serve yet (nginx connects, then sends
/// the request a moment later) nor has to watch it in epoll. A connection that stays
/// silent is accepted after `--http-header-timeout` anyway (and then closed after another
/// one). Control sockets (stats, metrics) never defer: their clients wait to be spoken to.
fn defer_accept_seconds(config: &Config) -> u32 {
    if config.defer_accept {
        config.header_timeout.as_secs().clamp(1, i32::MAX as u64) as u32
    } else {
        0
    }
}

/// Sets TCP_DEFER_ACCEPT on a TCP socket (`seconds` 0 turns it off).
fn set_defer_accept(socket: &Socket, seconds: u32) -> std::io::Result<()> {
    let value = seconds as libc::c_int;
    // SAFETY: a valid socket fd and a c_int option value of the size given.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_DEFER_ACCEPT,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// A Unix stream socket bound at `path` (a stale socket file there is replaced).
fn unix_socket(path: &Path) -> std::io::Result<Socket> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.file_type().is_socket() {
            std::fs::remove_file(path)?;
        } else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "a file that is not a socket is in the way",
            ));
        }
    }
    let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    socket.bind(&SockAddr::unix(path)?)?;
    Ok(socket)
}

/// A TCP socket bound to `addr` (SO_REUSEADDR, SO_REUSEPORT if asked; IPv6 only for an
/// IPv6 address).
fn tcp_socket(addr: SocketAddr, reuse_port: bool) -> std::io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(reuse_port)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.bind(&addr.into())?;
    Ok(socket)
}

/// A listening socket of the master's own (stats, metrics): TCP `host:port` or a Unix
/// path, non-blocking and close-on-exec, never handed to workers.
pub fn bind_control(addr: &str, backlog: i32) -> Result<(Socket, Bound), HostError> {
    let fail = |source: std::io::Error| HostError::Listen {
        addr: addr.to_string(),
        source,
    };
    let (socket, bound) = if is_unix(addr) {
        let path = PathBuf::from(addr.trim_start_matches("unix:"));
        (unix_socket(&path).map_err(fail)?, Bound::Unix(path))
    } else {
        let want = parse_tcp(addr)
            .map_err(|e| fail(std::io::Error::new(std::io::ErrorKind::InvalidInput, e)))?;
        let socket = tcp_socket(want, false).map_err(fail)?;
        let local = socket
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .unwrap_or(want);
        (socket, Bound::Tcp(local))
    };
    socket.listen(backlog).map_err(fail)?;
    socket.set_nonblocking(true).map_err(fail)?;
    socket.set_cloexec(true).map_err(fail)?;
    Ok((socket, bound))
}

/// Removes the files of Unix sockets (at shutdown).
pub fn remove_socket_files(listeners: &[Listener]) {
    for path in socket_files(listeners) {
        let _ = std::fs::remove_file(path);
    }
}

/// The paths of the Unix sockets among `listeners` that rsgi created (not systemd's).
pub fn socket_files(listeners: &[Listener]) -> Vec<PathBuf> {
    listeners
        .iter()
        .filter(|l| !l.activated)
        .filter_map(|l| match &l.bound {
            Bound::Unix(path) => Some(path.clone()),
            Bound::Tcp(_) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Config {
        let values = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), vec![v.to_string()]))
            .collect();
        Config::from_values(&values, &crate::config::catalog::Catalog::host()).unwrap()
    }

    fn int_option(fd: RawFd, level: libc::c_int, name: libc::c_int) -> libc::c_int {
        let mut value: libc::c_int = -1;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: a valid fd and an int-sized out value.
        let rc = unsafe {
            libc::getsockopt(
                fd,
                level,
                name,
                (&mut value as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        assert_eq!(rc, 0, "{}", std::io::Error::last_os_error());
        value
    }

    /// Defer-accept on the listener (header timeout, 10 s by default, or off), and
    /// TCP_NODELAY (and SO_KEEPALIVE with `--so-keepalive`) on every accepted socket
    /// without a setsockopt per connection.
    #[test]
    fn tcp_listeners_defer_accept_and_hand_nodelay_to_accepted_sockets() {
        for (pairs, defer, keepalive) in [
            (&[("http", "127.0.0.1:0")][..], 10, 0),
            (
                &[("http", "127.0.0.1:0"), ("no-defer-accept", "true")][..],
                0,
                0,
            ),
            (
                &[("http", "127.0.0.1:0"), ("so-keepalive", "true")][..],
                10,
                1,
            ),
        ] {
            let c = config(pairs);
            let listeners = bind_all(&c, None, &[], &[]).unwrap();
            let l = &listeners[0];
            assert_eq!(l.defer_accept, defer);
            let set = int_option(l.fd(), libc::IPPROTO_TCP, libc::TCP_DEFER_ACCEPT);
            // The kernel reports the period rounded to its SYN-ACK retransmission steps.
            assert_eq!(set > 0, defer > 0, "TCP_DEFER_ACCEPT {set}");
            let Bound::Tcp(addr) = l.bound else { panic!() };
            let mut client = std::net::TcpStream::connect(addr).unwrap();
            std::io::Write::write_all(&mut client, b"x").unwrap();
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            let (accepted, _) = loop {
                match l.accept() {
                    Ok(a) => break a,
                    Err(_) if std::time::Instant::now() < deadline => {
                        std::thread::sleep(std::time::Duration::from_millis(5))
                    }
                    Err(e) => panic!("{e}"),
                }
            };
            let nodelay = int_option(accepted.as_raw_fd(), libc::IPPROTO_TCP, libc::TCP_NODELAY);
            assert_eq!(nodelay, 1);
            let kept = int_option(accepted.as_raw_fd(), libc::SOL_SOCKET, libc::SO_KEEPALIVE);
            assert_eq!(kept, keepalive, "{pairs:?}");
        }
    }

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
    fn a_listen_queue_above_somaxconn_is_reported() {
        assert!(warn_if_above_somaxconn(5000, Some(4096)));
        assert!(!warn_if_above_somaxconn(1024, Some(4096)));
        assert!(!warn_if_above_somaxconn(1024, None));
    }

    #[test]
    fn the_accept_queue_of_a_tcp_listener_is_read_from_the_kernel() {
        let (socket, bound) = bind_control("127.0.0.1:0", 7).unwrap();
        let Bound::Tcp(addr) = bound else { panic!() };
        let listener = Listener {
            spec: SocketSpec {
                protocol: SocketProtocol::Http,
                addr: addr.to_string(),
            },
            bound: Bound::Tcp(addr),
            socket,
            server_name: String::new(),
            server_port: addr.port(),
            backlog: 7,
            sharing: Sharing::Exclusive,
            defer_accept: 0,
            keepalive: false,
            activated: false,
        };
        assert_eq!(listener.queue(), Some((0, 7)));
        let _clients: Vec<_> = (0..3)
            .map(|_| std::net::TcpStream::connect(addr).unwrap())
            .collect();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while listener.queue() != Some((3, 7)) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(listener.queue(), Some((3, 7)));
    }

    #[test]
    fn unix_paths_are_recognised() {
        assert!(is_unix("/run/app.sock"));
        assert!(is_unix("./app.sock"));
        assert!(!is_unix("127.0.0.1:80"));
    }
}
