//! RFC 6455 framing, server side. [`Decoder`] turns what a client sent into [`Event`]s, checking
//! every rule a server must enforce; the `encode_*` functions write the frames a server sends
//! (never masked).
//!
//! The connection driver owns a [`BytesMut`] read buffer: it appends what the socket gave,
//! then calls [`Decoder::decode`] until it returns `Ok(None)`. On `Err(reason)` it sends a
//! close frame with `reason.code` and fails the connection. A complete single-frame message is
//! unmasked in place and split off the read buffer, so its payload is never copied.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::ws::message::{Message, Utf8Bytes};
use crate::ws::utf8::Utf8Validator;

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

#[cfg(test)]
mod tests {
    use super::*;
    // A client frame: `masked(first, payload)`, `first` being the first header byte (FIN,
    // RSV bits, opcode) as given, the payload masked with a fixed key.
    use crate::test::masked_frame as masked;

    /// The FIN bit of a frame's first byte.
    const FIN: u8 = 0x80;
    /// A limit no test message reaches.
    const BIG: usize = 1 << 20;

    /// A client text frame with FIN set.
    fn text(payload: &str) -> Vec<u8> {
        masked(FIN | 0x1, payload.as_bytes())
    }

    /// A client close frame with a code and a reason.
    fn close(code: u16, reason: &[u8]) -> Vec<u8> {
        let mut payload = code.to_be_bytes().to_vec();
        payload.extend_from_slice(reason);
        masked(FIN | 0x8, &payload)
    }

    /// The test client's frames, checked byte by byte rather than with the encoder they are
    /// built with: the first byte as given, the mask bit and the shortest length, the key,
    /// then the payload XORed with it.
    #[test]
    fn masked_frame_is_the_first_byte_length_key_and_masked_payload() {
        const MASK: [u8; 4] = [0x37, 0xFA, 0x21, 0x3D];
        for (len, length_bytes) in [
            (0, vec![0x80]),
            (5, vec![0x85]),
            (125, vec![0xFD]),
            (126, vec![0xFE, 0x00, 0x7E]),
            (65_535, vec![0xFE, 0xFF, 0xFF]),
            (65_536, vec![0xFF, 0, 0, 0, 0, 0, 1, 0, 0]),
        ] {
            let payload: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let frame = masked(0x3F, &payload);
            let header = 1 + length_bytes.len();
            assert_eq!(frame[0], 0x3F, "{len}");
            assert_eq!(frame[1..header], length_bytes, "{len}");
            assert_eq!(frame[header..header + 4], MASK, "{len}");
            let unmasked: Vec<u8> = frame[header + 4..]
                .iter()
                .zip(MASK.iter().cycle())
                .map(|(b, m)| b ^ m)
                .collect();
            assert_eq!(unmasked, payload, "{len}");
        }
    }

    /// Concatenates frames.
    fn concat(frames: &[Vec<u8>]) -> Vec<u8> {
        frames.concat()
    }

    /// Decodes events from `buf` until the decoder needs more bytes.
    fn drain(decoder: &mut Decoder, buf: &mut BytesMut) -> Result<Vec<Event>, CloseReason> {
        let mut events = Vec::new();
        while let Some(event) = decoder.decode(buf)? {
            events.push(event);
        }
        Ok(events)
    }

    /// Decodes `bytes` given all at once to a decoder with the limit `max`.
    fn decode_with(max: usize, bytes: &[u8]) -> Result<Vec<Event>, CloseReason> {
        drain(&mut Decoder::new(max), &mut BytesMut::from(bytes))
    }

    /// Decodes `bytes` given all at once.
    fn decode(bytes: &[u8]) -> Result<Vec<Event>, CloseReason> {
        decode_with(BIG, bytes)
    }

    /// Decodes `bytes` appended in chunks of `chunk` bytes; on error, also says how many
    /// bytes had been given when it came.
    fn decode_chunked(bytes: &[u8], chunk: usize) -> Result<Vec<Event>, (CloseReason, usize)> {
        let mut decoder = Decoder::new(BIG);
        let mut buf = BytesMut::new();
        let mut events = Vec::new();
        let mut fed = 0;
        for piece in bytes.chunks(chunk) {
            buf.extend_from_slice(piece);
            fed += piece.len();
            events.extend(drain(&mut decoder, &mut buf).map_err(|error| (error, fed))?);
        }
        assert!(buf.is_empty(), "bytes left over");
        Ok(events)
    }

