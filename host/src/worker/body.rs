//! The host side of a request body: what `BodyReader::read` does for one request.
//!
//! Bytes that arrived with the head are served first; then the socket is read directly
//! (into the app's own buffer for Content-Length bodies: no extra copy). Chunked bodies go
//! through the protocol's decoder.

use std::ffi::c_void;
use std::os::fd::RawFd;
use std::time::Duration;

use abi_stable::std_types::{RErr, ROk, RResult, RSlice, RSliceMut, RStr, RVec};
use rsgi_plugin_api::protocol::{BodyFraming, BodyKind, DecoderState, Version};
use rsgi_plugin_api::{BodyReader, ProtocolModRef};

use super::blocking;

/// Most body bytes drained after the app returns before the connection is closed instead.
const DRAIN_LIMIT: u64 = 256 * 1024;

/// Why the body could not be read.
pub type BodyError = &'static str;

/// One request's body.
pub struct Body<'a> {
    fd: RawFd,
    proto: ProtocolModRef,
    kind: BodyKind,
    /// Bytes read together with the head (may hold the next pipelined request too).
    buffered: &'a [u8],
    /// How many of `buffered` belong to this body and were consumed.
    used: usize,
    /// Content-Length bytes still to come.
    remaining: u64,
    chunked: DecoderState,
    /// Socket bytes read for the chunked decoder, and how far it got in them.
    raw: Vec<u8>,
    raw_pos: usize,
    done: bool,
    failed: bool,
    /// The answer a failed read calls for when the app has not answered yet (400 for a
    /// malformed chunked body, 413 over `--limit-post`); 0 when the client is not at fault.
    refusal: u16,
    continue_pending: bool,
    version: Version,
    timeout: Duration,
    limit: u64,
    total: u64,
}

