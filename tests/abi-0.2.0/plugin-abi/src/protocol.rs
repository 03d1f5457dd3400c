//! Protocol plugins: bytes in, request heads out; response heads in, bytes out. No I/O.
//!
//! The host owns sockets, buffers and the event loop. It hands the protocol the bytes it has
//! read so far ([`ProtocolMod::parse`]); the protocol answers `Partial` (read more),
//! `Complete` (a head, as [`Span`]s into that same buffer — nothing is copied) or `Invalid`
//! (with the status to answer). For the response, the protocol writes the head and the body
//! framing into a host-owned [`RVec`].

use abi_stable::{
    std_types::{RResult, RSlice, RSliceMut, RStr, RVec},
    StableAbi,
};

use crate::request::{Header, NameStyle};

/// A byte range inside the buffer that was passed to [`ProtocolMod::parse`].
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Span {
    /// Offset of the first byte.
    pub start: u32,
    /// Number of bytes.
    pub len: u32,
}

impl Span {
    /// The span covering `part`, which must lie inside `buf`.
    pub fn of(buf: &[u8], part: &[u8]) -> Span {
        let start = part.as_ptr() as usize - buf.as_ptr() as usize;
        debug_assert!(start + part.len() <= buf.len());
        Span {
            start: start as u32,
            len: part.len() as u32,
        }
    }

    /// The bytes this span covers in `buf`.
    pub fn get<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        &buf[self.start as usize..(self.start + self.len) as usize]
    }
}

/// A header or variable as two spans.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeaderSpan {
    /// The name.
    pub name: Span,
    /// The value.
    pub value: Span,
}

/// HTTP version of the request (uwsgi requests report what `SERVER_PROTOCOL` says).
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Version {
    /// HTTP/1.0
    Http10 = 0,
    /// HTTP/1.1
    #[default]
    Http11 = 1,
}

impl Version {
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        }
    }
}

/// How the request body is delimited.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BodyKind {
    /// No body.
    #[default]
    Empty = 0,
    /// Exactly [`BodyFraming::length`] bytes follow the head.
    Length = 1,
    /// Chunked transfer coding: decode with [`ProtocolMod::decode_body`].
    Chunked = 2,
}

/// The body framing of a request.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BodyFraming {
    /// Which framing.
    pub kind: BodyKind,
    /// The length for [`BodyKind::Length`]; 0 otherwise.
    pub length: u64,
}

/// A parsed request head: spans into the parsed buffer plus what the protocol decided.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestHead {
    /// Bytes the head occupies at the start of the buffer; the body (if any) follows.
    pub head_len: u32,
    /// Request method.
    pub method: Span,
    /// Raw request target (`REQUEST_URI`).
    pub uri: Span,
    /// Path part of the target, percent-encoded.
    pub path: Span,
    /// Query string without `?`.
    pub query: Span,
    /// HTTP version.
    pub version: Version,
    /// How many entries of the `headers` array were filled.
    pub header_count: u32,
    /// How many entries of the `vars` array were filled.
    pub var_count: u32,
    /// How header names are spelled.
    pub names: NameStyle,
    /// Body framing.
    pub body: BodyFraming,
    /// The client allows the connection to stay open after this request.
    pub keep_alive: bool,
    /// The client sent `Expect: 100-continue`.
    pub expect_continue: bool,
    /// uwsgi's modifier1 (which app plugin serves it); 0 (WSGI) for HTTP.
    pub modifier1: u8,
    /// uwsgi's modifier2; 0 for HTTP.
    pub modifier2: u8,
}

/// A request the protocol refuses, and how to answer it.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProtocolError {
    /// Status to answer with (400, 413, 431, 501...), or 0 to close without answering.
    pub status: u16,
    /// What was wrong, for the log line.
    pub reason: RStr<'static>,
}

impl ProtocolError {
    /// An error answered with `status`.
    pub const fn new(status: u16, reason: &'static str) -> Self {
        ProtocolError {
            status,
            reason: RStr::from_str(reason),
        }
    }
}

/// Outcome of [`ProtocolMod::parse`].
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseStatus {
    /// A whole head was parsed; see [`ParseOutcome::head`].
    Complete = 0,
    /// The head is not complete yet; read more and call again with the longer buffer.
    Partial = 1,
    /// The input is not a valid request; see [`ParseOutcome::error`].
    Invalid = 2,
}

/// What [`ProtocolMod::parse`] returns.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseOutcome {
    /// Complete, partial or invalid.
    pub status: ParseStatus,
    /// The head (meaningful when `status` is `Complete`).
    pub head: RequestHead,
    /// The error (meaningful when `status` is `Invalid`).
    pub error: ProtocolError,
}

