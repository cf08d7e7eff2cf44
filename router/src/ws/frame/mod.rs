//! RFC 6455 framing, server side. [`Decoder`] turns what a client sent into [`Event`]s, checking
//! every rule a server must enforce; the `encode_*` functions write the frames a server sends
//! (never masked).
//!
//! The connection driver owns a [`BytesMut`] read buffer: it appends what the socket gave,
//! then calls [`Decoder::decode`] until it returns `Ok(None)`. On `Err(reason)` it sends a
//! close frame with `reason.code` and fails the connection. A complete single-frame message is
//! unmasked in place and split off the read buffer, so its payload is never copied.
//!
//! This file holds what both directions share (opcodes, close codes and the rules for them,
//! masking) and the decoder; `encode.rs` writes frames; `tests.rs` tests both.

use bytes::{Buf, Bytes, BytesMut};

use crate::ws::message::{Message, Utf8Bytes};
use crate::ws::utf8::Utf8Validator;

mod encode;

#[cfg(test)]
pub(crate) use encode::encode_close;
pub(crate) use encode::{
    encode_close_payload, encode_frame, encode_header, encode_masked_frame, header_len, split,
};

/// Close code: the endpoint received something that breaks the protocol.
pub(crate) const PROTOCOL_ERROR: u16 = 1002;
/// Close code: a text message (or a close reason) is not UTF-8.
pub(crate) const INVALID_PAYLOAD: u16 = 1007;
/// Close code: a message is longer than the endpoint accepts.
pub(crate) const MESSAGE_TOO_BIG: u16 = 1009;

/// The longest payload a control frame may have (RFC 6455 §5.5).
pub(crate) const MAX_CONTROL_PAYLOAD: usize = 125;

/// A frame's opcode (RFC 6455 §5.2); the reserved values have no variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum OpCode {
    /// A later fragment of a fragmented message.
    Continuation = 0x0,
    /// The first (or only) frame of a text message.
    Text = 0x1,
    /// The first (or only) frame of a binary message.
    Binary = 0x2,
    /// A close frame.
    Close = 0x8,
    /// A ping frame.
    Ping = 0x9,
    /// A pong frame.
    Pong = 0xA,
}

impl OpCode {
    /// The opcode for the low 4 bits of a frame's first byte; `None` for a reserved one.
    fn from_bits(bits: u8) -> Option<Self> {
        match bits {
            0x0 => Some(OpCode::Continuation),
            0x1 => Some(OpCode::Text),
            0x2 => Some(OpCode::Binary),
            0x8 => Some(OpCode::Close),
            0x9 => Some(OpCode::Ping),
            0xA => Some(OpCode::Pong),
            _ => None,
        }
    }

    /// True for close, ping and pong.
    pub(crate) const fn is_control(self) -> bool {
        self as u8 & 0x8 != 0
    }
}

/// Why the server fails the connection: the close code and a short static reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CloseReason {
    /// The close code to send: 1002, 1007 or 1009.
    pub(crate) code: u16,
    /// A short explanation, fit to be the close frame's reason.
    pub(crate) reason: &'static str,
}

impl CloseReason {
    /// A protocol error (1002).
    const fn protocol(reason: &'static str) -> Self {
        CloseReason {
            code: PROTOCOL_ERROR,
            reason,
        }
    }

    /// Invalid UTF-8 in a text message or close reason (1007).
    const fn invalid_utf8(reason: &'static str) -> Self {
        CloseReason {
            code: INVALID_PAYLOAD,
            reason,
        }
    }

    /// A message longer than the limit (1009).
    const TOO_BIG: Self = CloseReason {
        code: MESSAGE_TOO_BIG,
        reason: "message too big",
    };
}

/// What [`Decoder::decode`] found in the read buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    /// A complete data message, fragments reassembled; text is valid UTF-8.
    Message(Message),
    /// A complete data message whose first frame had RSV1 set, received only after
    /// [`Decoder::set_rsv1_allowed`]: the payload is still compressed (permessage-deflate), so
    /// the caller inflates it and, for text, validates the UTF-8 itself.
    Compressed {
        /// True for a text message, false for binary.
        text: bool,
        /// The compressed payload, fragments reassembled.
        payload: Bytes,
    },
    /// A ping with its payload (at most 125 bytes).
    Ping(Bytes),
    /// A pong with its payload (at most 125 bytes).
    Pong(Bytes),
    /// A close frame: its code and UTF-8 reason, or `None` for an empty payload (the
    /// application sees 1005, "no status received").
    Close(Option<(u16, Utf8Bytes)>),
}

