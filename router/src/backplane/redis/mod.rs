//! The Redis backplane (feature `redis`): its settings, checked when the server starts, and
//! the running node in [`node`].
//!
//! # Why these choices
//!
//! - **A channel per topic, subscribed only while the topic has local subscribers.** Redis
//!   then sends a node only the traffic of topics it holds. One pattern subscription
//!   (`prefix:t:*`) would be simpler, but every node would receive and drop every publish of
//!   the whole cluster, and Redis matches every publish against every pattern; per-node
//!   channels would need each publisher to know which nodes hold a topic. The hub tells the
//!   backplane about a topic's first subscriber and its last
//!   ([`TopicChanges`](crate::ws::pubsub::TopicChanges)), so a subscribe to a topic that
//!   already has subscribers costs no Redis traffic at all.
//! - **The client is [`fred`]**: it speaks Redis Cluster and sharded pub/sub
//!   (`SSUBSCRIBE`/`SPUBLISH`), TLS on the rustls and ring the server already uses,
//!   pipelines, and reconnects with backoff. Subscriptions are restored by the backplane itself,
//!   from the hub's list of topics with subscribers (not from a list kept beside it, which an
//!   outage could make stale).
//! - **Two connections**: one subscribed (RESP2 pub/sub connections do nothing else), one for
//!   publishes, heartbeats and counts, so a burst of publishes never delays a subscription.
//! - **A bounded queue in front of the publishing connection**, drained in pipelines of up to
//!   [`BATCH`](node::BATCH) publishes: one round trip carries many messages, in order. When
//!   the queue is full the publish says so ([`Remote::QueueFull`](super::Remote::QueueFull));
//!   it never waits and never drops silently.
//! - **Live nodes in a sorted set** (`prefix:nodes`, score = when the node's last heartbeat
//!   expires, by Redis's clock), so a node that died without a goodbye drops out after three
//!   missed heartbeats, and a count asks exactly the nodes that are alive.

mod node;

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use super::{Backplane, BackplaneError};
use crate::server::Server;

/// Topics shared by every server that uses the same Redis and [`prefix`](Self::prefix)
/// (feature `redis`). Set it with
/// [`ServerConfig::backplane`](crate::ServerConfig::backplane); see the
/// [backplane module](super) for what a publish then does.
///
/// ```
/// use std::time::Duration;
/// use hyperbun::backplane::RedisBackplane;
///
/// let backplane = RedisBackplane::new("redis://:secret@10.0.0.5:6379")
///     .unwrap()
///     .prefix("chat")
///     .queue_capacity(100_000)
///     .heartbeat(Duration::from_secs(2));
/// assert!(!format!("{backplane:?}").contains("secret"), "passwords are not printed");
///
/// let e = RedisBackplane::new("http://10.0.0.5").unwrap_err();
/// assert!(e.to_string().starts_with("invalid Redis URL http://10.0.0.5"), "{e}");
/// ```
#[derive(Clone)]
pub struct RedisBackplane {
    url: String,
    config: fred::types::config::Config,
    prefix: String,
    node_id: Option<String>,
    queue_capacity: usize,
    incoming_capacity: usize,
    sharded: bool,
    heartbeat: Duration,
    count_timeout: Duration,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl fmt::Debug for RedisBackplane {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisBackplane")
            .field("url", &self.url)
            .field("prefix", &self.prefix)
            .field("node_id", &self.node_id)
            .field("queue_capacity", &self.queue_capacity)
            .field("incoming_capacity", &self.incoming_capacity)
            .field("sharded", &self.sharded)
            .field("heartbeat", &self.heartbeat)
            .field("count_timeout", &self.count_timeout)
            .field("custom_tls", &self.tls.is_some())
            .finish()
    }
}