    /// The close code `bytes` fail with, given all at once.
    fn fails_with(bytes: &[u8]) -> u16 {
        match decode(bytes) {
            Err(reason) => reason.code,
            Ok(events) => panic!("expected an error, got {events:?}"),
        }
    }

    /// A text message event.
    fn text_event(text: &str) -> Event {
        Event::Message(Message::Text(Utf8Bytes::from(text)))
    }

    /// A binary message event.
    fn binary_event(bytes: &[u8]) -> Event {
        Event::Message(Message::Binary(Bytes::copy_from_slice(bytes)))
    }

    #[test]
    fn single_frames_decode_to_events() {
        let bytes = concat(&[
            text("hello"),
            masked(FIN | 0x2, &[0, 1, 2, 255]),
            masked(FIN | 0x9, b"ping"),
            masked(FIN | 0xA, b"pong"),
            close(1000, b"bye"),
        ]);
        assert_eq!(
            decode(&bytes),
            Ok(vec![
                text_event("hello"),
                binary_event(&[0, 1, 2, 255]),
                Event::Ping(Bytes::from_static(b"ping")),
                Event::Pong(Bytes::from_static(b"pong")),
                Event::Close(Some((1000, Utf8Bytes::from("bye")))),
            ])
        );
    }

    #[test]
    fn incomplete_input_needs_more_bytes() {
        let frame = text("hello");
        let mut decoder = Decoder::new(BIG);
        let mut buf = BytesMut::new();
        assert_eq!(decoder.decode(&mut buf), Ok(None));
        buf.extend_from_slice(&frame[..frame.len() - 1]);
        assert_eq!(decoder.decode(&mut buf), Ok(None));
        assert_eq!(decoder.decode(&mut buf), Ok(None));
        buf.extend_from_slice(&frame[frame.len() - 1..]);
        assert_eq!(decoder.decode(&mut buf), Ok(Some(text_event("hello"))));
        assert!(buf.is_empty());
        assert_eq!(decoder.decode(&mut buf), Ok(None));
    }

    #[test]
    fn single_frame_payload_is_not_copied() {
        let mut buf = BytesMut::from(&concat(&[text("zero copy"), text("again")])[..]);
        let start = buf.as_ptr() as usize;
        let range = start..start + buf.len();
        let mut decoder = Decoder::new(BIG);
        for expected in ["zero copy", "again"] {
            let Ok(Some(Event::Message(message))) = decoder.decode(&mut buf) else {
                panic!("expected a message");
            };
            assert_eq!(message.as_text(), Some(expected));
            assert!(range.contains(&(message.as_bytes().as_ptr() as usize)));
        }
    }

    #[test]
    fn split_arrival_at_every_byte_gives_the_same_events() {
        let bytes = concat(&[
            text("Hello"),
            masked(FIN | 0x2, &[7; 300]),
            masked(0x1, &"κ\u{3cc}".as_bytes()[..3]),
            masked(FIN | 0x9, b"in between"),
            masked(FIN, &"κ\u{3cc}".as_bytes()[3..]),
            masked(FIN | 0x2, b""),
            masked(FIN | 0xA, b""),
            close(1001, "gone é".as_bytes()),
        ]);
        let whole = decode(&bytes);
        assert_eq!(
            whole,
            Ok(vec![
                text_event("Hello"),
                binary_event(&[7; 300]),
                Event::Ping(Bytes::from_static(b"in between")),
                text_event("κ\u{3cc}"),
                binary_event(b""),
                Event::Pong(Bytes::new()),
                Event::Close(Some((1001, Utf8Bytes::from("gone é")))),
            ])
        );
        for chunk in 1..=bytes.len() {
            assert_eq!(
                decode_chunked(&bytes, chunk).ok(),
                whole.clone().ok(),
                "{chunk}"
            );
        }
    }

    #[test]
    fn sixteen_and_sixty_four_bit_lengths() {
        for len in [126, 200, 0xFFFF, 0x1_0000, 70_000] {
            let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let frame = masked(FIN | 0x2, &payload);
            assert_eq!(
                frame.len() - payload.len(),
                if len <= 0xFFFF { 8 } else { 14 }
            );
            assert_eq!(decode(&frame), Ok(vec![binary_event(&payload)]));
            for chunk in [1, 3, 1000] {
                let events = decode_chunked(&frame, chunk);
                assert_eq!(events, Ok(vec![binary_event(&payload)]), "{len} by {chunk}");
            }
        }
        let long_text = "é".repeat(40_000);
        assert_eq!(decode(&text(&long_text)), Ok(vec![text_event(&long_text)]));
        assert_eq!(
            decode_chunked(&text(&long_text), 7),
            Ok(vec![text_event(&long_text)])
        );
    }

