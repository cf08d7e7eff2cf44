//! Topic pub/sub, Bun style: sockets subscribe to string topics; a publish encodes its frame
//! once and queues the same bytes on every subscriber.
//!
//! The hub is a sharded map from topic to its subscriber list. A list is copy-on-write
//! (`Arc<[…]>`): subscribing and unsubscribing build a new list under the shard's lock, while
//! a publish only clones the `Arc` under that lock and fans out after releasing it, so no lock
//! is held while frames are queued and publishes to different topics rarely meet at all.
//!
//! # The topic log
//!
//! A small published frame is appended once to its topic's [`TopicLog`], and each subscriber
//! queues only a *range* of that log (its queue keeps one open range and widens it while the
//! frames it gets are consecutive in the log, which they are when the subscriber got every
//! publish in between). The bytes are copied out when the subscriber's connection writes, into
//! the writing task's reused buffer. So a publish to 500 subscribers writes 66 bytes once and
//! widens 500 ranges, instead of copying the frame into 500 send buffers: with many
//! subscribers those buffers do not fit in the cache, and the copies, not the system calls,
//! dominated the fan-out (uWebSockets' topic tree batches publishes for the same reason).
//!
//! A log is replaced by a fresh one once it holds [`LOG_CAPACITY`] bytes, and emptied for
//! reuse when no range points into it any more; its buffer (at most that capacity plus one
//! frame) is kept for the next publish until the topic loses its last subscriber. A
//! subscriber pins at most one log:
//! when its open range cannot be widened (another topic, a frame it missed, a direct send in
//! between), the range is copied into the subscriber's own queue. Frames larger than
//! [`LOGGED_FRAME_LIMIT`] skip the log: they are encoded once into their own buffer, which
//! every subscriber shares without a copy.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasher;
use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::{Bytes, BytesMut};

use crate::ws::deflate::codec;
use crate::ws::frame::{self, OpCode};
use crate::ws::queue::Published;
use crate::ws::shared::{Delivery, SocketShared};

/// Shards of the topic map: enough that publishers on different threads rarely share one.
const SHARDS: usize = 16;

/// A topic log past this size is replaced by a fresh one (the old one lives on while
/// subscribers' ranges point into it).
pub(crate) const LOG_CAPACITY: usize = 64 * 1024;

/// Frames up to this size go through the topic log; larger ones are shared whole.
pub(crate) const LOGGED_FRAME_LIMIT: usize = 4 * 1024;

/// Why a topic was refused: carried by [`SubscribeStatus::Refused`](crate::SubscribeStatus)
/// and [`PublishResult::refused`], never returned as an `Err`. The messages name the limit
/// and the option that sets it.
///
/// ```
/// # use hyperbun::TopicError;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # let app = hyperbun::test::TestServer::start(hyperbun::router![]).await;
/// # let server = app.server();
/// assert_eq!(server.publish("", "news").refused, Some(TopicError::Empty));
/// assert_eq!(
///     server.publish(&"n".repeat(5000), "news").refused,
///     Some(TopicError::TooLong { len: 5000, limit: 4096 })
/// );
/// let result = server.publish("news", "nobody listens");
/// assert_eq!((result.delivered, result.refused), (0, None));
/// # app.stop().await;
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum TopicError {
    /// Topics are non-empty strings.
    #[error("a topic must not be empty")]
    Empty,
    /// The topic's name is longer than the server allows.
    #[error(
        "a topic of {len} bytes is longer than the limit of {limit} bytes \
         (ServerConfig::max_topic_length)"
    )]
    TooLong {
        /// The name's length, in bytes.
        len: usize,
        /// [`ServerConfig::max_topic_length`](crate::ServerConfig::max_topic_length).
        limit: usize,
    },
    /// The socket is already subscribed to as many topics as its route allows.
    #[error(
        "the socket is subscribed to {limit} topics, the limit \
         (SocketOptions::max_topics_per_socket, `max_topics_per_socket = N` in #[websocket])"
    )]
    TooManyTopics {
        /// [`SocketOptions::max_topics_per_socket`](crate::SocketOptions::max_topics_per_socket).
        limit: usize,
    },
}

