//! WebSocket frames as the client side writes and reads them (RFC 6455 §5): masking,
//! one frame out, one frame in.

use crate::MAX_FRAME;

/// XORs `buf` with the mask; `buf[0]` is the first byte of the payload.
pub(crate) fn apply_mask(buf: &mut [u8], mask: [u8; 4]) {
    let m = u64::from_ne_bytes([
        mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3],
    ]);
    let mut chunks = buf.chunks_exact_mut(8);
    for c in &mut chunks {
        let v = u64::from_ne_bytes((&*c).try_into().unwrap()) ^ m;
        c.copy_from_slice(&v.to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= mask[i % 4];
    }
}

/// Appends one masked frame (FIN set) to `out`.
pub(crate) fn push_frame(out: &mut Vec<u8>, opcode: u8, payload: &[u8], mask: [u8; 4]) {
    out.push(0x80 | opcode);
    let len = payload.len();
    if len < 126 {
        out.push(0x80 | len as u8);
    } else if len <= 0xFFFF {
        out.push(0x80 | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(&mask);
    let start = out.len();
    out.extend_from_slice(payload);
    apply_mask(&mut out[start..], mask);
}

pub(crate) struct Frame {
    pub(crate) fin: bool,
    pub(crate) opcode: u8,
    /// Where the payload is in the buffer given to `parse_frame`, and its end.
    pub(crate) payload: std::ops::Range<usize>,
}

/// One frame from the start of `buf`, or None if it is not all there yet.
pub(crate) fn parse_frame(buf: &mut [u8]) -> Result<Option<Frame>, String> {
    if buf.len() < 2 {
        return Ok(None);
    }
    let fin = buf[0] & 0x80 != 0;
    if buf[0] & 0x70 != 0 {
        return Err("a frame with RSV bits set (no extension was negotiated)".into());
    }
    let opcode = buf[0] & 0x0F;
    let masked = buf[1] & 0x80 != 0;
    let (len, mut at) = match buf[1] & 0x7F {
        126 if buf.len() >= 4 => (u16::from_be_bytes([buf[2], buf[3]]) as u64, 4),
        127 if buf.len() >= 10 => (u64::from_be_bytes(buf[2..10].try_into().unwrap()), 10),
        126 | 127 => return Ok(None),
        n => (u64::from(n), 2),
    };
    if len > MAX_FRAME as u64 {
        return Err(format!("a frame of {len} bytes"));
    }
    let mask = if masked {
        if buf.len() < at + 4 {
            return Ok(None);
        }
        let m: [u8; 4] = buf[at..at + 4].try_into().unwrap();
        at += 4;
        Some(m)
    } else {
        None
    };
    let end = at + len as usize;
    if buf.len() < end {
        return Ok(None);
    }
    if let Some(m) = mask {
        apply_mask(&mut buf[at..end], m); // servers must not mask; undo it if one does
    }
    Ok(Some(Frame {
        fin,
        opcode,
        payload: at..end,
    }))
}