impl RedisBackplane {
    /// A backplane through the Redis at `url`:
    ///
    /// - `redis://[[user]:password@]host[:port][/db]`: one Redis;
    /// - `rediss://…`: the same over TLS (Mozilla's root certificates unless
    ///   [`tls`](Self::tls) says otherwise);
    /// - `redis-cluster://host:port?node=host2:port2&node=…` (`rediss-cluster://` with TLS):
    ///   a Redis Cluster; with [`sharded`](Self::sharded) its sharded pub/sub.
    ///
    /// A URL that does not parse is an error naming it (with any password removed). Nothing
    /// is connected until the server starts; a Redis that is unreachable then does not stop
    /// the server: the backplane keeps reconnecting, and publishes say that they were not
    /// sent ([`Remote::Unavailable`](super::Remote::Unavailable)).
    pub fn new(url: &str) -> Result<Self, BackplaneError> {
        let shown = redact(url);
        let scheme = url.split_once("://").map_or("", |(scheme, _)| scheme);
        if !SCHEMES.contains(&scheme) {
            return Err(BackplaneError::Config(format!(
                "invalid Redis URL {shown}: it must start with redis://, rediss://, \
                 redis-cluster:// or rediss-cluster://"
            )));
        }
        let config = fred::types::config::Config::from_url(url)
            .map_err(|e| BackplaneError::Config(format!("invalid Redis URL {shown}: {e}")))?;
        Ok(RedisBackplane {
            url: shown,
            config,
            prefix: "hyperbun".to_owned(),
            node_id: None,
            queue_capacity: 65_536,
            incoming_capacity: 16_384,
            sharded: false,
            heartbeat: Duration::from_secs(1),
            count_timeout: Duration::from_secs(1),
            tls: None,
        })
    }

    /// What every channel and key of this backplane starts with, so that several applications
    /// can share one Redis. Default: **`hyperbun`**. Channels are `PREFIX:t:TOPIC` (one per
    /// topic) and `PREFIX:n:NODE` (each node's own); the live nodes are the sorted set
    /// `PREFIX:nodes`.
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// This node's id, unique among the nodes that share the prefix (a node skips its own
    /// publishes when Redis hands them back, by this id). Default: random, 128 bits, new
    /// at each start. At most 255 bytes.
    #[must_use]
    pub fn node_id(mut self, id: impl Into<String>) -> Self {
        self.node_id = Some(id.into());
        self
    }

    /// How many publishes may wait for Redis; past it a publish is not sent to the other
    /// nodes and says so ([`Remote::QueueFull`](super::Remote::QueueFull)). Default:
    /// **65 536**.
    #[must_use]
    pub fn queue_capacity(mut self, messages: usize) -> Self {
        self.queue_capacity = messages;
        self
    }

    /// How many messages from other nodes may wait for this node to deliver them; a node that
    /// falls further behind (its runtime too busy to read them) misses the oldest, and counts
    /// them in [`BackplaneStats::missed`](super::BackplaneStats::missed). Default: **16 384**.
    ///
    /// The buffer is allocated up front, about 1.2 KiB per message of capacity in all (the
    /// Redis client gives each of its event channels this size): 16 384 costs ~20 MiB per
    /// server.
    #[must_use]
    pub fn incoming_capacity(mut self, messages: usize) -> Self {
        self.incoming_capacity = messages;
        self
    }

    /// Sharded pub/sub (`SSUBSCRIBE`/`SPUBLISH`, Redis 7): in a Redis Cluster each topic's
    /// messages stay on the shard that owns its channel, instead of being copied to every
    /// node of the cluster as classic `PUBLISH` is. Default: **off** (classic pub/sub, for
    /// one Redis and for Redis before 7).
    #[must_use]
    pub fn sharded(mut self, sharded: bool) -> Self {
        self.sharded = sharded;
        self
    }

    /// How often this node tells Redis it is alive. A node that stops (killed, or cut off
    /// from Redis) is taken off the list of live nodes three heartbeats later, and cluster
    /// counts stop waiting for it. Default: **1 s**.
    #[must_use]
    pub fn heartbeat(mut self, every: Duration) -> Self {
        self.heartbeat = every;
        self
    }