/// What became of a publish: how many subscribers got the message queued, how many of those
/// are now at their backpressure limit, and how many did not get it (closing, or already over
/// the limit).
///
/// Bun's `publish` returns one number for the worst case; a caller retrying on `-1` would send
/// the message again to every subscriber that already had it. These counts say exactly who got
/// what: retry nothing for `delivered` and `backpressured` (both queued it), and know that
/// `dropped` subscribers missed it. A topic the server refuses (empty, too long) is reported
/// in [`refused`](Self::refused); a valid one needs no error handling.
///
/// # Examples
///
/// ```
/// use hyperbun::prelude::*;
/// use hyperbun::test::TestServer;
///
/// struct Room;
///
/// #[websocket("/room")]
/// impl Room {
///     fn open(ws: &mut WebSocket) {
///         ws.subscribe("room");
///     }
///     fn message(ws: &mut WebSocket, msg: Message) {
///         let result = ws.publish("room", msg);
///         // Everybody else got it queued, nobody is at the limit, nobody missed it.
///         let report = (result.delivered, result.backpressured, result.dropped, result.queued());
///         ws.send(format!("{report:?}"));
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let app = TestServer::start(hyperbun::router![Room]).await;
/// let mut ada = app.ws("/room").await;
/// let mut bob = app.ws("/room").await;
/// let mut cy = app.ws("/room").await;
/// app.wait_subscribers("room", 3).await;
/// ada.send("hello").await;
/// ada.expect_text("(2, 0, 0, 2)").await;         // bob and cy; not the sender
/// bob.expect_text("hello").await;
/// cy.expect_text("hello").await;
/// for mut ws in [ada, bob, cy] {
///     ws.close().await;
/// }
/// app.stop().await;
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct PublishResult {
    /// Subscribers that got the message queued, below their backpressure limit.
    pub delivered: usize,
    /// Subscribers that got it queued and are now at their limit (`drain` follows).
    pub backpressured: usize,
    /// Subscribers that did not get it.
    pub dropped: usize,
    /// Why the topic was refused (empty, or longer than
    /// [`max_topic_length`](crate::ServerConfig::max_topic_length)), in which case nobody got
    /// the message and every count is zero; `None` for a valid topic, even one nobody is
    /// subscribed to.
    ///
    /// A refusal is reported here rather than as an `Err`, the way [`SendStatus`] reports a
    /// dropped send: publishing used to return `Result<PublishResult, TopicError>`, which is
    /// `must_use`, so every publish to a constant topic was written `.expect("a topic")`.
    ///
    /// [`SendStatus`]: crate::SendStatus
    pub refused: Option<TopicError>,
}

impl PublishResult {
    /// The result of a publish to a refused topic.
    pub(crate) fn refusal(error: TopicError) -> Self {
        PublishResult {
            refused: Some(error),
            ..PublishResult::default()
        }
    }

    /// Subscribers that got the message queued (`delivered + backpressured`).
    #[must_use]
    pub fn queued(&self) -> usize {
        self.delivered + self.backpressured
    }

    /// Counts one subscriber's delivery.
    fn count(&mut self, delivery: Delivery) {
        match delivery {
            Delivery::Sent(_) => self.delivered += 1,
            Delivery::Backpressure(_) => self.backpressured += 1,
            Delivery::Dropped => self.dropped += 1,
        }
    }
}

type Subscribers = Arc<[Arc<SocketShared>]>;

/// Frames published to one topic and not yet written by all of its subscribers, back to
/// back; subscribers' queues hold ranges of it (see the [module docs](self)).
#[derive(Default)]
pub(crate) struct TopicLog {
    frames: Mutex<BytesMut>,
}

impl TopicLog {
    /// Appends the frames in `range` to `out`.
    pub(crate) fn copy_to(&self, range: Range<usize>, out: &mut BytesMut) {
        out.extend_from_slice(&lock(&self.frames)[range]);
    }
}

/// A topic: its subscribers and its log.
struct Topic {
    subscribers: Subscribers,
    log: Arc<TopicLog>,
}

impl Topic {
    fn new(subscribers: Subscribers) -> Self {
        Topic {
            subscribers,
            log: Arc::default(),
        }
    }

