//! The send queue of one socket: encoded frames in order, and the `writev` that empties it.
//!
//! Sends never write inside the call: they encode the frame into the socket's queue and the
//! connection driver writes the queue in one batch (one `writev`) once the handler returns
//! (or, for an `async` handler, whenever it waits). That is uWebSockets' cork, applied to
//! every handler.
//!
//! Small frames are encoded straight into one buffer (`tail`); a large payload is queued as
//! its own chunk behind its header, without a copy. Frames published to a topic are a range
//! of the topic's log (see [`pubsub`](crate::ws::pubsub)), widened while they follow one
//! another there, and copied into `tail` when something else is queued after them or the
//! queue is about to be written. The queue knows nothing of sockets, locks or tasks: the
//! socket's shared state ([`shared`](crate::ws::shared)) owns two of them and the policy.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::{Buf, Bytes, BytesMut};

use crate::sync::lock;
use crate::ws::frame::{self, OpCode};
use crate::ws::spare;

/// Payloads up to this size are copied into the queue's buffer; larger ones are queued as
/// shared [`Bytes`] behind their header, without a copy.
const COPY_LIMIT: usize = 4 * 1024;

/// Most `IoSlice`s handed to one `writev`.
const MAX_SLICES: usize = 64;

/// A payload to queue: borrowed (copied into the queue) or shared, or a frame published to a
/// topic.
pub(crate) enum Payload<'a> {
    Borrowed(&'a [u8]),
    Shared(Bytes),
    /// A published frame, header included, and its payload's length.
    Published(&'a Published, usize),
    /// A message compressed with permessage-deflate, sent with RSV1.
    Deflated(&'a [u8]),
}

impl Payload<'_> {
    /// The payload's length (without any header).
    pub(crate) fn len(&self) -> usize {
        match self {
            Payload::Borrowed(b) => b.len(),
            Payload::Shared(b) => b.len(),
            Payload::Published(_, len) => *len,
            Payload::Deflated(b) => b.len(),
        }
    }

    /// The payload's bytes, when it is a message still to encode.
    pub(crate) fn message_bytes(&self) -> Option<&[u8]> {
        match self {
            Payload::Borrowed(b) => Some(b),
            Payload::Shared(b) => Some(b),
            Payload::Published(..) | Payload::Deflated(_) => None,
        }
    }
}

/// Frames published to one topic and not yet written by all of its subscribers, back to
/// back: the topic's log (see [`pubsub`](crate::ws::pubsub)). Queues hold ranges of it, so it
/// lives here, beside them; the hub appends to it.
#[derive(Default)]
pub(crate) struct TopicLog {
    frames: Mutex<BytesMut>,
}

impl TopicLog {
    /// The frames, locked (for the hub to append).
    pub(crate) fn frames(&self) -> MutexGuard<'_, BytesMut> {
        lock(&self.frames)
    }

    /// Appends the frames in `range` to `out`.
    pub(crate) fn copy_to(&self, range: Range<usize>, out: &mut BytesMut) {
        out.extend_from_slice(&self.frames()[range]);
    }
}

/// A frame published to a topic, encoded once for every subscriber.
pub(crate) enum Published {
    /// A small frame, in the topic's log.
    Logged(Arc<TopicLog>, Range<usize>),
    /// A large frame in its own buffer.
    Frame(Bytes),
}

/// Consecutive frames of a topic log queued on one socket.
struct LogRange {
    log: Arc<TopicLog>,
    range: Range<usize>,
}

/// Encoded frames in order: `chunks`, then `tail`, then `published`. Small frames are
/// encoded straight into `tail`; a large payload is queued as its own chunk behind its header,
/// without a copy. Frames published to a topic are a range of the topic's log, widened while
/// they follow one another there, and copied into `tail` when something else is queued after
/// them or the queue is about to be written.
#[derive(Default)]
pub(crate) struct Queue {
    chunks: VecDeque<Bytes>,
    tail: BytesMut,
    published: Option<LogRange>,
    len: usize,
}

