//! What nodes say to each other through the broker. Every message starts with the same three
//! fields, so a node can tell its own publishes from the others' before reading further:
//!
//! | bytes | field |
//! |---|---|
//! | 1 | kind: `P` publish, `Q` count query, `A` count answer |
//! | 1 | flags (publish: bit 0 binary, bit 1 compress; 0 otherwise) |
//! | 1 | length of the sender's node id, then the id |
//!
//! then, for a publish, the payload (the topic is the channel's name); for a query, the
//! request number (8 bytes, big-endian) and the topic; for an answer, the request number and
//! the count (8 bytes each). A message that does not parse is dropped and counted by the
//! caller; it can only come from something else writing to the channel.

// Some items are used only by the Redis backplane (feature `redis`); the encoding is tested
// without it.
#![cfg_attr(not(feature = "redis"), allow(dead_code))]

use bytes::{BufMut, BytesMut};

use crate::ws::frame::OpCode;

const PUBLISH: u8 = b'P';
const QUERY: u8 = b'Q';
const ANSWER: u8 = b'A';

const BINARY: u8 = 1;
const COMPRESS: u8 = 2;

/// A node id fits in the one-byte length.
pub(crate) const MAX_NODE_ID: usize = 255;

/// A message from another node (or this one), borrowed from the bytes it came in.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Envelope<'a> {
    Publish {
        from: &'a [u8],
        opcode: OpCode,
        compress: bool,
        payload: &'a [u8],
    },
    Query {
        from: &'a [u8],
        request: u64,
        topic: &'a str,
    },
    Answer {
        from: &'a [u8],
        request: u64,
        count: u64,
    },
}

fn put_head(out: &mut BytesMut, kind: u8, flags: u8, from: &str) {
    debug_assert!(from.len() <= MAX_NODE_ID, "node ids are checked at start");
    out.put_u8(kind);
    out.put_u8(flags);
    out.put_u8(from.len() as u8);
    out.put_slice(from.as_bytes());
}

/// The length of a publish's envelope before its payload.
pub(crate) fn publish_head_len(from: &str) -> usize {
    3 + from.len()
}

/// Appends a publish's envelope; the payload follows it.
pub(crate) fn put_publish_head(out: &mut BytesMut, from: &str, opcode: OpCode, compress: bool) {
    let mut flags = 0;
    if opcode == OpCode::Binary {
        flags |= BINARY;
    }
    if compress {
        flags |= COMPRESS;
    }
    put_head(out, PUBLISH, flags, from);
}

/// Appends a count query for `topic`.
pub(crate) fn put_query(out: &mut BytesMut, from: &str, request: u64, topic: &str) {
    put_head(out, QUERY, 0, from);
    out.put_u64(request);
    out.put_slice(topic.as_bytes());
}

/// Appends the answer to query `request`.
pub(crate) fn put_answer(out: &mut BytesMut, from: &str, request: u64, count: u64) {
    put_head(out, ANSWER, 0, from);
    out.put_u64(request);
    out.put_u64(count);
}

fn u64_at(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?))
}

/// Reads a message; `None` if it is not one of ours.
pub(crate) fn parse(bytes: &[u8]) -> Option<Envelope<'_>> {
    let (&[kind, flags, len], rest) = bytes.split_first_chunk::<3>()?;
    let from = rest.get(..usize::from(len))?;
    let rest = &rest[from.len()..];
    match kind {
        PUBLISH => Some(Envelope::Publish {
            from,
            opcode: if flags & BINARY != 0 {
                OpCode::Binary
            } else {
                OpCode::Text
            },
            compress: flags & COMPRESS != 0,
            payload: rest,
        }),
        QUERY => Some(Envelope::Query {
            from,
            request: u64_at(rest)?,
            topic: std::str::from_utf8(&rest[8..]).ok()?,
        }),
        ANSWER if rest.len() == 16 => Some(Envelope::Answer {
            from,
            request: u64_at(rest)?,
            count: u64_at(&rest[8..])?,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_reads_back_as_written() {
        let mut out = BytesMut::new();
        put_publish_head(&mut out, "node-a", OpCode::Binary, true);
        assert_eq!(out.len(), publish_head_len("node-a"));
        out.put_slice(b"\x00\x01payload");
        assert_eq!(
            parse(&out),
            Some(Envelope::Publish {
                from: b"node-a",
                opcode: OpCode::Binary,
                compress: true,
                payload: b"\x00\x01payload",
            })
        );

        let mut out = BytesMut::new();
        put_publish_head(&mut out, "b", OpCode::Text, false);
        let parsed = parse(&out).unwrap();
        assert!(matches!(
            parsed,
            Envelope::Publish {
                opcode: OpCode::Text,
                compress: false,
                payload: b"",
                ..
            }
        ));

        let mut out = BytesMut::new();
        put_query(&mut out, "node-a", u64::MAX - 1, "room ü");
        assert_eq!(
            parse(&out),
            Some(Envelope::Query {
                from: b"node-a",
                request: u64::MAX - 1,
                topic: "room ü"
            })
        );

        let mut out = BytesMut::new();
        put_answer(&mut out, "c", 7, 100_000);
        assert_eq!(
            parse(&out),
            Some(Envelope::Answer {
                from: b"c",
                request: 7,
                count: 100_000
            })
        );
    }

    #[test]
    fn what_is_not_ours_is_refused() {
        for bytes in [
            &b""[..],
            b"P\x00",
            b"P\x00\x05abc",           // id longer than the message
            b"X\x00\x01a",             // unknown kind
            b"Q\x00\x01a\x00\x00\x00", // request number cut short
            b"Q\x00\x01a\x00\x00\x00\x00\x00\x00\x00\x01\xff", // topic not UTF-8
            b"A\x00\x01a\x00\x00\x00\x00\x00\x00\x00\x01", // no count
        ] {
            assert_eq!(parse(bytes), None, "{bytes:?}");
        }
    }
}