impl<'a> Body<'a> {
    /// A body with `framing`, whose first bytes may already be in `buffered`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        fd: RawFd,
        proto: ProtocolModRef,
        framing: BodyFraming,
        buffered: &'a [u8],
        expect_continue: bool,
        version: Version,
        timeout: Duration,
        limit: u64,
    ) -> Self {
        Body {
            fd,
            proto,
            kind: framing.kind,
            buffered,
            used: 0,
            remaining: if framing.kind == BodyKind::Length {
                framing.length
            } else {
                0
            },
            chunked: DecoderState::default(),
            raw: Vec::new(),
            raw_pos: 0,
            done: framing.kind == BodyKind::Empty
                || (framing.kind == BodyKind::Length && framing.length == 0),
            failed: false,
            refusal: 0,
            continue_pending: expect_continue && framing.kind != BodyKind::Empty,
            version,
            timeout,
            limit,
            total: 0,
        }
    }

    /// The `BodyReader` handed to the app plugin; valid while `self` is.
    pub fn reader(&mut self) -> BodyReader<'_> {
        BodyReader {
            ctx: (self as *mut Body<'a>).cast::<c_void>(),
            read: read_body,
            _marker: std::marker::PhantomData,
        }
    }

    /// The status to answer with when the app failed because the body was refused (a
    /// malformed chunked body: 400; over `--limit-post`: 413), rather than the app's 500.
    pub fn refusal(&self) -> Option<u16> {
        (self.refusal != 0).then_some(self.refusal)
    }

    /// Bytes of the head buffer this body consumed.
    pub fn used(&self) -> usize {
        self.used
    }

    /// Socket bytes read past the end of a chunked body (the start of the next request).
    pub fn leftover(&self) -> &[u8] {
        if self.done {
            &self.raw[self.raw_pos..]
        } else {
            &[]
        }
    }

    /// Reads up to `buf.len()` body bytes; 0 at the end.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize, BodyError> {
        if self.failed {
            return Err("request body unavailable after an earlier error");
        }
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        if self.continue_pending {
            self.continue_pending = false;
            let mut out = RVec::new();
            if (self.proto.encode_continue())(self.version, &mut out) {
                blocking::write_all_blocking(self.fd, &out, self.timeout)
                    .map_err(|_| self.fail("client gone before 100 Continue"))?;
            }
        }
        let n = match self.kind {
            BodyKind::Empty => 0,
            BodyKind::Length => self.read_length(buf)?,
            BodyKind::Chunked => self.read_chunked(buf)?,
        };
        self.total += n as u64;
        if self.limit > 0 && self.total > self.limit {
            self.refusal = 413;
            return Err(self.fail("request body larger than --limit-post"));
        }
        Ok(n)
    }

    fn fail(&mut self, why: BodyError) -> BodyError {
        self.failed = true;
        why
    }

    /// The client ended its side before the body did (a chunked body without its last
    /// CRLF or the end of its trailers, fewer bytes than its Content-Length): an
    /// incomplete request, the client's fault, answered 400 if the app has not answered.
    fn cut_short(&mut self, why: BodyError) -> BodyError {
        tracing::warn!("incomplete request body: {why}");
        self.refusal = 400;
        self.fail(why)
    }

    /// The socket failed while the app waited for body bytes: 408 when they stopped
    /// coming for `--socket-timeout`, 400 when the connection broke.
    fn read_failed(&mut self, e: &std::io::Error) -> BodyError {
        if e.kind() == std::io::ErrorKind::TimedOut {
            tracing::warn!(
                "request body stalled for {:?} (--socket-timeout)",
                self.timeout
            );
            self.refusal = 408;
            self.fail("timed out waiting for the request body")
        } else {
            self.refusal = 400;
            self.fail("failed reading the request body")
        }
    }

    fn read_length(&mut self, buf: &mut [u8]) -> Result<usize, BodyError> {
        let want = (buf.len() as u64).min(self.remaining) as usize;
        let available = &self.buffered[self.used..];
        let n = if !available.is_empty() {
            let n = want.min(available.len());
            buf[..n].copy_from_slice(&available[..n]);
            self.used += n;
            n
        } else {
            match blocking::read_blocking(self.fd, &mut buf[..want], self.timeout) {
                Ok(0) => {
                    return Err(
                        self.cut_short("client closed the connection in the middle of the body")
                    )
                }
                Ok(n) => n,
                Err(e) => return Err(self.read_failed(&e)),
            }
        };
        self.remaining -= n as u64;
        if self.remaining == 0 {
            self.done = true;
        }
        Ok(n)
    }

    fn read_chunked(&mut self, buf: &mut [u8]) -> Result<usize, BodyError> {
        loop {
            let from_head = self.used < self.buffered.len();
            let input: &[u8] = if from_head {
                &self.buffered[self.used..]
            } else {
                &self.raw[self.raw_pos..]
            };
            if input.is_empty() {
                self.raw.resize(16 * 1024, 0);
                self.raw_pos = 0;
                match blocking::read_blocking(self.fd, &mut self.raw, self.timeout) {
                    Ok(0) => {
                        return Err(self.cut_short(
                            "client closed the connection in the middle of a chunked body",
                        ))
                    }
                    Ok(n) => self.raw.truncate(n),
                    Err(e) => return Err(self.read_failed(&e)),
                }
                continue;
            }
            let out = (self.proto.decode_body())(
                &mut self.chunked,
                RSlice::from_slice(input),
                RSliceMut::from(&mut *buf),
            );
            if out.error.status != 0 || !out.error.reason.is_empty() {
                tracing::warn!("bad chunked body: {}", out.error.reason);
                self.refusal = match out.error.status {
                    400..=499 => out.error.status,
                    _ => 400,
                };
                return Err(self.fail("malformed chunked request body"));
            }
            if from_head {
                self.used += out.consumed;
            } else {
                self.raw_pos += out.consumed;
            }
            if out.done {
                self.done = true;
                return Ok(out.produced);
            }
            if out.produced > 0 {
                return Ok(out.produced);
            }
            if out.consumed == 0 {
                return Err(self.fail("chunked decoder made no progress"));
            }
        }
    }

    /// Reads and discards what the app left unread, so the next request starts at the
    /// right byte. False when the connection must be closed instead (too much left, the
    /// body was broken, or the client still waits for a `100 Continue` that the app never
    /// asked for: it may send the body or not, so no byte after the head can be trusted to
    /// start the next request; and sending the 100 now would put it before the answer).
    pub fn drain(&mut self) -> bool {
        if self.failed || self.continue_pending {
            return false;
        }
        if self.kind == BodyKind::Length && self.remaining > DRAIN_LIMIT {
            return false;
        }
        if self.done {
            // The usual case (no body, or the app read it all): no scratch to zero.
            return true;
        }
        let mut scratch = [0u8; 8192];
        let mut drained = 0u64;
        while !self.done {
            match self.read(&mut scratch) {
                Ok(0) if !self.done => return false,
                Ok(n) => drained += n as u64,
                Err(_) => return false,
            }
            if drained > DRAIN_LIMIT {
                return false;
            }
        }
        true
    }
}

extern "C" fn read_body(ctx: *mut c_void, buf: RSliceMut<'_, u8>) -> RResult<usize, RStr<'static>> {
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: ctx is the `Body` that created this reader, alive for the whole call.
        let body = unsafe { &mut *ctx.cast::<Body<'_>>() };
        body.read(buf.into_mut_slice())
    }));
    match result {
        Ok(Ok(n)) => ROk(n),
        Ok(Err(why)) => RErr(RStr::from_str(why)),
        Err(_) => RErr(RStr::from_str("internal error reading the body")),
    }
}