    #[test]
    fn sixteen_masked_text_frames_in_one_buffer() {
        let payload = "0123456789abcdef0123456789ABCDEF";
        let bytes = concat(&vec![text(payload); 16]);
        let mut decoder = Decoder::new(BIG);
        let mut buf = BytesMut::from(&bytes[..]);
        let events = drain(&mut decoder, &mut buf);
        assert_eq!(events, Ok(vec![text_event(payload); 16]));
        assert!(buf.is_empty());
        assert!(!decoder.in_message());
    }

    #[test]
    fn zero_length_frames_and_messages_are_valid() {
        let bytes = concat(&[
            text(""),
            masked(FIN | 0x2, b""),
            masked(0x1, b""),
            masked(0x0, b""),
            masked(FIN, b""),
            masked(0x2, b""),
            masked(FIN, b""),
            masked(FIN | 0x9, b""),
            masked(FIN | 0x8, b""),
        ]);
        assert_eq!(
            decode_with(0, &bytes),
            Ok(vec![
                text_event(""),
                binary_event(b""),
                text_event(""),
                binary_event(b""),
                Event::Ping(Bytes::new()),
                Event::Close(None),
            ])
        );
    }

    #[test]
    fn fragments_with_interleaved_control_frames() {
        let mut decoder = Decoder::new(BIG);
        let mut buf = BytesMut::new();
        let mut step = |frame: Vec<u8>| {
            buf.extend_from_slice(&frame);
            let event = decoder.decode(&mut buf);
            (event, decoder.in_message())
        };
        assert_eq!(step(masked(0x1, b"Hello, ")), (Ok(None), true));
        assert_eq!(
            step(masked(FIN | 0x9, b"p")),
            (Ok(Some(Event::Ping(Bytes::from_static(b"p")))), true)
        );
        assert_eq!(step(masked(0x0, b"wor")), (Ok(None), true));
        assert_eq!(
            step(masked(FIN | 0xA, b"")),
            (Ok(Some(Event::Pong(Bytes::new()))), true)
        );
        assert_eq!(
            step(close(1000, b"")),
            (
                Ok(Some(Event::Close(Some((1000, Utf8Bytes::default()))))),
                true
            )
        );
        assert_eq!(
            step(masked(FIN, b"ld")),
            (Ok(Some(text_event("Hello, world"))), false)
        );
        let binary = concat(&[
            masked(0x2, &[1, 2]),
            masked(FIN | 0x9, b""),
            masked(0x0, &[3]),
            masked(FIN, &[4, 5]),
        ]);
        assert_eq!(step(binary), (Ok(Some(Event::Ping(Bytes::new()))), true));
        assert_eq!(
            step(Vec::new()),
            (Ok(Some(binary_event(&[1, 2, 3, 4, 5]))), false)
        );
    }

    #[test]
    fn decoder_is_small_and_holds_no_buffer_between_messages() {
        assert!(std::mem::size_of::<Decoder>() <= 64);
        let mut decoder = Decoder::new(BIG);
        let mut buf = BytesMut::from(&concat(&[masked(0x2, b"a"), masked(FIN, b"b")])[..]);
        assert_eq!(drain(&mut decoder, &mut buf), Ok(vec![binary_event(b"ab")]));
        assert!(decoder.message.is_none() && decoder.frame.is_none());
    }

    #[test]
    fn unmasked_client_frame_is_a_protocol_error() {
        assert_eq!(fails_with(&[FIN | 0x1, 0x00]), PROTOCOL_ERROR);
        assert_eq!(fails_with(&[FIN | 0x9, 0x02, b'h', b'i']), PROTOCOL_ERROR);
    }

