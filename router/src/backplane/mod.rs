//! Topics shared by several server processes: a backplane carries each publish to the other
//! processes ("nodes"), and each node delivers it to its own subscribers.
//!
//! Topics live in the process by default, and nothing here costs anything until a backplane
//! is configured. With the `redis` feature, [`RedisBackplane`] shares them through Redis:
//!
//! ```no_run
//! # #[cfg(feature = "redis")]
//! # #[allow(dead_code)]
//! # async fn run(router: hyperbun::Router) -> Result<(), Box<dyn std::error::Error>> {
//! use hyperbun::backplane::RedisBackplane;
//! use hyperbun::ServerConfig;
//!
//! let backplane = RedisBackplane::new("redis://127.0.0.1:6379")?.prefix("chat");
//! router.config(ServerConfig::default().backplane(backplane)).serve(3000).await?;
//! # Ok(())
//! # }
//! ```
//!
//! # What a publish does
//!
//! [`Server::publish`](crate::Server::publish) and
//! [`WebSocket::publish`](crate::WebSocket::publish) deliver to this node's subscribers at once,
//! exactly as without a backplane (the frame is encoded once per node), and hand the message
//! to the backplane, which sends it to every other node in order. The
//! [`PublishResult::remote`](crate::PublishResult::remote) field says what became of that part
//! ([`Remote`]): queued for the other nodes, or not sent because the broker is unreachable or
//! the outgoing queue is full. A publish is never reported sent when it was not, and never
//! waits: local subscribers do not pay for a slow broker.
//!
//! Delivery across nodes is **at most once**: a message queued while the connection drops may
//! be lost (it is counted in [`BackplaneStats::lost`]), and a node that is reconnecting to the
//! broker misses what is published meanwhile. Messages from one node arrive at every other
//! node in the order that node published them.
//!
//! # Counting across nodes
//!
//! [`Server::subscriber_count`](crate::Server::subscriber_count) stays this node's count:
//! synchronous and O(1). [`Server::cluster_subscriber_count`](crate::Server::cluster_subscriber_count)
//! asks every live node for its count and adds them up ([`ClusterCount`]).

#[cfg(feature = "redis")]
mod redis;
mod wire;

#[cfg(feature = "redis")]
pub use self::redis::RedisBackplane;

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use crate::ws::frame::OpCode;

/// What became of the part of a publish meant for the other nodes
/// ([`PublishResult::remote`](crate::PublishResult::remote)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Remote {
    /// No backplane is configured: topics live in this process only.
    #[default]
    InProcess,
    /// Queued for the other nodes, behind this node's earlier publishes. It is lost only if
    /// the connection to the broker drops before the broker takes it (counted in
    /// [`BackplaneStats::lost`]).
    Queued,
    /// Not sent: the broker is unreachable (the backplane is still connecting after the
    /// server started, or reconnecting). The other nodes will not get this message.
    Unavailable,
    /// Not sent: the outgoing queue holds
    /// [`queue_capacity`](RedisBackplane::queue_capacity) messages the broker has not taken
    /// yet (it is slow, or this node publishes faster than it can take them). The other nodes
    /// will not get this message.
    QueueFull,
}

impl Remote {
    /// True when the other nodes will not get the message ([`Unavailable`](Self::Unavailable)
    /// or [`QueueFull`](Self::QueueFull)).
    #[must_use]
    pub fn is_lost(self) -> bool {
        matches!(self, Remote::Unavailable | Remote::QueueFull)
    }
}

/// The subscribers of a topic on every node
/// ([`Server::cluster_subscriber_count`](crate::Server::cluster_subscriber_count)).
///
/// Exact while every node is alive: each live node answers with its own count. A node that
/// died without saying goodbye (killed, or cut off from the broker) stays on the list of live
/// nodes until its heartbeats expire ([`heartbeat`](RedisBackplane::heartbeat) × 3); until
/// then it is named in [`unanswered`](Self::unanswered) (its sockets are gone with it, so the
/// total is still right unless a live node was merely slow), and afterwards the count no
/// longer waits for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClusterCount {
    /// Subscribers on this node and on every node that answered.
    pub subscribers: usize,
    /// The nodes counted: this one and those that answered.
    pub nodes: usize,
    /// Nodes on the list of live nodes that did not answer within the
    /// [`count_timeout`](RedisBackplane::count_timeout), by node id.
    pub unanswered: Vec<String>,
}

impl ClusterCount {
    /// True when every live node answered.
    #[must_use]
    pub fn is_complete(&self) -> bool {
        self.unanswered.is_empty()
    }
}

/// Why a backplane could not be configured, or could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BackplaneError {
    /// The configuration is wrong (the message says what, with any password removed).
    #[error("{0}")]
    Config(String),
    /// The broker is unreachable: the backplane is reconnecting.
    #[error("the Redis backplane is not connected (reconnecting)")]
    Unavailable,
    /// The broker answered with an error, or did not answer.
    #[error("Redis: {0}")]
    Broker(String),
}

/// What a backplane has done since the server started
/// ([`Server::backplane_stats`](crate::Server::backplane_stats)). Every publish is in exactly
/// one of `sent`, `not_sent`, `lost` and `queued`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BackplaneStats {
    /// This node's id (unique among the nodes sharing a prefix).
    pub node_id: String,
    /// Connected to the broker now: publishes go out, this node's subscriptions are in place,
    /// and it is on the list of live nodes (or joins it at its next heartbeat).
    pub connected: bool,
    /// Publishes the broker took.
    pub sent: u64,
    /// Publishes refused at once ([`Remote::Unavailable`], [`Remote::QueueFull`]).
    pub not_sent: u64,
    /// Publishes queued, then lost with the connection (or answered with an error).
    pub lost: u64,
    /// Publishes waiting for the broker now (queued, or sent and not yet acknowledged).
    pub queued: usize,
    /// Messages from other nodes delivered here.
    pub received: u64,
    /// Messages from other nodes this node fell too far behind to read (the client's buffer
    /// of incoming messages overflowed); they were not delivered here.
    pub missed: u64,
    /// Topics this node holds a broker subscription for (those with local subscribers).
    pub subscriptions: usize,
}

/// The future of a cluster-wide count.
pub(crate) type CountFuture<'a> =
    Pin<Box<dyn Future<Output = Result<ClusterCount, BackplaneError>> + Send + 'a>>;

/// A running backplane, as the server uses it.
pub(crate) trait Backplane: Send + Sync + fmt::Debug {
    /// Sends a publish to the other nodes (never waits).
    fn publish(&self, topic: &str, opcode: OpCode, payload: &[u8], compress: bool) -> Remote;

    /// The subscribers of `topic` on every node.
    fn count<'a>(&'a self, topic: &'a str) -> CountFuture<'a>;

    /// What it has done so far.
    fn stats(&self) -> BackplaneStats;
}
