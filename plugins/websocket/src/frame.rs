//! The frame header (RFC 6455 §5.2): reading one from bytes, writing one, and masking.
//!
//! ```text
//!  0               1               2               3
//!  F R R R opcode  M payload len   extended payload length (16 or 64 bits)
//!  I S S S (4)     A (7)           ... then the 4-byte masking key if MASK
//!  N V V V         S
//!    1 2 3         K
//! ```
//!
//! Parsing knows nothing of roles or extensions: whether a mask or a reserved bit is
//! allowed is the session's business. Only what makes a header meaningless is an error
//! here: an unknown opcode, a 64-bit length with its top bit set, and control frames that
//! are fragmented or over 125 bytes.

use crate::error::ProtocolError;

/// The longest header: 2 bytes, a 64-bit length, a masking key.
pub const MAX_HEADER: usize = 14;
/// The most payload a control frame may carry.
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// What a frame is (RFC 6455 §5.2, §11.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpCode {
    /// The next fragment of a message.
    Continuation,
    /// The first frame of a text message.
    Text,
    /// The first frame of a binary message.
    Binary,
    /// The close handshake.
    Close,
    /// A ping, to be answered by a pong with the same payload.
    Ping,
    /// A pong.
    Pong,
}

impl OpCode {
    /// The opcode of a 4-bit value, or `None` for a reserved one.
    pub fn from_bits(bits: u8) -> Option<OpCode> {
        Some(match bits {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xa => OpCode::Pong,
            _ => return None,
        })
    }

    /// The 4-bit value on the wire.
    pub fn bits(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xa,
        }
    }

    /// True for close, ping and pong.
    pub fn is_control(self) -> bool {
        self.bits() & 0x8 != 0
    }
}

/// A frame header as read from the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// The last frame of a message.
    pub fin: bool,
    /// RSV1: "compressed" under permessage-deflate.
    pub rsv1: bool,
    /// RSV2, defined by no extension this crate knows.
    pub rsv2: bool,
    /// RSV3, defined by no extension this crate knows.
    pub rsv3: bool,
    /// What the frame is.
    pub opcode: OpCode,
    /// The masking key, present in every client frame.
    pub mask: Option<[u8; 4]>,
    /// How many payload bytes follow the header.
    pub payload_len: u64,
}

/// The header at the start of `buf`: `Ok(None)` while it is incomplete, else the header
/// and its length in bytes. The 16- and 64-bit length forms are accepted even where a
/// shorter one would do (RFC 6455 does not make the minimal form a requirement of the
/// receiver).
pub fn parse_header(buf: &[u8]) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
    let [b0, b1, ..] = *buf else { return Ok(None) };
    let opcode = OpCode::from_bits(b0 & 0x0f).ok_or(ProtocolError::UnknownOpcode(b0 & 0x0f))?;
    let fin = b0 & 0x80 != 0;
    let masked = b1 & 0x80 != 0;
    let (len_bytes, short_len) = match b1 & 0x7f {
        126 => (2, 0),
        127 => (8, 0),
        n => (0, u64::from(n)),
    };
    if opcode.is_control() && !fin {
        return Err(ProtocolError::FragmentedControl);
    }
    let header_len = 2 + len_bytes + if masked { 4 } else { 0 };
    if buf.len() < 2 + len_bytes {
        return Ok(None);
    }
    let payload_len = match len_bytes {
        2 => u64::from(u16::from_be_bytes([buf[2], buf[3]])),
        8 => {
            let mut n = [0; 8];
            n.copy_from_slice(&buf[2..10]);
            let n = u64::from_be_bytes(n);
            if n >> 63 != 0 {
                return Err(ProtocolError::LengthOutOfRange);
            }
            n
        }
        _ => short_len,
    };
    if opcode.is_control() && payload_len > MAX_CONTROL_PAYLOAD as u64 {
        return Err(ProtocolError::ControlTooLong);
    }
    if buf.len() < header_len {
        return Ok(None);
    }
    let mask = masked.then(|| {
        let k = &buf[header_len - 4..header_len];
        [k[0], k[1], k[2], k[3]]
    });
    let header = FrameHeader {
        fin,
        rsv1: b0 & 0x40 != 0,
        rsv2: b0 & 0x20 != 0,
        rsv3: b0 & 0x10 != 0,
        opcode,
        mask,
        payload_len,
    };
    Ok(Some((header, header_len)))
}

/// How long the header starting with these two bytes is (2 to 14).
pub fn header_len(b1: u8) -> usize {
    let len_bytes = match b1 & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    2 + len_bytes + if b1 & 0x80 != 0 { 4 } else { 0 }
}

/// Appends a header in the shortest length form. Servers send `mask: None`; clients (the
/// tests, a future client role) pass their key.
pub fn write_header(
    fin: bool,
    rsv1: bool,
    opcode: OpCode,
    payload_len: u64,
    mask: Option<[u8; 4]>,
    out: &mut Vec<u8>,
) {
    let b0 = (u8::from(fin) << 7) | (u8::from(rsv1) << 6) | opcode.bits();
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    out.push(b0);
    if payload_len < 126 {
        out.push(mask_bit | payload_len as u8);
    } else if let Ok(n) = u16::try_from(payload_len) {
        out.push(mask_bit | 126);
        out.extend_from_slice(&n.to_be_bytes());
    } else {
        out.push(mask_bit | 127);
        out.extend_from_slice(&payload_len.to_be_bytes());
    }
    if let Some(key) = mask {
        out.extend_from_slice(&key);
    }
}

/// XORs `data` with the masking key (RFC 6455 §5.3), `offset` being the position of
/// `data[0]` in the frame's payload, so a payload can be unmasked piece by piece.
pub fn apply_mask(data: &mut [u8], key: [u8; 4], offset: u64) {
    let mut key = key;
    key.rotate_left((offset % 4) as usize);
    let wide = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut chunks = data.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(word) ^ wide).to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= key[i % 4];
    }
}

#[cfg(test)]
mod tests;
