//! What a client does: mask its frames. And reading what the server wrote.

use crate::frame::{apply_mask, parse_header, write_header, OpCode};

pub const OP_CONTINUATION: u8 = 0x0;
pub const OP_TEXT: u8 = 0x1;
pub const OP_BINARY: u8 = 0x2;
pub const OP_CLOSE: u8 = 0x8;
pub const OP_PING: u8 = 0x9;
pub const OP_PONG: u8 = 0xa;

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A masked client frame; `first_byte` holds FIN, RSV and the opcode as given.
pub fn raw_frame(first_byte: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![first_byte];
    let len = payload.len() as u64;
    if len < 126 {
        out.push(0x80 | len as u8);
    } else if len <= 0xffff {
        out.push(0x80 | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&len.to_be_bytes());
    }
    out.extend_from_slice(&KEY);
    let start = out.len();
    out.extend_from_slice(payload);
    apply_mask(&mut out[start..], KEY, 0);
    out
}

/// A masked client frame.
pub fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    raw_frame((u8::from(fin) << 7) | opcode, payload)
}

/// A masked client frame with RSV1 (compressed).
pub fn frame_rsv1(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    raw_frame((u8::from(fin) << 7) | 0x40 | opcode, payload)
}

/// The server's frames, checked to be unmasked: (opcode, RSV1, payload).
pub fn server_frames(mut wire: &[u8]) -> Vec<(u8, bool, Vec<u8>)> {
    let mut frames = Vec::new();
    while !wire.is_empty() {
        let (h, n) = parse_header(wire).unwrap().expect("a whole frame");
        assert!(h.mask.is_none(), "server frames are not masked");
        assert!(h.fin, "the server sends whole messages");
        let end = n + h.payload_len as usize;
        frames.push((h.opcode.bits(), h.rsv1, wire[n..end].to_vec()));
        wire = &wire[end..];
    }
    frames
}

/// The server's frames as a client would send them: the same frames, masked.
pub fn remask(wire: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (opcode, rsv1, payload) in server_frames(wire) {
        let opcode = OpCode::from_bits(opcode).unwrap();
        write_header(
            true,
            rsv1,
            opcode,
            payload.len() as u64,
            Some(KEY),
            &mut out,
        );
        let start = out.len();
        out.extend_from_slice(&payload);
        apply_mask(&mut out[start..], KEY, 0);
    }
    out
}
