//! The server as a running thing: [`Server`], the handle every task and handler can hold,
//! with publishing, counts and a graceful [`stop`](Server::stop) that always ends.
//!
//! | module | what lives there |
//! |---|---|
//! | `listen` | the ways to start: a port, a listener, a Unix socket, with or without TLS; `reuse_port` |
//! | `accept` | the accept loop, `max_connections`, backing off when out of descriptors |
//! | `conn` | one connection's task: TLS handshake or HTTP/2 preface, hyper's HTTP/1.1 or HTTP/2, graceful stop |
//! | `dispatch` | the per-connection hyper service: lookup, 404/405/OPTIONS, handlers with panics caught; the application's middleware stack around the table, and the router as a tower service |
//! | `tls` | `TlsConfig` (feature `tls`): the certificates a listener terminates TLS with, reloadable |
//!
//! Imports run one way: `listen` → `accept` → `conn` → `dispatch` → routing (which builds on
//! `middleware`) and `ws`; `ws` reaches back only for this handle, which knows the registry,
//! the hub and the backplane, and for [`ConnectionHold`], which an upgraded socket keeps
//! while it lives. The handle starts the backplane ([`crate::backplane`]) and publishes
//! through it; the backplane's tasks hold a handle for the hub and the stop signal.

mod accept;
mod conn;
mod dispatch;
mod listen;
#[cfg(feature = "tls")]
mod tls;

#[cfg(feature = "tls")]
pub use tls::TlsConfig;

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;

use crate::backplane::{Backplane, BackplaneError, BackplaneStats, ClusterCount};
use crate::ws::frame::OpCode;
use crate::ws::peers::{PeerSlot, Peers};
use crate::ws::pubsub::{self, Hub};
use crate::ws::registry::{Key, Registry};
use crate::ws::shared::SocketShared;
use crate::{Addr, Message, PublishResult, ServerConfig, TopicError, UpgradeError};

/// Where a server is in its life. Every live connection (and the accept loop) holds a
/// receiver, so `closed()` on the sender resolves exactly when the last one has finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Running,
    /// `stop` was called: no new connections, sockets closing with `1001`.
    Stopping,
    /// The grace period is over: whatever is left is ended at once.
    Aborting,
}

/// A handle to a running server: cheap to clone, usable from any task, and available to
/// handlers as an extractor.
///
/// # Examples
///
/// A background task and a route publish through it; the route reports the counts.
///
/// ```
/// use std::time::Duration;
/// use hyperbun::prelude::*;
/// use hyperbun::test::TestServer;
///
/// struct Ticker;
///
/// #[websocket("/ticks")]
/// impl Ticker {
///     fn open(ws: &mut WebSocket) {
///         ws.subscribe("ticks");
///     }
///     fn message(_ws: &mut WebSocket, _msg: Message) {}
/// }
///
/// #[get("/stats")]
/// async fn stats(server: Server) -> Json<Value> {
///     Json(json!({
///         "ticks": server.subscriber_count("ticks"),
///         "topics": server.topic_count(),
///         "sockets": server.pending_websockets(),
///     }))
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let app = TestServer::start(hyperbun::router![Ticker, stats]).await;
/// let server = app.server().clone();
/// let mut ws = app.ws("/ticks").await;
/// app.wait_subscribers("ticks", 1).await;
/// tokio::spawn(async move {
///     for n in 1..=3 {
///         server.publish("ticks", format!("tick {n}"));
///         tokio::time::sleep(Duration::from_millis(10)).await;
///     }
/// });
/// for n in 1..=3 {
///     ws.expect_text(&format!("tick {n}")).await;
/// }
/// let stats = app.get("/stats").await.json::<Value>();
/// assert_eq!(stats, json!({ "ticks": 1, "topics": 1, "sockets": 1 }));
/// assert_eq!(app.server().topics(), ["ticks"]);
/// ws.close().await;
/// app.stop().await;                                // graceful: sockets get 1001 first
/// # }
/// ```
#[derive(Clone)]
pub struct Server {
    shared: Arc<Shared>,
}

struct Shared {
    local_addr: Addr,
    phase: watch::Sender<Phase>,
    /// How long `stop` waits before it ends what is left.
    grace: Duration,
    /// Every open WebSocket.
    registry: Arc<Registry>,
    /// Topics and their subscribers.
    hub: Arc<Hub>,
    /// Carries publishes to the other servers, when one is configured.
    backplane: OnceLock<Arc<dyn Backplane>>,
    /// [`ServerConfig::max_topic_length`].
    max_topic_length: usize,
    /// Open sockets per IP, when [`ServerConfig::max_websockets_per_ip`] is set.
    peers: Option<Arc<Peers>>,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.shared.local_addr)
            .field("stopping", &self.is_stopping())
            .finish()
    }
}