/// A frame whose header is parsed (and removed from the read buffer) and whose payload is at
/// the front of the read buffer, possibly not all received yet.
#[derive(Debug, Clone, Copy)]
struct Frame {
    /// The frame's opcode.
    opcode: OpCode,
    /// The FIN bit: last frame of its message.
    fin: bool,
    /// The RSV1 bit (only ever set once the driver allowed it).
    rsv1: bool,
    /// True when the payload is (part of) uncompressed text, validated as it arrives.
    utf8: bool,
    /// The masking key: a client's frames have one, a server's do not.
    mask: Option<[u8; 4]>,
    /// The payload length.
    len: usize,
    /// How many payload bytes at the front of the read buffer are already unmasked (and, for
    /// text, validated): each byte is processed once, however the payload arrives.
    done: usize,
}

/// A fragmented message being reassembled.
#[derive(Debug)]
struct Fragmented {
    /// True for a text message.
    text: bool,
    /// True when the first frame had RSV1 set (compressed payload).
    compressed: bool,
    /// The payload of the fragments received so far, unmasked.
    data: BytesMut,
}

/// Decodes the frames a client sends, one connection's worth of state. Small while idle: no
/// buffer is held unless a fragmented message is in progress.
#[derive(Debug)]
pub(crate) struct Decoder {
    /// The largest data message accepted, in bytes (control frames have their own limit).
    max_payload_length: usize,
    /// The frame whose payload is partly received, if any.
    frame: Option<Frame>,
    /// The fragmented message in progress, if any.
    message: Option<Box<Fragmented>>,
    /// UTF-8 state of the text message in progress.
    utf8: Utf8Validator,
    /// Whether RSV1 may be set on the first frame of a data message (permessage-deflate).
    rsv1_allowed: bool,
    /// Which side sent the frames: a client's must be masked, a server's must not be.
    sender: Role,
}

/// The side of a connection that sent the frames a [`Decoder`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Frames from a client: masked (RFC 6455 §5.1).
    Client,
    /// Frames from a server: never masked.
    Server,
}

impl Decoder {
    /// A decoder of a client's frames (the server's side) that fails the connection with
    /// 1009 for data messages longer than `max_payload_length` bytes. RSV1 is not allowed
    /// until [`Decoder::set_rsv1_allowed`].
    pub(crate) fn new(max_payload_length: usize) -> Self {
        Decoder::of(Role::Client, max_payload_length)
    }

    /// A decoder of the frames `sender` sends, otherwise as [`Decoder::new`].
    pub(crate) fn of(sender: Role, max_payload_length: usize) -> Self {
        Decoder {
            max_payload_length,
            frame: None,
            message: None,
            utf8: Utf8Validator::new(),
            rsv1_allowed: false,
            sender,
        }
    }

    /// Allows RSV1 on the first frame of data messages, once an extension that uses it
    /// (permessage-deflate) was negotiated; such messages come out as [`Event::Compressed`].
    /// The length limit then applies to the compressed payload.
    pub(crate) fn set_rsv1_allowed(&mut self, allowed: bool) {
        self.rsv1_allowed = allowed;
    }

    /// True while a fragmented message is being reassembled.
    #[cfg(test)]
    pub(crate) fn in_message(&self) -> bool {
        self.message.is_some()
    }

    /// Decodes the next event from the front of `buf`, removing the bytes it used.
    ///
    /// `Ok(None)`: incomplete; call again after more bytes were appended to `buf`. Bytes of a
    /// partly received frame are unmasked and (for text) validated as they arrive, so invalid
    /// text fails before the rest of the frame comes. After an `Err` the connection is to be
    /// failed with that close code; the decoder is not to be used again.
    pub(crate) fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Event>, CloseReason> {
        loop {
            let mut frame = match self.frame.take() {
                Some(frame) => frame,
                None => {
                    let Some((frame, header_len)) = self.parse_header(buf)? else {
                        return Ok(None);
                    };
                    buf.advance(header_len);
                    if frame.opcode == OpCode::Text {
                        self.utf8.reset();
                    }
                    frame
                }
            };
            let available = buf.len().min(frame.len);
            if frame.done < available {
                let fresh = &mut buf[frame.done..available];
                if let Some(mask) = frame.mask {
                    apply_mask(fresh, mask, frame.done);
                }
                if frame.utf8 && self.utf8.feed(fresh).is_err() {
                    return Err(CloseReason::invalid_utf8("invalid UTF-8 in text"));
                }
                frame.done = available;
            }
            if available < frame.len {
                self.frame = Some(frame);
                return Ok(None);
            }
            let payload = buf.split_to(frame.len);
            if let Some(event) = self.finish_frame(&frame, payload)? {
                return Ok(Some(event));
            }
        }
    }

