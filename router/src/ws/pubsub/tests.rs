//! The hub's tests: its list, slots, log and counts, alone and under concurrent use.

use std::thread;

use super::*;
use crate::private::bench::null_socket;

/// A socket and its topics with their slots, as a connection keeps them.
struct Member {
    socket: Arc<SocketShared>,
    topics: Mutex<HashMap<String, Slot>>,
}

impl std::ops::Deref for Member {
    type Target = Arc<SocketShared>;

    fn deref(&self) -> &Arc<SocketShared> {
        &self.socket
    }
}

impl Member {
    fn new() -> Self {
        Member {
            socket: null_socket(),
            topics: Mutex::default(),
        }
    }

    /// Subscribes to `topic`; false if already subscribed.
    fn join(&self, hub: &Hub, topic: &str) -> bool {
        let mut topics = lock(&self.topics);
        if topics.contains_key(topic) {
            return false;
        }
        topics.insert(topic.to_owned(), hub.subscribe(topic, &self.socket));
        true
    }

    /// Unsubscribes from `topic`; false if not subscribed.
    fn leave(&self, hub: &Hub, topic: &str) -> bool {
        let slot = lock(&self.topics).remove(topic);
        slot.is_some_and(|slot| hub.unsubscribe(topic, &self.socket, slot))
    }
}

fn frames(log: &TopicLog, range: Range<usize>) -> Vec<u8> {
    let mut out = BytesMut::new();
    log.copy_to(range, &mut out);
    out.to_vec()
}

/// The current log of `topic`.
fn current_log(topic: &Topic) -> Arc<TopicLog> {
    Arc::clone(&lock(&topic.log))
}

/// Checks that `topic`'s slots, free list and count agree with its list, and returns the
/// list.
fn members(hub: &Hub, topic: &str) -> Vec<Arc<SocketShared>> {
    let Some(found) = hub.find(topic) else {
        assert_eq!(hub.subscriber_count(topic), 0);
        return Vec::new();
    };
    let subscribers = read(&found.subscribers);
    subscribers.check();
    assert_eq!(found.len.load(Ordering::Relaxed), subscribers.len());
    assert_eq!(hub.subscriber_count(topic), subscribers.len());
    subscribers.sockets().cloned().collect()
}

fn same(a: &[Arc<SocketShared>], b: &[&Member]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(a, b)| Arc::ptr_eq(a, &b.socket))
}

/// Writes out what `socket` has queued; returns the bytes.
fn drain(socket: &SocketShared) -> usize {
    let queued = socket.buffered();
    assert!(socket.flush_now().unwrap());
    queued
}

#[test]
fn a_log_nobody_reads_is_reused_from_the_start() {
    let topic = Topic::default();
    assert_eq!(topic.append(OpCode::Text, b"one").1, 0..5);
    // No range holds the log: the next frame starts it over.
    assert_eq!(topic.append(OpCode::Text, b"two").1, 0..5);
    assert_eq!(frames(&current_log(&topic), 0..5), b"\x81\x03two");
}

#[test]
fn a_read_log_grows_until_full_then_is_replaced() {
    let topic = Topic::default();
    let reader = current_log(&topic);
    let first = topic.append(OpCode::Binary, &[7; 100]).1;
    let second = topic.append(OpCode::Binary, &[8; 100]).1;
    assert_eq!(
        (first.clone(), second.start),
        (0..102, 102),
        "appended behind"
    );

    // Fill it: the frame that does not fit goes to a fresh log.
    let mut end = second.end;
    while end + 102 <= LOG_CAPACITY {
        end = topic.append(OpCode::Binary, &[9; 100]).1.end;
    }
    assert!(Arc::ptr_eq(&current_log(&topic), &reader));
    assert_eq!(topic.append(OpCode::Binary, &[10; 100]).1, 0..102);
    assert!(!Arc::ptr_eq(&current_log(&topic), &reader), "replaced");

    // The reader's frames are intact in the old log.
    assert_eq!(frames(&reader, first)[2..], [7; 100]);
    assert_eq!(frames(&reader, second)[2..], [8; 100]);
}

#[test]
fn subscribe_and_unsubscribe_keep_the_list_its_slots_and_the_count() {
    let hub = Hub::default();
    let [a, b, c, d] = [(); 4].map(|()| Member::new());
    for s in [&a, &b, &c, &d] {
        assert!(s.join(&hub, "room"));
    }
    assert!(!b.join(&hub, "room"), "already there");
    assert!(same(&members(&hub, "room"), &[&a, &b, &c, &d]));

    // `d`, the last, takes `a`'s place, and its slot follows it.
    assert!(a.leave(&hub, "room"));
    assert!(!a.leave(&hub, "room"), "gone already");
    assert!(same(&members(&hub, "room"), &[&d, &b, &c]));
    assert!(d.leave(&hub, "room"), "found where it moved");
    assert!(same(&members(&hub, "room"), &[&c, &b]));
    // The last one leaves without moving anybody.
    assert!(b.leave(&hub, "room"));
    assert!(same(&members(&hub, "room"), &[&c]));
    assert!(!c.leave(&hub, "elsewhere"));
    assert_eq!(
        (hub.topic_count(), hub.topics()),
        (1, vec!["room".to_owned()])
    );
}

