//! The host side of a response: what the app's `Responder` calls do for one request.
//!
//! The head and small body writes are gathered in the connection's write buffer and sent
//! in one `send` when the request ends; big writes, `flush` and `sendfile` go out at once.

use std::ffi::c_void;
use std::os::fd::RawFd;
use std::time::Duration;

use abi_stable::std_types::{RErr, ROk, RSlice, RStr, RVec};
use rsgi_plugin_api::protocol::{ResponseBody, ResponseContext, ResponseFraming, Version};
use rsgi_plugin_api::{Header, ProtocolModRef, Responder, SendError, SendResult};

use super::blocking;

/// Queued bytes past this are sent before more are queued.
const FLUSH_AT: usize = 64 * 1024;
/// Writes at least this big skip the write buffer and go straight to the socket.
const DIRECT_AT: usize = 32 * 1024;

/// One response in progress.
pub struct Reply<'a> {
    fd: RawFd,
    proto: ProtocolModRef,
    out: &'a mut RVec<u8>,
    version: Version,
    keep_alive: bool,
    head_request: bool,
    date: &'a str,
    timeout: Duration,
    framing: Option<ResponseFraming>,
    body_sent: u64,
    status: u16,
    broken: bool,
    /// Something of this response already went out on the wire.
    on_wire: bool,
    /// Headers added to every response (`--add-header`).
    added: &'a [(Vec<u8>, Vec<u8>)],
}

impl<'a> Reply<'a> {
    /// A response to a request of `version`, queued into `out`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        fd: RawFd,
        proto: ProtocolModRef,
        out: &'a mut RVec<u8>,
        version: Version,
        keep_alive: bool,
        head_request: bool,
        date: &'a str,
        timeout: Duration,
        added: &'a [(Vec<u8>, Vec<u8>)],
    ) -> Self {
        Reply {
            fd,
            proto,
            out,
            version,
            keep_alive,
            head_request,
            date,
            timeout,
            framing: None,
            body_sent: 0,
            status: 0,
            broken: false,
            on_wire: false,
            added,
        }
    }

    /// The `Responder` handed to the app plugin; valid while `self` is.
    pub fn responder(&mut self) -> Responder<'_> {
        Responder {
            ctx: (self as *mut Reply<'a>).cast::<c_void>(),
            start: reply_start,
            write: reply_write,
            flush: reply_flush,
            sendfile: reply_sendfile,
            _marker: std::marker::PhantomData,
        }
    }

    /// Body bytes the app produced.
    pub fn body_sent(&self) -> u64 {
        self.body_sent
    }

    /// The status sent or queued (0 before the head).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// True once the head was accepted.
    pub fn started(&self) -> bool {
        self.framing.is_some()
    }

    fn start(
        &mut self,
        status: u16,
        reason: &str,
        headers: &[Header<'_>],
    ) -> Result<(), SendError> {
        if self.framing.is_some() {
            return Err(SendError::Misuse);
        }
        let ctx = ResponseContext {
            version: self.version,
            keep_alive: self.keep_alive,
            head_request: self.head_request,
            date: RStr::from_str(self.date),
            server: RStr::from_str("rsgi"),
        };
        let with_added: Vec<Header<'_>>;
        let headers = if self.added.is_empty() {
            headers
        } else {
            with_added = headers
                .iter()
                .cloned()
                .chain(self.added.iter().map(|(name, value)| Header {
                    name: RSlice::from_slice(name),
                    value: RSlice::from_slice(value),
                }))
                .collect();
            &with_added
        };
        let mark = self.out.len();
        match (self.proto.encode_head())(
            &ctx,
            status,
            RStr::from_str(reason),
            RSlice::from_slice(headers),
            self.out,
        )
        .into_result()
        {
            Ok(framing) => {
                self.framing = Some(framing);
                self.status = status;
                Ok(())
            }
            Err(e) => {
                self.out.truncate(mark);
                tracing::error!("invalid response head from the app: {}", e.reason);
                Err(SendError::InvalidHead)
            }
        }
    }

    fn write(&mut self, data: &[u8]) -> Result<(), SendError> {
        let framing = self.framing.ok_or(SendError::Misuse)?;
        if self.broken {
            return Err(SendError::Disconnected);
        }
        if data.is_empty() {
            return Ok(());
        }
        if framing.body == ResponseBody::Length
            && self.body_sent + data.len() as u64 > framing.length
        {
            return Err(SendError::TooLong);
        }
        self.body_sent += data.len() as u64;
        if framing.body == ResponseBody::None {
            return Ok(());
        }
        (self.proto.body_prefix())(&framing, data.len() as u64, self.out);
        if data.len() >= DIRECT_AT {
            self.send_queued()?;
            self.send(data)?;
        } else {
            self.out.extend_from_copy_slice(data);
        }
        (self.proto.body_suffix())(&framing, self.out);
        if self.out.len() >= FLUSH_AT {
            self.send_queued()?;
        }
        Ok(())
    }

    fn sendfile(&mut self, fd: i32, offset: u64, len: u64) -> Result<(), SendError> {
        let framing = self.framing.ok_or(SendError::Misuse)?;
        if framing.body == ResponseBody::Length && self.body_sent + len > framing.length {
            return Err(SendError::TooLong);
        }
        self.body_sent += len;
        if framing.body == ResponseBody::None || len == 0 {
            return Ok(());
        }
        (self.proto.body_prefix())(&framing, len, self.out);
        self.send_queued()?;
        let sent = blocking::sendfile_blocking(self.fd, fd, offset, len, self.timeout)
            .map_err(|_| self.disconnect())?;
        if sent < len {
            // The file is shorter than promised: the framing is now wrong; give up the connection.
            self.broken = true;
            return Err(SendError::Disconnected);
        }
        (self.proto.body_suffix())(&framing, self.out);
        Ok(())
    }

    fn disconnect(&mut self) -> SendError {
        self.broken = true;
        SendError::Disconnected
    }

    fn send(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.on_wire = true;
        blocking::write_all_blocking(self.fd, data, self.timeout).map_err(|_| self.disconnect())
    }

    /// Sends what is queued, waiting as needed.
    fn send_queued(&mut self) -> Result<(), SendError> {
        if self.broken {
            return Err(SendError::Disconnected);
        }
        if self.out.is_empty() {
            return Ok(());
        }
        self.on_wire = true;
        let result = blocking::write_all_blocking(self.fd, self.out, self.timeout);
        self.out.clear();
        result.map_err(|_| self.disconnect())
    }

    /// Ends a started response: the last chunk, and whether the connection may stay open
    /// (false if the body was shorter than its Content-Length, or the client went away).
    pub fn finish(&mut self) -> bool {
        let Some(framing) = self.framing else {
            return false;
        };
        (self.proto.body_end())(&framing, self.out);
        let complete = framing.body != ResponseBody::Length || self.body_sent == framing.length;
        if !complete {
            tracing::error!(
                "app sent {} body bytes but declared Content-Length {}; closing the connection",
                self.body_sent,
                framing.length
            );
        }
        complete && framing.keep_alive && !self.broken && framing.body != ResponseBody::Close
    }

    /// Replaces anything not yet sent with an error response for `status`. Returns false
    /// when part of a response already went out (the connection can only be closed).
    pub fn fail(&mut self, status: u16, queued_from: usize) -> bool {
        if self.broken || self.on_wire {
            return false;
        }
        self.out.truncate(queued_from);
        self.framing = None;
        self.status = status;
        (self.proto.encode_error())(self.version, status, self.out);
        true
    }
}

