//! permessage-deflate (RFC 7692 §7): a message is compressed as raw DEFLATE ending in a
//! sync flush, whose trailing `00 00 ff ff` is stripped on the wire (§7.2.1) and put back
//! before inflating (§7.2.2).
//!
//! flate2 with its zlib-rs backend does the compression. Its compressor takes a window of
//! 9 to 15 bits, so `server_max_window_bits=8` cannot be honoured (zlib itself turns 8 into
//! 9); the negotiation declines such an offer. The inflater always uses a 15-bit window,
//! which reads a stream made with any smaller one.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use crate::error::ProtocolError;

/// The end of a sync flush, stripped from every compressed message.
pub const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Output is grown by this much at a time while inflating or deflating.
const STEP: usize = 16 * 1024;

/// The permessage-deflate parameters agreed in the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflateParams {
    /// The server starts every message with an empty window (so it may drop its
    /// compressor's state between messages).
    pub server_no_context_takeover: bool,
    /// The client starts every message with an empty window (so the server resets its
    /// inflater after each message).
    pub client_no_context_takeover: bool,
    /// The window the server compresses with, 9 to 15 bits.
    pub server_max_window_bits: u8,
    /// The window the client was told to stay within (15 unless the response lowered
    /// it).
    pub client_max_window_bits: u8,
    /// The compression level, 0 (store) to 9 (smallest).
    pub level: u32,
}

impl Default for DeflateParams {
    fn default() -> Self {
        DeflateParams {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
            level: 6,
        }
    }
}

/// Inflates the client's compressed messages.
pub struct Inflater {
    inner: Decompress,
    /// Reset after each message: the client promised not to reuse its window.
    no_context_takeover: bool,
    /// The stream held a final block (BFINAL): the rest of the message is ignored and
    /// the next message starts a new stream.
    ended: bool,
}

impl Inflater {
    /// An inflater for what the client sends under `params`.
    pub fn new(params: &DeflateParams) -> Inflater {
        Inflater {
            inner: Decompress::new(false),
            no_context_takeover: params.client_no_context_takeover,
            ended: false,
        }
    }

    /// Inflates the next compressed bytes of a message onto `out`, failing with
    /// [`ProtocolError::MessageTooBig`] as soon as `out` would pass `limit` bytes (a
    /// decompression bomb stops there; `out` is cut back to `limit`), or with
    /// [`ProtocolError::BadCompression`]. On either error `out` keeps what was inflated
    /// before it, so a caller checking the output (UTF-8) reports whichever problem comes
    /// first in the message, the same however the input was split.
    pub fn inflate(
        &mut self,
        mut input: &[u8],
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), ProtocolError> {
        loop {
            if self.ended {
                return Ok(());
            }
            // Room for up to one byte past the limit, which is how "too big" is seen.
            let room = (limit + 1).saturating_sub(out.len()).min(STEP);
            if room == 0 {
                return Err(ProtocolError::MessageTooBig);
            }
            out.reserve(room);
            let spare = out.capacity() - out.len();
            let before_in = self.inner.total_in();
            let before_len = out.len();
            let result = self.inner.decompress_vec(input, out, FlushDecompress::Sync);
            let used = (self.inner.total_in() - before_in) as usize;
            input = &input[used..];
            let produced = out.len() - before_len;
            // Too big before corrupt: what comes first in the stream is reported, however
            // much of it one call got through.
            if out.len() > limit {
                out.truncate(limit);
                return Err(ProtocolError::MessageTooBig);
            }
            let status = result.map_err(|_| ProtocolError::BadCompression)?;
            if status == Status::StreamEnd {
                self.ended = true;
                return Ok(());
            }
            // Done when the input is used up and the output did not fill the room (so
            // nothing is left pending inside the inflater).
            if input.is_empty() && produced < spare {
                return Ok(());
            }
            if used == 0 && produced == 0 {
                // No progress with input left and room to spare: the stream is stuck.
                return Err(ProtocolError::BadCompression);
            }
        }
    }

    /// Ends a message: inflates the stripped tail, then resets if the window is not kept.
    pub fn finish_message(&mut self, out: &mut Vec<u8>, limit: usize) -> Result<(), ProtocolError> {
        self.inflate(&TAIL, out, limit)?;
        if self.no_context_takeover || self.ended {
            self.inner.reset(false);
            self.ended = false;
        }
        Ok(())
    }
}

/// Compresses the server's messages.
pub struct Deflater {
    inner: Compress,
    /// Reset after each message: the server promised not to reuse its window.
    no_context_takeover: bool,
}

impl Deflater {
    /// A compressor for what the server sends under `params`.
    pub fn new(params: &DeflateParams) -> Deflater {
        let bits = params.server_max_window_bits.clamp(9, 15);
        Deflater {
            inner: Compress::new_with_window_bits(
                Compression::new(params.level.min(9)),
                false,
                bits,
            ),
            no_context_takeover: params.server_no_context_takeover,
        }
    }

    /// Compresses one whole message onto `out`, without the sync flush's tail.
    pub fn compress_message(&mut self, mut input: &[u8], out: &mut Vec<u8>) {
        if input.is_empty() {
            // zlib writes nothing for a flush with nothing new to flush; an empty
            // message is the empty stored block, 0x00 once the tail is stripped (RFC 7692
            // §7.2.3.6). It leaves the window as it was.
            out.push(0x00);
            return;
        }
        let start = out.len();
        loop {
            out.reserve(STEP.min(input.len() / 2 + 64));
            let spare = out.capacity() - out.len();
            let before_in = self.inner.total_in();
            let before_len = out.len();
            self.inner
                .compress_vec(input, out, FlushCompress::Sync)
                .expect("deflate of in-memory data with a sync flush cannot fail");
            input = &input[(self.inner.total_in() - before_in) as usize..];
            // A sync flush is complete when all input is taken and the output had room
            // to spare (zlib's own rule for "flush done").
            if input.is_empty() && out.len() - before_len < spare {
                break;
            }
        }
        debug_assert!(out[start..].ends_with(&TAIL));
        if out[start..].ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        }
        if self.no_context_takeover {
            self.inner.reset();
        }
    }
}

impl std::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inflater")
            .field("no_context_takeover", &self.no_context_takeover)
            .field("total_in", &self.inner.total_in())
            .finish()
    }
}

impl std::fmt::Debug for Deflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deflater")
            .field("no_context_takeover", &self.no_context_takeover)
            .field("total_in", &self.inner.total_in())
            .finish()
    }
}

#[cfg(test)]
mod tests;
