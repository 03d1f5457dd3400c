//! The request as an app plugin sees it: a borrowed, protocol-neutral view.

use std::ffi::c_void;

use abi_stable::{
    std_types::{RResult, RSlice, RSliceMut, RStr},
    StableAbi,
};

/// How the names in [`Request::headers`] are spelled.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NameStyle {
    /// As sent on the wire by an HTTP client: `Content-Type`, `x-forwarded-for`.
    #[default]
    Http = 0,
    /// Already CGI-style, as the uwsgi protocol carries them: `HTTP_X_FORWARDED_FOR`.
    Cgi = 1,
}

/// One name/value pair, borrowed from the host's read buffer.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy)]
pub struct Header<'a> {
    /// The name, as raw bytes.
    pub name: RSlice<'a, u8>,
    /// The value, as raw bytes (may be non-UTF-8; treat as latin-1).
    pub value: RSlice<'a, u8>,
}

impl<'a> Header<'a> {
    /// A header of `name` and `value`.
    pub const fn new(name: &'a [u8], value: &'a [u8]) -> Header<'a> {
        Header {
            name: RSlice::from_slice(name),
            value: RSlice::from_slice(value),
        }
    }
}

/// A request, borrowed from the host's buffers for the duration of one
/// [`crate::app::AppMod::handle`] call. Nothing here is copied from the wire.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `GET`, `POST`, ...
    pub method: RSlice<'a, u8>,
    /// The raw request target (`/a%20b?x=1`), i.e. CGI `REQUEST_URI`.
    pub uri: RSlice<'a, u8>,
    /// The path part of the target, still percent-encoded.
    pub path: RSlice<'a, u8>,
    /// The query string without the `?` (empty when absent).
    pub query: RSlice<'a, u8>,
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub protocol: RStr<'a>,
    /// `http` or `https`.
    pub scheme: RStr<'a>,
    /// Request headers (HTTP) or `HTTP_*` variables (uwsgi); see [`Request::names`].
    pub headers: RSlice<'a, Header<'a>>,
    /// How header names are spelled.
    pub names: NameStyle,
    /// Extra CGI variables that override what an app runtime derives itself
    /// (uwsgi's `SCRIPT_NAME`, `PATH_INFO`, `REMOTE_ADDR`, `HTTPS`...). Empty for HTTP.
    pub vars: RSlice<'a, Header<'a>>,
    /// Peer address (`127.0.0.1`, `::1`, or empty for a Unix socket).
    pub remote_addr: RStr<'a>,
    /// Peer port (0 for a Unix socket).
    pub remote_port: u16,
    /// The address this request came in on.
    pub server_name: RStr<'a>,
    /// The port this request came in on (0 for a Unix socket).
    pub server_port: u16,
    /// Body length when known up front; `None` for a chunked body.
    pub content_length: abi_stable::std_types::ROption<u64>,
    /// Which worker (1-based) serves this request.
    pub worker_id: u32,
}

/// Reads the request body, blocking the calling thread until data arrives.
///
/// Implemented by the host; the plugin only calls it. The host decodes the framing
/// (Content-Length or chunked) and answers `100 Continue` on the first read when asked.
#[repr(C)]
#[derive(StableAbi)]
pub struct BodyReader<'a> {
    /// Opaque host state.
    pub ctx: *mut c_void,
    /// Fills `buf` with up to `buf.len()` body bytes; `Ok(0)` means end of body.
    /// An error means the client went away or sent a malformed body.
    pub read:
        extern "C" fn(ctx: *mut c_void, buf: RSliceMut<'_, u8>) -> RResult<usize, RStr<'static>>,
    /// Ties the reader to the request it belongs to.
    pub _marker: std::marker::PhantomData<&'a mut ()>,
}

impl BodyReader<'_> {
    /// Reads up to `buf.len()` bytes of body; `Ok(0)` is the end.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize, &'static str> {
        (self.read)(self.ctx, RSliceMut::from(buf))
            .into_result()
            .map_err(|e| e.as_str())
    }
}