    #[test]
    fn a_client_reads_unmasked_frames_and_fails_on_masked_ones() {
        let mut client = Decoder::of(Role::Server, BIG);
        let mut unmasked = BytesMut::new();
        encode_frame(&mut unmasked, OpCode::Text, "héllo".as_bytes());
        encode_frame(&mut unmasked, OpCode::Ping, b"p");
        // Fragments too: each frame's payload arrives in pieces.
        encode_header(&mut unmasked, OpCode::Binary, false, false, 3);
        unmasked.put_slice(b"abc");
        encode_header(&mut unmasked, OpCode::Continuation, true, false, 300);
        unmasked.put_slice(&[7; 300]);
        let mut buf = BytesMut::new();
        let mut events = Vec::new();
        for piece in unmasked.chunks(7) {
            buf.extend_from_slice(piece);
            events.extend(drain(&mut client, &mut buf).expect("valid"));
        }
        let mut binary = b"abc".to_vec();
        binary.extend_from_slice(&[7; 300]);
        assert_eq!(
            events,
            [
                Event::Message(Message::text("héllo")),
                Event::Ping(Bytes::from_static(b"p")),
                Event::Message(Message::binary(binary)),
            ]
        );
        let masked_frame = text("x");
        let mut client = Decoder::of(Role::Server, BIG);
        let error = client.decode(&mut BytesMut::from(&masked_frame[..]));
        assert_eq!(error.map_err(|e| e.code), Err(PROTOCOL_ERROR));
    }

    #[test]
    fn masked_frames_encoded_for_a_client_decode_on_the_server() {
        let payload: Vec<u8> = (0..=255).cycle().take(70_000).collect();
        let mut out = BytesMut::new();
        encode_masked_frame(
            &mut out,
            OpCode::Binary,
            true,
            false,
            &payload,
            [9, 8, 7, 6],
        );
        encode_masked_frame(&mut out, OpCode::Text, false, false, b"ab", [1, 2, 3, 4]);
        encode_masked_frame(
            &mut out,
            OpCode::Continuation,
            true,
            false,
            b"c",
            [5, 5, 5, 5],
        );
        assert_eq!(
            decode(&out).expect("valid"),
            [
                Event::Message(Message::binary(payload)),
                Event::Message(Message::text("abc")),
            ]
        );
    }

    #[test]
    fn reserved_bits_are_a_protocol_error() {
        for rsv in [0x40, 0x20, 0x10, 0x70] {
            assert_eq!(
                fails_with(&text("x")[..2].iter().map(|b| b | rsv).collect::<Vec<_>>()),
                1002
            );
        }
        let mut decoder = Decoder::new(BIG);
        decoder.set_rsv1_allowed(true);
        for rsv in [0x20, 0x10] {
            let frame = masked(FIN | rsv | 0x1, b"x");
            assert_eq!(
                decoder
                    .decode(&mut BytesMut::from(&frame[..]))
                    .map_err(|e| e.code),
                Err(1002)
            );
        }
    }

    #[test]
    fn rsv1_when_allowed_marks_compressed_messages() {
        let compressed = |bytes: &[u8]| {
            let mut decoder = Decoder::new(BIG);
            decoder.set_rsv1_allowed(true);
            drain(&mut decoder, &mut BytesMut::from(bytes))
        };
        // Not UTF-8, yet accepted: text is validated after inflating.
        assert_eq!(
            compressed(&masked(FIN | 0x40 | 0x1, b"\xF2\x48\xCD")),
            Ok(vec![Event::Compressed {
                text: true,
                payload: Bytes::from_static(b"\xF2\x48\xCD"),
            }])
        );
        assert_eq!(
            compressed(&concat(&[
                masked(0x40 | 0x2, b"ab"),
                masked(FIN | 0x9, b""),
                masked(FIN, b"\xFF")
            ])),
            Ok(vec![
                Event::Ping(Bytes::new()),
                Event::Compressed {
                    text: false,
                    payload: Bytes::from_static(b"ab\xFF"),
                },
            ])
        );
        assert_eq!(compressed(&text("plain")), Ok(vec![text_event("plain")]));
        let on_continuation = concat(&[masked(0x1, b"a"), masked(FIN | 0x40, b"b")]);
        assert_eq!(compressed(&on_continuation).map_err(|e| e.code), Err(1002));
        let on_ping = masked(FIN | 0x40 | 0x9, b"");
        assert_eq!(compressed(&on_ping).map_err(|e| e.code), Err(1002));
    }

