//! The socket handle handlers receive, [`WebSocket`]: the typed client data and the socket's
//! operations, which queue frames on the socket's [shared state](crate::ws::shared) and
//! reach topics through the server's [hub](crate::ws::pubsub).

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::sync::Arc;

use bytes::BytesMut;
use serde::Serialize;

use crate::ws::frame::{self, OpCode};
use crate::ws::pubsub::Slot;
use crate::ws::queue::Payload;
use crate::ws::shared::{Delivery, SocketShared};
use crate::ws::{Message, PublishResult, TopicError};
use crate::{Addr, Server};

/// What became of a send: Bun's `-1 / 0 / N` as an enum. `#[non_exhaustive]`: a match
/// needs a `_` arm, so a later kind of outcome is not a breaking change.
///
/// # Examples
///
/// ```
/// use hyperbun::prelude::*;
///
/// struct Feed;
///
/// #[websocket("/feed")]
/// impl Feed {
///     fn message(ws: &mut WebSocket, msg: Message) {
///         match ws.send(msg) {
///             SendStatus::Sent(_) => {}
///             SendStatus::Backpressure(_) => { /* queued; wait for `drain` before sending more */ }
///             SendStatus::Dropped => { /* closed, or the queue was full */ }
///             _ => {}
///         }
///     }
/// }
/// # let _ = hyperbun::router![Feed];
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SendStatus {
    /// Queued for the next write, with the queue below the
    /// [backpressure limit](crate::SocketOptions::backpressure_limit); the payload's length.
    Sent(usize),
    /// Queued, and the queue has reached the backpressure limit: stop sending until `drain`
    /// runs; the payload's length.
    Backpressure(usize),
    /// Not queued: the socket is closing or closed, or the queue was already at the limit
    /// (then the socket closes with `1008` if
    /// [`close_on_backpressure_limit`](crate::SocketOptions::close_on_backpressure_limit) is set).
    Dropped,
}

impl SendStatus {
    /// True unless [`Dropped`](Self::Dropped).
    #[must_use]
    pub fn is_queued(self) -> bool {
        !matches!(self, SendStatus::Dropped)
    }
}

/// What became of a [`subscribe`](WebSocket::subscribe). Like [`SendStatus`], a report rather
/// than an error: a valid topic needs no handling, and a refused one says why.
///
/// `subscribe` used to return `Result<bool, TopicError>`, which is `must_use`, so every
/// subscription to a constant topic was written `.expect("a topic")`; with a status the
/// common case is one plain statement and a topic from a client is checked by a `match`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SubscribeStatus {
    /// Subscribed now.
    Subscribed,
    /// Already subscribed: nothing changed.
    AlreadySubscribed,
    /// Not subscribed: the socket is closing or closed.
    Closed,
    /// Not subscribed: the topic is empty or too long, or the socket is at its
    /// [topic limit](crate::SocketOptions::max_topics_per_socket).
    Refused(TopicError),
}

impl SubscribeStatus {
    /// True if the socket is subscribed to the topic now
    /// ([`Subscribed`](Self::Subscribed) or [`AlreadySubscribed`](Self::AlreadySubscribed)).
    #[must_use]
    pub fn is_subscribed(self) -> bool {
        matches!(
            self,
            SubscribeStatus::Subscribed | SubscribeStatus::AlreadySubscribed
        )
    }

    /// Why the topic was refused, if it was.
    #[must_use]
    pub fn refused(self) -> Option<TopicError> {
        match self {
            SubscribeStatus::Refused(e) => Some(e),
            _ => None,
        }
    }
}