impl ParseOutcome {
    /// A complete head.
    pub fn complete(head: RequestHead) -> Self {
        ParseOutcome {
            status: ParseStatus::Complete,
            head,
            error: ProtocolError::new(0, ""),
        }
    }
    /// Need more bytes.
    pub fn partial() -> Self {
        ParseOutcome {
            status: ParseStatus::Partial,
            head: RequestHead::default(),
            error: ProtocolError::new(0, ""),
        }
    }
    /// Invalid input.
    pub fn invalid(error: ProtocolError) -> Self {
        ParseOutcome {
            status: ParseStatus::Invalid,
            head: RequestHead::default(),
            error,
        }
    }
}

/// Opaque state of a body decoder (chunked coding), owned by the host, interpreted only by
/// the protocol. Start from [`DecoderState::default`] for each request.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecoderState {
    /// Protocol-defined words.
    pub words: [u64; 4],
}

/// Outcome of one [`ProtocolMod::decode_body`] step.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOutcome {
    /// Input bytes consumed.
    pub consumed: usize,
    /// Body bytes written to `out`.
    pub produced: usize,
    /// The body (and its trailers) ended; bytes after `consumed` belong to the next request.
    pub done: bool,
    /// Set when the input is malformed (the connection must be closed).
    pub error: ProtocolError,
}

/// What the host knows about the request when it asks for a response head.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy)]
pub struct ResponseContext<'a> {
    /// Version of the request.
    pub version: Version,
    /// The client and the host both allow keeping the connection open.
    pub keep_alive: bool,
    /// The request was `HEAD` (no body is sent, whatever the app writes).
    pub head_request: bool,
    /// Value for the `Date` header (the host caches it once a second).
    pub date: RStr<'a>,
    /// Value for the `Server` header.
    pub server: RStr<'a>,
}

/// How the response body is framed on the wire.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseBody {
    /// No body at all (HEAD, 1xx, 204, 304): body bytes from the app are discarded.
    None = 0,
    /// Exactly `length` bytes, as declared by the app's Content-Length.
    Length = 1,
    /// Chunked coding (HTTP/1.1 without a Content-Length).
    Chunked = 2,
    /// Delimited by closing the connection (HTTP/1.0, or the uwsgi protocol).
    Close = 3,
}

/// The framing the protocol chose for a response.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseFraming {
    /// How the body is delimited.
    pub body: ResponseBody,
    /// The declared length for [`ResponseBody::Length`].
    pub length: u64,
    /// The connection stays open after this response.
    pub keep_alive: bool,
}

/// The entry points of a protocol plugin. Within the series, entries are only appended
/// (see the crate docs, "Growth"); the host reads appended ones as optional.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = ProtocolModRef)))]
#[sabi(missing_field(option))]
pub struct ProtocolMod {
    /// Parses a request head from the start of `buf`, filling `headers` and `vars` (their
    /// lengths are the host's limits: running out is an error, 431 for HTTP).
    pub parse: extern "C" fn(
        buf: RSlice<'_, u8>,
        headers: RSliceMut<'_, HeaderSpan>,
        vars: RSliceMut<'_, HeaderSpan>,
    ) -> ParseOutcome,

    /// Decodes a chunked body: reads from `input`, writes body bytes to `out`.
    pub decode_body: extern "C" fn(
        state: &mut DecoderState,
        input: RSlice<'_, u8>,
        out: RSliceMut<'_, u8>,
    ) -> DecodeOutcome,

    /// Writes the response head for `status` and `headers` into `out` and chooses the body
    /// framing. Refuses (with an error) header names or values it cannot encode safely.
    ///
    /// Every function that writes into an `out: &mut RVec<u8>` appends to it. Append with
    /// `RVec::extend_from_copy_slice` (one copy), not `extend_from_slice`, which pushes one
    /// byte at a time.
    pub encode_head: extern "C" fn(
        ctx: &ResponseContext<'_>,
        status: u16,
        reason: RStr<'_>,
        headers: RSlice<'_, Header<'_>>,
        out: &mut RVec<u8>,
    ) -> RResult<ResponseFraming, ProtocolError>,

    /// Writes what goes before `len` body bytes (a chunk-size line) into `out`.
    pub body_prefix: extern "C" fn(framing: &ResponseFraming, len: u64, out: &mut RVec<u8>),

    /// Writes what goes after a body chunk (CRLF for chunked) into `out`.
    pub body_suffix: extern "C" fn(framing: &ResponseFraming, out: &mut RVec<u8>),

    /// Writes the end of the body (the last chunk) into `out`.
    pub body_end: extern "C" fn(framing: &ResponseFraming, out: &mut RVec<u8>),

    /// Writes a complete error response for `status` into `out` (a request the host or the
    /// protocol refused). Returns false when the protocol has no way to answer (just close).
    pub encode_error: extern "C" fn(version: Version, status: u16, out: &mut RVec<u8>) -> bool,

    /// Writes an interim `100 Continue` into `out` (false when the protocol has none).
    #[sabi(last_prefix_field)]
    pub encode_continue: extern "C" fn(version: Version, out: &mut RVec<u8>) -> bool,
}