    /// Appends a frame to the log and returns where it lies there. A log no range points
    /// into any more is emptied first; a full one is left to the ranges still in it and
    /// replaced.
    fn append(&mut self, opcode: OpCode, payload: &[u8]) -> Range<usize> {
        let size = frame::header_len(payload.len()) + payload.len();
        // Ranges are only made from clones taken under the shard's lock, which the caller
        // holds: a count of one means no range points into the log, nor can one appear.
        let unread = Arc::strong_count(&self.log) == 1;
        let mut frames = lock(&self.log.frames);
        if unread {
            frames.clear();
            if frames.capacity() > LOG_CAPACITY {
                *frames = BytesMut::new();
            }
        } else if frames.len() + size > LOG_CAPACITY {
            drop(frames);
            self.log = Arc::default();
            frames = lock(&self.log.frames);
        }
        let start = frames.len();
        frame::encode_frame(&mut frames, opcode, payload);
        start..frames.len()
    }
}

/// One shard of the topic map.
type Shard = Mutex<HashMap<Box<str>, Topic>>;

/// Every topic of one server.
pub(crate) struct Hub {
    hasher: RandomState,
    shards: Box<[Shard]>,
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hub")
            .field("topics", &self.topic_count())
            .finish()
    }
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
        }
    }
}

impl Hub {
    fn shard(&self, topic: &str) -> MutexGuard<'_, HashMap<Box<str>, Topic>> {
        let i = (self.hasher.hash_one(topic) as usize) % self.shards.len();
        lock(&self.shards[i])
    }

    /// Adds `socket` to `topic`; false if it was already there.
    pub(crate) fn subscribe(&self, topic: &str, socket: &Arc<SocketShared>) -> bool {
        let mut shard = self.shard(topic);
        match shard.get_mut(topic) {
            Some(Topic { subscribers, .. }) => {
                if subscribers.iter().any(|s| Arc::ptr_eq(s, socket)) {
                    return false;
                }
                *subscribers = subscribers
                    .iter()
                    .cloned()
                    .chain([Arc::clone(socket)])
                    .collect();
            }
            None => {
                shard.insert(topic.into(), Topic::new(Arc::from([Arc::clone(socket)])));
            }
        }
        true
    }

    /// Removes `socket` from `topic`; false if it was not there. An emptied topic is freed.
    pub(crate) fn unsubscribe(&self, topic: &str, socket: &Arc<SocketShared>) -> bool {
        let mut shard = self.shard(topic);
        let Some(Topic { subscribers, .. }) = shard.get_mut(topic) else {
            return false;
        };
        if !subscribers.iter().any(|s| Arc::ptr_eq(s, socket)) {
            return false;
        }
        if subscribers.len() == 1 {
            shard.remove(topic);
        } else {
            *subscribers = subscribers
                .iter()
                .filter(|s| !Arc::ptr_eq(s, socket))
                .cloned()
                .collect();
        }
        true
    }

    /// How many sockets are subscribed to `topic`.
    pub(crate) fn subscriber_count(&self, topic: &str) -> usize {
        self.shard(topic)
            .get(topic)
            .map_or(0, |topic| topic.subscribers.len())
    }

    /// How many topics have at least one subscriber.
    pub(crate) fn topic_count(&self) -> usize {
        self.shards.iter().map(|shard| lock(shard).len()).sum()
    }

    /// The topics that have at least one subscriber.
    pub(crate) fn topics(&self) -> Vec<String> {
        let mut topics = Vec::new();
        for shard in &*self.shards {
            let shard = lock(shard);
            topics.extend(shard.keys().map(|t| t.to_string()));
        }
        topics
    }

    /// Queues `payload` as one frame on every subscriber of `topic` but `except`.
    pub(crate) fn publish(
        &self,
        topic: &str,
        opcode: OpCode,
        payload: &[u8],
        except: Option<&Arc<SocketShared>>,
        compress: bool,
    ) -> PublishResult {
        // A large frame is encoded before taking the lock.
        let whole = (frame::header_len(payload.len()) + payload.len() > LOGGED_FRAME_LIMIT)
            .then(|| encode(opcode, payload));
        let (subscribers, published) = {
            let mut shard = self.shard(topic);
            let Some(topic) = shard.get_mut(topic) else {
                return PublishResult::default();
            };
            let published = match whole {
                Some(frame) => Published::Frame(frame),
                None => {
                    let range = topic.append(opcode, payload);
                    Published::Logged(Arc::clone(&topic.log), range)
                }
            };
            (Arc::clone(&topic.subscribers), published)
        };
        let recipients = subscribers
            .iter()
            .filter(|socket| !except.is_some_and(|e| Arc::ptr_eq(e, socket)));
        let mut result = PublishResult::default();
        if !compress {
            for socket in recipients {
                result.count(socket.deliver(&published, payload.len()));
            }
            return result;
        }
        // The compressed forms made so far, by window bits − 8, with their lengths.
        let mut compressed: [Option<(Published, usize)>; 8] = Default::default();
        for socket in recipients {
            let sender = (socket.deflate.as_deref()).filter(|sender| sender.wants(payload.len()));
            let delivery = match sender.map(|sender| sender.shared_window()) {
                None => socket.deliver(&published, payload.len()),
                // A dedicated compressor: compressed for this subscriber alone.
                Some(None) => socket.deliver_compressed(opcode, payload, &published),
                Some(Some(window)) => {
                    let slot = &mut compressed[usize::from(window.clamp(8, 15) - 8)];
                    if slot.is_none() {
                        *slot = compress_frame(opcode, payload, window);
                    }
                    match slot {
                        Some((frame, len)) => socket.deliver(frame, *len),
                        None => socket.deliver(&published, payload.len()),
                    }
                }
            };
            result.count(delivery);
        }
        result
    }
}