#[test]
fn slots_follow_their_sockets_through_many_swaps() {
    let hub = Hub::default();
    let crowd: Vec<_> = (0..200).map(|_| Member::new()).collect();
    // Leave and join in a scrambled order, so swaps move sockets all over the list and
    // freed slots are reused out of order; every slot must still find its socket.
    let mut x = 1_u32;
    let mut scramble = || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x as usize
    };
    for round in 0..3000 {
        let s = &crowd[scramble() % crowd.len()];
        if !s.join(&hub, "room") {
            assert!(s.leave(&hub, "room"), "round {round}");
        }
        if round % 100 == 0 {
            members(&hub, "room");
        }
    }
    let inside = crowd
        .iter()
        .filter(|s| lock(&s.topics).contains_key("room"));
    assert_eq!(members(&hub, "room").len(), inside.count());

    // A slot given back with another socket, or a stale one, removes nobody.
    let [a, b] = [&crowd[0], &crowd[1]].map(|s| {
        s.join(&hub, "room");
        s
    });
    let before = members(&hub, "room").len();
    let b_slot = *lock(&b.topics).get("room").unwrap();
    assert!(!hub.unsubscribe("room", &a.socket, b_slot), "b's slot");
    assert!(a.leave(&hub, "room"));
    let stale = hub.subscribe("other", &a.socket);
    assert!(hub.unsubscribe("other", &a.socket, stale));
    assert!(
        !hub.unsubscribe("room", &a.socket, stale),
        "a slot of another topic"
    );
    assert_eq!(members(&hub, "room").len(), before - 1);

    for s in &crowd {
        s.leave(&hub, "room");
    }
    assert!(hub.find("room").is_none(), "everybody left");
}

#[test]
fn a_crowd_that_leaves_gives_its_memory_back() {
    let hub = Hub::default();
    let crowd: Vec<_> = (0..1000).map(|_| Member::new()).collect();
    for s in &crowd {
        assert!(s.join(&hub, "room"));
    }
    for s in &crowd[..990] {
        assert!(s.leave(&hub, "room"));
    }
    assert_eq!(members(&hub, "room").len(), 10);
    let capacity = read(&hub.find("room").unwrap().subscribers).capacity();
    assert!(capacity < 100, "capacity {capacity}");
}

/// Checks that nothing was marked for the backplane.
async fn unmarked(changes: &TopicChanges) {
    let next = tokio::time::timeout(std::time::Duration::from_millis(20), changes.next());
    assert!(next.await.is_err(), "nothing marked");
}

#[tokio::test]
async fn only_a_topics_first_subscriber_and_its_last_tell_the_backplane() {
    let hub = Hub::default();
    let [a, b] = [(); 2].map(|()| Member::new());
    assert!(a.join(&hub, "before"), "no backplane watches yet");
    let changes = hub.watch();
    assert!(b.join(&hub, "before"));
    unmarked(&changes).await;

    assert!(a.join(&hub, "room"));
    assert_eq!(changes.next().await, [Box::from("room")]);
    // The second subscriber, and a leaver who is not the last: nothing.
    assert!(b.join(&hub, "room"));
    assert!(a.leave(&hub, "room"));
    unmarked(&changes).await;
    assert!(b.leave(&hub, "room"));
    assert_eq!(changes.next().await, [Box::from("room")]);
    assert_eq!(
        hub.subscriber_count("room"),
        0,
        "gone when the backplane looks"
    );
}

#[test]
fn an_emptied_topic_is_freed_and_can_be_joined_again() {
    let hub = Hub::default();
    let a = Member::new();
    assert!(a.join(&hub, "room"));
    let first = hub.find("room").unwrap();
    assert!(a.leave(&hub, "room"));
    assert!(first.dead.load(Ordering::Relaxed));
    assert!(hub.find("room").is_none(), "removed from the map");
    assert_eq!((hub.topic_count(), hub.subscriber_count("room")), (0, 0));
    let result = hub.publish("room", OpCode::Text, b"nobody", None, false);
    assert_eq!(result, PublishResult::default());

    assert!(a.join(&hub, "room"));
    assert!(
        !Arc::ptr_eq(&hub.find("room").unwrap(), &first),
        "a fresh topic"
    );
    assert_eq!((hub.topic_count(), hub.subscriber_count("room")), (1, 1));
    let result = hub.publish("room", OpCode::Text, b"again", None, false);
    assert_eq!(result.delivered, 1);
    assert_eq!(drain(&a), 7);
}

