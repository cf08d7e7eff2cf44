//! One server's place in the Redis backplane: its two connections and the tasks that drive
//! them.
//!
//! | task | does |
//! |---|---|
//! | `send` | drains the outgoing queue into pipelines on the publishing connection |
//! | `receive` | reads the subscribed connection: publishes from other nodes go to the hub, count queries are answered |
//! | `follow` | keeps the Redis subscriptions equal to the hub's topics with subscribers, and restores them all after a reconnect |
//! | `beat` | the heartbeat, and whether the publishing connection is up |
//! | `supervise` | at shutdown: lets the closing sockets' last publishes go out, says goodbye, ends the rest |
//!
//! No lock is held across an `.await`; the publish path (called from handlers) only builds
//! one buffer and offers it to the bounded queue.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use fred::bytes_utils::Str;
use fred::prelude::{
    Builder, Client, ClientLike, Config, EventInterface, PubsubInterface, ReconnectPolicy, Value,
};
use fred::types::{ClusterHash, CustomCommand, Message};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::backplane::wire::{self, Envelope};
use crate::backplane::{
    Backplane, BackplaneError, BackplaneStats, ClusterCount, CountFuture, Remote,
};
use crate::server::Server;
use crate::sync::lock;
use crate::ws::frame::OpCode;
use crate::ws::pubsub::{Hub, TopicChanges};

/// The most publishes one pipeline carries.
pub(crate) const BATCH: usize = 512;

/// How many topics one `SUBSCRIBE` names when all of them are restored.
const SUBSCRIBE_CHUNK: usize = 1024;

/// Tracing target of everything the backplane logs.
const TARGET: &str = "hyperbun::backplane";

/// Adds this node to the live set until its heartbeat expires (by Redis's clock):
/// `KEYS[1]` the set, `ARGV[1]` the node, `ARGV[2]` milliseconds to live.
const HEARTBEAT: &str = "local t = redis.call('TIME') \
    local now = t[1] * 1000 + math.floor(t[2] / 1000) \
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1]) return 1";

/// Drops the expired nodes and returns the live ones: `KEYS[1]` the set.
const LIVE_NODES: &str = "local t = redis.call('TIME') \
    local now = t[1] * 1000 + math.floor(t[2] / 1000) \
    redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now) \
    return redis.call('ZRANGE', KEYS[1], 0, -1)";

/// What the node is started with (checked by `RedisBackplane::start`).
pub(super) struct Settings {
    pub(super) config: Config,
    pub(super) url: String,
    pub(super) prefix: String,
    pub(super) id: String,
    pub(super) queue_capacity: usize,
    pub(super) incoming: usize,
    pub(super) sharded: bool,
    pub(super) heartbeat: Duration,
    pub(super) count_timeout: Duration,
    pub(super) server: Server,
}

/// A message waiting for the publishing connection: the channel's name, then the message.
struct Outgoing {
    bytes: Bytes,
    channel_len: usize,
    /// A publish (counted in the stats), not a count query or answer.
    publish: bool,
}

/// A cluster count waiting for the other nodes' answers.
struct Query {
    waiting: HashSet<Box<[u8]>>,
    sum: u64,
    answered: usize,
    done: Option<oneshot::Sender<()>>,
}

#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    not_sent: AtomicU64,
    lost: AtomicU64,
    received: AtomicU64,
    missed: AtomicU64,
    /// Messages on our channels that were not ours to read (counted, then dropped).
    foreign: AtomicU64,
}