    #[test]
    fn reserved_opcodes_are_a_protocol_error_from_the_first_two_bytes() {
        for opcode in (0x3..=0x7).chain(0xB..=0xF) {
            assert_eq!(
                fails_with(&[FIN | opcode, 0x80]),
                PROTOCOL_ERROR,
                "{opcode}"
            );
        }
    }

    #[test]
    fn control_frames_must_be_short_and_final() {
        for opcode in [0x8, 0x9, 0xA] {
            let mut payload = vec![0x03, 0xE8];
            payload.resize(126, b'*');
            assert_eq!(fails_with(&masked(FIN | opcode, &payload)), PROTOCOL_ERROR);
            // The 7-bit length alone is enough to fail.
            assert_eq!(fails_with(&[FIN | opcode, 0x80 | 126]), PROTOCOL_ERROR);
            assert_eq!(fails_with(&masked(opcode, b"")), PROTOCOL_ERROR);
        }
        let longest = [b'p'; 125];
        assert_eq!(
            decode_with(10, &masked(FIN | 0x9, &longest)),
            Ok(vec![Event::Ping(Bytes::copy_from_slice(&longest))])
        );
    }

    #[test]
    fn continuation_without_a_message_is_a_protocol_error() {
        assert_eq!(fails_with(&masked(FIN, b"x")), PROTOCOL_ERROR);
        assert_eq!(fails_with(&masked(0x0, b"x")), PROTOCOL_ERROR);
        assert_eq!(
            fails_with(&concat(&[text("done"), masked(FIN, b"x")])),
            PROTOCOL_ERROR
        );
    }

    #[test]
    fn new_message_inside_a_fragmented_one_is_a_protocol_error() {
        for next in [0x1, 0x2, FIN | 0x1, FIN | 0x2] {
            let bytes = concat(&[masked(0x1, b"a"), masked(next, b"b")]);
            assert_eq!(fails_with(&bytes), PROTOCOL_ERROR);
        }
    }

    #[test]
    fn sixty_four_bit_length_with_top_bit_set_is_a_protocol_error() {
        let header = [FIN | 0x2, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 1];
        assert_eq!(fails_with(&header), PROTOCOL_ERROR);
        let mut below = header;
        below[2] = 0x7F;
        // Valid length, but far above the limit.
        assert_eq!(fails_with(&below), MESSAGE_TOO_BIG);
    }

    #[test]
    fn long_single_frame_fails_on_its_header() {
        let frame = masked(FIN | 0x2, &[0; 101]);
        // The length is known from the first two bytes: no need to wait for the mask.
        assert_eq!(decode_with(100, &frame[..2]).map_err(|e| e.code), Err(1009));
        assert_eq!(decode_with(100, &frame[..1]), Ok(vec![]));
        assert_eq!(decode_with(101, &frame), Ok(vec![binary_event(&[0; 101])]));
        let big = masked(FIN | 0x1, &[b'a'; 70_000]);
        assert_eq!(
            decode_with(65_536, &big[..10]).map_err(|e| e.code),
            Err(1009)
        );
    }

    #[test]
    fn fragmented_message_fails_once_the_total_is_over_the_limit() {
        let first = masked(0x1, b"123456");
        let over = concat(&[first.clone(), masked(0x0, b"")[..6].to_vec()]);
        assert_eq!(decode_with(10, &over), Ok(vec![]));
        let over = concat(&[first.clone(), masked(0x0, b"78901")[..6].to_vec()]);
        assert_eq!(decode_with(10, &over).map_err(|e| e.code), Err(1009));
        let exact = concat(&[first, masked(0x0, b"78"), masked(FIN, b"90")]);
        assert_eq!(decode_with(10, &exact), Ok(vec![text_event("1234567890")]));
    }

    #[test]
    fn close_payload_of_one_byte_is_a_protocol_error() {
        assert_eq!(fails_with(&masked(FIN | 0x8, b"\x03")), PROTOCOL_ERROR);
        assert_eq!(fails_with(&[FIN | 0x8, 0x81]), PROTOCOL_ERROR);
    }

    #[test]
    fn close_codes_follow_autobahn() {
        // Autobahn 7.7.x sends these and expects a clean close; 1012–1014 are IANA-registered.
        let valid = [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999,
            4000, 4999,
        ];
        for code in valid {
            let event = Event::Close(Some((code, Utf8Bytes::from("why"))));
            assert_eq!(decode(&close(code, b"why")), Ok(vec![event]), "{code}");
        }
        // Autobahn 7.9.x expects 1002 for these; 1015 must never be sent either.
        let invalid = [
            0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
        ];
        for code in invalid {
            assert_eq!(fails_with(&close(code, b"")), PROTOCOL_ERROR, "{code}");
        }
    }

