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
    pub(crate) max_connections: Option<usize>,
    pub(crate) max_request_header_size: usize,
    pub(crate) http2: bool,
    pub(crate) http2_max_concurrent_streams: u32,
    pub(crate) reuse_port: bool,
    pub(crate) max_websockets_per_ip: Option<usize>,
    #[cfg(feature = "redis")]
    pub(crate) backplane: Option<crate::backplane::RedisBackplane>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_request_body_size: 128 * 1024 * 1024,
            header_read_timeout: Some(Duration::from_secs(10)),
            keep_alive: true,
            shutdown_grace: Duration::from_secs(30),
            max_topic_length: 4096,
            max_connections: None,
            max_request_header_size: 16 * 1024,
            http2: true,
            http2_max_concurrent_streams: 100,
            reuse_port: false,
            max_websockets_per_ip: None,
            #[cfg(feature = "redis")]
            backplane: None,
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
    /// The same bound applies to a TLS handshake, and to the first bytes of a cleartext
    /// connection (read to tell HTTP/1.1 from HTTP/2's preface).
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

    /// The most connections the server keeps open at once, or `None` for no limit.
    /// Default: **`None`** (Bun has no limit). A connection counts from the moment it is
    /// accepted until its transport closes: an HTTP/1.1 connection that became a WebSocket
    /// counts until the socket closes; an HTTP/2 connection counts once however many streams
    /// (requests, WebSockets) it carries, which
    /// [`http2_max_concurrent_streams`](Self::http2_max_concurrent_streams) bounds.
    ///
    /// Beyond the limit, a new connection is still accepted, but only to be told
    /// `503 Service Unavailable` with `Retry-After: 1` for each of its requests (upgrades
    /// included) and closed; the connections already open keep working.
    #[must_use]
    pub fn max_connections(mut self, limit: Option<usize>) -> Self {
        self.max_connections = limit;
        self
    }

    /// The largest request head (request line and headers), in bytes. Default: **16 KiB**
    /// (Node's `maxHeaderSize`). A larger head is answered
    /// `431 Request Header Fields Too Large` on HTTP/1.1; on HTTP/2 it is the
    /// `SETTINGS_MAX_HEADER_LIST_SIZE` the server announces, and a larger header list is
    /// refused the same way. Values below 8 KiB are raised to 8 KiB (the smallest read buffer
    /// hyper works with).
    #[must_use]
    pub fn max_request_header_size(mut self, bytes: usize) -> Self {
        self.max_request_header_size = bytes;
        self
    }

    /// Whether HTTP/2 is served next to HTTP/1.1: negotiated by ALPN (`h2`) on TLS, and by
    /// prior knowledge (the client opens with HTTP/2's connection preface, as
    /// `curl --http2-prior-knowledge` does) on cleartext. WebSockets work over HTTP/2 too
    /// (RFC 8441). Default: **true**.
    #[must_use]
    pub fn http2(mut self, enabled: bool) -> Self {
        self.http2 = enabled;
        self
    }

    /// How many streams (requests and WebSockets) one HTTP/2 connection may have open at
    /// once. Default: **100** (what RFC 9113 recommends as the least a server should allow).
    /// Each stream may hold up to 256 KiB of data the server has not read yet; the
    /// connection's window is that times this, so a stream whose handler is slow never
    /// stalls the others on its connection.
    #[must_use]
    pub fn http2_max_concurrent_streams(mut self, streams: u32) -> Self {
        self.http2_max_concurrent_streams = streams;
        self
    }

    /// Binds with `SO_REUSEPORT` (Bun's `reusePort`), so several processes on one machine
    /// can serve the same port and the kernel spreads new connections among them. Applies to
    /// [`serve`](crate::Router::serve), [`bind`](crate::Router::bind) and their TLS
    /// variants, not to a listener bound by the caller. Default: **false** (a second server
    /// on a taken port fails to start).
    #[must_use]
    pub fn reuse_port(mut self, enabled: bool) -> Self {
        self.reuse_port = enabled;
        self
    }

    /// How many WebSockets one IP address may hold open at once; `None` for no limit.
    /// Default: **`None`** (Bun has no limit). With a limit, an upgrade from an address that
    /// already holds that many open sockets is refused with `429 Too Many Requests`, a
    /// `Retry-After: 1` header and a text reason. The check runs right after the handshake is
    /// found valid and **before** the route's [`#[upgrade]`](crate::upgrade) hook runs (for
    /// [`Server::upgrade`](crate::Server::upgrade), before it switches: it returns
    /// [`UpgradeError::TooManyFromAddress`](crate::UpgradeError::TooManyFromAddress)). A socket counts from then until its connection ends, so a slot frees
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

    /// Shares topics with every server that uses the same Redis (feature `redis`): a publish
    /// on any of them reaches the subscribers of all. Default: **none** (topics live in this
    /// process). See the [backplane module](crate::backplane).
    ///
    /// Its settings are checked when the server starts (`serve`, `bind`, `listen`…), which
    /// fails naming the wrong one; an unreachable Redis does not stop the server.
    #[cfg(feature = "redis")]
    #[must_use]
    pub fn backplane(mut self, backplane: crate::backplane::RedisBackplane) -> Self {
        self.backplane = Some(backplane);
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
        assert_eq!(config.max_connections, None);
        assert_eq!(config.max_request_header_size, 16 * 1024);
        assert!(config.http2);
        assert_eq!(config.http2_max_concurrent_streams, 100);
        assert!(!config.reuse_port);
        assert_eq!(config.max_websockets_per_ip, None);
    }
}
