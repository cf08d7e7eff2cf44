//! The socket handle handlers receive, [`WebSocket`]: the typed client data and the socket's
//! operations, which queue frames on the socket's [shared state](crate::ws::shared) and
//! reach topics through the server's [hub](crate::ws::pubsub).

use std::collections::HashSet;
use std::fmt;
use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::BytesMut;

use crate::ws::frame::{self, OpCode};
use crate::ws::pubsub;
use crate::ws::queue::Payload;
use crate::ws::shared::{Delivery, Origin, SocketShared};
use crate::ws::{Message, PublishResult, TopicError};
use crate::{Addr, Server};

/// What became of a send: Bun's `-1 / 0 / N` as an enum.
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
///         }
///     }
/// }
/// # let _ = hyperbun::router![Feed];
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SendStatus {
    /// Queued for the next write, with the queue below the
    /// [backpressure limit](SocketOptions::backpressure_limit); the payload's length.
    Sent(usize),
    /// Queued, and the queue has reached the backpressure limit: stop sending until `drain`
    /// runs; the payload's length.
    Backpressure(usize),
    /// Not queued: the socket is closing or closed, or the queue was already at the limit
    /// (then the socket closes with `1008` if
    /// [`close_on_backpressure_limit`](SocketOptions::close_on_backpressure_limit) is set).
    Dropped,
}

impl SendStatus {
    /// True unless [`Dropped`](Self::Dropped).
    #[must_use]
    pub fn is_queued(self) -> bool {
        !matches!(self, SendStatus::Dropped)
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
    /// The topics this socket is subscribed to: a set, so `is_subscribed` and `unsubscribe`
    /// stay O(1) on a socket with many topics. An empty `HashSet` allocates nothing, so an
    /// idle socket pays for it only once it subscribes.
    pub(crate) subscriptions: HashSet<Box<str>>,
    /// An I/O error met while writing early inside a handler, for the driver to act on.
    pub(crate) write_error: Option<io::Error>,
}

impl<T> WebSocket<T> {
    /// Sends a text or binary message (anything that converts into a [`Message`]: `&str` and
    /// `String` are text, `Vec<u8>`, `&[u8]` and [`Bytes`] are binary), uncompressed.
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
        let (opcode, payload) = message.into_frame();
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
        let code = if frame::is_sendable_close_code(code) {
            code
        } else {
            tracing::debug!(target: "hyperbun::ws", code, "close code may not be sent; using 1000");
            1000
        };
        self.conn.start_close(code, reason);
    }

    /// Closes the connection at once, without a closing handshake; queued frames are
    /// discarded. The `close` handler runs with `1006`.
    pub fn terminate(&mut self) {
        self.conn.terminated = true;
        self.conn.shared.close();
    }

    /// Runs `f` with every send it makes written in one batch. Handlers are already corked
    /// (their sends are written together when they return, or when an `async` handler waits),
    /// so this only groups sends in code that runs between awaits of a long `async` handler.
    pub fn cork<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> R {
        f(self)
    }

    /// Subscribes to `topic`: every [`publish`](Self::publish) to it (from any socket or the
    /// [`Server`]) is queued on this socket too. Returns `Ok(false)` if already subscribed,
    /// or if the socket is no longer open.
    ///
    /// # Errors
    ///
    /// [`TopicError::Empty`] for the empty topic, [`TopicError::TooLong`] for a name over
    /// [`ServerConfig::max_topic_length`](crate::ServerConfig::max_topic_length), and
    /// [`TopicError::TooManyTopics`] when the socket is already subscribed to
    /// [`max_topics_per_socket`](SocketOptions::max_topics_per_socket) topics.
    pub fn subscribe(&mut self, topic: &str) -> Result<bool, TopicError> {
        self.conn.server.check_topic(topic)?;
        if self.conn.state != ReadyState::Open || self.conn.subscriptions.contains(topic) {
            return Ok(false);
        }
        let limit = self.conn.shared.options.max_topics_per_socket;
        if self.conn.subscriptions.len() >= limit {
            return Err(TopicError::TooManyTopics { limit });
        }
        let added = self.conn.server.hub().subscribe(topic, &self.conn.shared);
        if added {
            self.conn.subscriptions.insert(topic.into());
        }
        Ok(added)
    }

