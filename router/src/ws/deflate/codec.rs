//! Compressing and inflating whole messages (RFC 7692 §7.2).
//!
//! A message is compressed with a sync flush and sent without the flush's final
//! `00 00 ff ff`; a received message gets those four bytes back before it is inflated. A
//! compressor or decompressor that does not keep context between messages is reset after
//! each one. Inflating stops as soon as the output passes the route's `max_payload_length`,
//! so a small message that would inflate to gigabytes costs at most that limit in memory.

use std::cell::RefCell;

use bytes::BytesMut;
use zlib_rs::{Deflate, DeflateConfig, DeflateFlush, Inflate, InflateFlush, Method, Status};

use crate::ws::frame::CloseReason;
use crate::ws::{Message, Utf8Bytes};

/// What a sync flush ends with (RFC 7692 §7.2.1).
const FLUSH_TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// zlib's default compression level, as Bun's compressor uses.
const LEVEL: i32 = 6;

/// The most output grown per step while inflating.
const INFLATE_STEP: usize = 64 * 1024;

/// The least output room given per step while inflating.
const INFLATE_MIN_STEP: usize = 256;

/// Why a received message could not be inflated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InflateFailure {
    /// The message inflates past the limit (`1009`).
    TooLarge,
    /// The data is not valid deflate (`1007`).
    Invalid,
}

/// A received compressed message, inflated by `inflate` (which appends it to the buffer it is
/// given), as a [`Message`]: past the size limit it is `1009`, bad deflate data or text that
/// is not UTF-8 `1007`. Server and client both read compressed messages through this.
pub(crate) fn inflate_message(
    text: bool,
    inflate: impl FnOnce(&mut BytesMut) -> Result<(), InflateFailure>,
) -> Result<Message, CloseReason> {
    let mut out = BytesMut::new();
    inflate(&mut out).map_err(|failure| match failure {
        InflateFailure::TooLarge => CloseReason {
            code: 1009,
            reason: "message too big once inflated",
        },
        InflateFailure::Invalid => CloseReason {
            code: 1007,
            reason: "invalid compressed data",
        },
    })?;
    let bytes = out.freeze();
    if !text {
        return Ok(Message::Binary(bytes));
    }
    match std::str::from_utf8(&bytes) {
        Ok(_) => Ok(Message::Text(Utf8Bytes::from_validated(bytes))),
        Err(_) => Err(CloseReason {
            code: 1007,
            reason: "invalid UTF-8 in a text message",
        }),
    }
}

/// A deflate compressor for one direction of one socket, or shared by a thread.
pub(crate) struct Compressor {
    deflate: Deflate,
    keep_context: bool,
}

impl std::fmt::Debug for Compressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compressor")
            .field("keep_context", &self.keep_context)
            .finish_non_exhaustive()
    }
}

impl Compressor {
    /// A compressor with a window of `window_bits` (8..=15) and zlib memory level
    /// `mem_level`. zlib cannot compress with a 256-byte window, so for 8 it uses
    /// run-length matches only (distance 1), which every window allows.
    pub(crate) fn new(window_bits: u8, mem_level: u8, keep_context: bool) -> Self {
        let (window_bits, strategy) = if window_bits <= 8 {
            (9, zlib_rs::Strategy::Rle)
        } else {
            (window_bits.min(15), zlib_rs::Strategy::Default)
        };
        let config = DeflateConfig {
            level: LEVEL,
            method: Method::Deflated,
            window_bits: -i32::from(window_bits),
            mem_level: i32::from(mem_level.clamp(1, 9)),
            strategy,
        };
        Compressor {
            deflate: Deflate::new_with_config(config),
            keep_context,
        }
    }

    /// Forgets the context (always safe: the peer's decompressor may keep a window we no
    /// longer refer to).
    pub(crate) fn reset(&mut self) {
        self.deflate.reset();
    }

