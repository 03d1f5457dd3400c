//! The chunked transfer coding (RFC 9112 §7.1), decoded as a state machine.
//!
//! [`Decoder::step`] moves through [`ChunkedState`] one framing byte (or one run of
//! chunk data) at a time, so input can be split anywhere. The state fits in the four words
//! of the host-owned [`DecoderState`], which is how it survives between calls.
//!
//! Strictness, because a lenient decoder is a smuggling vector:
//! * chunk sizes are hex digits that must fit in 64 bits; whitespace after the size is
//!   accepted only before a `;` extension (`BWS` in the grammar);
//! * every line ends in CRLF (a bare LF is an error), chunk data is followed by CRLF;
//! * extensions are skipped, bounded to [`MAX_EXTENSIONS`] bytes per body, and may not
//!   hold control characters;
//! * trailer fields are read and discarded, bounded to [`MAX_TRAILERS`] bytes, and may not
//!   hold control characters either.

use rsgi_plugin_api::protocol::{DecodeOutcome, DecoderState, ProtocolError};

use crate::error::HttpError;

/// Most bytes of chunk extensions (with the whitespace before them) in one body.
pub const MAX_EXTENSIONS: u64 = 16 * 1024;
/// Most bytes of trailer fields (with their line endings) in one body.
pub const MAX_TRAILERS: u64 = 16 * 1024;

/// Where the decoder is in the chunked grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ChunkedState {
    /// Expecting the first hex digit of a chunk size.
    Start = 0,
    /// Reading hex digits of a chunk size.
    Size = 1,
    /// Whitespace after the size; only `;` may follow.
    SizeLws = 2,
    /// Skipping a chunk extension up to CR.
    Extension = 3,
    /// Expecting LF after the chunk-size line.
    SizeLf = 4,
    /// Copying chunk data.
    Body = 5,
    /// Expecting CR after chunk data.
    BodyCr = 6,
    /// Expecting LF after chunk data.
    BodyLf = 7,
    /// Skipping a trailer field up to CR.
    Trailer = 8,
    /// Expecting LF after a trailer field.
    TrailerLf = 9,
    /// After the last chunk or a trailer: CR ends the body, anything else starts a trailer.
    EndCr = 10,
    /// Expecting the final LF.
    EndLf = 11,
    /// The body is complete.
    End = 12,
}

impl ChunkedState {
    fn from_word(w: u64) -> Option<ChunkedState> {
        use ChunkedState::*;
        const ALL: [ChunkedState; 13] = [
            Start, Size, SizeLws, Extension, SizeLf, Body, BodyCr, BodyLf, Trailer, TrailerLf,
            EndCr, EndLf, End,
        ];
        ALL.get(usize::try_from(w).ok()?).copied()
    }
}

/// A chunked-body decoder: the state plus the counters it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoder {
    state: ChunkedState,
    /// The chunk size being read, then the data bytes left in the current chunk.
    size: u64,
    /// Extension bytes seen so far in this body.
    extensions: u64,
    /// Trailer bytes seen so far.
    trailers: u64,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder {
            state: ChunkedState::Start,
            size: 0,
            extensions: 0,
            trailers: 0,
        }
    }
}

impl Decoder {
    /// Restores a decoder from the host-held words (all zeros is a fresh decoder).
    pub fn from_state(state: &DecoderState) -> Result<Decoder, HttpError> {
        let [tag, size, extensions, trailers] = state.words;
        let state = ChunkedState::from_word(tag).ok_or(HttpError::CorruptDecoderState)?;
        Ok(Decoder {
            state,
            size,
            extensions,
            trailers,
        })
    }

    /// Saves the decoder into the host-held words.
    pub fn to_state(self) -> DecoderState {
        DecoderState {
            words: [self.state as u64, self.size, self.extensions, self.trailers],
        }
    }

    /// The current state.
    pub fn state(&self) -> ChunkedState {
        self.state
    }

    /// True once the last chunk and the trailers have been read.
    pub fn is_done(&self) -> bool {
        self.state == ChunkedState::End
    }

    /// Decodes from `input` into `out` until the input is used up, `out` is full, the body
    /// ends, or the input turns out malformed.
    pub fn decode(&mut self, input: &[u8], out: &mut [u8]) -> Progress {
        let mut progress = Progress::default();
        while !self.is_done() && progress.consumed < input.len() {
            match self.step(&input[progress.consumed..], &mut out[progress.produced..]) {
                Ok((0, _)) => break, // chunk data waiting for room in `out`
                Ok((c, p)) => {
                    progress.consumed += c;
                    progress.produced += p;
                }
                Err(e) => {
                    progress.error = Some(e);
                    break;
                }
            }
        }
        progress.done = self.is_done();
        progress
    }