    /// Unsubscribes from `topic`; `Ok(true)` if it was subscribed.
    ///
    /// # Errors
    ///
    /// [`TopicError::Empty`] for the empty topic.
    pub fn unsubscribe(&mut self, topic: &str) -> Result<bool, TopicError> {
        pubsub::check(topic, usize::MAX)?;
        if !self.conn.subscriptions.remove(topic) {
            return Ok(false);
        }
        Ok(self.conn.server.hub().unsubscribe(topic, &self.conn.shared))
    }

    /// True if subscribed to `topic`.
    #[must_use]
    pub fn is_subscribed(&self, topic: &str) -> bool {
        self.conn.subscriptions.contains(topic)
    }

    /// The topics this socket is subscribed to, in no particular order.
    pub fn subscriptions(&self) -> impl Iterator<Item = &str> + '_ {
        self.conn.subscriptions.iter().map(|t| &**t)
    }

    /// Publishes `message` to every socket subscribed to `topic` except this one (unless
    /// [`publish_to_self`](SocketOptions::publish_to_self) is set). The socket need not be
    /// subscribed itself. The frame is encoded once and shared by every subscriber.
    ///
    /// # Errors
    ///
    /// [`TopicError::Empty`] for the empty topic, [`TopicError::TooLong`] for a name over
    /// [`ServerConfig::max_topic_length`](crate::ServerConfig::max_topic_length).
    pub fn publish(
        &mut self,
        topic: &str,
        message: impl Into<Message>,
    ) -> Result<PublishResult, TopicError> {
        let (opcode, payload) = message.into().into_frame();
        self.publish_frame(topic, opcode, &payload, false)
    }

    /// Publishes a text message. With `compress`, subscribers that negotiated
    /// permessage-deflate (on routes that compress, for messages of at least the minimum
    /// size) get it compressed: once for all subscribers with a shared compressor and the
    /// same window, per subscriber with a dedicated one.
    ///
    /// # Errors
    ///
    /// [`TopicError::Empty`] for the empty topic.
    pub fn publish_text(
        &mut self,
        topic: &str,
        text: &str,
        compress: bool,
    ) -> Result<PublishResult, TopicError> {
        self.publish_frame(topic, OpCode::Text, text.as_bytes(), compress)
    }

    /// Publishes a binary message; `compress` as for [`publish_text`](Self::publish_text).
    ///
    /// # Errors
    ///
    /// [`TopicError::Empty`] for the empty topic.
    pub fn publish_binary(
        &mut self,
        topic: &str,
        bytes: &[u8],
        compress: bool,
    ) -> Result<PublishResult, TopicError> {
        self.publish_frame(topic, OpCode::Binary, bytes, compress)
    }

    fn publish_frame(
        &mut self,
        topic: &str,
        opcode: OpCode,
        payload: &[u8],
        compress: bool,
    ) -> Result<PublishResult, TopicError> {
        self.conn.server.check_topic(topic)?;
        let except = (!self.conn.shared.options.publish_to_self).then_some(&self.conn.shared);
        Ok(self
            .conn
            .server
            .hub()
            .publish(topic, opcode, payload, except, compress))
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
        let (delivery, error) = self
            .conn
            .shared
            .send(opcode, payload, compress, Origin::Own);
        if let Some(e) = error {
            self.conn.write_error.get_or_insert(e);
        }
        match delivery {
            Delivery::Sent(len) => SendStatus::Sent(len),
            Delivery::Backpressure(len) => SendStatus::Backpressure(len),
            Delivery::Dropped => {
                if self.conn.shared.close_requested.load(Ordering::Acquire) {
                    // Over the limit with `close_on_backpressure_limit`: closing from now on.
                    self.conn.start_close(1008, "backpressure limit reached");
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
        for topic in self.subscriptions.drain() {
            hub.unsubscribe(&topic, &self.shared);
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