pub(crate) struct Node {
    id: Box<str>,
    url: String,
    /// `PREFIX:t:`, in front of every topic's channel.
    topic_prefix: Box<str>,
    /// `PREFIX:n:`, in front of every node's own channel.
    inbox_prefix: Box<str>,
    /// This node's own channel.
    inbox: Box<str>,
    /// The sorted set of live nodes.
    nodes_key: Box<str>,
    sharded: bool,
    heartbeat: Duration,
    count_timeout: Duration,
    hub: Arc<Hub>,
    publisher: Client,
    subscriber: Client,
    /// The publishing connection is up: publishes are queued, not refused.
    up: AtomicBool,
    /// The subscribed connection holds this node's own channel and every topic's: the node
    /// receives what others send it. Only then does it join the live set (a node there that
    /// cannot hear count queries would make every count wait for it).
    listening: AtomicBool,
    /// Wakes the heartbeat once the node is listening, so it joins the live set at once.
    joined: tokio::sync::Notify,
    queue: mpsc::Sender<Outgoing>,
    /// Publishes queued or in a pipeline Redis has not answered yet.
    queued: AtomicUsize,
    counters: Counters,
    /// Topics subscribed on Redis now.
    subscriptions: AtomicUsize,
    queries: Mutex<HashMap<u64, Query>>,
    next_query: AtomicU64,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisNode")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("up", &self.up.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Node {
    /// Builds the clients and starts the tasks; connecting happens in the background.
    pub(super) fn start(settings: Settings) -> Result<Arc<Node>, fred::error::Error> {
        let mut config = settings.config;
        // An unreachable Redis at start is retried like a lost connection, not an error.
        config.fail_fast = false;
        let mut builder = Builder::from_config(config);
        builder
            .with_connection_config(|c| {
                // A command in flight when the connection drops is not sent again: a publish
                // is delivered at most once, and counted lost instead.
                c.max_command_attempts = 1;
                c.connection_timeout = Duration::from_secs(5);
                c.internal_command_timeout = Duration::from_secs(5);
                c.tcp.nodelay = Some(true);
            })
            .with_performance_config(|p| p.default_command_timeout = Duration::from_secs(5))
            .set_policy(ReconnectPolicy::new_exponential(0, 50, 2_000, 2));
        let publisher = builder.build()?;
        // Publishes from other nodes wait in the subscribed client's broadcast channel while
        // the receiving task catches up; one that falls further behind than this misses
        // messages (counted in `missed`). fred gives every event channel of a client this
        // capacity, up front (~1 KiB per slot in all), so only this client gets it.
        builder.with_performance_config(|p| p.broadcast_channel_capacity = settings.incoming);
        let subscriber = builder.build()?;
        let (queue, outgoing) = mpsc::channel(settings.queue_capacity);
        let hub = settings.server.hub_arc();
        let prefix = settings.prefix;
        let node = Arc::new(Node {
            inbox: format!("{prefix}:n:{}", settings.id).into(),
            id: settings.id.into(),
            url: settings.url,
            topic_prefix: format!("{prefix}:t:").into(),
            inbox_prefix: format!("{prefix}:n:").into(),
            nodes_key: format!("{prefix}:nodes").into(),
            sharded: settings.sharded,
            heartbeat: settings.heartbeat,
            count_timeout: settings.count_timeout,
            hub,
            publisher,
            subscriber,
            up: AtomicBool::new(false),
            listening: AtomicBool::new(false),
            joined: tokio::sync::Notify::new(),
            queue,
            queued: AtomicUsize::new(0),
            counters: Counters::default(),
            subscriptions: AtomicUsize::new(0),
            queries: Mutex::default(),
            next_query: AtomicU64::new(1),
        });
        // Subscribed to before connecting, so the first connection's event is not missed.
        let messages = node.subscriber.message_rx();
        let resubscribe = node.subscriber.reconnect_rx();
        let publisher_errors = node.publisher.error_rx();
        let publisher_up = node.publisher.reconnect_rx();
        let changes = node.hub.watch();
        drop(node.publisher.connect());
        drop(node.subscriber.connect());
        let tasks = vec![
            tokio::spawn(Arc::clone(&node).send(outgoing)),
            tokio::spawn(Arc::clone(&node).receive(messages)),
            tokio::spawn(Arc::clone(&node).follow(changes, resubscribe)),
            tokio::spawn(Arc::clone(&node).beat(publisher_errors, publisher_up)),
        ];
        tokio::spawn(Arc::clone(&node).supervise(settings.server, tasks));
        tracing::info!(target: TARGET, node = %node.id, url = %node.url, "Redis backplane starting");
        Ok(node)
    }

    fn channel_of(&self, topic: &str) -> String {
        format!("{}{topic}", self.topic_prefix)
    }

    /// Offers a message to the outgoing queue.
    fn enqueue(&self, bytes: Bytes, channel_len: usize, publish: bool) -> Remote {
        let message = Outgoing {
            bytes,
            channel_len,
            publish,
        };
        if publish {
            self.queued.fetch_add(1, Ordering::Relaxed);
        }
        let remote = match self.queue.try_send(message) {
            Ok(()) => return Remote::Queued,
            Err(mpsc::error::TrySendError::Full(_)) => Remote::QueueFull,
            Err(mpsc::error::TrySendError::Closed(_)) => Remote::Unavailable,
        };
        if publish {
            self.queued.fetch_sub(1, Ordering::Relaxed);
        }
        remote
    }

