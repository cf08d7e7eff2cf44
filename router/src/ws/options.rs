//! [`SocketOptions`]: Bun's `websocket` options, in snake_case, with Bun's defaults.

use std::time::Duration;

use http::{HeaderName, HeaderValue};

use crate::ws::deflate::PerMessageDeflate;
use crate::ws::rate_limit::RateLimit;

/// How one socket route behaves: Bun's `websocket` options with Bun's defaults, plus the
/// handshake's subprotocols, `Origin` allow-list and extra `101` headers.
///
/// Options are usually given as arguments of [`#[websocket]`](crate::websocket)
/// (`#[websocket("/ws", idle_timeout = 30, max_payload_length = 65536)]`); build a value with
/// this type when they come from configuration (`#[websocket("/ws", options = my_options())]`).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use hyperbun::SocketOptions;
///
/// let options = SocketOptions::new()
///     .max_payload_length(1 << 20)
///     .idle_timeout(Duration::from_secs(30))
///     .protocols(["chat.v2", "chat.v1"]);
/// assert_eq!(options.get_max_payload_length(), 1 << 20);
/// assert_eq!(SocketOptions::new().get_backpressure_limit(), 1024 * 1024);
/// ```
#[derive(Debug, Clone)]
pub struct SocketOptions {
    pub(crate) max_payload_length: usize,
    pub(crate) idle_timeout: Duration,
    pub(crate) backpressure_limit: usize,
    pub(crate) close_on_backpressure_limit: bool,
    pub(crate) send_pings: bool,
    pub(crate) publish_to_self: bool,
    pub(crate) max_topics_per_socket: usize,
    pub(crate) per_message_deflate: PerMessageDeflate,
    pub(crate) protocols: Vec<String>,
    pub(crate) allowed_origins: Option<Vec<String>>,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) rate_limit: Option<RateLimit>,
    /// Why a [`header`](Self::header) was not added, reported when the router is built.
    pub(crate) invalid: Option<String>,
}

impl Default for SocketOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl SocketOptions {
    /// Bun's defaults: 16 MiB messages, 120 s idle timeout with pings, 1 MiB backpressure
    /// limit (sends past it are dropped), no subprotocols, any origin; and, where Bun has no
    /// limit, at most 4096 topics per socket; no message rate limit.
    #[must_use]
    pub fn new() -> Self {
        SocketOptions {
            max_payload_length: 16 * 1024 * 1024,
            idle_timeout: Duration::from_secs(120),
            backpressure_limit: 1024 * 1024,
            close_on_backpressure_limit: false,
            send_pings: true,
            publish_to_self: false,
            max_topics_per_socket: 4096,
            per_message_deflate: PerMessageDeflate::from(false),
            protocols: Vec::new(),
            allowed_origins: None,
            headers: Vec::new(),
            rate_limit: None,
            invalid: None,
        }
    }

    /// The largest message accepted, in bytes, after reassembling fragments (default 16 MiB,
    /// Bun's `maxPayloadLength`). A larger message closes the socket with `1009`, as soon as
    /// its frame header announces it.
    #[must_use]
    pub fn max_payload_length(mut self, bytes: usize) -> Self {
        self.max_payload_length = bytes;
        self
    }

