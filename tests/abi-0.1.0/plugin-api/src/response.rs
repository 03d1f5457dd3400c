//! How an app plugin answers: a responder implemented by the host.

use std::ffi::c_void;

use abi_stable::{
    std_types::{RResult, RSlice, RStr},
    StableAbi,
};

use crate::request::Header;

/// Why a responder call failed.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// The client went away; stop producing the response (but still clean up).
    Disconnected = 0,
    /// The call was out of order (write before start, start twice...).
    Misuse = 1,
    /// The protocol refused the head (a header name or value it cannot encode).
    InvalidHead = 2,
    /// More body bytes than the declared Content-Length.
    TooLong = 3,
}

impl SendError {
    /// A short description for logs.
    pub fn describe(self) -> &'static str {
        match self {
            SendError::Disconnected => "client disconnected",
            SendError::Misuse => "responder used out of order",
            SendError::InvalidHead => "invalid response head",
            SendError::TooLong => "body longer than Content-Length",
        }
    }
}

/// Result of one responder call.
pub type SendResult = RResult<(), SendError>;

/// The host side of one response. Call [`Responder::start`] once, then
/// [`Responder::write`] / [`Responder::sendfile`] any number of times; the host finishes
/// the response when `handle` returns.
#[repr(C)]
#[derive(StableAbi)]
pub struct Responder<'a> {
    /// Opaque host state.
    pub ctx: *mut c_void,
    /// Sends the status line and headers. `reason` may be empty (the protocol fills in
    /// the standard phrase). Header names and values are validated by the protocol.
    pub start: extern "C" fn(
        ctx: *mut c_void,
        status: u16,
        reason: RStr<'_>,
        headers: RSlice<'_, Header<'_>>,
    ) -> SendResult,
    /// Queues body bytes (framed by the protocol); large buffers are flushed as needed.
    pub write: extern "C" fn(ctx: *mut c_void, data: RSlice<'_, u8>) -> SendResult,
    /// Sends everything queued so far (call after each chunk of a streamed response).
    pub flush: extern "C" fn(ctx: *mut c_void) -> SendResult,
    /// Sends `len` bytes of the file `fd` from `offset`, zero-copy where possible.
    pub sendfile: extern "C" fn(ctx: *mut c_void, fd: i32, offset: u64, len: u64) -> SendResult,
    /// Ties the responder to its request.
    pub _marker: std::marker::PhantomData<&'a mut ()>,
}

impl Responder<'_> {
    /// Sends the status line and headers.
    pub fn start(
        &mut self,
        status: u16,
        reason: &str,
        headers: &[Header<'_>],
    ) -> Result<(), SendError> {
        (self.start)(
            self.ctx,
            status,
            RStr::from_str(reason),
            RSlice::from_slice(headers),
        )
        .into_result()
    }
    /// Queues body bytes.
    pub fn write(&mut self, data: &[u8]) -> Result<(), SendError> {
        (self.write)(self.ctx, RSlice::from_slice(data)).into_result()
    }
    /// Sends what is queued.
    pub fn flush(&mut self) -> Result<(), SendError> {
        (self.flush)(self.ctx).into_result()
    }
    /// Sends part of a file.
    pub fn sendfile(&mut self, fd: i32, offset: u64, len: u64) -> Result<(), SendError> {
        (self.sendfile)(self.ctx, fd, offset, len).into_result()
    }
}
