//! How a worker accepts connections, per listening socket's [`Sharing`]:
//!
//! - **Exclusive** (default): the shared sockets go into a small epoll set of this
//!   worker's own with `EPOLLEXCLUSIVE` (mio cannot set that flag), and that epoll fd is
//!   registered in the event loop. A new connection wakes one idle worker instead of all
//!   of them; a worker busy in the app is not waiting, so the kernel passes the wake-up on.
//! - **Thunder lock** (`--thunder-lock`): every worker watches the shared socket; `accept`
//!   runs under a process-shared robust mutex, so one worker at a time takes what is
//!   queued. The lock is released before any connection is served.
//! - **Reuse port** (`--reuse-port`): the worker listens on a SO_REUSEPORT socket of its
//!   own on the same address; the kernel hashes each connection to one socket.
//!
//! A worker that stops listening (retiring, shutting down) takes what is queued and then
//! closes its sockets. For a reuse-port socket that matters most: connections the kernel
//! put in the queue of a socket that then closes are reset. rsgi drains the queue right
//! before `close`, which leaves a window of a few microseconds; on Linux 5.14 and later,
//! `sysctl net.ipv4.tcp_migrate_req=1` closes it (the kernel moves queued connections of
//! a closing SO_REUSEPORT socket to another socket of the group), and it is the only
//! protection for connections queued on a worker that is killed outright.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use socket2::{SockAddr, Socket};

use crate::listen::{Listener, Sharing};

/// Where a worker accepts for one listener.
enum Source {
    /// The shared socket, watched through the exclusive epoll set.
    Exclusive,
    /// The shared socket, watched directly, accepted under its lock.
    Locked,
    /// This worker's own SO_REUSEPORT socket.
    Own(Socket),
}

/// The accepting side of a worker's event loop.
pub struct Acceptor<'a> {
    listeners: &'a [Listener],
    sources: Vec<Source>,
    /// The exclusive epoll set and its event-loop token, if any listener uses it.
    exclusive: Option<(OwnedFd, Token)>,
    registered: bool,
}

