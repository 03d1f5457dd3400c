//! The host's side of a response: a responder that records every call.

use std::ffi::c_void;

use abi_stable::std_types::{RErr, ROk, RSlice, RStr};

use crate::request::Header;
use crate::response::{Responder, SendError, SendResult};

/// One thing the plugin asked the responder to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// `start(status, reason, headers)`, names and values as latin-1 text.
    Start(u16, String, Vec<(String, String)>),
    /// `write(bytes)`.
    Write(Vec<u8>),
    /// `flush()`.
    Flush,
    /// `sendfile(fd, offset, len)`, with the bytes it would send.
    Sendfile(u64, u64, Vec<u8>),
}

/// Records what a plugin sends; [`FakeResponse::responder`] lends it out as a
/// [`Responder`].
#[derive(Debug, Default)]
pub struct FakeResponse {
    /// The calls, in order.
    pub sent: Vec<Sent>,
    /// When set, every call is answered with this error (a client that went away).
    pub fail: Option<SendError>,
}

impl FakeResponse {
    /// A [`Responder`] recording into this.
    pub fn responder(&mut self) -> Responder<'_> {
        Responder {
            ctx: (self as *mut FakeResponse).cast(),
            start: fake_start,
            write: fake_write,
            flush: fake_flush,
            sendfile: fake_sendfile,
            _marker: std::marker::PhantomData,
        }
    }

    /// The status and headers, if the response was started.
    pub fn head(&self) -> Option<(u16, Vec<(String, String)>)> {
        self.sent.iter().find_map(|s| match s {
            Sent::Start(status, _, headers) => Some((*status, headers.clone())),
            _ => None,
        })
    }

    /// The value of the first header named `name` (any case).
    pub fn header(&self, name: &str) -> Option<String> {
        let (_, headers) = self.head()?;
        headers
            .into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Every body byte written or sent from a file, in order.
    pub fn body(&self) -> Vec<u8> {
        let mut body = Vec::new();
        for s in &self.sent {
            if let Sent::Write(data) | Sent::Sendfile(_, _, data) = s {
                body.extend_from_slice(data);
            }
        }
        body
    }

    fn record(ctx: *mut c_void, sent: Sent) -> SendResult {
        // SAFETY: `ctx` is the `FakeResponse` that made this responder, which borrows it
        // mutably.
        let this = unsafe { &mut *ctx.cast::<FakeResponse>() };
        if let Some(err) = this.fail {
            return RErr(err);
        }
        this.sent.push(sent);
        ROk(())
    }
}

fn text(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

extern "C" fn fake_start(
    ctx: *mut c_void,
    status: u16,
    reason: RStr<'_>,
    headers: RSlice<'_, Header<'_>>,
) -> SendResult {
    let headers = headers
        .iter()
        .map(|h| (text(h.name.as_slice()), text(h.value.as_slice())))
        .collect();
    FakeResponse::record(
        ctx,
        Sent::Start(status, reason.as_str().to_owned(), headers),
    )
}

extern "C" fn fake_write(ctx: *mut c_void, data: RSlice<'_, u8>) -> SendResult {
    FakeResponse::record(ctx, Sent::Write(data.to_vec()))
}

extern "C" fn fake_flush(ctx: *mut c_void) -> SendResult {
    FakeResponse::record(ctx, Sent::Flush)
}

extern "C" fn fake_sendfile(ctx: *mut c_void, fd: i32, offset: u64, len: u64) -> SendResult {
    let mut data = vec![0u8; len as usize];
    // SAFETY: reads into a buffer of exactly `len` bytes from a descriptor the plugin owns.
    let n = unsafe {
        libc::pread(
            fd,
            data.as_mut_ptr().cast(),
            data.len(),
            offset as libc::off_t,
        )
    };
    data.truncate(n.max(0) as usize);
    FakeResponse::record(ctx, Sent::Sendfile(offset, len, data))
}
