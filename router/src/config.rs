//! Server settings. Every field documents its default, which matches Bun's where Bun has one.

use std::time::Duration;

/// HTTP server settings, applied with [`Router::config`](crate::Router::config).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use hyperbun::ServerConfig;
///
/// let config = ServerConfig::default()
///     .max_request_body_size(1 << 20)
///     .header_read_timeout(Some(Duration::from_secs(5)));
/// # let _ = config;
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    pub(crate) max_request_body_size: usize,
    pub(crate) header_read_timeout: Option<Duration>,
    pub(crate) keep_alive: bool,
    pub(crate) shutdown_grace: Duration,
    pub(crate) max_topic_length: usize,
    pub(crate) max_websockets_per_ip: Option<usize>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_request_body_size: 128 * 1024 * 1024,
            header_read_timeout: Some(Duration::from_secs(10)),
            keep_alive: true,
            shutdown_grace: Duration::from_secs(30),
            max_topic_length: 4096,
            max_websockets_per_ip: None,
        }
    }
}

impl ServerConfig {
    /// The largest request body a handler may read, in bytes. Default: **128 MiB** (Bun's
    /// `maxRequestBodySize`). A request that declares a larger `Content-Length` is answered
    /// `413 Payload Too Large` before its handler runs; a chunked body that grows past it
    /// fails while it is read, and body extractors answer `413`. A route can override it with
    /// `body_limit = N` in its attribute.
    #[must_use]
    pub fn max_request_body_size(mut self, bytes: usize) -> Self {
        self.max_request_body_size = bytes;
        self
    }

    /// How long a client may take to send a request's headers; `None` waits forever.
    /// Default: **10 s** (Bun's `idleTimeout`). A client that opens a connection and never
    /// finishes its headers is disconnected when it expires, so it cannot hold a connection.
    #[must_use]
    pub fn header_read_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Whether connections stay open for further requests (HTTP/1.1 keep-alive).
    /// Default: **true**.
    #[must_use]
    pub fn keep_alive(mut self, enabled: bool) -> Self {
        self.keep_alive = enabled;
        self
    }

    /// How long [`Server::stop`](crate::Server::stop) lets requests in flight finish and
    /// WebSockets close before it ends whatever is left: requests are dropped, handlers still
    /// waiting are cancelled, sockets are cut and their `close` handlers run. Default:
    /// **30 s** (actix-web's `shutdown_timeout`).
    #[must_use]
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// The longest topic name, in bytes, that sockets may subscribe or publish to and
    /// [`Server::publish`](crate::Server::publish) accepts. Default: **4096** (Bun has no
    /// limit). Topic names often come from clients (a room name in a message), and every
    /// subscribed name is held by the server until its last subscriber leaves, so without a
    /// bound one client could make the server hold names of any size; no application needs
    /// names of kilobytes. A longer name is refused with
    /// [`TopicError::TooLong`](crate::TopicError::TooLong).
    #[must_use]
    pub fn max_topic_length(mut self, bytes: usize) -> Self {
        self.max_topic_length = bytes;
        self
    }

    /// How many WebSockets one IP address may hold open at once; `None` for no limit.
    /// Default: **`None`** (Bun has no limit). With a limit, an upgrade from an address that
    /// already holds that many open sockets is refused with `429 Too Many Requests`, a
    /// `Retry-After: 1` header and a text reason. The check runs right after the handshake is
    /// found valid and **before** the route's [`#[upgrade]`](crate::upgrade) hook runs (for
    /// [`Server::upgrade`](crate::Server::upgrade), before it switches; its `Ok` answer is
    /// then that `429`). A socket counts from then until its connection ends, so a slot frees
    /// up as soon as one of the address's sockets closes. Peers on a Unix socket have no
    /// address and are not limited; an IPv4 peer on a dual-stack listener counts as its IPv4
    /// address. `Some(0)` refuses every WebSocket over TCP.
    ///
    /// Behind a reverse proxy every client has the proxy's address: limit there instead.
    #[must_use]
    pub fn max_websockets_per_ip(mut self, limit: Option<usize>) -> Self {
        self.max_websockets_per_ip = limit;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The defaults the docs promise (Bun's where Bun has one).
    #[test]
    fn defaults_match_the_docs() {
        let config = ServerConfig::default();
        assert_eq!(config.max_request_body_size, 128 * 1024 * 1024);
        assert_eq!(config.header_read_timeout, Some(Duration::from_secs(10)));
        assert!(config.keep_alive);
        assert_eq!(config.shutdown_grace, Duration::from_secs(30));
        assert_eq!(config.max_topic_length, 4096);
        assert_eq!(config.max_websockets_per_ip, None);
    }
}