/// Where a socket is in its life, Bun's `readyState` (0–3).
///
/// ```
/// use hyperbun::prelude::*;
/// use hyperbun::ws::ReadyState;
///
/// struct Chat;
///
/// #[websocket("/chat")]
/// impl Chat {
///     fn message(ws: &mut WebSocket, msg: Message) {
///         assert_eq!(ws.ready_state(), ReadyState::Open);
///         if msg.as_text() == Some("bye") {
///             ws.close(1000, "bye");
///             assert_eq!(ws.ready_state(), ReadyState::Closing); // sends are dropped now
///         }
///     }
///     fn close(ws: &mut WebSocket, _code: u16, _reason: &str) {
///         assert_eq!(ws.ready_state(), ReadyState::Closed);
///     }
/// }
/// # let _ = hyperbun::router![Chat];
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReadyState {
    /// Not yet open (never seen by handlers: `open` runs once the socket is open).
    Connecting = 0,
    /// Open: sends are queued.
    Open = 1,
    /// A close frame has been queued or received; sends are dropped.
    Closing = 2,
    /// The connection is gone (inside the `close` handler).
    Closed = 3,
}

/// One connection's WebSocket, as handlers see it: the typed client `data` (Bun's `ws.data`)
/// and the socket's operations.
///
/// The handlers of a socket run one at a time, in order, on the connection's task, and own
/// the handle while they run, so `data` is a plain field: no lock, no `Any`, no downcast.
///
/// # Examples
///
/// ```
/// use hyperbun::prelude::*;
///
/// #[derive(Default)]
/// struct Counter {
///     messages: u64,
/// }
///
/// struct Counting;
///
/// #[websocket("/count", data = Counter)]
/// impl Counting {
///     fn message(ws: &mut WebSocket<Counter>, _msg: Message) {
///         ws.data.messages += 1;
///         let reply = format!("message #{}", ws.data.messages);
///         ws.send(reply);
///     }
/// }
/// # let _ = hyperbun::router![Counting];
/// ```
pub struct WebSocket<T = ()> {
    /// The connection's data, set when the upgrade was accepted.
    pub data: T,
    pub(crate) conn: Conn,
}

/// The socket's state besides `data`.
pub(crate) struct Conn {
    pub(crate) shared: Arc<SocketShared>,
    pub(crate) server: Server,
    pub(crate) remote_addr: Addr,
    pub(crate) protocol: Option<Box<str>>,
    pub(crate) state: ReadyState,
    /// Set by `close`: the code and reason to report to the `close` handler.
    pub(crate) closing: Option<(u16, Box<str>)>,
    /// Set by `terminate`.
    pub(crate) terminated: bool,
    /// The topics this socket is subscribed to, each with its slot in the topic (which makes
    /// leaving it O(1), see [`pubsub`](crate::ws::pubsub)): a map, so `is_subscribed` and
    /// `unsubscribe` stay O(1) on a socket with many topics. An empty `HashMap` allocates
    /// nothing, and boxed it costs an idle socket one pointer until it subscribes.
    // The map's 48 bytes would sit in every idle socket's task; the box is one pointer.
    #[allow(clippy::box_collection)]
    pub(crate) subscriptions: Option<Box<HashMap<Box<str>, Slot>>>,
    /// An I/O error met while writing early inside a handler, for the driver to act on.
    pub(crate) write_error: Option<io::Error>,
}

impl<T> WebSocket<T> {
    /// Sends a text or binary message (anything that converts into a [`Message`]: `&str` and
    /// `String` are text, `Vec<u8>`, `&[u8]` and [`Bytes`](crate::Bytes) are binary), uncompressed.
    pub fn send(&mut self, message: impl Into<Message>) -> SendStatus {
        self.send_message(message.into(), false)
    }

    /// Sends a message compressed with permessage-deflate when the connection negotiated it
    /// (and the route compresses messages of its size); otherwise as [`send`](Self::send)
    /// would. Bun's `ws.send(data, true)`.
    pub fn send_compressed(&mut self, message: impl Into<Message>) -> SendStatus {
        self.send_message(message.into(), true)
    }