    /// Parses and checks the frame header at the front of `buf`; returns the frame and the
    /// header's length, or `None` when the header is not all there. Every check that the
    /// first two bytes allow is made as soon as they are there.
    fn parse_header(&self, buf: &[u8]) -> Result<Option<(Frame, usize)>, CloseReason> {
        let &[first, second, ..] = buf else {
            return Ok(None);
        };
        let fin = first & 0x80 != 0;
        let rsv1 = first & 0x40 != 0;
        if first & 0x30 != 0 || (rsv1 && !self.rsv1_allowed) {
            return Err(CloseReason::protocol("reserved bits set"));
        }
        let Some(opcode) = OpCode::from_bits(first & 0x0F) else {
            return Err(CloseReason::protocol("reserved opcode"));
        };
        let masked = second & 0x80 != 0;
        match (self.sender, masked) {
            (Role::Client, false) => return Err(CloseReason::protocol("client frame not masked")),
            (Role::Server, true) => return Err(CloseReason::protocol("server frame masked")),
            _ => {}
        }
        let short_len = second & 0x7F;
        let utf8 = match opcode {
            OpCode::Close | OpCode::Ping | OpCode::Pong => {
                if !fin {
                    return Err(CloseReason::protocol("fragmented control frame"));
                }
                if usize::from(short_len) > MAX_CONTROL_PAYLOAD {
                    return Err(CloseReason::protocol("control frame too long"));
                }
                if rsv1 {
                    return Err(CloseReason::protocol("RSV1 set on a control frame"));
                }
                if opcode == OpCode::Close && short_len == 1 {
                    return Err(CloseReason::protocol("close payload of 1 byte"));
                }
                false
            }
            OpCode::Continuation => {
                let Some(message) = &self.message else {
                    return Err(CloseReason::protocol(
                        "continuation frame without a message",
                    ));
                };
                if rsv1 {
                    return Err(CloseReason::protocol("RSV1 set on a continuation frame"));
                }
                message.text && !message.compressed
            }
            OpCode::Text | OpCode::Binary => {
                if self.message.is_some() {
                    return Err(CloseReason::protocol("new message inside a fragmented one"));
                }
                opcode == OpCode::Text && !rsv1
            }
        };
        let (len, mask_at) = match short_len {
            126 => match buf.get(2..4) {
                Some(&[hi, lo]) => (u64::from(u16::from_be_bytes([hi, lo])), 4),
                _ => return Ok(None),
            },
            127 => match buf
                .get(2..10)
                .and_then(|bytes| <[u8; 8]>::try_from(bytes).ok())
            {
                Some(bytes) => (u64::from_be_bytes(bytes), 10),
                None => return Ok(None),
            },
            len => (u64::from(len), 2),
        };
        if len >> 63 != 0 {
            return Err(CloseReason::protocol("payload length above 2^63"));
        }
        let len = usize::try_from(len).map_err(|_| CloseReason::TOO_BIG)?;
        if !opcode.is_control() {
            let so_far = self
                .message
                .as_ref()
                .map_or(0, |message| message.data.len());
            if len > self.max_payload_length.saturating_sub(so_far) {
                return Err(CloseReason::TOO_BIG);
            }
        }
        let (mask, header_len) = if masked {
            let Some(&[a, b, c, d]) = buf.get(mask_at..mask_at + 4) else {
                return Ok(None);
            };
            (Some([a, b, c, d]), mask_at + 4)
        } else {
            (None, mask_at)
        };
        let frame = Frame {
            opcode,
            fin,
            rsv1,
            utf8,
            mask,
            len,
            done: 0,
        };
        Ok(Some((frame, header_len)))
    }

