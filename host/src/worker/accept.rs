//! How a worker accepts connections, per listening socket's [`Sharing`]:
//!
//! - **Exclusive** (default): the shared sockets are added with `EPOLLEXCLUSIVE` (which
//!   mio cannot set) straight into the event loop's own epoll set, under their mio token.
//!   A new connection wakes one worker blocked in `epoll_wait` instead of all of them; a
//!   worker busy in the app is not waiting, so the kernel passes the wake-up on. The flag
//!   only counts a task waiting on that very epoll set: a nested set (listeners in a set of
//!   their own, that set registered in the loop's) wakes every worker again — measured
//!   with `bench/accept.py`, 2.05 voluntary context switches per request nested (2.10
//!   without the flag at all) against 0.89 direct.
//! - **Thunder lock** (`--thunder-lock`): every worker watches the shared socket; `accept`
//!   runs under a process-shared robust mutex, so one worker at a time takes what is
//!   queued. The lock is released before any connection is served.
//! - **Reuse port** (`--reuse-port`): the worker listens on a SO_REUSEPORT socket of its
//!   own on the same address; the kernel hashes each connection to one socket.
//!
//! With app threads, a worker whose threads all have a connection stops watching its
//! listeners ([`Acceptor::deregister`]) until one is free ([`Acceptor::register`]), so
//! that new connections go to a worker that can run them now.
//!
//! A worker that stops listening (retiring, shutting down) takes what is queued and then
//! closes its sockets. For a reuse-port socket that matters most: connections the kernel
//! put in the queue of a socket that then closes are reset. rsgi drains the queue right
//! before `close`, which leaves a window of a few microseconds; on Linux 5.14 and later,
//! `sysctl net.ipv4.tcp_migrate_req=1` closes it (the kernel moves queued connections of
//! a closing SO_REUSEPORT socket to another socket of the group), and it is the only
//! protection for connections queued on a worker that is killed outright.

use std::io;
use std::os::fd::{AsRawFd, RawFd};

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
    registered: bool,
}

/// Adds `fd` to the event loop's own epoll set (`registry`'s) with `EPOLLEXCLUSIVE`,
/// reported as `token`: mio puts the token in the event's data word, so the loop sees an
/// ordinary readable event for it.
fn epoll_add_exclusive(registry: &Registry, fd: RawFd, token: Token) -> io::Result<()> {
    let mut event = libc::epoll_event {
        events: (libc::EPOLLIN | libc::EPOLLEXCLUSIVE) as u32,
        u64: token.0 as u64,
    };
    let epoll = registry.as_raw_fd();
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
        for l in listeners {
            sources.push(match &l.sharing {
                Sharing::Exclusive => Source::Exclusive,
                Sharing::ThunderLock(_) => Source::Locked,
                Sharing::ReusePort => Source::Own(l.reuse_port_socket()?),
            });
        }
        let mut acceptor = Acceptor {
            listeners,
            sources,
            registered: false,
        };
        acceptor.register(registry)?;
        Ok(acceptor)
    }

    /// Has the event loop report new connections (again, after [`Acceptor::deregister`]).
    pub fn register(&mut self, registry: &Registry) -> io::Result<()> {
        if self.registered {
            return Ok(());
        }
        // Marked first, so that a failure part-way can undo what was added.
        self.registered = true;
        if let Err(e) = self.register_sources(registry) {
            self.deregister(registry);
            return Err(e);
        }
        Ok(())
    }

    fn register_sources(&self, registry: &Registry) -> io::Result<()> {
        for (i, source) in self.sources.iter().enumerate() {
            match source {
                Source::Exclusive => {
                    epoll_add_exclusive(registry, self.listeners[i].fd(), Token(i))?
                }
                Source::Locked => registry.register(
                    &mut SourceFd(&self.listeners[i].fd()),
                    Token(i),
                    Interest::READABLE,
                )?,
                Source::Own(s) => registry.register(
                    &mut SourceFd(&s.as_raw_fd()),
                    Token(i),
                    Interest::READABLE,
                )?,
            }
        }
        Ok(())
    }

    /// How many listeners there are (listener `i` has token `i`).
    pub fn listener_count(&self) -> usize {
        self.listeners.len()
    }

    /// True when `token` belongs to a listener.
    pub fn owns(&self, token: Token) -> bool {
        token.0 < self.listeners.len()
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
            match source {
                Source::Exclusive => {
                    // SAFETY: both fds are open; DEL ignores the event argument. (Closing
                    // our copy would not remove it: other processes hold the socket.)
                    unsafe {
                        libc::epoll_ctl(
                            registry.as_raw_fd(),
                            libc::EPOLL_CTL_DEL,
                            self.listeners[i].fd(),
                            std::ptr::null_mut(),
                        )
                    };
                }
                Source::Locked => {
                    let _ = registry.deregister(&mut SourceFd(&self.listeners[i].fd()));
                }
                Source::Own(s) => {
                    let _ = registry.deregister(&mut SourceFd(&s.as_raw_fd()));
                }
            }
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