#[test]
fn a_dead_topic_still_in_the_map_is_replaced_by_a_subscribe() {
    let hub = Hub::default();
    let [a, b] = [(); 2].map(|()| Member::new());
    assert!(a.join(&hub, "room"));
    // As if `a`'s unsubscribe had killed the topic and not yet removed it.
    let dead = hub.find("room").unwrap();
    let slot = lock(&a.topics).remove("room").unwrap();
    assert!(write(&dead.subscribers).remove(&a, slot).is_some());
    dead.len.store(0, Ordering::Relaxed);
    dead.dead.store(true, Ordering::Relaxed);
    assert_eq!(hub.topic_count(), 0, "a dead topic does not count");

    assert!(b.join(&hub, "room"));
    let fresh = hub.find("room").unwrap();
    assert!(!Arc::ptr_eq(&fresh, &dead));
    assert!(same(&members(&hub, "room"), &[&b]));
    assert_eq!(
        read(&dead.subscribers).len(),
        0,
        "nobody joined the dead one"
    );
}

#[test]
fn publish_reaches_every_subscriber_but_the_excepted_one() {
    let hub = Hub::default();
    let [a, b, c] = [(); 3].map(|()| Member::new());
    for s in [&a, &b, &c] {
        assert!(s.join(&hub, "room"));
    }
    let result = hub.publish("room", OpCode::Text, b"hi", Some(&b.socket), false);
    assert_eq!(
        (result.delivered, result.queued(), result.dropped),
        (2, 2, 0)
    );
    assert_eq!([drain(&a), drain(&b), drain(&c)], [4, 0, 4]);

    // A large frame is shared whole.
    let big = vec![b'x'; LOGGED_FRAME_LIMIT * 2];
    let result = hub.publish("room", OpCode::Binary, &big, None, false);
    assert_eq!(result.delivered, 3);
    assert_eq!(drain(&c), frame::header_len(big.len()) + big.len());

    // A closed subscriber does not take it.
    a.close();
    let result = hub.publish("room", OpCode::Text, b"hi", None, true);
    assert_eq!((result.delivered, result.dropped), (2, 1));
}

#[test]
fn concurrent_subscribes_unsubscribes_and_publishes_keep_counts_exact() {
    const THREADS: usize = 4;
    const ROUNDS: usize = 2000;
    const OWN: usize = 8;
    let hub = Hub::default();
    // Everybody's sockets stay on "stay"; each thread's own sockets come and go on
    // "churn" (often emptying it, so topics die and are replaced) and on its own topic.
    let everybody: Vec<Vec<_>> = (0..THREADS)
        .map(|_| (0..OWN).map(|_| Member::new()).collect())
        .collect();
    let ready = std::sync::Barrier::new(THREADS);
    thread::scope(|scope| {
        for (t, own) in everybody.iter().enumerate() {
            let (hub, ready) = (&hub, &ready);
            scope.spawn(move || {
                let mine = format!("thread {t}");
                for s in own {
                    assert!(s.join(hub, "stay"));
                }
                ready.wait();
                for round in 0..ROUNDS {
                    let s = &own[round % OWN];
                    assert!(s.join(hub, "churn"), "round {round}");
                    // New unless it stayed on its last round.
                    let left_last = round < OWN || (round - OWN).is_multiple_of(3);
                    assert_eq!(s.join(hub, &mine), left_last, "round {round}");
                    let result = hub.publish("churn", OpCode::Text, b"x", None, false);
                    assert!(result.queued() >= 1, "at least this thread's socket");
                    let result = hub.publish("stay", OpCode::Text, b"x", Some(s), false);
                    assert_eq!(result.queued(), THREADS * OWN - 1);
                    assert_eq!(hub.subscriber_count("stay"), THREADS * OWN);
                    assert!(s.leave(hub, "churn"), "round {round}");
                    if round.is_multiple_of(3) {
                        assert!(s.leave(hub, &mine));
                        assert!(!s.leave(hub, &mine));
                    }
                    if round.is_multiple_of(50) {
                        own.iter().for_each(|s| _ = drain(s));
                    }
                }
            });
        }
    });
    assert_eq!(members(&hub, "stay").len(), THREADS * OWN);
    assert_eq!(members(&hub, "churn").len(), 0);
    assert!(hub.find("churn").is_none(), "the emptied topic is gone");
    for t in 0..THREADS {
        // A socket stays on its thread's topic when it did not leave on its last round.
        let expected = (0..OWN)
            .filter(|i| {
                let last = (0..ROUNDS).rev().find(|r| r % OWN == *i).unwrap();
                !last.is_multiple_of(3)
            })
            .count();
        assert_eq!(members(&hub, &format!("thread {t}")).len(), expected);
    }
    assert_eq!(hub.topic_count(), 1 + THREADS);
}