impl Server {
    pub(crate) fn new(local_addr: Addr, config: &ServerConfig) -> Self {
        Server {
            shared: Arc::new(Shared {
                local_addr,
                phase: watch::Sender::new(Phase::Running),
                grace: config.shutdown_grace,
                registry: Arc::default(),
                hub: Arc::default(),
                backplane: OnceLock::new(),
                max_topic_length: config.max_topic_length,
                peers: config
                    .max_websockets_per_ip
                    .map(|limit| Arc::new(Peers::new(limit))),
            }),
        }
    }

    /// The address the server is bound to (with the real port when bound to port 0), or
    /// its Unix socket.
    #[must_use]
    pub fn local_addr(&self) -> Addr {
        self.shared.local_addr.clone()
    }

    /// Stops the server gracefully, and for certain within its
    /// [grace period](crate::ServerConfig::shutdown_grace): stops accepting connections, lets
    /// every request in flight finish and its response go out, closes idle keep-alive
    /// connections, and closes every WebSocket with `1001` after what was queued for it has
    /// been written (each socket's `close` handler runs once). When the grace period ends
    /// first, whatever is left is ended at once: requests in flight are dropped, handlers
    /// still waiting are cancelled, sockets are cut without a closing handshake and their
    /// `close` handlers run with `1006`. Then it returns. Calling it again (or from several
    /// tasks) waits for the same shutdown.
    ///
    /// A handler that wants to stop its own server must not await this inline (it would
    /// wait for itself); spawn it: `tokio::spawn(async move { server.stop().await })`.
    pub async fn stop(&self) {
        let first = self.shared.phase.send_if_modified(|phase| {
            let first = *phase == Phase::Running;
            if first {
                *phase = Phase::Stopping;
            }
            first
        });
        if first {
            self.shared.registry.stop_all();
            // The deadline lives in a task of its own, so it holds even if this call's
            // future is dropped.
            let server = self.clone();
            tokio::spawn(async move {
                if tokio::time::timeout(server.shared.grace, server.stopped())
                    .await
                    .is_err()
                {
                    tracing::warn!(target: "hyperbun::server", grace = ?server.shared.grace, "grace period over; ending the connections that are left");
                    server.shared.phase.send_replace(Phase::Aborting);
                    server.shared.registry.abort_all();
                }
            });
        }
        self.stopped().await;
        if first {
            tracing::info!(target: "hyperbun::server", local_addr = %self.shared.local_addr, "stopped");
        }
    }

    /// Waits until the server has stopped, without asking it to.
    pub async fn stopped(&self) {
        self.shared.phase.closed().await;
    }

    /// True once [`stop`](Self::stop) has been called.
    #[must_use]
    pub fn is_stopping(&self) -> bool {
        *self.shared.phase.borrow() != Phase::Running
    }

    /// Publishes `message` to every socket subscribed to `topic` (Bun's `server.publish`),
    /// uncompressed, from any task or HTTP route. The frame is encoded once and its bytes
    /// shared by every subscriber.
    ///
    /// The [`PublishResult`] counts who got it; a topic that is empty or longer than
    /// [`max_topic_length`](ServerConfig::max_topic_length) reaches nobody and is reported in
    /// [`refused`](PublishResult::refused). Publishing to a valid topic needs no error
    /// handling.
    pub fn publish(&self, topic: &str, message: impl Into<Message>) -> PublishResult {
        let (opcode, payload) = crate::ws::frame::split(message.into());
        self.publish_frame(topic, opcode, &payload, false)
    }

    /// Like [`publish`](Self::publish), compressed for the subscribers that negotiated
    /// permessage-deflate (Bun's `server.publish(topic, data, true)`; see
    /// [`WebSocket::publish_compressed`](crate::WebSocket::publish_compressed)).
    pub fn publish_compressed(&self, topic: &str, message: impl Into<Message>) -> PublishResult {
        let (opcode, payload) = crate::ws::frame::split(message.into());
        self.publish_frame(topic, opcode, &payload, true)
    }