    fn send_message(&mut self, message: Message, compress: bool) -> SendStatus {
        let (opcode, payload) = crate::ws::frame::split(message);
        self.send_frame(opcode, Payload::Shared(payload), compress)
    }

    /// Sends a text message. `compress` asks for permessage-deflate on this message: it is
    /// compressed if the connection negotiated the extension, the route compresses, and the
    /// message is at least the route's minimum size; otherwise it goes as it is.
    pub fn send_text(&mut self, text: &str, compress: bool) -> SendStatus {
        self.send_frame(OpCode::Text, Payload::Borrowed(text.as_bytes()), compress)
    }

    /// Sends a binary message; `compress` as for [`send_text`](Self::send_text).
    pub fn send_binary(&mut self, bytes: &[u8], compress: bool) -> SendStatus {
        self.send_frame(OpCode::Binary, Payload::Borrowed(bytes), compress)
    }

    /// Sends `value` serialized as JSON, as a text message, uncompressed: Bun's
    /// `ws.send(JSON.stringify(value))`. It is serialized once, straight into the buffer the
    /// message is sent from.
    ///
    /// A value `serde_json` cannot serialize (a map whose keys are not strings, a `Serialize`
    /// impl that fails) is a bug in the program, not in the peer: it is not sent, the status
    /// is [`Dropped`](SendStatus::Dropped), and the error is logged (`tracing::error!`,
    /// target `hyperbun::ws`, with the value's type), as axum's `Json` answers `500`. The
    /// socket stays open.
    ///
    /// # Examples
    ///
    /// ```
    /// use hyperbun::prelude::*;
    /// use hyperbun::test::TestServer;
    ///
    /// #[derive(serde::Serialize)]
    /// struct Welcome<'a> {
    ///     hello: &'a str,
    ///     online: usize,
    /// }
    ///
    /// struct Lobby;
    ///
    /// #[websocket("/lobby")]
    /// impl Lobby {
    ///     fn open(ws: &mut WebSocket) {
    ///         ws.send_json(&Welcome { hello: "you", online: 1 });
    ///     }
    ///     fn message(ws: &mut WebSocket, _msg: Message) {
    ///         ws.send_json(&json!({ "type": "ack" }));
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let app = TestServer::start(hyperbun::router![Lobby]).await;
    /// let mut ws = app.ws("/lobby").await;
    /// ws.expect_text(r#"{"hello":"you","online":1}"#).await;
    /// ws.send("hi").await;
    /// ws.expect_json(&json!({ "type": "ack" })).await;
    /// # ws.close().await;
    /// # app.stop().await;
    /// # }
    /// ```
    pub fn send_json<J: Serialize + ?Sized>(&mut self, value: &J) -> SendStatus {
        let Some(text) = crate::ws::json::to_text(value) else {
            return SendStatus::Dropped;
        };
        self.send_frame(OpCode::Text, Payload::Shared(text.into_bytes()), false)
    }

    /// Sends a ping with `payload` (at most 125 bytes, else [`Dropped`](SendStatus::Dropped)).
    pub fn ping(&mut self, payload: impl AsRef<[u8]>) -> SendStatus {
        self.send_control(OpCode::Ping, payload.as_ref())
    }

    /// Sends an unsolicited pong with `payload` (at most 125 bytes, else
    /// [`Dropped`](SendStatus::Dropped)). Pings are answered automatically.
    pub fn pong(&mut self, payload: impl AsRef<[u8]>) -> SendStatus {
        self.send_control(OpCode::Pong, payload.as_ref())
    }

    /// Starts the closing handshake: queues a close frame with `code` and `reason` (cut to
    /// 123 bytes at a character boundary) behind everything already queued. Later sends are
    /// dropped; the `close` handler runs once, with this code and reason, when the peer has
    /// answered (or after 5 s). A code that may not be sent (below 1000, 1004–1006, 1015, or
    /// 5000 and up) is replaced with `1000`. Calling it again does nothing.
    pub fn close(&mut self, code: u16, reason: &str) {
        if self.conn.closing.is_some() || self.conn.state != ReadyState::Open {
            return;
        }
        self.conn
            .start_close(frame::sendable_close_code(code), reason);
    }