    /// One transition: consumes one framing byte, or a run of chunk data copied into
    /// `out`. Returns `(consumed, produced)`; `(0, 0)` when chunk data is pending and `out`
    /// has no room. `input` must not be empty.
    pub fn step(&mut self, input: &[u8], out: &mut [u8]) -> Result<(usize, usize), HttpError> {
        use ChunkedState::*;
        if self.state == Body {
            return Ok(self.read_data(input, out));
        }
        let b = input[0];
        self.state = match self.state {
            Start => self.read_first_digit(b)?,
            Size => self.read_size(b)?,
            SizeLws => self.read_size_lws(b)?,
            Extension => self.read_extension(b)?,
            SizeLf => self.read_size_lf(b)?,
            BodyCr => expect(b, b'\r', BodyLf)?,
            BodyLf => expect(b, b'\n', Start)?,
            Trailer => self.read_trailer(b)?,
            TrailerLf => expect(b, b'\n', EndCr)?,
            EndCr if b == b'\r' => EndLf,
            EndCr => self.read_trailer(b)?,
            EndLf => expect(b, b'\n', End)?,
            Body | End => return Ok((0, 0)),
        };
        Ok((1, 0))
    }

    fn read_first_digit(&mut self, b: u8) -> Result<ChunkedState, HttpError> {
        self.size = u64::from(hex_value(b).ok_or(HttpError::BadChunkSize)?);
        Ok(ChunkedState::Size)
    }

    fn read_size(&mut self, b: u8) -> Result<ChunkedState, HttpError> {
        if let Some(v) = hex_value(b) {
            self.size = self
                .size
                .checked_mul(16)
                .map(|s| s | u64::from(v))
                .ok_or(HttpError::ChunkSizeOverflow)?;
            return Ok(ChunkedState::Size);
        }
        match b {
            b' ' | b'\t' => self.read_size_lws(b),
            b';' => Ok(ChunkedState::Extension),
            b'\r' => Ok(ChunkedState::SizeLf),
            _ => Err(HttpError::BadChunkSize),
        }
    }

    fn read_size_lws(&mut self, b: u8) -> Result<ChunkedState, HttpError> {
        match b {
            b' ' | b'\t' => {
                self.count_extension()?;
                Ok(ChunkedState::SizeLws)
            }
            b';' => Ok(ChunkedState::Extension),
            _ => Err(HttpError::BadChunkSize),
        }
    }

    fn read_extension(&mut self, b: u8) -> Result<ChunkedState, HttpError> {
        match b {
            b'\r' => Ok(ChunkedState::SizeLf),
            b'\t' | b' '..=b'~' | 0x80..=0xff => {
                self.count_extension()?;
                Ok(ChunkedState::Extension)
            }
            _ => Err(HttpError::BadChunkExtension),
        }
    }

    fn count_extension(&mut self) -> Result<(), HttpError> {
        self.extensions += 1;
        if self.extensions > MAX_EXTENSIONS {
            return Err(HttpError::ChunkExtensionTooLong);
        }
        Ok(())
    }

    fn read_size_lf(&mut self, b: u8) -> Result<ChunkedState, HttpError> {
        expect(b, b'\n', ())?;
        Ok(if self.size == 0 {
            ChunkedState::EndCr
        } else {
            ChunkedState::Body
        })
    }

    fn read_data(&mut self, input: &[u8], out: &mut [u8]) -> (usize, usize) {
        let n = input
            .len()
            .min(out.len())
            .min(usize::try_from(self.size).unwrap_or(usize::MAX));
        out[..n].copy_from_slice(&input[..n]);
        self.size -= n as u64;
        if self.size == 0 {
            self.state = ChunkedState::BodyCr;
        }
        (n, n)
    }

    fn read_trailer(&mut self, b: u8) -> Result<ChunkedState, HttpError> {
        self.trailers += 1;
        if self.trailers > MAX_TRAILERS {
            return Err(HttpError::TrailersTooLarge);
        }
        match b {
            b'\r' => Ok(ChunkedState::TrailerLf),
            b'\t' | b' '..=b'~' | 0x80..=0xff => Ok(ChunkedState::Trailer),
            _ => Err(HttpError::BadTrailer),
        }
    }
}

fn expect<T>(b: u8, want: u8, next: T) -> Result<T, HttpError> {
    if b == want {
        Ok(next)
    } else {
        Err(HttpError::MissingChunkCrlf)
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// What one [`Decoder::decode`] call did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Input bytes consumed.
    pub consumed: usize,
    /// Body bytes written.
    pub produced: usize,
    /// The body (and its trailers) ended at `consumed`.
    pub done: bool,
    /// Why decoding stopped early, if the input is malformed.
    pub error: Option<HttpError>,
}

/// The `decode_body` entry point: restores the decoder from `state`, decodes, saves it.
pub fn decode_body(state: &mut DecoderState, input: &[u8], out: &mut [u8]) -> DecodeOutcome {
    let progress = match Decoder::from_state(state) {
        Ok(mut decoder) => {
            let progress = decoder.decode(input, out);
            *state = decoder.to_state();
            progress
        }
        Err(e) => Progress {
            error: Some(e),
            ..Progress::default()
        },
    };
    DecodeOutcome {
        consumed: progress.consumed,
        produced: progress.produced,
        done: progress.done,
        error: progress
            .error
            .map_or(ProtocolError::new(0, ""), ProtocolError::from),
    }
}

#[cfg(test)]
mod tests;
