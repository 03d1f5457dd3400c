//! The request a thread serves, for uWSGI's `uwsgi.websocket_*` API: the WSGI app calls
//! `uwsgi.websocket_handshake()` in the middle of its request, and the request's
//! connection becomes a blocking WebSocket (extension `rsgi.handle_upgrade`) on this
//! thread until the app returns.
//!
//! [`enter`] records the request and its responder while `handle` runs on the thread (the
//! guard it returns forgets them, and frees the stream, when the request ends); the
//! `uwsgi` module's functions reach them through [`handshake`] and [`with_stream`].

use std::cell::RefCell;
use std::ptr::NonNull;

use rsgi_plugin_api::sdk::handle_upgrade::{self, HandleStream};
use rsgi_plugin_api::{Request, Responder, SendError};

/// The request in progress on this thread.
struct Current {
    request: NonNull<Request<'static>>,
    responder: NonNull<Responder<'static>>,
    stream: Option<HandleStream>,
}

thread_local! {
    static CURRENT: RefCell<Option<Current>> = const { RefCell::new(None) };
}

/// Forgets the thread's request (and frees its stream) when dropped.
pub struct Guard(());

impl Drop for Guard {
    fn drop(&mut self) {
        // The stream is freed here (a close 1000 goes out if the app sent none).
        let current = CURRENT.with(|c| c.borrow_mut().take());
        drop(current);
    }
}

/// Records `request` and `responder` as this thread's until the guard drops.
pub fn enter(request: &Request<'_>, responder: &mut Responder<'_>) -> Guard {
    let current = Current {
        request: NonNull::from(request).cast(),
        responder: NonNull::from(responder).cast(),
        stream: None,
    };
    CURRENT.with(|c| *c.borrow_mut() = Some(current));
    Guard(())
}

/// Why a handshake failed.
#[derive(Debug)]
pub enum HandshakeError {
    /// No request is served on this thread (called outside a request, or from another
    /// thread).
    NoRequest,
    /// The request asks for no WebSocket, or its handshake is invalid.
    NotUpgradable,
    /// A handshake was made already.
    Again,
    /// The host refused (the response started, the subprotocol was not offered) or the
    /// client left.
    Failed(SendError),
}

/// Upgrades the thread's request to a WebSocket, answering with `subprotocol`.
pub fn handshake(subprotocol: Option<&str>) -> Result<(), HandshakeError> {
    CURRENT.with(|c| {
        let mut c = c.borrow_mut();
        let current = c.as_mut().ok_or(HandshakeError::NoRequest)?;
        if current.stream.is_some() {
            return Err(HandshakeError::Again);
        }
        // SAFETY: both are alive while the request is served (the guard ends before
        // `handle` returns), and used on this thread only.
        let (request, responder) =
            unsafe { (current.request.as_ref(), &mut *current.responder.as_ptr()) };
        match handle_upgrade::offered(request) {
            Some(offer) if offer.token.eq_ignore_ascii_case("websocket") => {}
            _ => return Err(HandshakeError::NotUpgradable),
        }
        let stream = handle_upgrade::upgrade(request, responder, subprotocol, &[])
            .map_err(HandshakeError::Failed)?;
        current.stream = Some(stream);
        Ok(())
    })
}

/// True when the thread's request was upgraded: its response is the `101`, already out.
pub fn is_upgraded() -> bool {
    CURRENT.with(|c| c.borrow().as_ref().is_some_and(|c| c.stream.is_some()))
}

/// Runs `f` with the thread's stream; `None` when the request was not upgraded.
pub fn with_stream<T>(f: impl FnOnce(&HandleStream) -> T) -> Option<T> {
    CURRENT.with(|c| c.borrow().as_ref().and_then(|c| c.stream.as_ref()).map(f))
}
