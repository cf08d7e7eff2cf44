//! Topic pub/sub, Bun style: sockets subscribe to string topics; a publish encodes its frame
//! once and queues the same bytes on every subscriber.
//!
//! The hub is a sharded map from topic to its subscriber list. A list is copy-on-write
//! (`Arc<[…]>`): subscribing and unsubscribing build a new list under the shard's lock, while
//! a publish only clones the `Arc` under that lock and fans out after releasing it, so no lock
//! is held while frames are queued and publishes to different topics rarely meet at all.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::{Bytes, BytesMut};

use crate::ws::frame::{self, OpCode};
use crate::ws::socket::{Delivery, SocketShared};

/// Shards of the topic map: enough that publishers on different threads rarely share one.
const SHARDS: usize = 16;

/// Why a topic was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TopicError {
    /// Topics are non-empty strings.
    #[error("a topic must not be empty")]
    Empty,
}

/// What became of a publish: how many subscribers got the message queued, how many of those
/// are now at their backpressure limit, and how many did not get it (closing, or already over
/// the limit).
///
/// Bun's `publish` returns one number for the worst case; a caller retrying on `-1` would send
/// the message again to every subscriber that already had it. These counts say exactly who got
/// what: retry nothing for `delivered` and `backpressured` (both queued it), and know that
/// `dropped` subscribers missed it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PublishResult {
    /// Subscribers that got the message queued, below their backpressure limit.
    pub delivered: usize,
    /// Subscribers that got it queued and are now at their limit (`drain` follows).
    pub backpressured: usize,
    /// Subscribers that did not get it.
    pub dropped: usize,
}

impl PublishResult {
    /// Subscribers that got the message queued (`delivered + backpressured`).
    #[must_use]
    pub fn queued(&self) -> usize {
        self.delivered + self.backpressured
    }
}

type Subscribers = Arc<[Arc<SocketShared>]>;

/// One shard of the topic map.
type Shard = Mutex<HashMap<Box<str>, Subscribers>>;

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
    fn shard(&self, topic: &str) -> MutexGuard<'_, HashMap<Box<str>, Subscribers>> {
        let i = (self.hasher.hash_one(topic) as usize) % self.shards.len();
        self.shards[i]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds `socket` to `topic`; false if it was already there.
    pub(crate) fn subscribe(&self, topic: &str, socket: &Arc<SocketShared>) -> bool {
        let mut shard = self.shard(topic);
        match shard.get_mut(topic) {
            Some(list) => {
                if list.iter().any(|s| Arc::ptr_eq(s, socket)) {
                    return false;
                }
                *list = list.iter().cloned().chain([Arc::clone(socket)]).collect();
            }
            None => {
                shard.insert(topic.into(), Arc::from([Arc::clone(socket)]));
            }
        }
        true
    }

    /// Removes `socket` from `topic`; false if it was not there. An emptied topic is freed.
    pub(crate) fn unsubscribe(&self, topic: &str, socket: &Arc<SocketShared>) -> bool {
        let mut shard = self.shard(topic);
        let Some(list) = shard.get_mut(topic) else {
            return false;
        };
        if !list.iter().any(|s| Arc::ptr_eq(s, socket)) {
            return false;
        }
        if list.len() == 1 {
            shard.remove(topic);
        } else {
            *list = list
                .iter()
                .filter(|s| !Arc::ptr_eq(s, socket))
                .cloned()
                .collect();
        }
        true
    }

    /// How many sockets are subscribed to `topic`.
    pub(crate) fn subscriber_count(&self, topic: &str) -> usize {
        self.shard(topic).get(topic).map_or(0, |list| list.len())
    }

    /// How many topics have at least one subscriber.
    pub(crate) fn topic_count(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                s.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .len()
            })
            .sum()
    }

    /// The topics that have at least one subscriber.
    pub(crate) fn topics(&self) -> Vec<String> {
        let mut topics = Vec::new();
        for shard in &*self.shards {
            let shard = shard
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
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
    ) -> PublishResult {
        let Some(subscribers) = self.shard(topic).get(topic).cloned() else {
            return PublishResult::default();
        };
        let frame = encode(opcode, payload);
        let mut result = PublishResult::default();
        for socket in subscribers.iter() {
            if except.is_some_and(|e| Arc::ptr_eq(e, socket)) {
                continue;
            }
            match socket.deliver(opcode, &frame, payload.len()) {
                Delivery::Sent => result.delivered += 1,
                Delivery::Backpressure => result.backpressured += 1,
                Delivery::Dropped => result.dropped += 1,
            }
        }
        result
    }
}

/// The frame, encoded once for every subscriber.
fn encode(opcode: OpCode, payload: &[u8]) -> Bytes {
    let mut frame = BytesMut::with_capacity(frame::header_len(payload.len()) + payload.len());
    frame::encode_frame(&mut frame, opcode, payload);
    frame.freeze()
}

/// Refuses the empty topic.
pub(crate) fn check(topic: &str) -> Result<(), TopicError> {
    if topic.is_empty() {
        Err(TopicError::Empty)
    } else {
        Ok(())
    }
}
