//! Topic pub/sub, Bun style: sockets subscribe to string topics; a publish encodes its frame
//! once and queues the same bytes on every subscriber.
//!
//! # The hub
//!
//! The hub is a sharded map from a topic's name to its [`Topic`], an `Arc` that the map only
//! hands out: a shard's lock is held to find, insert or remove a topic, never while anything
//! is done with one. So publishes and subscriptions to different topics rarely meet at all,
//! and a 100k-subscriber fan-out keeps no other topic of its shard waiting.
//!
//! A topic keeps its subscribers in a dense `Vec` behind a `RwLock`. Publishes fan out under
//! the read lock, so publishes to one topic run in parallel; subscribing pushes at the end and
//! unsubscribing swaps the last subscriber into the hole, under the write lock. Both cost O(1)
//! amortized whatever the topic's size: the copy-on-write list this replaces copied every
//! subscriber's `Arc` on each change, so 10k sockets joining one room cost ~50M atomic
//! operations while that shard's publishes waited. The subscriber count is kept in an atomic
//! beside the list, for [`Hub::subscriber_count`] without the topic's lock.
//!
//! A subscriber finds its place through a [`Slot`]: `subscribe` hands one out, the socket keeps
//! it beside the topic's name (the socket's own list of topics, which it has anyway), and
//! `unsubscribe` takes it back. The topic's slot table maps a slot to its subscriber's place in
//! the `Vec` (4 bytes), and each place names its slot, so the swap fixes the moved subscriber's
//! place with one write. This replaced a hash map from each socket's address to its place:
//! with 100k subscribers that map was ~2 MB, and its two probes per unsubscribe (find the
//! leaver, re-place the moved one) missed the cache, so leaving cost ~2.5× what it did at 1k.
//! A free slot holds the next free one; the table keeps a slot for each subscriber the topic
//! had at its busiest (less the last ones freed), until the topic dies. The list and its slot table live in
//! [`subscribers`].
//!
//! A topic whose last subscriber leaves is marked dead under its write lock, then removed
//! from the map (if the map still holds that very topic). A subscribe that meets a dead topic
//! (it found the topic just before it died) replaces it in the map with a fresh one and tries
//! again, so no subscription is ever added to a topic that is gone. Locks are taken in one
//! order only, shard → topic's subscribers → topic's log, and none is held across an
//! `.await` (there are none here).
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
//! A topic's current log sits behind its own mutex, so publishes to one topic only meet to
//! append. A log is replaced by a fresh one once it holds [`LOG_CAPACITY`] bytes, and emptied
//! for reuse when no range points into it any more; its buffer (at most that capacity plus
//! one frame) is kept for the next publish until the topic loses its last subscriber. A
//! subscriber pins at most one log:
//! when its open range cannot be widened (another topic, a frame it missed, a direct send in
//! between), the range is copied into the subscriber's own queue. Frames larger than
//! [`LOGGED_FRAME_LIMIT`] skip the log: they are encoded once into their own buffer, which
//! every subscriber shares without a copy.

mod changes;
mod subscribers;

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasher;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock};

use bytes::{Bytes, BytesMut};

pub(crate) use self::changes::TopicChanges;
pub(crate) use self::subscribers::Slot;
use self::subscribers::Subscribers;
use crate::sync::{lock, read, write};
use crate::ws::deflate::codec;
use crate::ws::frame::{self, OpCode};
use crate::ws::queue::{Published, TopicLog};
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
    /// What became of the part meant for the other servers, with a
    /// [backplane](crate::backplane): queued for them, or not sent (and why).
    /// [`Remote::InProcess`] without one.
    ///
    /// [`Remote::InProcess`]: crate::backplane::Remote::InProcess
    pub remote: crate::backplane::Remote,
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

/// A topic: its subscribers and its log (see the [module docs](self)).
#[derive(Default)]
struct Topic {
    subscribers: RwLock<Subscribers>,
    /// How many subscribers there are; changed under the write lock.
    len: AtomicUsize,
    /// The topic lost its last subscriber and is leaving the map: nobody may join it. Set
    /// under the write lock, never cleared.
    dead: AtomicBool,
    /// The log small frames are appended to.
    log: Mutex<Arc<TopicLog>>,
}

impl Topic {
    /// True while the topic has subscribers.
    fn is_live(&self) -> bool {
        self.len.load(Ordering::Acquire) > 0
    }

    /// Appends a frame to the log and returns the log and where the frame lies there. A log
    /// no range points into any more is emptied first; a full one is left to the ranges still
    /// in it and replaced.
    fn append(&self, opcode: OpCode, payload: &[u8]) -> (Arc<TopicLog>, Range<usize>) {
        let size = frame::header_len(payload.len()) + payload.len();
        let mut log = lock(&self.log);
        // Ranges are only made from clones taken under this lock, which we hold: a count of
        // one means no range points into the log, nor can one appear.
        let unread = Arc::strong_count(&log) == 1;
        let mut frames = log.frames();
        if unread {
            frames.clear();
            if frames.capacity() > LOG_CAPACITY {
                *frames = BytesMut::new();
            }
        } else if frames.len() + size > LOG_CAPACITY {
            drop(frames);
            *log = Arc::default();
            frames = log.frames();
        }
        let start = frames.len();
        frame::encode_frame(&mut frames, opcode, payload);
        let range = start..frames.len();
        drop(frames);
        (Arc::clone(&log), range)
    }
}