    /// Both connections up, and the subscriptions in place.
    fn is_connected(&self) -> bool {
        self.up.load(Ordering::Acquire) && self.listening.load(Ordering::Acquire)
    }

    fn set_up(&self, up: bool) {
        if self.up.swap(up, Ordering::AcqRel) != up {
            if up {
                tracing::info!(target: TARGET, node = %self.id, url = %self.url, "connected to Redis");
            } else {
                tracing::warn!(target: TARGET, node = %self.id, url = %self.url, "Redis is unreachable: publishes reach this node's subscribers only (PublishResult::remote says so) until it is back");
            }
        }
    }

    /// The queue → pipelines task.
    async fn send(self: Arc<Self>, mut outgoing: mpsc::Receiver<Outgoing>) {
        let mut batch = Vec::with_capacity(BATCH);
        let mut failing = false;
        let mut publishes = Vec::with_capacity(BATCH);
        while outgoing.recv_many(&mut batch, BATCH).await > 0 {
            publishes.clear();
            publishes.extend(batch.iter().map(|m: &Outgoing| m.publish));
            let n = publishes.iter().filter(|p| **p).count();
            if !self.up.load(Ordering::Acquire) {
                self.lose(n, &mut failing, "Redis is unreachable");
                self.queued.fetch_sub(n, Ordering::Relaxed);
                batch.clear();
                continue;
            }
            let pipeline = self.publisher.pipeline();
            for message in batch.drain(..) {
                let mut bytes = message.bytes;
                let channel = bytes.split_to(message.channel_len);
                let channel = Str::from_inner(channel).expect("channels are made of str");
                // Queueing into a pipeline only fails for arguments fred cannot encode.
                let queued: Result<(), _> = if self.sharded {
                    pipeline.spublish(channel, bytes).await
                } else {
                    pipeline.publish(channel, bytes).await
                };
                debug_assert!(queued.is_ok());
            }
            let results = pipeline.try_all::<Value>().await;
            let sent = (results.iter().zip(&publishes))
                .filter(|(result, publish)| **publish && result.is_ok())
                .count();
            self.counters.sent.fetch_add(sent as u64, Ordering::Relaxed);
            if let Some(Err(e)) = results.iter().find(|r| r.is_err()) {
                self.lose(n - sent, &mut failing, &e.to_string());
            } else if std::mem::take(&mut failing) {
                tracing::info!(target: TARGET, node = %self.id, "publishes reach Redis again");
            }
            // Out of the queue once Redis has answered: a shutdown waits for this.
            self.queued.fetch_sub(n, Ordering::Relaxed);
        }
    }

    /// Counts `n` queued publishes that did not reach Redis; logs the first of a run.
    fn lose(&self, n: usize, failing: &mut bool, why: &str) {
        self.counters.lost.fetch_add(n as u64, Ordering::Relaxed);
        if !std::mem::replace(failing, true) {
            tracing::warn!(target: TARGET, node = %self.id, lost = n, error = why, "publishes queued for Redis were lost (counted in BackplaneStats::lost)");
        }
    }

