//! The hub's seam for a backplane: which topics gained their first subscriber or lost their
//! last one since the backplane last looked.
//!
//! A backplane holds a subscription on its broker (Redis) for exactly the topics that have
//! local subscribers. The hub cannot make that call itself (subscribing is a network round
//! trip, and the hub never waits), so it only marks the topic here and wakes the backplane,
//! which then asks the hub whether the topic has subscribers *now* and makes its subscription
//! agree. Marking a name rather than queueing "subscribed" / "unsubscribed" events means a
//! topic that flaps a thousand times while Redis is slow costs one entry and one round trip,
//! the set holds at most one entry per topic, and an outage loses nothing: on reconnect the
//! backplane resubscribes from the hub's own list of topics, which is the truth.
//!
//! Only the first subscriber and the last one mark anything, so subscribing to a topic that
//! already has subscribers costs the hub nothing more than it did.

use std::collections::HashSet;
use std::sync::Mutex;

use tokio::sync::Notify;

use crate::sync::lock;

/// Topics whose "has local subscribers" changed, and the wake-up for whoever reconciles them.
#[derive(Debug, Default)]
pub(crate) struct TopicChanges {
    dirty: Mutex<HashSet<Box<str>>>,
    notify: Notify,
}

impl TopicChanges {
    /// Marks `topic` and wakes the waiter.
    pub(crate) fn mark(&self, topic: &str) {
        let fresh = {
            let mut dirty = lock(&self.dirty);
            !dirty.contains(topic) && dirty.insert(topic.into())
        };
        if fresh {
            self.notify.notify_one();
        }
    }

    /// The topics marked since the last call (waiting for one if there are none).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) async fn next(&self) -> Vec<Box<str>> {
        loop {
            let taken: Vec<_> = lock(&self.dirty).drain().collect();
            if !taken.is_empty() {
                return taken;
            }
            self.notify.notified().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_topic_marked_many_times_is_taken_once() {
        let changes = TopicChanges::default();
        for _ in 0..1000 {
            changes.mark("room");
        }
        changes.mark("lobby");
        let mut taken = changes.next().await;
        taken.sort();
        assert_eq!(taken, [Box::from("lobby"), Box::from("room")]);
        // Nothing left: the next call waits until something is marked.
        let waiting = tokio::time::timeout(std::time::Duration::from_millis(20), changes.next());
        assert!(waiting.await.is_err());
        changes.mark("room");
        assert_eq!(changes.next().await, [Box::from("room")]);
    }
}