/// The frame compressed with this thread's shared compressor for `window_bits`, encoded once
/// for every subscriber with that window, and its payload's length; `None` if compressing
/// failed.
fn compress_frame(opcode: OpCode, payload: &[u8], window_bits: u8) -> Option<(Published, usize)> {
    let mut compressed = BytesMut::new();
    if !codec::with_shared_compressor(window_bits, |c| c.compress(payload, &mut compressed)) {
        return None;
    }
    let mut frame = BytesMut::with_capacity(frame::header_len(compressed.len()) + compressed.len());
    frame::encode_header(&mut frame, opcode, true, true, compressed.len());
    frame.extend_from_slice(&compressed);
    Some((Published::Frame(frame.freeze()), compressed.len()))
}

/// The frame, encoded once for every subscriber.
fn encode(opcode: OpCode, payload: &[u8]) -> Bytes {
    let mut frame = BytesMut::with_capacity(frame::header_len(payload.len()) + payload.len());
    frame::encode_frame(&mut frame, opcode, payload);
    frame.freeze()
}

/// Locks a mutex whose data stays consistent even if a holder panicked (every change under
/// these locks is a single infallible step).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Refuses the empty topic, and a name longer than `max_len` bytes.
pub(crate) fn check(topic: &str, max_len: usize) -> Result<(), TopicError> {
    if topic.is_empty() {
        Err(TopicError::Empty)
    } else if topic.len() > max_len {
        Err(TopicError::TooLong {
            len: topic.len(),
            limit: max_len,
        })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(log: &TopicLog, range: Range<usize>) -> Vec<u8> {
        let mut out = BytesMut::new();
        log.copy_to(range, &mut out);
        out.to_vec()
    }

    #[test]
    fn a_log_nobody_reads_is_reused_from_the_start() {
        let mut topic = Topic::new(Arc::from([]));
        assert_eq!(topic.append(OpCode::Text, b"one"), 0..5);
        // No range holds the log: the next frame starts it over.
        assert_eq!(topic.append(OpCode::Text, b"two"), 0..5);
        assert_eq!(frames(&topic.log, 0..5), b"\x81\x03two");
    }

    #[test]
    fn a_read_log_grows_until_full_then_is_replaced() {
        let mut topic = Topic::new(Arc::from([]));
        let reader = Arc::clone(&topic.log);
        let first = topic.append(OpCode::Binary, &[7; 100]);
        let second = topic.append(OpCode::Binary, &[8; 100]);
        assert_eq!(
            (first.clone(), second.start),
            (0..102, 102),
            "appended behind"
        );

        // Fill it: the frame that does not fit goes to a fresh log.
        let mut end = second.end;
        while end + 102 <= LOG_CAPACITY {
            end = topic.append(OpCode::Binary, &[9; 100]).end;
        }
        assert!(Arc::ptr_eq(&topic.log, &reader));
        assert_eq!(topic.append(OpCode::Binary, &[10; 100]), 0..102);
        assert!(!Arc::ptr_eq(&topic.log, &reader), "replaced");

        // The reader's frames are intact in the old log.
        assert_eq!(frames(&reader, first)[2..], [7; 100]);
        assert_eq!(frames(&reader, second)[2..], [8; 100]);
    }
}