impl Queue {
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes queued.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn push_frame(&mut self, opcode: OpCode, payload: Payload<'_>) {
        let len = payload.len();
        self.len += frame::header_len(len) + len;
        match payload {
            Payload::Published(Published::Logged(log, range), _) => self.push_logged(log, range),
            // A large published frame is shared, not copied.
            Payload::Published(Published::Frame(frame), _) => {
                self.copy_published();
                if !self.tail.is_empty() {
                    self.chunks.push_back(self.tail.split().freeze());
                }
                self.chunks.push_back(frame.clone());
            }
            Payload::Shared(bytes) if len > COPY_LIMIT => {
                frame::encode_header(self.tail(), opcode, true, false, len);
                self.chunks.push_back(self.tail.split().freeze());
                self.chunks.push_back(bytes);
            }
            Payload::Shared(bytes) => frame::encode_frame(self.tail(), opcode, &bytes),
            Payload::Borrowed(bytes) => frame::encode_frame(self.tail(), opcode, bytes),
            Payload::Deflated(bytes) => {
                let tail = self.tail();
                frame::encode_header(tail, opcode, true, true, bytes.len());
                tail.extend_from_slice(bytes);
            }
        }
    }

    /// `tail`, ready to append to: with a buffer, and with any queued log range copied in
    /// first (it was queued before what comes now).
    fn tail(&mut self) -> &mut BytesMut {
        self.copy_published();
        if self.tail.capacity() == 0 {
            self.tail = spare::take(spare::Kind::Write);
        }
        &mut self.tail
    }

    /// Queues frames of a topic log: widens the queued range if they follow it in the same
    /// log, else starts a new range (copying the old one out).
    fn push_logged(&mut self, log: &Arc<TopicLog>, range: &Range<usize>) {
        match &mut self.published {
            Some(queued) if Arc::ptr_eq(&queued.log, log) && queued.range.end == range.start => {
                queued.range.end = range.end;
            }
            _ => {
                self.copy_published();
                self.published = Some(LogRange {
                    log: Arc::clone(log),
                    range: range.clone(),
                });
            }
        }
    }

    /// Copies the queued range of a topic log into `tail`, behind everything queued before
    /// it: before something else is queued after it, and before the queue is written.
    pub(crate) fn copy_published(&mut self) {
        if let Some(LogRange { log, range }) = self.published.take() {
            if self.tail.capacity() == 0 {
                self.tail = spare::take(spare::Kind::Write);
            }
            log.copy_to(range, &mut self.tail);
        }
    }

    /// The queued bytes in order, as slices for one `writev`.
    fn slices<'a>(&'a self, slices: &mut [IoSlice<'a>; MAX_SLICES]) -> usize {
        let mut count = 0;
        for chunk in self.chunks.iter().take(MAX_SLICES - 1) {
            slices[count] = IoSlice::new(chunk);
            count += 1;
        }
        if !self.tail.is_empty() {
            slices[count] = IoSlice::new(&self.tail);
            count += 1;
        }
        count
    }

    /// Writes as much as `write` takes; returns the bytes written. `write` is one vectored
    /// write, `WouldBlock` when the stream is full: then `Ok` comes back with the queue not
    /// empty (wait for writability).
    pub(crate) fn write_with(
        &mut self,
        mut write: impl FnMut(&[IoSlice<'_>]) -> io::Result<usize>,
    ) -> io::Result<usize> {
        let mut total = 0;
        while !self.is_empty() {
            let mut slices = [IoSlice::new(&[]); MAX_SLICES];
            let count = self.slices(&mut slices);
            match write(&slices[..count]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.advance(n);
                    total += n;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if self.is_empty() {
            self.release();
        }
        Ok(total)
    }

    fn advance(&mut self, mut n: usize) {
        self.len -= n;
        while n > 0 {
            let Some(front) = self.chunks.front_mut() else {
                self.tail.advance(n);
                return;
            };
            if n < front.len() {
                front.advance(n);
                return;
            }
            n -= front.len();
            self.chunks.pop_front();
        }
    }

    /// Gives back the memory of an empty queue, so an idle socket holds no buffers.
    fn release(&mut self) {
        spare::give_back(spare::Kind::Write, std::mem::take(&mut self.tail));
        if self.chunks.capacity() > 16 {
            self.chunks = VecDeque::new();
        }
    }
}