fn epoll_add_exclusive(epoll: RawFd, fd: RawFd, index: usize) -> io::Result<()> {
    let mut event = libc::epoll_event {
        events: (libc::EPOLLIN | libc::EPOLLEXCLUSIVE) as u32,
        u64: index as u64,
    };
    // SAFETY: both fds are open; `event` is a valid epoll_event.
    if unsafe { libc::epoll_ctl(epoll, libc::EPOLL_CTL_ADD, fd, &mut event) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

impl<'a> Acceptor<'a> {
    /// Prepares accepting on `listeners` and registers with `registry`: listener `i` uses
    /// token `i` (the exclusive set uses the token of its first listener).
    pub fn new(listeners: &'a [Listener], registry: &Registry) -> io::Result<Acceptor<'a>> {
        let mut sources = Vec::with_capacity(listeners.len());
        let mut exclusive: Option<(OwnedFd, Token)> = None;
        for (i, l) in listeners.iter().enumerate() {
            let source = match &l.sharing {
                Sharing::Exclusive => {
                    if exclusive.is_none() {
                        // SAFETY: epoll_create1 returns a new fd or -1.
                        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
                        if fd < 0 {
                            return Err(io::Error::last_os_error());
                        }
                        // SAFETY: a fresh fd nobody else owns.
                        exclusive = Some((unsafe { OwnedFd::from_raw_fd(fd) }, Token(i)));
                    }
                    let (epoll, _) = exclusive.as_ref().unwrap();
                    epoll_add_exclusive(epoll.as_raw_fd(), l.fd(), i)?;
                    Source::Exclusive
                }
                Sharing::ThunderLock(_) => Source::Locked,
                Sharing::ReusePort => Source::Own(l.reuse_port_socket()?),
            };
            sources.push(source);
        }
        let acceptor = Acceptor {
            listeners,
            sources,
            exclusive,
            registered: true,
        };
        for (i, source) in acceptor.sources.iter().enumerate() {
            let fd = match source {
                Source::Exclusive => continue,
                Source::Locked => listeners[i].fd(),
                Source::Own(s) => s.as_raw_fd(),
            };
            registry.register(&mut SourceFd(&fd), Token(i), Interest::READABLE)?;
        }
        if let Some((epoll, token)) = &acceptor.exclusive {
            registry.register(
                &mut SourceFd(&epoll.as_raw_fd()),
                *token,
                Interest::READABLE,
            )?;
        }
        Ok(acceptor)
    }

    /// How many listeners there are (listener `i` has token `i`).
    pub fn listener_count(&self) -> usize {
        self.listeners.len()
    }

    /// True when `token` belongs to a listener.
    pub fn owns(&self, token: Token) -> bool {
        token.0 < self.listeners.len()
    }

    /// The listeners to accept on after an event for `token`, into `out`.
    pub fn ready(&self, token: Token, out: &mut Vec<usize>) {
        out.clear();
        match &self.exclusive {
            Some((epoll, t)) if *t == token => {
                let mut events = [libc::epoll_event { events: 0, u64: 0 }; 8];
                // SAFETY: `events` has room for 8 entries; a zero timeout never blocks.
                let n = unsafe { libc::epoll_wait(epoll.as_raw_fd(), events.as_mut_ptr(), 8, 0) };
                out.extend(events[..n.max(0) as usize].iter().map(|e| e.u64 as usize));
            }
            _ => out.push(token.0),
        }
    }

    /// Accepts up to `max` connections queued on listener `index` into `out`; false once
    /// the queue is empty (or accepting failed).
    pub fn accept_into(&self, index: usize, max: usize, out: &mut Vec<(Socket, SockAddr)>) -> bool {
        let listener = &self.listeners[index];
        let _held = match &listener.sharing {
            Sharing::ThunderLock(lock) => match lock.lock() {
                Ok(held) => {
                    if held.recovered {
                        tracing::warn!(
                            "thunder lock of {}: a worker died holding it; recovered",
                            listener.describe()
                        );
                    }
                    Some(held)
                }
                Err(e) => {
                    tracing::error!("thunder lock of {}: {e}", listener.describe());
                    return false;
                }
            },
            _ => None,
        };
        let Some(source) = self.sources.get(index) else {
            return false;
        };
        for _ in 0..max {
            let accepted = match source {
                Source::Own(socket) => socket.accept().and_then(|(s, peer)| {
                    s.set_nonblocking(true)?;
                    Ok((s, peer))
                }),
                Source::Exclusive | Source::Locked => listener.accept(),
            };
            match accepted {
                Ok(pair) => out.push(pair),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
                Err(e)
                    if e.kind() == io::ErrorKind::Interrupted
                        || e.kind() == io::ErrorKind::ConnectionAborted => {}
                Err(e) => {
                    tracing::warn!("accept on {} failed: {e}", listener.describe());
                    return false;
                }
            }
        }
        true
    }

    /// Stops the event loop from reporting new connections (the queues stay readable by
    /// [`Acceptor::accept_into`] until [`Acceptor::close`]).
    pub fn deregister(&mut self, registry: &Registry) {
        if !std::mem::take(&mut self.registered) {
            return;
        }
        for (i, source) in self.sources.iter().enumerate() {
            let fd = match source {
                Source::Exclusive => continue,
                Source::Locked => self.listeners[i].fd(),
                Source::Own(s) => s.as_raw_fd(),
            };
            let _ = registry.deregister(&mut SourceFd(&fd));
        }
        if let Some((epoll, _)) = self.exclusive.take() {
            let _ = registry.deregister(&mut SourceFd(&epoll.as_raw_fd()));
            // Dropping the set closes it, which removes the listeners from it.
        }
    }

    /// Closes this worker's listening sockets: its own, and its copies of the shared ones
    /// (call after draining the queues).
    pub fn close(&mut self) {
        for (i, source) in std::mem::take(&mut self.sources).into_iter().enumerate() {
            match source {
                Source::Own(socket) => drop(socket),
                Source::Exclusive | Source::Locked => {
                    // SAFETY: this worker's copy of the inherited fd; it is never used
                    // again here (the Listener values belong to the master's image and are
                    // never dropped in a worker, which leaves with _exit).
                    unsafe { libc::close(self.listeners[i].fd()) };
                }
            }
        }
    }
}