    #[test]
    fn close_reason_must_be_utf8() {
        assert_eq!(
            fails_with(&close(1000, b"\xCE\xBA\xED\xA0\x80")),
            INVALID_PAYLOAD
        );
        assert_eq!(fails_with(&close(1000, b"ends in \xCE")), INVALID_PAYLOAD);
        assert_eq!(
            decode(&close(1000, "κόσμε".as_bytes())),
            Ok(vec![Event::Close(Some((1000, Utf8Bytes::from("κόσμε"))))])
        );
        assert_eq!(
            decode(&masked(FIN | 0x8, b"")),
            Ok(vec![Event::Close(None)])
        );
    }

    #[test]
    fn invalid_text_is_rejected() {
        assert_eq!(fails_with(&masked(FIN | 0x1, b"\xFF")), INVALID_PAYLOAD);
        assert_eq!(
            fails_with(&masked(FIN | 0x1, b"ok\xED\xA0\x80")),
            INVALID_PAYLOAD
        );
        // Binary is not validated.
        assert_eq!(
            decode(&masked(FIN | 0x2, b"\xFF")),
            Ok(vec![binary_event(b"\xFF")])
        );
    }

    #[test]
    fn text_ending_inside_a_code_point_is_rejected() {
        assert_eq!(fails_with(&masked(FIN | 0x1, b"\xCE")), INVALID_PAYLOAD);
        let fragmented = concat(&[masked(0x1, b"\xE2"), masked(FIN, b"\x82")]);
        assert_eq!(fails_with(&fragmented), INVALID_PAYLOAD);
    }

    #[test]
    fn code_points_may_straddle_fragments() {
        let text = "κόσμε€𝄞".as_bytes();
        for cut in 0..=text.len() {
            for second in cut..=text.len() {
                let bytes = concat(&[
                    masked(0x1, &text[..cut]),
                    masked(FIN | 0x9, b""),
                    masked(0x0, &text[cut..second]),
                    masked(FIN, &text[second..]),
                ]);
                let events = decode(&bytes);
                assert_eq!(
                    events,
                    Ok(vec![Event::Ping(Bytes::new()), text_event("κόσμε€𝄞")]),
                    "{cut}/{second}"
                );
            }
        }
    }

    /// Autobahn's fail-fast payloads: valid, then a code point above U+10FFFF whose second
    /// byte (payload byte 12) is the first invalid one, then valid again.
    const PART1: &[u8] = b"\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5";
    /// See [`PART1`].
    const PART2: &[u8] = b"\xF4\x90\x80\x80";
    /// See [`PART1`].
    const PART3: &[u8] = b"\x65\x64\x69\x74\x65\x64";

    #[test]
    fn invalid_text_fails_before_the_rest_of_a_frame_arrives() {
        // Autobahn 6.4.3/6.4.4: one frame, sent in chops.
        let frame = masked(FIN | 0x1, &[PART1, PART2, PART3].concat());
        let mut decoder = Decoder::new(BIG);
        let mut buf = BytesMut::from(&frame[..6 + PART1.len()]);
        assert_eq!(decoder.decode(&mut buf), Ok(None));
        buf.extend_from_slice(&frame[6 + PART1.len()..6 + PART1.len() + PART2.len()]);
        assert_eq!(decoder.decode(&mut buf).map_err(|e| e.code), Err(1007));
        // Byte by byte: the error comes with the first invalid byte.
        assert_eq!(
            decode_chunked(&frame, 1).map_err(|(e, fed)| (e.code, fed)),
            Err((1007, 6 + PART1.len() + 2))
        );
    }

    #[test]
    fn invalid_text_fails_before_the_next_fragment_arrives() {
        // Autobahn 6.4.1/6.4.2: three fragments; the second makes the text invalid.
        let first = masked(0x1, PART1);
        let second = masked(0x0, PART2);
        let bytes = concat(&[first.clone(), second]);
        assert_eq!(fails_with(&bytes), INVALID_PAYLOAD);
        let bytes = concat(&[first, masked(0x0, &PART2[..1]), masked(0x0, &PART2[1..])]);
        assert_eq!(
            decode_chunked(&bytes, 1).map_err(|(e, fed)| (e.code, fed)),
            Err((1007, bytes.len() - 2))
        );
        // A pending sequence from the previous fragment fails with the next byte received.
        let bytes = concat(&[masked(0x1, b"\xE2\x82"), masked(FIN, b"AAAA")]);
        assert_eq!(
            decode_chunked(&bytes, 1).map_err(|(e, fed)| (e.code, fed)),
            Err((1007, 8 + 6 + 1))
        );
    }