    /// Closes the connection at once, without a closing handshake; queued frames are
    /// discarded. The `close` handler runs with `1006`.
    pub fn terminate(&mut self) {
        self.conn.terminated = true;
        self.conn.shared.close();
    }

    /// Subscribes to `topic`: every [`publish`](Self::publish) to it (from any socket or the
    /// [`Server`]) is queued on this socket too.
    ///
    /// Like [`send`](Self::send), it reports what happened instead of failing: subscribing to
    /// a valid topic needs no error handling, and the result may be ignored. A topic is
    /// [`Refused`](SubscribeStatus::Refused) when it is empty, longer than
    /// [`ServerConfig::max_topic_length`](crate::ServerConfig::max_topic_length), or when the
    /// socket already has [`max_topics_per_socket`](crate::SocketOptions::max_topics_per_socket)
    /// topics; match on the status where a topic comes from a client.
    ///
    /// ```
    /// use hyperbun::prelude::*;
    ///
    /// struct Rooms;
    ///
    /// #[websocket("/rooms")]
    /// impl Rooms {
    ///     fn open(ws: &mut WebSocket) {
    ///         ws.subscribe("lobby");
    ///     }
    ///     fn message(ws: &mut WebSocket, msg: Message) {
    ///         let room = msg.as_text().unwrap_or_default();
    ///         match ws.subscribe(room) {
    ///             SubscribeStatus::Refused(why) => ws.send(format!("cannot join: {why}")),
    ///             _ => ws.send(format!("in {room}")),
    ///         };
    ///     }
    /// }
    /// # let _ = hyperbun::router![Rooms];
    /// ```
    pub fn subscribe(&mut self, topic: &str) -> SubscribeStatus {
        if let Err(e) = self.conn.server.check_topic(topic) {
            return SubscribeStatus::Refused(e);
        }
        if self.conn.state != ReadyState::Open {
            return SubscribeStatus::Closed;
        }
        let subscriptions = self.conn.subscriptions.get_or_insert_default();
        if subscriptions.contains_key(topic) {
            return SubscribeStatus::AlreadySubscribed;
        }
        let limit = self.conn.shared.options.max_topics_per_socket;
        if subscriptions.len() >= limit {
            return SubscribeStatus::Refused(TopicError::TooManyTopics { limit });
        }
        let slot = self.conn.server.hub().subscribe(topic, &self.conn.shared);
        subscriptions.insert(topic.into(), slot);
        SubscribeStatus::Subscribed
    }

    /// Unsubscribes from `topic`; true if it was subscribed. A topic that could not be
    /// subscribed to (empty, too long) was not, so there is nothing to refuse.
    pub fn unsubscribe(&mut self, topic: &str) -> bool {
        let removed = (self.conn.subscriptions.as_mut()).and_then(|s| s.remove(topic));
        let Some(slot) = removed else {
            return false;
        };
        self.conn
            .server
            .hub()
            .unsubscribe(topic, &self.conn.shared, slot)
    }

    /// True if subscribed to `topic`.
    #[must_use]
    pub fn is_subscribed(&self, topic: &str) -> bool {
        self.conn
            .subscriptions
            .as_ref()
            .is_some_and(|subscriptions| subscriptions.contains_key(topic))
    }