    /// Appends `payload`, compressed, to `out`. False (with `out` as it was) if zlib failed,
    /// which it does not on a healthy stream; the caller then sends the payload as it is.
    pub(crate) fn compress(&mut self, payload: &[u8], out: &mut BytesMut) -> bool {
        let start = out.len();
        let mut input = payload;
        loop {
            let len = out.len();
            // Deflate rarely grows data by more than a few bytes per 16 KiB.
            let room = input.len() + input.len() / 8 + 64;
            out.resize(len + room, 0);
            let (before_in, before_out) = (self.deflate.total_in(), self.deflate.total_out());
            let status = self
                .deflate
                .compress(input, &mut out[len..], DeflateFlush::SyncFlush);
            let consumed = (self.deflate.total_in() - before_in) as usize;
            let produced = (self.deflate.total_out() - before_out) as usize;
            out.truncate(len + produced);
            input = &input[consumed..];
            if status.is_err() {
                out.truncate(start);
                self.deflate.reset();
                return false;
            }
            // The flush is complete once zlib stops short of the room it was given.
            if input.is_empty() && produced < room {
                break;
            }
        }
        if out[start..].ends_with(&FLUSH_TAIL) {
            out.truncate(out.len() - FLUSH_TAIL.len());
        }
        if out.len() == start {
            // An empty message right after a flush: zlib has nothing to say, but the peer
            // appends `00 00 ff ff` to whatever arrives, so it needs the start of an empty
            // stored block (RFC 7692 §7.2.3.6), else that tail opens a stored block that
            // swallows the next message.
            out.extend_from_slice(&[0x00]);
        }
        if !self.keep_context {
            self.deflate.reset();
        }
        true
    }
}

/// A deflate decompressor for one socket, or shared by a thread.
pub(crate) struct Decompressor {
    inflate: Inflate,
    keep_context: bool,
}

impl std::fmt::Debug for Decompressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decompressor")
            .field("keep_context", &self.keep_context)
            .finish_non_exhaustive()
    }
}

impl Decompressor {
    /// A decompressor with a window of `window_bits` (a larger window than the peer's
    /// always works; zlib's smallest raw window is 9 bits).
    pub(crate) fn new(window_bits: u8, keep_context: bool) -> Self {
        Decompressor {
            inflate: Inflate::new(false, window_bits.clamp(9, 15)),
            keep_context,
        }
    }

    /// Inflates one message's payload (its frames' payloads, reassembled) and appends it to
    /// `out`, failing as soon as `out` would hold more than `limit` bytes.
    pub(crate) fn decompress(
        &mut self,
        payload: &[u8],
        limit: usize,
        out: &mut BytesMut,
    ) -> Result<(), InflateFailure> {
        if payload.is_empty() {
            // An empty message sent as no data at all (RFC 7692 §7.2.3.6 asks for `00`, not
            // every client does): the tail alone would open a stored block that swallows the
            // next message.
            return Ok(());
        }
        let result = match self.inflate_all(payload, limit, out) {
            Ok(Ended::No) => self.inflate_all(&FLUSH_TAIL, limit, out),
            other => other,
        };
        // A failed stream cannot go on, and a final block (BFINAL) ends the context.
        if !matches!(result, Ok(Ended::No)) || !self.keep_context {
            self.inflate.reset(false);
        }
        result.map(drop)
    }

    /// Feeds `input` to zlib, growing `out` as needed.
    fn inflate_all(
        &mut self,
        mut input: &[u8],
        limit: usize,
        out: &mut BytesMut,
    ) -> Result<Ended, InflateFailure> {
        loop {
            let len = out.len();
            if len > limit {
                return Err(InflateFailure::TooLarge);
            }
            // Room for about four times the input, then doubling what is there, in steps of
            // at most 64 KiB: a chat-sized message zero-fills a few hundred bytes, not 64 KiB
            // (that memset was most of the cost of inflating one). One byte past the limit
            // shows that the message is too large.
            let step = (input.len() * 4)
                .max(len)
                .clamp(INFLATE_MIN_STEP, INFLATE_STEP);
            let room = (limit - len + 1).min(step);
            out.resize(len + room, 0);
            let (before_in, before_out) = (self.inflate.total_in(), self.inflate.total_out());
            let status = self
                .inflate
                .decompress(input, &mut out[len..], InflateFlush::SyncFlush);
            let consumed = (self.inflate.total_in() - before_in) as usize;
            let produced = (self.inflate.total_out() - before_out) as usize;
            out.truncate(len + produced);
            input = &input[consumed..];
            match status {
                Err(_) => return Err(InflateFailure::Invalid),
                Ok(Status::StreamEnd) => {
                    if out.len() > limit {
                        return Err(InflateFailure::TooLarge);
                    }
                    return Ok(Ended::Yes);
                }
                Ok(_) => {}
            }
            if out.len() > limit {
                return Err(InflateFailure::TooLarge);
            }
            if input.is_empty() && produced < room {
                return Ok(Ended::No);
            }
            if consumed == 0 && produced == 0 {
                // No progress with input left: zlib wants something it will never get.
                return Err(InflateFailure::Invalid);
            }
        }
    }
}