    /// How long a socket may go without receiving anything before it is closed (default
    /// 120 s, Bun's `idleTimeout`; `Duration::ZERO` turns it off). With
    /// [`send_pings`](Self::send_pings) the server pings a silent peer half-way through, so
    /// only a peer that does not answer is closed. Rounded down to whole seconds.
    #[must_use]
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = Duration::from_secs(timeout.as_secs());
        self
    }

    /// How many bytes may wait in a socket's send queue (default 1 MiB, Bun's
    /// `backpressureLimit`). A send that finds the queue at or past the limit is
    /// [`Dropped`](crate::SendStatus::Dropped); one that fills it to the limit returns
    /// [`Backpressure`](crate::SendStatus::Backpressure), and `drain` runs once the queue falls
    /// below the limit again.
    #[must_use]
    pub fn backpressure_limit(mut self, bytes: usize) -> Self {
        self.backpressure_limit = bytes;
        self
    }

    /// Close the socket (with `1008`) instead of dropping a send that finds the queue past the
    /// [limit](Self::backpressure_limit) (default `false`, Bun's `closeOnBackpressureLimit`).
    #[must_use]
    pub fn close_on_backpressure_limit(mut self, close: bool) -> Self {
        self.close_on_backpressure_limit = close;
        self
    }

    /// Ping a silent peer before the [idle timeout](Self::idle_timeout) closes it (default
    /// `true`, Bun's `sendPings`).
    #[must_use]
    pub fn send_pings(mut self, send: bool) -> Self {
        self.send_pings = send;
        self
    }

    /// Whether a socket's own [`publish`](crate::WebSocket::publish) also reaches itself when
    /// it is subscribed to the topic (default `false`, Bun's `publishToSelf`).
    #[must_use]
    pub fn publish_to_self(mut self, publish: bool) -> Self {
        self.publish_to_self = publish;
        self
    }

    /// How many topics one socket may be subscribed to at once (default **4096**; Bun has no
    /// limit). Each subscription is held by the server until the socket leaves the topic or
    /// closes, and a client often chooses what it subscribes to, so without a bound one
    /// client could make the server hold any number of topics; no application subscribes one
    /// socket to thousands. A [`subscribe`](crate::WebSocket::subscribe) past the limit is
    /// refused with [`TopicError::TooManyTopics`](crate::TopicError::TooManyTopics).
    #[must_use]
    pub fn max_topics_per_socket(mut self, topics: usize) -> Self {
        self.max_topics_per_socket = topics;
        self
    }

    /// permessage-deflate (default off, Bun's `perMessageDeflate`): `true` for a shared
    /// compressor and decompressor, or a [`PerMessageDeflate`] with the details. Once a
    /// connection negotiated it, sends and publishes with `compress` set are compressed.
    #[must_use]
    pub fn per_message_deflate(mut self, deflate: impl Into<PerMessageDeflate>) -> Self {
        self.per_message_deflate = deflate.into();
        self
    }

    /// The subprotocols this route speaks, most preferred first (default: none). The server
    /// picks the first of the client's offers (`Sec-WebSocket-Protocol`, in the client's
    /// order) that is in this list. A client that offers none still connects, without a
    /// protocol; a client whose offers all miss is refused with `400`, since a browser would
    /// fail that connection anyway.
    #[must_use]
    pub fn protocols<I, S>(mut self, protocols: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.protocols = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// Accept the handshake only from these `Origin`s (default: any origin, and requests
    /// without one). With an allow-list, a request whose `Origin` is missing or not listed is
    /// refused with `403`. Compared ASCII case-insensitively, e.g. `https://example.com`.
    #[must_use]
    pub fn allowed_origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_origins = Some(origins.into_iter().map(Into::into).collect());
        self
    }

    /// Adds a header to every `101 Switching Protocols` response of this route (default:
    /// none besides the handshake's own).
    ///
    /// # Panics
    ///
    /// A name or value that is not a valid header, or a header the handshake sets itself
    /// (`Upgrade`, `Connection`, `Sec-WebSocket-*`), makes building the router
    /// ([`router!`](crate::router)) panic, with the socket's name, the header and why: at
    /// start-up, not with a `500` on every upgrade. (The `headers = [...]` attribute argument
    /// checks the same at compile time.)
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match parse_header(name, value) {
            Ok(header) => self.headers.push(header),
            Err(why) => {
                self.invalid
                    .get_or_insert(format!("SocketOptions::header({name:?}, {value:?}): {why}"));
            }
        }
        self
    }

    /// Limits how many messages each socket may receive (default: **no limit**, as in Bun):
    /// a token bucket per socket, refilled at [`RateLimit::per_second`] up to
    /// [`RateLimit::burst`]. Each complete text or binary message takes a token before the
    /// `message` handler runs; one that finds none closes the socket with `1008` ("rate limit
    /// exceeded") or, with [`RateLimitAction::Drop`](crate::RateLimitAction::Drop), is dropped
    /// and handed to the `rate_limited` handler instead.
    ///
    /// # Panics
    ///
    /// A rate or burst of `0` makes building the router ([`router!`](crate::router)) panic,
    /// naming the socket.
    #[must_use]
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = Some(limit);
        self
    }

    /// Why these options cannot work, if they cannot.
    pub(crate) fn validate(&self) -> Result<(), &str> {
        if let Some(why) = &self.invalid {
            return Err(why);
        }
        self.rate_limit.as_ref().map_or(Ok(()), RateLimit::validate)
    }

    /// The [maximum message size](Self::max_payload_length).
    #[must_use]
    pub fn get_max_payload_length(&self) -> usize {
        self.max_payload_length
    }

    /// The [idle timeout](Self::idle_timeout).
    #[must_use]
    pub fn get_idle_timeout(&self) -> Duration {
        self.idle_timeout
    }

    /// The [backpressure limit](Self::backpressure_limit).
    #[must_use]
    pub fn get_backpressure_limit(&self) -> usize {
        self.backpressure_limit
    }

    /// Whether the [backpressure limit closes](Self::close_on_backpressure_limit) the socket.
    #[must_use]
    pub fn get_close_on_backpressure_limit(&self) -> bool {
        self.close_on_backpressure_limit
    }

    /// Whether [pings are sent](Self::send_pings).
    #[must_use]
    pub fn get_send_pings(&self) -> bool {
        self.send_pings
    }

    /// Whether [publishes reach their sender](Self::publish_to_self).
    #[must_use]
    pub fn get_publish_to_self(&self) -> bool {
        self.publish_to_self
    }

    /// The [topic limit](Self::max_topics_per_socket).
    #[must_use]
    pub fn get_max_topics_per_socket(&self) -> usize {
        self.max_topics_per_socket
    }

    /// The [permessage-deflate settings](Self::per_message_deflate).
    #[must_use]
    pub fn get_per_message_deflate(&self) -> PerMessageDeflate {
        self.per_message_deflate
    }

    /// The [subprotocols](Self::protocols).
    #[must_use]
    pub fn get_protocols(&self) -> &[String] {
        &self.protocols
    }

    /// The [`Origin` allow-list](Self::allowed_origins), if any.
    #[must_use]
    pub fn get_allowed_origins(&self) -> Option<&[String]> {
        self.allowed_origins.as_deref()
    }

    /// The [message rate limit](Self::rate_limit), if any.
    #[must_use]
    pub fn get_rate_limit(&self) -> Option<RateLimit> {
        self.rate_limit
    }
}