/// The socket and the socket timeout behind `responder`, when the host made it (a
/// responder of this module's, not a plugin's own).
pub fn socket_of(responder: &Responder<'_>) -> Option<(RawFd, Duration)> {
    let ours: extern "C" fn(*mut c_void, u16, RStr<'_>, RSlice<'_, Header<'_>>) -> SendResult =
        reply_start;
    if !std::ptr::fn_addr_eq(responder.start, ours) {
        return None;
    }
    // SAFETY: a responder whose `start` is ours was made by `Reply::responder`, whose ctx
    // is the `Reply`, alive while the responder is.
    let reply = unsafe { &*responder.ctx.cast::<Reply<'_>>() };
    Some((reply.fd, reply.timeout))
}

fn with_reply(
    ctx: *mut c_void,
    f: impl FnOnce(&mut Reply<'_>) -> Result<(), SendError>,
) -> SendResult {
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: ctx is the `Reply` that created this responder, alive for the whole call.
        let reply = unsafe { &mut *ctx.cast::<Reply<'_>>() };
        f(reply)
    }));
    match result {
        Ok(Ok(())) => ROk(()),
        Ok(Err(e)) => RErr(e),
        Err(_) => RErr(SendError::Misuse),
    }
}

extern "C" fn reply_start(
    ctx: *mut c_void,
    status: u16,
    reason: RStr<'_>,
    headers: RSlice<'_, Header<'_>>,
) -> SendResult {
    with_reply(ctx, |r| {
        r.start(status, reason.as_str(), headers.as_slice())
    })
}

extern "C" fn reply_write(ctx: *mut c_void, data: RSlice<'_, u8>) -> SendResult {
    with_reply(ctx, |r| r.write(data.as_slice()))
}

extern "C" fn reply_flush(ctx: *mut c_void) -> SendResult {
    with_reply(ctx, |r| r.send_queued())
}

extern "C" fn reply_sendfile(ctx: *mut c_void, fd: i32, offset: u64, len: u64) -> SendResult {
    with_reply(ctx, |r| r.sendfile(fd, offset, len))
}