/// Whether the peer's stream ended with a final block.
enum Ended {
    Yes,
    No,
}

thread_local! {
    /// The thread's shared compressors, one per window size (index: window bits − 8).
    static SHARED_COMPRESSORS: RefCell<[Option<Box<Compressor>>; 8]> = RefCell::default();
    /// The thread's shared decompressor.
    static SHARED_DECOMPRESSOR: RefCell<Option<Box<Decompressor>>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's shared compressor for `window_bits` (reset after every
/// message).
pub(crate) fn with_shared_compressor<R>(
    window_bits: u8,
    f: impl FnOnce(&mut Compressor) -> R,
) -> R {
    let index = usize::from(window_bits.clamp(8, 15) - 8);
    SHARED_COMPRESSORS.with(|compressors| {
        let mut compressors = compressors.borrow_mut();
        let compressor = compressors[index]
            .get_or_insert_with(|| Box::new(Compressor::new(window_bits, 8, false)));
        f(compressor)
    })
}

/// Runs `f` with this thread's shared decompressor (reset after every message).
pub(crate) fn with_shared_decompressor<R>(f: impl FnOnce(&mut Decompressor) -> R) -> R {
    SHARED_DECOMPRESSOR.with(|decompressor| {
        let mut decompressor = decompressor.borrow_mut();
        let decompressor =
            decompressor.get_or_insert_with(|| Box::new(Decompressor::new(15, false)));
        f(decompressor)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compressed(compressor: &mut Compressor, payload: &[u8]) -> Vec<u8> {
        let mut out = BytesMut::new();
        assert!(compressor.compress(payload, &mut out));
        out.to_vec()
    }

    fn inflated(
        decompressor: &mut Decompressor,
        payload: &[u8],
    ) -> Result<Vec<u8>, InflateFailure> {
        let mut out = BytesMut::new();
        decompressor.decompress(payload, 1 << 20, &mut out)?;
        Ok(out.to_vec())
    }

    #[test]
    fn rfc_7692_examples_inflate() {
        let mut d = Decompressor::new(15, true);
        // §7.2.3.1: "Hello", compressed.
        assert_eq!(
            inflated(&mut d, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]).unwrap(),
            b"Hello"
        );
        // §7.2.3.2: a second "Hello" referring to the first (context takeover).
        assert_eq!(
            inflated(&mut d, &[0xf2, 0x00, 0x11, 0x00, 0x00]).unwrap(),
            b"Hello"
        );
        // §7.2.3.3: stored (uncompressed) block.
        let mut d = Decompressor::new(15, false);
        assert_eq!(
            inflated(
                &mut d,
                &[0x00, 0x05, 0x00, 0xfa, 0xff, b'H', b'e', b'l', b'l', b'o', 0x00]
            )
            .unwrap(),
            b"Hello"
        );
        // §7.2.3.4: BFINAL set.
        assert_eq!(
            inflated(&mut d, &[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]).unwrap(),
            b"Hello"
        );
        // §7.2.3.6: the empty message.
        assert_eq!(inflated(&mut d, &[0x00]).unwrap(), b"");
    }

    #[test]
    fn round_trips_with_and_without_context() {
        let text = b"{\"type\":\"price\",\"symbol\":\"ACME\",\"price\":123.45}".repeat(20);
        for keep in [true, false] {
            for window in 8..=15 {
                let mut c = Compressor::new(window, 8, keep);
                let mut d = Decompressor::new(window, keep);
                let mut sizes = Vec::new();
                for _ in 0..3 {
                    let data = compressed(&mut c, &text);
                    assert!(!data.ends_with(&FLUSH_TAIL), "the tail is removed");
                    sizes.push(data.len());
                    assert_eq!(inflated(&mut d, &data).unwrap(), text, "window {window}");
                }
                if window > 8 {
                    assert!(sizes[0] < text.len() / 4, "compresses: {sizes:?}");
                }
                if keep && window == 15 {
                    assert!(
                        sizes[1] * 3 < sizes[0],
                        "context makes repeats cheap: {sizes:?}"
                    );
                } else if !keep {
                    assert_eq!(sizes[0], sizes[1], "no context: every message alike");
                }
            }
        }
        // The empty message, first and between others, with and without context.
        for keep in [true, false] {
            let mut c = Compressor::new(15, 8, keep);
            let mut d = Decompressor::new(15, keep);
            for message in [&b""[..], &text, b"", b"", b"a", &text] {
                let data = compressed(&mut c, message);
                if message.is_empty() {
                    assert_eq!(data, [0x00], "keep context: {keep}");
                }
                assert_eq!(inflated(&mut d, &data).unwrap(), message, "keep: {keep}");
            }
            // A peer that sends an empty message as no data at all.
            assert_eq!(inflated(&mut d, b"").unwrap(), b"");
            let data = compressed(&mut c, &text);
            assert_eq!(inflated(&mut d, &data).unwrap(), text, "keep: {keep}");
        }
    }

    #[test]
    fn a_256_byte_window_uses_only_run_length_matches() {
        // Distances over 256 would break a peer that limited our window to 8 bits; an
        // 8-bit-window inflater rejects them.
        let data: Vec<u8> = (0..4000u32).map(|i| (i % 300) as u8).collect();
        let mut c = Compressor::new(8, 8, true);
        let packed = compressed(&mut c, &data);
        let mut strict = Inflate::new(false, 8);
        let mut out = vec![0u8; data.len() + 16];
        let mut input = packed;
        input.extend_from_slice(&FLUSH_TAIL);
        strict
            .decompress(&input, &mut out, InflateFlush::SyncFlush)
            .expect("valid for an 8-bit window");
        assert_eq!(&out[..data.len()], &data[..]);
    }

    #[test]
    fn a_bomb_stops_at_the_limit() {
        // 10 MiB of zeros compress to ~10 KB.
        let zeros = vec![0u8; 10 << 20];
        let mut c = Compressor::new(15, 8, false);
        let bomb = compressed(&mut c, &zeros);
        assert!(bomb.len() < 20_000, "{}", bomb.len());
        let mut d = Decompressor::new(15, true);
        let mut out = BytesMut::new();
        assert_eq!(
            d.decompress(&bomb, 1 << 20, &mut out),
            Err(InflateFailure::TooLarge)
        );
        // Never the whole 10 MiB: at most the limit and one step, as the buffer grows.
        assert!(
            out.capacity() <= 2 * ((1 << 20) + INFLATE_STEP),
            "{}",
            out.capacity()
        );
        // The decompressor is usable again after the failure.
        assert_eq!(inflated(&mut d, &compressed(&mut c, b"ok")).unwrap(), b"ok");
        // Exactly at the limit is fine.
        let mut out = BytesMut::new();
        let exact = compressed(&mut c, &zeros[..1 << 20]);
        assert_eq!(d.decompress(&exact, 1 << 20, &mut out), Ok(()));
        assert_eq!(out.len(), 1 << 20);
    }

    #[test]
    fn garbage_is_invalid() {
        let mut d = Decompressor::new(15, true);
        assert_eq!(inflated(&mut d, &[0xff; 32]), Err(InflateFailure::Invalid));
        assert_eq!(
            inflated(&mut d, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]).unwrap(),
            b"Hello"
        );
    }

    #[test]
    fn shared_instances_are_reset_per_message() {
        let a = with_shared_compressor(15, |c| compressed(c, b"abcabcabc"));
        let b = with_shared_compressor(15, |c| compressed(c, b"abcabcabc"));
        assert_eq!(a, b);
        assert_eq!(
            with_shared_decompressor(|d| inflated(d, &a)).unwrap(),
            b"abcabcabc"
        );
        assert_eq!(
            with_shared_decompressor(|d| inflated(d, &b)).unwrap(),
            b"abcabcabc"
        );
    }
}