    #[test]
    fn valid_partial_frames_are_held_until_complete() {
        let frame = text("héllo wörld");
        let mut decoder = Decoder::new(BIG);
        let mut buf = BytesMut::from(&frame[..9]);
        assert_eq!(decoder.decode(&mut buf), Ok(None));
        assert_eq!(decoder.decode(&mut buf), Ok(None));
        buf.extend_from_slice(&frame[9..]);
        assert_eq!(
            decoder.decode(&mut buf),
            Ok(Some(text_event("héllo wörld")))
        );
    }

    #[test]
    fn mask_matches_bytewise_xor_at_any_offset_and_length() {
        let mask = [1, 2, 4, 128];
        for offset in 0..8 {
            for len in 0..40 {
                let mut data: Vec<u8> = (0..len).map(|i: u8| i.wrapping_mul(7)).collect();
                let expected: Vec<u8> = data
                    .iter()
                    .enumerate()
                    .map(|(i, b)| b ^ mask[(offset + i) % 4])
                    .collect();
                apply_mask(&mut data, mask, offset);
                assert_eq!(data, expected, "offset {offset}, len {len}");
            }
        }
    }

    #[test]
    fn header_lengths_use_the_shortest_form() {
        let cases: [(usize, &[u8]); 5] = [
            (0, &[0x82, 0]),
            (125, &[0x82, 125]),
            (126, &[0x82, 126, 0, 126]),
            (65_535, &[0x82, 126, 0xFF, 0xFF]),
            (65_536, &[0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]),
        ];
        for (len, expected) in cases {
            let mut out = BytesMut::new();
            encode_header(&mut out, OpCode::Binary, true, false, len);
            assert_eq!(&out[..], expected, "{len}");
            assert_eq!(header_len(len), expected.len());
        }
        let mut out = BytesMut::new();
        encode_header(&mut out, OpCode::Text, false, true, 3);
        encode_header(&mut out, OpCode::Continuation, true, false, 0);
        assert_eq!(&out[..], &[0x41, 3, 0x80, 0]);
    }

    #[test]
    fn encode_frame_writes_header_and_payload() {
        let mut out = BytesMut::new();
        encode_frame(&mut out, OpCode::Text, b"hi");
        encode_frame(&mut out, OpCode::Pong, b"");
        assert_eq!(&out[..], b"\x81\x02hi\x8A\x00");
        let payload = vec![9; 300];
        let mut out = BytesMut::new();
        encode_frame(&mut out, OpCode::Binary, &payload);
        assert_eq!(&out[..4], &[0x82, 126, 1, 44]);
        assert_eq!(&out[4..], &payload[..]);
    }

    #[test]
    fn encode_close_truncates_the_reason_at_a_char_boundary() {
        let mut out = BytesMut::new();
        encode_close(&mut out, 1000, "bye");
        assert_eq!(&out[..], b"\x88\x05\x03\xE8bye");
        for (reason, kept) in [
            ("a".repeat(200), 123),
            ("é".repeat(100), 122),
            ("€".repeat(50), 123),
            ("𝄞".repeat(40), 120),
            ("é".repeat(61), 122),
        ] {
            let mut out = BytesMut::new();
            encode_close(&mut out, 1001, &reason);
            assert_eq!(usize::from(out[1]), 2 + kept, "{reason}");
            assert_eq!(&out[2..4], &1001u16.to_be_bytes());
            assert_eq!(std::str::from_utf8(&out[4..]), Ok(&reason[..kept]));
        }
    }

    #[test]
    fn sendable_close_codes() {
        let sendable: Vec<u16> = (0..=u16::MAX)
            .filter(|&c| is_sendable_close_code(c))
            .collect();
        let expected: Vec<u16> = (1000..=1003)
            .chain(1007..=1014)
            .chain(3000..=4999)
            .collect();
        assert_eq!(sendable, expected);
    }
}