/// One shard of the topic map.
type Shard = Mutex<HashMap<Box<str>, Arc<Topic>>>;

/// Every topic of one server.
pub(crate) struct Hub {
    hasher: RandomState,
    shards: Box<[Shard]>,
    /// Set when a backplane runs: told about each topic's first subscriber and last one.
    changes: OnceLock<Arc<TopicChanges>>,
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
            changes: OnceLock::new(),
        }
    }
}

impl Hub {
    fn shard(&self, topic: &str) -> MutexGuard<'_, HashMap<Box<str>, Arc<Topic>>> {
        let i = (self.hasher.hash_one(topic) as usize) % self.shards.len();
        lock(&self.shards[i])
    }

    /// From now on, marks in the returned set every topic that gains its first subscriber or
    /// loses its last one (a backplane's subscriptions follow them).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn watch(&self) -> Arc<TopicChanges> {
        Arc::clone(self.changes.get_or_init(Arc::default))
    }

    /// Tells the backplane, if any, that `topic` gained its first subscriber or lost its last.
    fn changed(&self, topic: &str) {
        if let Some(changes) = self.changes.get() {
            changes.mark(topic);
        }
    }

    /// The topic named `name`, if it is in the map (it may be dead).
    fn find(&self, name: &str) -> Option<Arc<Topic>> {
        self.shard(name).get(name).cloned()
    }

    /// Adds `socket` to `topic` and returns its slot there, for [`unsubscribe`]. The caller
    /// keeps its socket's topics and subscribes a socket to a topic only once: the hub does
    /// not look for it (that is what the slot saves).
    ///
    /// [`unsubscribe`]: Self::unsubscribe
    pub(crate) fn subscribe(&self, topic: &str, socket: &Arc<SocketShared>) -> Slot {
        loop {
            let found = {
                let mut shard = self.shard(topic);
                match shard.get_mut(topic) {
                    // A dead topic is on its way out: a fresh one takes its place (its
                    // killer removes only the topic it killed).
                    Some(found) if found.dead.load(Ordering::Acquire) => {
                        *found = Arc::default();
                        Arc::clone(found)
                    }
                    Some(found) => Arc::clone(found),
                    None => Arc::clone(shard.entry(topic.into()).or_default()),
                }
            };
            let mut subscribers = write(&found.subscribers);
            if found.dead.load(Ordering::Acquire) {
                // It died since we found it: look again (and replace it).
                continue;
            }
            let slot = subscribers.insert(socket);
            let len = subscribers.len();
            found.len.store(len, Ordering::Release);
            drop(subscribers);
            if len == 1 {
                self.changed(topic);
            }
            return slot;
        }
    }

    /// Removes `socket` from `topic`, where [`subscribe`] put it in `slot`; false if it was
    /// not there. An emptied topic is freed.
    ///
    /// [`subscribe`]: Self::subscribe
    pub(crate) fn unsubscribe(&self, topic: &str, socket: &Arc<SocketShared>, slot: Slot) -> bool {
        let Some(found) = self.find(topic) else {
            return false;
        };
        let mut subscribers = write(&found.subscribers);
        let Some(gone) = subscribers.remove(socket, slot) else {
            return false;
        };
        let left = subscribers.len();
        found.len.store(left, Ordering::Release);
        if left == 0 {
            found.dead.store(true, Ordering::Release);
        }
        drop(subscribers);
        // Its reference is let go of outside the lock.
        drop(gone);
        if left > 0 {
            return true;
        }
        // We killed it: out of the map, unless a subscriber has replaced it already.
        {
            let mut shard = self.shard(topic);
            if shard.get(topic).is_some_and(|t| Arc::ptr_eq(t, &found)) {
                shard.remove(topic);
            }
        }
        self.changed(topic);
        true
    }

    /// How many sockets are subscribed to `topic`.
    pub(crate) fn subscriber_count(&self, topic: &str) -> usize {
        self.shard(topic)
            .get(topic)
            .map_or(0, |topic| topic.len.load(Ordering::Acquire))
    }

    /// How many topics have at least one subscriber.
    pub(crate) fn topic_count(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| lock(shard).values().filter(|t| t.is_live()).count())
            .sum()
    }

    /// The topics that have at least one subscriber.
    pub(crate) fn topics(&self) -> Vec<String> {
        let mut topics = Vec::new();
        for shard in &*self.shards {
            let shard = lock(shard);
            let live = shard.iter().filter(|(_, t)| t.is_live());
            topics.extend(live.map(|(name, _)| name.to_string()));
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
        let Some(topic) = self.find(topic) else {
            return PublishResult::default();
        };
        // A large frame is encoded before taking the lock.
        let whole = (frame::header_len(payload.len()) + payload.len() > LOGGED_FRAME_LIMIT)
            .then(|| encode(opcode, payload));
        // Other publishes to this topic fan out alongside; subscribe and unsubscribe wait.
        let subscribers = read(&topic.subscribers);
        if subscribers.is_empty() {
            return PublishResult::default();
        }
        let published = match whole {
            Some(frame) => Published::Frame(frame),
            None => {
                let (log, range) = topic.append(opcode, payload);
                Published::Logged(log, range)
            }
        };
        let recipients = (subscribers.sockets())
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
mod tests;
