//! Writing frames: a server's (unmasked), a client's (masked), close payloads.

use bytes::{BufMut, Bytes, BytesMut};

use super::{apply_mask, is_sendable_close_code, OpCode, MAX_CONTROL_PAYLOAD};
use crate::ws::message::Message;

/// The length of the header of an unmasked frame with `payload_len` bytes of payload: 2, 4
/// or 10.
pub(crate) fn header_len(payload_len: usize) -> usize {
    match payload_len {
        0..=125 => 2,
        126..=0xFFFF => 4,
        _ => 10,
    }
}

/// Writes the header of an unmasked frame (a server's) with the shortest length encoding.
pub(crate) fn encode_header(
    out: &mut BytesMut,
    opcode: OpCode,
    fin: bool,
    rsv1: bool,
    payload_len: usize,
) {
    let first = u8::from(fin) << 7 | u8::from(rsv1) << 6 | opcode as u8;
    match payload_len {
        0..=125 => out.put_slice(&[first, payload_len as u8]),
        126..=0xFFFF => {
            out.put_slice(&[first, 126]);
            out.put_u16(payload_len as u16);
        }
        _ => {
            out.put_slice(&[first, 127]);
            out.put_u64(payload_len as u64);
        }
    }
}

/// A message's opcode and payload, for encoding it.
pub(crate) fn split(message: Message) -> (OpCode, Bytes) {
    match message {
        Message::Text(text) => (OpCode::Text, text.into_bytes()),
        Message::Binary(bytes) => (OpCode::Binary, bytes),
    }
}

/// Writes a masked frame (a client's): header with the mask bit and `mask`, then the payload
/// masked with it.
pub(crate) fn encode_masked_frame(
    out: &mut BytesMut,
    opcode: OpCode,
    fin: bool,
    rsv1: bool,
    payload: &[u8],
    mask: [u8; 4],
) {
    out.reserve(header_len(payload.len()) + 4 + payload.len());
    let start = out.len();
    encode_header(out, opcode, fin, rsv1, payload.len());
    out[start + 1] |= 0x80;
    out.put_slice(&mask);
    let payload_at = out.len();
    out.put_slice(payload);
    apply_mask(&mut out[payload_at..], mask, 0);
}

/// Writes a complete unmasked frame (FIN set, no RSV bits): header, then payload.
pub(crate) fn encode_frame(out: &mut BytesMut, opcode: OpCode, payload: &[u8]) {
    out.reserve(header_len(payload.len()) + payload.len());
    encode_header(out, opcode, true, false, payload.len());
    out.put_slice(payload);
}

/// Writes a close frame with `code` (one that [`is_sendable_close_code`] accepts; checked in
/// debug builds) and `reason`, cut at a character boundary so the payload fits in 125 bytes.
/// A close frame with no code is `encode_frame(out, OpCode::Close, &[])`.
#[cfg(test)]
pub(crate) fn encode_close(out: &mut BytesMut, code: u16, reason: &str) {
    let mut payload = BytesMut::new();
    encode_close_payload(&mut payload, code, reason);
    encode_frame(out, OpCode::Close, &payload);
}

/// Writes a close frame's payload: `code` (one that [`is_sendable_close_code`] accepts;
/// checked in debug builds) and `reason`, cut at a character boundary to fit in 125 bytes.
pub(crate) fn encode_close_payload(out: &mut BytesMut, code: u16, reason: &str) {
    debug_assert!(is_sendable_close_code(code), "close code {code}");
    let reason = truncate_to_char_boundary(reason, MAX_CONTROL_PAYLOAD - 2);
    out.reserve(2 + reason.len());
    out.put_u16(code);
    out.put_slice(reason.as_bytes());
}

/// The longest prefix of `text` that is at most `max` bytes and ends on a character boundary.
fn truncate_to_char_boundary(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    // A character is at most 4 bytes: at most 3 steps back.
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