    /// Publishes a text message; with `compress`, as
    /// [`publish_compressed`](Self::publish_compressed) does.
    pub fn publish_text(&self, topic: &str, text: &str, compress: bool) -> PublishResult {
        self.publish_frame(topic, OpCode::Text, text.as_bytes(), compress)
    }

    /// Publishes a binary message; with `compress`, as
    /// [`publish_compressed`](Self::publish_compressed) does.
    pub fn publish_binary(&self, topic: &str, bytes: &[u8], compress: bool) -> PublishResult {
        self.publish_frame(topic, OpCode::Binary, bytes, compress)
    }

    /// Publishes `value` serialized as JSON, as a text message, to every socket subscribed
    /// to `topic`, exactly as [`publish`](Self::publish) publishes text; serialized once,
    /// whatever the number of subscribers. A value `serde_json` cannot serialize reaches
    /// nobody: the result is [`PublishResult::default()`], and the error is logged as
    /// [`WebSocket::send_json`](crate::WebSocket::send_json) logs it.
    ///
    /// # Examples
    ///
    /// ```
    /// use hyperbun::prelude::*;
    /// use hyperbun::test::TestServer;
    ///
    /// #[derive(serde::Serialize)]
    /// struct Score {
    ///     home: u8,
    ///     away: u8,
    /// }
    ///
    /// struct Scores;
    ///
    /// #[websocket("/scores")]
    /// impl Scores {
    ///     fn open(ws: &mut WebSocket) {
    ///         ws.subscribe("match");
    ///     }
    ///     fn message(_ws: &mut WebSocket, _msg: Message) {}
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let app = TestServer::start(hyperbun::router![Scores]).await;
    /// let mut ws = app.ws("/scores").await;
    /// app.wait_subscribers("match", 1).await;
    /// let result = app.server().publish_json("match", &Score { home: 2, away: 1 });
    /// assert_eq!(result.delivered, 1);
    /// ws.expect_json(&json!({ "home": 2, "away": 1 })).await;
    /// # ws.close().await;
    /// # app.stop().await;
    /// # }
    /// ```
    pub fn publish_json<T: Serialize + ?Sized>(&self, topic: &str, value: &T) -> PublishResult {
        let Some(text) = crate::ws::json::to_text(value) else {
            return PublishResult::default();
        };
        self.publish_frame(topic, OpCode::Text, text.as_bytes(), false)
    }

    fn publish_frame(
        &self,
        topic: &str,
        opcode: OpCode,
        payload: &[u8],
        compress: bool,
    ) -> PublishResult {
        if let Err(e) = self.check_topic(topic) {
            return PublishResult::refusal(e);
        }
        self.publish_checked(topic, opcode, payload, None, compress)
    }

    /// Delivers a publish to this server's subscribers of `topic` but `except`, and hands it
    /// to the backplane for the other servers. The topic has been checked.
    pub(crate) fn publish_checked(
        &self,
        topic: &str,
        opcode: OpCode,
        payload: &[u8],
        except: Option<&Arc<SocketShared>>,
        compress: bool,
    ) -> PublishResult {
        let mut result = (self.shared.hub).publish(topic, opcode, payload, except, compress);
        if let Some(backplane) = self.shared.backplane.get() {
            result.remote = backplane.publish(topic, opcode, payload, compress);
        }
        result
    }

    /// How many sockets of this server are subscribed to `topic` (O(1)). With a
    /// [backplane](crate::backplane), [`cluster_subscriber_count`](Self::cluster_subscriber_count)
    /// counts every server's.
    #[must_use]
    pub fn subscriber_count(&self, topic: &str) -> usize {
        self.shared.hub.subscriber_count(topic)
    }

    /// How many sockets are subscribed to `topic` on every server that shares this one's
    /// [backplane](crate::backplane): each live server is asked for its own count (see
    /// [`ClusterCount`] for what "live" means when a server dies). Without a backplane, this
    /// server's count. An error when the backplane cannot reach its broker.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let app = hyperbun::test::TestServer::start(hyperbun::router![]).await;
    /// let count = app.server().cluster_subscriber_count("room").await.unwrap();
    /// assert_eq!((count.subscribers, count.nodes, count.is_complete()), (0, 1, true));
    /// # app.stop().await;
    /// # }
    /// ```
    pub async fn cluster_subscriber_count(
        &self,
        topic: &str,
    ) -> Result<ClusterCount, BackplaneError> {
        match self.shared.backplane.get() {
            Some(backplane) => backplane.count(topic).await,
            None => Ok(ClusterCount {
                subscribers: self.subscriber_count(topic),
                nodes: 1,
                unanswered: Vec::new(),
            }),
        }
    }