    /// Handles a frame whose whole payload (unmasked, and validated if text) was split off the
    /// read buffer; returns the event it completes, if any.
    fn finish_frame(
        &mut self,
        frame: &Frame,
        payload: BytesMut,
    ) -> Result<Option<Event>, CloseReason> {
        match frame.opcode {
            OpCode::Ping => Ok(Some(Event::Ping(payload.freeze()))),
            OpCode::Pong => Ok(Some(Event::Pong(payload.freeze()))),
            OpCode::Close => parse_close(payload.freeze()).map(Some),
            OpCode::Text | OpCode::Binary => {
                let text = frame.opcode == OpCode::Text;
                if frame.fin {
                    return self.complete(text, frame.rsv1, payload.freeze()).map(Some);
                }
                self.message = Some(Box::new(Fragmented {
                    text,
                    compressed: frame.rsv1,
                    data: BytesMut::from(&payload[..]),
                }));
                Ok(None)
            }
            OpCode::Continuation => {
                let Some(message) = self.message.as_mut() else {
                    return Err(CloseReason::protocol(
                        "continuation frame without a message",
                    ));
                };
                message.data.extend_from_slice(&payload);
                if !frame.fin {
                    return Ok(None);
                }
                let Some(message) = self.message.take() else {
                    return Err(CloseReason::protocol(
                        "continuation frame without a message",
                    ));
                };
                let Fragmented {
                    text,
                    compressed,
                    data,
                } = *message;
                self.complete(text, compressed, data.freeze()).map(Some)
            }
        }
    }

    /// The event for a complete data message.
    fn complete(&self, text: bool, compressed: bool, payload: Bytes) -> Result<Event, CloseReason> {
        if compressed {
            return Ok(Event::Compressed { text, payload });
        }
        if !text {
            return Ok(Event::Message(Message::Binary(payload)));
        }
        if !self.utf8.is_complete() {
            return Err(CloseReason::invalid_utf8(
                "text ends inside a UTF-8 sequence",
            ));
        }
        Ok(Event::Message(Message::Text(Utf8Bytes::from_validated(
            payload,
        ))))
    }
}

/// The event for a close frame's payload: empty, or a code an endpoint may send followed by a
/// UTF-8 reason.
fn parse_close(payload: Bytes) -> Result<Event, CloseReason> {
    let &[hi, lo, ..] = &payload[..] else {
        return if payload.is_empty() {
            Ok(Event::Close(None))
        } else {
            Err(CloseReason::protocol("close payload of 1 byte"))
        };
    };
    let code = u16::from_be_bytes([hi, lo]);
    if !is_sendable_close_code(code) {
        return Err(CloseReason::protocol("invalid close code"));
    }
    let reason = payload.slice(2..);
    if std::str::from_utf8(&reason).is_err() {
        return Err(CloseReason::invalid_utf8("invalid UTF-8 in close reason"));
    }
    Ok(Event::Close(Some((
        code,
        Utf8Bytes::from_validated(reason),
    ))))
}

/// True for a close code an endpoint may put on the wire: 1000–1003, 1007–1014 (RFC 6455
/// §7.4.1 and the IANA registry: 1012 service restart, 1013 try again later, 1014 bad gateway)
/// and 3000–4999 (registered and private use). 1004 is reserved, 1005, 1006 and 1015 must
/// never be sent, and the rest is unassigned.
pub(crate) fn is_sendable_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// The code a close asked by application code goes out with: `code` if it may be sent, else
/// `1000` (with a debug line saying so).
pub(crate) fn sendable_close_code(code: u16) -> u16 {
    if is_sendable_close_code(code) {
        return code;
    }
    tracing::debug!(target: "hyperbun::ws", code, "close code may not be sent; using 1000");
    1000
}

/// XORs `data` with the masking key, `data` being the payload from byte `offset` on. Eight
/// bytes at a time, then the tail.
fn apply_mask(data: &mut [u8], mask: [u8; 4], offset: usize) {
    let mut mask = mask;
    mask.rotate_left(offset % 4);
    let [a, b, c, d] = mask;
    let wide = u64::from_ne_bytes([a, b, c, d, a, b, c, d]);
    let (words, tail) = data.as_chunks_mut::<8>();
    for word in words {
        *word = (u64::from_ne_bytes(*word) ^ wide).to_ne_bytes();
    }
    // Each word started at a multiple of 8, so the tail starts in phase with `mask` too.
    for (byte, key) in tail.iter_mut().zip(mask.into_iter().cycle()) {
        *byte ^= key;
    }
}

#[cfg(test)]
mod tests;
