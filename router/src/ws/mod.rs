//! WebSockets, Bun style: a socket route declared with [`#[websocket]`](crate::websocket),
//! admitted by an optional [`#[upgrade]`](crate::upgrade) hook or by hand with
//! [`Server::upgrade`](crate::Server::upgrade), and driven by hyperbun's own RFC 6455 runtime.
//!
//! See the [WebSockets guide](crate::guide::websockets) for the whole story.
//!
//! | module | what lives there |
//! |---|---|
//! | `frame` | the frame codec: parsing, unmasking, validation, encoding |
//! | `handshake` | the opening handshake checks and the `101` response |
//! | `deflate` | permessage-deflate: settings, negotiation, compressor and decompressor |
//! | `upgrade` | [`Upgrade`], the `#[upgrade]` hook traits, the socket route, [`Server::upgrade`](crate::Server::upgrade), the switch to the driver |
//! | `driver` | one task per socket: reads, runs handlers, writes in batches, closes |
//! | `idle` | idle timeouts: one socket's bookkeeping, checked by the registry's sweeper |
//! | `registry` | every open socket of a server, sharded; the idle sweeper; stop and abort |
//! | `peers` | open sockets per IP address, for `max_websockets_per_ip` |
//! | `pubsub` | the hub: topics, subscriber lists, publish encoded once for every subscriber |
//! | `json` | [`Message::json`] and [`JsonError`]; the serialization behind `send_json` and `publish_json` |
//! | `socket` | [`WebSocket`], the public handle handlers get |
//! | `handle` | [`SocketHandle`], a socket reachable from other tasks, and [`WebSocket::handle`] |
//! | `shared` | one socket's state shared across tasks: flags, waker, the backpressure policy |
//! | `queue` | the send queue: encoded frames, topic-log ranges, the `writev` |
//! | `transport` | what a socket runs on: TCP and Unix sockets, or any `AsyncRead + AsyncWrite` |
//! | `spare` | per-thread spare buffers, so busy sockets reuse and idle ones hold none |
//! | `handlers` | `SocketHandlers`, the trait `#[websocket]` implements and the driver calls |
//! | `rate_limit` | [`RateLimit`], a socket's message rate limit, and the token bucket the driver keeps |
//!
//! Imports run top-down, with no cycle: `upgrade` → `driver` → `handlers` → (`handle`, which
//! adds [`WebSocket::handle`] to the socket it imports) → `socket` →
//! the [`Server`](crate::Server) handle → (`pubsub`, `registry`, `peers`) → `shared` → `queue` →
//! (`frame`, `deflate`, `transport`, `spare`). The accept loop (`server::listen`) sits above
//! all of them.
//! `json`, which `handle`, `socket` and the `Server` handle use to serialize, imports only
//! `message`.

pub(crate) mod deflate;
pub(crate) mod driver;
pub(crate) mod frame;
mod handle;
pub(crate) mod handlers;
pub(crate) mod handshake;
pub(crate) mod idle;
pub(crate) mod json;
mod message;
mod options;
pub(crate) mod peers;
pub(crate) mod pubsub;
pub(crate) mod queue;
pub(crate) mod rate_limit;
pub(crate) mod registry;
pub(crate) mod shared;
pub(crate) mod socket;
mod spare;
#[cfg(feature = "tls")]
pub(crate) mod tls;
pub(crate) mod transport;
pub(crate) mod upgrade;
mod utf8;

pub use deflate::{Compressor, Decompressor, DecompressorSize, PerMessageDeflate};
pub use handle::SocketHandle;
pub use handshake::{is_websocket_request, UpgradeError};
pub use json::JsonError;
pub use message::{Message, Utf8Bytes};
pub use options::SocketOptions;
pub use pubsub::{PublishResult, TopicError};
pub use rate_limit::{RateLimit, RateLimitAction};
pub use socket::{ReadyState, SendStatus, SubscribeStatus, WebSocket};
pub use upgrade::Upgrade;

/// Why the `error` handler runs.
///
/// # Examples
///
/// ```
/// use hyperbun::prelude::*;
///
/// struct Chat;
///
/// #[websocket("/chat")]
/// impl Chat {
///     fn message(ws: &mut WebSocket, msg: Message) {
///         ws.send(msg);
///     }
///     fn error(ws: &mut WebSocket, error: &WebSocketError) {
///         // `close` follows with the code: 1011 for a panic, 1002/1007/1009 for bad input.
///         match error {
///             WebSocketError::HandlerPanicked { handler, .. } => {
///                 tracing::error!(%handler, peer = %ws.remote_addr(), "{error}")
///             }
///             _ => tracing::debug!(peer = %ws.remote_addr(), "{error}"),
///         }
///     }
/// }
/// # let _ = hyperbun::router![Chat];
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebSocketError {
    /// A handler panicked; the socket is closing with `1011`.
    #[error("the `{handler}` handler panicked: {message}")]
    HandlerPanicked {
        /// Which handler: `open`, `message`, `rate_limited`, `drain`, `ping` or `pong`.
        handler: &'static str,
        /// The panic's message.
        message: String,
    },
    /// The peer broke the protocol; the socket is closing with `code`.
    #[error("protocol error ({code}): {reason}")]
    Protocol {
        /// The close code sent: `1002` (protocol), `1007` (invalid UTF-8) or `1009` (too big).
        code: u16,
        /// What was wrong.
        reason: &'static str,
    },
    /// Reading or writing the connection failed (not counting the peer simply going away).
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}