    /// How long [`Server::cluster_subscriber_count`] waits for the other nodes' answers.
    /// Default: **1 s**.
    #[must_use]
    pub fn count_timeout(mut self, timeout: Duration) -> Self {
        self.count_timeout = timeout;
        self
    }

    /// The TLS settings of a `rediss://` connection (a private CA, a client certificate).
    /// Default: Mozilla's root certificates, ring's crypto.
    #[must_use]
    pub fn tls(mut self, config: Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// Checks the settings and starts the node for `server`; an error names the setting.
    pub(crate) fn start(&self, server: &Server) -> io::Result<Arc<dyn Backplane>> {
        let invalid = |what: String| io::Error::new(io::ErrorKind::InvalidInput, what);
        if self.prefix.is_empty() {
            return Err(invalid("RedisBackplane::prefix must not be empty".into()));
        }
        if self.queue_capacity == 0 {
            return Err(invalid(
                "RedisBackplane::queue_capacity must be at least 1".into(),
            ));
        }
        if self.incoming_capacity == 0 {
            return Err(invalid(
                "RedisBackplane::incoming_capacity must be at least 1".into(),
            ));
        }
        if self.heartbeat < Duration::from_millis(10) {
            return Err(invalid(format!(
                "RedisBackplane::heartbeat of {:?} is too short (at least 10 ms)",
                self.heartbeat
            )));
        }
        let id = self.node_id.clone().unwrap_or_else(random_id);
        if id.is_empty() || id.len() > super::wire::MAX_NODE_ID {
            return Err(invalid(format!(
                "RedisBackplane::node_id must be 1 to {} bytes, not {}",
                super::wire::MAX_NODE_ID,
                id.len()
            )));
        }
        let mut config = self.config.clone();
        if config.tls.is_some() || self.tls.is_some() {
            let tls = self
                .tls
                .clone()
                .unwrap_or_else(crate::client::tls::default_config);
            config.tls = Some(fred::types::config::TlsConnector::from((*tls).clone()).into());
        }
        let node = node::Node::start(node::Settings {
            config,
            url: self.url.clone(),
            prefix: self.prefix.clone(),
            id,
            queue_capacity: self.queue_capacity,
            incoming: self.incoming_capacity,
            sharded: self.sharded,
            heartbeat: self.heartbeat,
            count_timeout: self.count_timeout,
            server: server.clone(),
        })
        .map_err(|e| invalid(format!("Redis backplane at {}: {e}", self.url)))?;
        Ok(node)
    }
}

/// The URL schemes a backplane connects with (fred also reads Valkey's names for them).
const SCHEMES: [&str; 8] = [
    "redis",
    "rediss",
    "redis-cluster",
    "rediss-cluster",
    "valkey",
    "valkeys",
    "valkey-cluster",
    "valkeys-cluster",
];

/// `url` with its password replaced by `***`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => {
            let user = rest[..at].split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***{}", &rest[at..])
        }
        None => url.to_owned(),
    }
}

/// 128 random bits in hex, from the standard library's randomly keyed hasher.
fn random_id() -> String {
    use std::hash::{BuildHasher, RandomState};
    let state = RandomState::new();
    let seed = (std::process::id(), std::time::SystemTime::now());
    format!(
        "{:016x}{:016x}",
        state.hash_one(seed),
        RandomState::new().hash_one(seed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_leave_the_url_they_came_in() {
        assert_eq!(redact("redis://:pw@h:1/0"), "redis://:***@h:1/0");
        assert_eq!(redact("rediss://me:pw@h"), "rediss://me:***@h");
        assert_eq!(redact("redis://h:1?node=a@b"), "redis://h:1?node=a@b");
        assert_eq!(redact("redis://h"), "redis://h");
        let e = RedisBackplane::new("redis://:pw@h:notaport").unwrap_err();
        assert!(!e.to_string().contains("pw"), "{e}");
    }

    #[test]
    fn node_ids_differ() {
        assert_ne!(random_id(), random_id());
        assert_eq!(random_id().len(), 32);
    }
}