/// A `101` header, or why it cannot be one.
fn parse_header(name: &str, value: &str) -> Result<(HeaderName, HeaderValue), String> {
    let name = HeaderName::try_from(name)
        .map_err(|e| format!("{name:?} is not a valid header name ({e})"))?;
    if [
        http::header::UPGRADE,
        http::header::CONNECTION,
        http::header::SEC_WEBSOCKET_ACCEPT,
        http::header::SEC_WEBSOCKET_PROTOCOL,
        http::header::SEC_WEBSOCKET_EXTENSIONS,
    ]
    .contains(&name)
    {
        return Err(format!(
            "`{name}` is set by the WebSocket handshake and cannot be added"
        ));
    }
    let value = HeaderValue::try_from(value)
        .map_err(|e| format!("{value:?} is not a valid header value ({e})"))?;
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_buns() {
        let o = SocketOptions::default();
        assert_eq!(o.get_max_payload_length(), 16 * 1024 * 1024);
        assert_eq!(o.get_idle_timeout(), Duration::from_secs(120));
        assert_eq!(o.get_backpressure_limit(), 1024 * 1024);
        assert!(!o.get_close_on_backpressure_limit());
        assert!(o.get_send_pings());
        assert!(!o.get_publish_to_self());
        assert_eq!(o.get_max_topics_per_socket(), 4096);
        assert!(o.get_protocols().is_empty());
        assert!(o.get_allowed_origins().is_none());
        assert!(o.get_rate_limit().is_none());
    }

    #[test]
    fn a_zero_rate_limit_is_kept_for_the_router_to_report() {
        assert!(SocketOptions::new()
            .rate_limit(RateLimit::per_second(10).burst(1))
            .validate()
            .is_ok());
        let why = SocketOptions::new()
            .rate_limit(RateLimit::per_second(0))
            .validate()
            .unwrap_err()
            .to_owned();
        assert!(why.starts_with("RateLimit::per_second(0)"), "{why}");
        let why = SocketOptions::new()
            .rate_limit(RateLimit::per_second(3).burst(0))
            .validate()
            .unwrap_err()
            .to_owned();
        assert!(why.starts_with("RateLimit::burst(0)"), "{why}");
    }

    #[test]
    fn an_invalid_header_is_kept_for_the_router_to_report() {
        assert!(SocketOptions::new()
            .header("x-ok", "yes")
            .validate()
            .is_ok());
        let bad = SocketOptions::new()
            .header("bad name", "x")
            .header("x-a", "b");
        let why = bad.validate().unwrap_err();
        assert!(why.starts_with("SocketOptions::header(\"bad name\", \"x\"): \"bad name\" is not a valid header name"), "{why}");
        assert_eq!(bad.headers.len(), 1, "the valid one is kept");
        let why = SocketOptions::new()
            .header("x-a", "line\nbreak")
            .validate()
            .unwrap_err()
            .to_owned();
        assert!(why.contains("is not a valid header value"), "{why}");
        let why = SocketOptions::new()
            .header("Upgrade", "x")
            .validate()
            .unwrap_err()
            .to_owned();
        assert!(why.contains("set by the WebSocket handshake"), "{why}");
    }
}