    /// The subscribed connection's task.
    async fn receive(self: Arc<Self>, mut messages: broadcast::Receiver<Message>) {
        loop {
            match messages.recv().await {
                Ok(message) => self.take(&message),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    self.counters.missed.fetch_add(n, Ordering::Relaxed);
                    tracing::warn!(target: TARGET, node = %self.id, missed = n, "fell behind the messages from Redis; these were not delivered here");
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    /// One message from Redis.
    fn take(&self, message: &Message) {
        let Some(envelope) = message.value.as_bytes().and_then(wire::parse) else {
            self.counters.foreign.fetch_add(1, Ordering::Relaxed);
            return;
        };
        match envelope {
            Envelope::Publish { from, .. } if from == self.id.as_bytes() => {}
            Envelope::Publish {
                opcode,
                compress,
                payload,
                ..
            } => {
                let Some(topic) = message.channel.strip_prefix(&*self.topic_prefix) else {
                    self.counters.foreign.fetch_add(1, Ordering::Relaxed);
                    return;
                };
                self.counters.received.fetch_add(1, Ordering::Relaxed);
                self.hub.publish(topic, opcode, payload, None, compress);
            }
            Envelope::Query {
                from,
                request,
                topic,
            } => {
                let Ok(from) = std::str::from_utf8(from) else {
                    return;
                };
                let count = self.hub.subscriber_count(topic) as u64;
                let channel = format!("{}{from}", self.inbox_prefix);
                let mut bytes = BytesMut::with_capacity(channel.len() + 32 + self.id.len());
                bytes.put_slice(channel.as_bytes());
                wire::put_answer(&mut bytes, &self.id, request, count);
                // A full queue leaves the asker without our answer: it names us unanswered.
                let _ = self.enqueue(bytes.freeze(), channel.len(), false);
            }
            Envelope::Answer {
                from,
                request,
                count,
            } => {
                let mut queries = lock(&self.queries);
                let Some(query) = queries.get_mut(&request) else {
                    return;
                };
                if query.waiting.remove(from) {
                    query.sum += count;
                    query.answered += 1;
                    if query.waiting.is_empty() {
                        if let Some(done) = query.done.take() {
                            let _ = done.send(());
                        }
                    }
                }
            }
        }
    }

    /// Keeps the subscriptions on Redis equal to the hub's topics with subscribers.
    async fn follow(
        self: Arc<Self>,
        changes: Arc<TopicChanges>,
        mut reconnects: broadcast::Receiver<fred::types::config::Server>,
    ) {
        let mut subscribed = HashSet::new();
        let _ = self.subscriber.wait_for_connect().await;
        self.restore(&mut subscribed, &changes).await;
        loop {
            tokio::select! {
                topics = changes.next() => self.reconcile(topics, &mut subscribed, &changes).await,
                event = reconnects.recv() => match event {
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {
                        // A new connection holds no subscriptions: all of them again.
                        self.listening.store(false, Ordering::Release);
                        subscribed.clear();
                        self.restore(&mut subscribed, &changes).await;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            }
            self.subscriptions
                .store(subscribed.len(), Ordering::Relaxed);
        }
    }

    /// Subscribes this node's own channel and every topic that has subscribers.
    async fn restore(&self, subscribed: &mut HashSet<Box<str>>, changes: &TopicChanges) {
        let inbox = self.subscribe(vec![self.inbox.to_string()]).await;
        if let Err(e) = &inbox {
            tracing::warn!(target: TARGET, node = %self.id, error = %e, "cannot subscribe this node's channel; it stays out of cluster counts until Redis is back");
        }
        let topics: Vec<Box<str>> = self.hub.topics().into_iter().map(Into::into).collect();
        for chunk in topics.chunks(SUBSCRIBE_CHUNK) {
            let channels = chunk.iter().map(|t| self.channel_of(t)).collect();
            match self.subscribe(channels).await {
                Ok(()) => subscribed.extend(chunk.iter().cloned()),
                // Left marked: the next change or reconnect tries them again.
                Err(_) => chunk.iter().for_each(|t| changes.mark(t)),
            }
        }
        self.subscriptions
            .store(subscribed.len(), Ordering::Relaxed);
        if inbox.is_ok() {
            self.listening.store(true, Ordering::Release);
            self.joined.notify_one();
        }
        tracing::debug!(target: TARGET, node = %self.id, topics = subscribed.len(), "subscriptions restored");
    }

    /// Makes the subscriptions of `topics` agree with the hub.
    async fn reconcile(
        &self,
        topics: Vec<Box<str>>,
        subscribed: &mut HashSet<Box<str>>,
        changes: &TopicChanges,
    ) {
        let (join, leave): (Vec<_>, Vec<_>) = topics
            .into_iter()
            .filter(|t| (self.hub.subscriber_count(t) > 0) != subscribed.contains(t))
            .partition(|t| !subscribed.contains(t));
        if !join.is_empty() {
            let channels = join.iter().map(|t| self.channel_of(t)).collect();
            match self.subscribe(channels).await {
                Ok(()) => subscribed.extend(join),
                Err(e) => self.retry_later(join, changes, &e).await,
            }
        }
        if !leave.is_empty() {
            let channels = leave.iter().map(|t| self.channel_of(t)).collect();
            match self.unsubscribe(channels).await {
                Ok(()) => leave.iter().for_each(|t| _ = subscribed.remove(t)),
                Err(e) => self.retry_later(leave, changes, &e).await,
            }
        }
    }

    async fn retry_later(
        &self,
        topics: Vec<Box<str>>,
        changes: &TopicChanges,
        e: &fred::error::Error,
    ) {
        tracing::debug!(target: TARGET, node = %self.id, error = %e, topics = topics.len(), "subscription change failed");
        if !self.subscriber.is_connected() {
            // The reconnect restores every topic that has subscribers then.
            return;
        }
        // Connected but refused or timed out: again shortly, not at once.
        tokio::time::sleep(Duration::from_millis(100)).await;
        topics.iter().for_each(|t| changes.mark(t));
    }

    async fn subscribe(&self, channels: Vec<String>) -> Result<(), fred::error::Error> {
        if !self.sharded {
            return self.subscriber.subscribe(channels).await;
        }
        // A cluster routes each shard channel by its slot: one at a time.
        for channel in channels {
            self.subscriber.ssubscribe(channel).await?;
        }
        Ok(())
    }

    async fn unsubscribe(&self, channels: Vec<String>) -> Result<(), fred::error::Error> {
        if !self.sharded {
            return self.subscriber.unsubscribe(channels).await;
        }
        for channel in channels {
            self.subscriber.sunsubscribe(channel).await?;
        }
        Ok(())
    }

    /// Heartbeats, and whether the publishing connection is up.
    async fn beat(
        self: Arc<Self>,
        mut errors: broadcast::Receiver<(fred::error::Error, Option<fred::types::config::Server>)>,
        mut reconnects: broadcast::Receiver<fred::types::config::Server>,
    ) {
        let mut timer = tokio::time::interval(self.heartbeat);
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let ttl = (self.heartbeat * 3).as_millis().to_string();
        let mut failing = false;
        loop {
            tokio::select! {
                _ = timer.tick() => {
                    self.set_up(self.publisher.is_connected());
                    if !self.subscriber.is_connected() {
                        self.listening.store(false, Ordering::Release);
                    }
                    if self.is_connected() {
                        let beat = self.eval(HEARTBEAT, vec![self.id.to_string(), ttl.clone()]);
                        match beat.await {
                            Ok(_) => failing = false,
                            Err(e) if !std::mem::replace(&mut failing, true) => {
                                tracing::warn!(target: TARGET, node = %self.id, error = %e, "heartbeat failed: other nodes' counts will stop waiting for this one");
                            }
                            Err(_) => {}
                        }
                    }
                }
                () = self.joined.notified() => timer.reset_immediately(),
                Ok(_) = reconnects.recv() => {
                    self.set_up(true);
                    timer.reset_immediately();
                }
                Ok(_) = errors.recv() => self.set_up(self.publisher.is_connected()),
            }
        }
    }

    /// Runs a script whose one key is the live-node set.
    fn eval(
        &self,
        script: &'static str,
        args: Vec<String>,
    ) -> impl Future<Output = Result<Value, fred::error::Error>> + '_ {
        let mut all = vec![
            script.to_owned(),
            "1".to_owned(),
            self.nodes_key.to_string(),
        ];
        all.extend(args);
        self.publisher.custom(self.on_nodes_key("EVAL"), all)
    }

    /// A command a cluster sends to the shard that holds the live-node set.
    fn on_nodes_key(&self, command: &'static str) -> CustomCommand {
        let slot = fred::util::redis_keyslot(self.nodes_key.as_bytes());
        CustomCommand::new_static(command, ClusterHash::Custom(slot), false)
    }

    /// At shutdown: waits for the sockets to close (their `close` handlers may publish),
    /// lets the queue drain, leaves the live set, and ends the tasks.
    async fn supervise(self: Arc<Self>, server: Server, tasks: Vec<JoinHandle<()>>) {
        let mut stop = server.stop_receiver();
        let _ = stop
            .wait_for(|phase| *phase != crate::server::Phase::Running)
            .await;
        let settle = async {
            while server.pending_websockets() > 0 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            // What they published: a second at most (Redis may be down or stalled).
            let drained = async {
                while self.queued.load(Ordering::Relaxed) > 0 {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            };
            let _ = tokio::time::timeout(Duration::from_secs(1), drained).await;
        };
        let aborting = stop.wait_for(|phase| *phase == crate::server::Phase::Aborting);
        tokio::select! {
            () = settle => {}
            _ = aborting => {}
        }
        // The tasks first, so that closing the connections is not taken for an outage.
        for task in tasks {
            task.abort();
        }
        self.up.store(false, Ordering::Release);
        let goodbye = async {
            let args = vec![self.nodes_key.to_string(), self.id.to_string()];
            let _: Result<Value, _> = self.publisher.custom(self.on_nodes_key("ZREM"), args).await;
            let _ = self.publisher.quit().await;
            let _ = self.subscriber.quit().await;
        };
        let _ = tokio::time::timeout(Duration::from_secs(1), goodbye).await;
        tracing::info!(target: TARGET, node = %self.id, "Redis backplane stopped");
    }

    /// The live nodes other than this one.
    async fn other_nodes(&self) -> Result<Vec<String>, BackplaneError> {
        let live = self
            .eval(LIVE_NODES, Vec::new())
            .await
            .map_err(|e| BackplaneError::Broker(e.to_string()))?;
        let live: Vec<String> = live
            .convert()
            .map_err(|e| BackplaneError::Broker(e.to_string()))?;
        Ok(live.into_iter().filter(|n| **n != *self.id).collect())
    }

    async fn count_everywhere(&self, topic: &str) -> Result<ClusterCount, BackplaneError> {
        let local = self.hub.subscriber_count(topic);
        // Answers come to this node's channel: it must be listening.
        if !self.is_connected() {
            return Err(BackplaneError::Unavailable);
        }
        let others = self.other_nodes().await?;
        let mut count = ClusterCount {
            subscribers: local,
            nodes: 1,
            unanswered: Vec::new(),
        };
        if others.is_empty() {
            return Ok(count);
        }
        let request = self.next_query.fetch_add(1, Ordering::Relaxed);
        let (done, answered) = oneshot::channel();
        let waiting = others.iter().map(|n| n.as_bytes().into()).collect();
        lock(&self.queries).insert(
            request,
            Query {
                waiting,
                sum: 0,
                answered: 0,
                done: Some(done),
            },
        );
        // Taken out of the map however this future ends (answered, timed out, dropped).
        let query = QueryGuard {
            queries: &self.queries,
            request,
        };
        for node in &others {
            let channel = format!("{}{node}", self.inbox_prefix);
            let mut bytes = BytesMut::new();
            bytes.put_slice(channel.as_bytes());
            wire::put_query(&mut bytes, &self.id, request, topic);
            // A query that cannot be queued is simply not answered.
            let _ = self.enqueue(bytes.freeze(), channel.len(), false);
        }
        let _ = tokio::time::timeout(self.count_timeout, answered).await;
        let Some(query) = query.take() else {
            return Ok(count);
        };
        count.subscribers += query.sum as usize;
        count.nodes += query.answered;
        count.unanswered = (query.waiting.iter())
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .collect();
        count.unanswered.sort();
        Ok(count)
    }
}

/// Removes a cluster count's entry from the map when it is dropped.
struct QueryGuard<'a> {
    queries: &'a Mutex<HashMap<u64, Query>>,
    request: u64,
}

impl QueryGuard<'_> {
    fn take(self) -> Option<Query> {
        lock(self.queries).remove(&self.request)
    }
}

impl Drop for QueryGuard<'_> {
    fn drop(&mut self) {
        lock(self.queries).remove(&self.request);
    }
}

impl Backplane for Node {
    fn publish(&self, topic: &str, opcode: OpCode, payload: &[u8], compress: bool) -> Remote {
        let remote = if self.up.load(Ordering::Acquire) {
            let channel_len = self.topic_prefix.len() + topic.len();
            let mut bytes = BytesMut::with_capacity(
                channel_len + wire::publish_head_len(&self.id) + payload.len(),
            );
            bytes.put_slice(self.topic_prefix.as_bytes());
            bytes.put_slice(topic.as_bytes());
            wire::put_publish_head(&mut bytes, &self.id, opcode, compress);
            bytes.put_slice(payload);
            self.enqueue(bytes.freeze(), channel_len, true)
        } else {
            Remote::Unavailable
        };
        if remote.is_lost() {
            self.counters.not_sent.fetch_add(1, Ordering::Relaxed);
        }
        remote
    }

    fn count<'a>(&'a self, topic: &'a str) -> CountFuture<'a> {
        Box::pin(self.count_everywhere(topic))
    }

    fn stats(&self) -> BackplaneStats {
        BackplaneStats {
            node_id: self.id.to_string(),
            connected: self.is_connected(),
            sent: self.counters.sent.load(Ordering::Relaxed),
            not_sent: self.counters.not_sent.load(Ordering::Relaxed),
            lost: self.counters.lost.load(Ordering::Relaxed),
            queued: self.queued.load(Ordering::Relaxed),
            received: self.counters.received.load(Ordering::Relaxed),
            missed: self.counters.missed.load(Ordering::Relaxed),
            subscriptions: self.subscriptions.load(Ordering::Relaxed),
        }
    }
}