    /// What the [backplane](crate::backplane) has done so far (publishes sent, refused and
    /// lost, messages received, whether it is connected); `None` without one.
    #[must_use]
    pub fn backplane_stats(&self) -> Option<BackplaneStats> {
        self.shared.backplane.get().map(|b| b.stats())
    }

    /// Starts the backplane `config` asks for, if any.
    #[cfg_attr(
        not(feature = "redis"),
        allow(clippy::unnecessary_wraps, unused_variables)
    )]
    pub(crate) fn start_backplane(&self, config: &ServerConfig) -> std::io::Result<()> {
        #[cfg(feature = "redis")]
        if let Some(redis) = &config.backplane {
            let backplane = redis.start(self)?;
            // A server is started once: nothing can have set it.
            let _ = self.shared.backplane.set(backplane);
        }
        Ok(())
    }

    /// How many topics have at least one subscriber.
    #[must_use]
    pub fn topic_count(&self) -> usize {
        self.shared.hub.topic_count()
    }

    /// The topics that have at least one subscriber, in no particular order.
    #[must_use]
    pub fn topics(&self) -> Vec<String> {
        self.shared.hub.topics()
    }

    pub(crate) fn hub(&self) -> &Hub {
        &self.shared.hub
    }

    /// The hub, for a backplane's tasks.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn hub_arc(&self) -> Arc<Hub> {
        Arc::clone(&self.shared.hub)
    }

    /// Refuses the empty topic and one longer than
    /// [`max_topic_length`](ServerConfig::max_topic_length).
    pub(crate) fn check_topic(&self, topic: &str) -> Result<(), TopicError> {
        pubsub::check(topic, self.shared.max_topic_length)
    }

    /// How many WebSockets are open (Bun's `pendingWebSockets`).
    #[must_use]
    pub fn pending_websockets(&self) -> usize {
        self.shared.registry.len()
    }

    /// A receiver that keeps [`stopped`](Self::stopped) waiting while it lives.
    pub(crate) fn stop_receiver(&self) -> watch::Receiver<Phase> {
        self.shared.phase.subscribe()
    }

    /// The idle sweeper's clock.
    pub(crate) fn clock(&self) -> u32 {
        self.shared.registry.clock()
    }

    /// Counts an upgrade from `addr` against
    /// [`max_websockets_per_ip`](ServerConfig::max_websockets_per_ip) until the returned slot
    /// drops, or refuses it (`429`) when the address holds the limit already.
    pub(crate) fn admit_websocket(&self, addr: &Addr) -> Result<PeerSlot, UpgradeError> {
        match &self.shared.peers {
            Some(peers) => peers.admit(addr),
            None => Ok(PeerSlot::default()),
        }
    }

    /// Registers an open socket until the returned guard drops. `stop` (the receiver) keeps
    /// the server's shutdown waiting for it.
    pub(crate) fn register_socket(
        &self,
        socket: Arc<SocketShared>,
        stop: watch::Receiver<Phase>,
    ) -> SocketRegistration {
        let key = self.shared.registry.insert(socket);
        SocketRegistration {
            registry: Arc::clone(&self.shared.registry),
            key,
            _stop: stop,
        }
    }
}

/// What a request that becomes a WebSocket carries to the socket, which keeps it until it
/// closes: the connection's place in the count that
/// [`max_connections`](ServerConfig::max_connections) bounds (shared with the connection's
/// task and given back when the last holder drops it; nothing, and no allocation, without a
/// limit), and over HTTP/2 the socket's stream, so that its connection is not closed as idle
/// under it.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConnectionHold {
    _slot: Option<Arc<accept::Slot>>,
    _stream: Option<conn::OpenStream>,
}

impl ConnectionHold {
    fn of_slot(slot: accept::Slot) -> Self {
        ConnectionHold {
            _slot: Some(Arc::new(slot)),
            _stream: None,
        }
    }

    fn with_stream(&self, stream: Option<conn::OpenStream>) -> Self {
        ConnectionHold {
            _slot: self._slot.clone(),
            _stream: stream,
        }
    }
}

/// Keeps a socket in the server's registry; removes it when dropped.
pub(crate) struct SocketRegistration {
    registry: Arc<Registry>,
    key: Key,
    _stop: watch::Receiver<Phase>,
}

impl Drop for SocketRegistration {
    fn drop(&mut self) {
        self.registry.remove(self.key);
    }
}