    /// The topics this socket is subscribed to, in no particular order.
    pub fn subscriptions(&self) -> impl Iterator<Item = &str> + '_ {
        self.conn
            .subscriptions
            .iter()
            .flat_map(|subscriptions| subscriptions.keys())
            .map(|t| &**t)
    }

    /// Publishes `message` to every socket subscribed to `topic` except this one (unless
    /// [`publish_to_self`](crate::SocketOptions::publish_to_self) is set), uncompressed. The socket
    /// need not be subscribed itself. The frame is encoded once and shared by every
    /// subscriber.
    ///
    /// The [`PublishResult`] counts who got it; a topic that is empty or longer than
    /// [`ServerConfig::max_topic_length`](crate::ServerConfig::max_topic_length) reaches
    /// nobody and is reported in [`refused`](PublishResult::refused), with every count zero.
    /// Publishing to a valid topic needs no error handling.
    pub fn publish(&mut self, topic: &str, message: impl Into<Message>) -> PublishResult {
        let (opcode, payload) = crate::ws::frame::split(message.into());
        self.publish_frame(topic, opcode, &payload, false)
    }

    /// Publishes a message compressed with permessage-deflate for the subscribers that
    /// negotiated it (on routes that compress, for messages of at least the minimum size):
    /// once for all subscribers with a shared compressor and the same window, per subscriber
    /// with a dedicated one; the others get it as [`publish`](Self::publish) sends it. Bun's
    /// `ws.publish(topic, data, true)`.
    pub fn publish_compressed(
        &mut self,
        topic: &str,
        message: impl Into<Message>,
    ) -> PublishResult {
        let (opcode, payload) = crate::ws::frame::split(message.into());
        self.publish_frame(topic, opcode, &payload, true)
    }

    /// Publishes a text message; with `compress`, as
    /// [`publish_compressed`](Self::publish_compressed) does.
    pub fn publish_text(&mut self, topic: &str, text: &str, compress: bool) -> PublishResult {
        self.publish_frame(topic, OpCode::Text, text.as_bytes(), compress)
    }

    /// Publishes a binary message; with `compress`, as
    /// [`publish_compressed`](Self::publish_compressed) does.
    pub fn publish_binary(&mut self, topic: &str, bytes: &[u8], compress: bool) -> PublishResult {
        self.publish_frame(topic, OpCode::Binary, bytes, compress)
    }

    /// Publishes `value` serialized as JSON, as a text message, to every socket subscribed
    /// to `topic`, exactly as [`publish`](Self::publish) publishes text (not to this socket
    /// unless [`publish_to_self`](crate::SocketOptions::publish_to_self) is set; a refused
    /// topic in [`refused`](PublishResult::refused)). It is serialized once, whatever the
    /// number of subscribers.
    ///
    /// A value `serde_json` cannot serialize reaches nobody: the result is
    /// [`PublishResult::default()`], and the error is logged as
    /// [`send_json`](Self::send_json) logs it.
    ///
    /// # Examples
    ///
    /// ```
    /// use hyperbun::prelude::*;
    /// use hyperbun::test::TestServer;
    ///
    /// #[derive(serde::Serialize)]
    /// struct Said<'a> {
    ///     text: &'a str,
    /// }
    ///
    /// struct Chat;
    ///
    /// #[websocket("/chat")]
    /// impl Chat {
    ///     fn open(ws: &mut WebSocket) {
    ///         ws.subscribe("chat");
    ///     }
    ///     fn message(ws: &mut WebSocket, msg: Message) {
    ///         let text = msg.as_text().unwrap_or_default();
    ///         ws.publish_json("chat", &Said { text });
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let app = TestServer::start(hyperbun::router![Chat]).await;
    /// let mut alice = app.ws("/chat").await;
    /// let mut bob = app.ws("/chat").await;
    /// app.wait_subscribers("chat", 2).await;
    /// alice.send("hi").await;
    /// bob.expect_json(&json!({ "text": "hi" })).await;
    /// # alice.close().await;
    /// # bob.close().await;
    /// # app.stop().await;
    /// # }
    /// ```
    pub fn publish_json<J: Serialize + ?Sized>(&mut self, topic: &str, value: &J) -> PublishResult {
        let Some(text) = crate::ws::json::to_text(value) else {
            return PublishResult::default();
        };
        self.publish_frame(topic, OpCode::Text, text.as_bytes(), false)
    }

    fn publish_frame(
        &mut self,
        topic: &str,
        opcode: OpCode,
        payload: &[u8],
        compress: bool,
    ) -> PublishResult {
        if let Err(e) = self.conn.server.check_topic(topic) {
            return PublishResult::refusal(e);
        }
        let except = (!self.conn.shared.options.publish_to_self).then_some(&self.conn.shared);
        (self.conn.server).publish_checked(topic, opcode, payload, except, compress)
    }

    /// Bytes queued and not yet taken by the operating system.
    #[must_use]
    pub fn buffered_amount(&self) -> usize {
        self.conn.shared.buffered()
    }

    /// The peer's address.
    #[must_use]
    pub fn remote_addr(&self) -> Addr {
        self.conn.remote_addr.clone()
    }

    /// Where the socket is in its life.
    #[must_use]
    pub fn ready_state(&self) -> ReadyState {
        self.conn.state
    }

    /// The subprotocol chosen in the handshake, if any.
    #[must_use]
    pub fn protocol(&self) -> Option<&str> {
        self.conn.protocol.as_deref()
    }

    /// The server this socket belongs to.
    #[must_use]
    pub fn server(&self) -> &Server {
        &self.conn.server
    }

    fn send_frame(&mut self, opcode: OpCode, payload: Payload<'_>, compress: bool) -> SendStatus {
        if self.conn.state != ReadyState::Open {
            return SendStatus::Dropped;
        }
        let (delivery, error) = self.conn.shared.send(opcode, payload, compress);
        if let Some(e) = error {
            self.conn.write_error.get_or_insert(e);
        }
        match delivery {
            Delivery::Sent(len) => SendStatus::Sent(len),
            Delivery::Backpressure(len) => SendStatus::Backpressure(len),
            Delivery::Dropped => {
                // Over the limit with `close_on_backpressure_limit` (or a close asked by
                // another task meanwhile): closing from now on.
                if let Some(request) = self.conn.shared.close_request() {
                    let (code, reason) = (request.code, request.reason.clone());
                    self.conn.start_close(code, &reason);
                }
                SendStatus::Dropped
            }
        }
    }

    fn send_control(&mut self, opcode: OpCode, payload: &[u8]) -> SendStatus {
        if self.conn.state != ReadyState::Open || payload.len() > 125 {
            return SendStatus::Dropped;
        }
        match self
            .conn
            .shared
            .push(opcode, Payload::Borrowed(payload), true)
        {
            crate::ws::shared::Pushed::Queued { len, .. } => SendStatus::Sent(len),
            _ => SendStatus::Dropped,
        }
    }
}

impl Conn {
    /// Leaves every topic (the socket is closing).
    pub(crate) fn leave_all(&mut self) {
        let hub = self.server.hub();
        for (topic, slot) in self.subscriptions.take().into_iter().flat_map(|s| *s) {
            hub.unsubscribe(&topic, &self.shared, slot);
        }
    }

    /// Queues the close frame and refuses every later frame.
    pub(crate) fn start_close(&mut self, code: u16, reason: &str) {
        let mut payload = BytesMut::new();
        frame::encode_close_payload(&mut payload, code, reason);
        let reason = String::from_utf8_lossy(&payload[2..]).into_owned();
        self.shared
            .push(OpCode::Close, Payload::Borrowed(&payload), true);
        self.shared.close();
        self.closing = Some((code, reason.into_boxed_str()));
        self.state = ReadyState::Closing;
    }
}

impl<T: fmt::Debug> fmt::Debug for WebSocket<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocket")
            .field("data", &self.data)
            .field("remote_addr", &self.conn.remote_addr)
            .field("ready_state", &self.conn.state)
            .field("protocol", &self.conn.protocol)
            .field("buffered_amount", &self.conn.shared.buffered())
            .finish_non_exhaustive()
    }
}
