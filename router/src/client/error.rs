//! What can go wrong when connecting, and afterwards.

use std::io;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

/// Why [`connect`](super::connect) or [`ClientBuilder::connect`](super::ClientBuilder::connect)
/// failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URL is not a `ws://` or `wss://` URL with a host.
    #[error("invalid WebSocket URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A header given to the builder is not a valid HTTP header name or value.
    #[error("invalid request header {name:?}: {reason}")]
    InvalidHeader {
        /// The header's name as given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A `wss://` URL, but hyperbun was built without its `tls` feature.
    #[error("wss:// URLs need hyperbun's `tls` feature")]
    TlsNotEnabled,
    /// The TCP connection (or, for `wss://`, the TLS handshake) failed.
    #[error("could not connect to {address}: {source}")]
    Io {
        /// `host:port`.
        address: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The server answered the upgrade request with something other than `101`: its status,
    /// headers and (up to 64 KiB of) body.
    #[error(
        "the server refused the WebSocket upgrade: {status}{}",
        body_excerpt(body)
    )]
    Refused {
        /// The answer's status, e.g. `401 Unauthorized` or `426 Upgrade Required`.
        status: StatusCode,
        /// The answer's headers (boxed: they are large, and rarely looked at).
        headers: Box<HeaderMap>,
        /// The answer's body.
        body: Bytes,
    },
    /// The server answered `101` but not as RFC 6455 requires (wrong accept key, a
    /// subprotocol or extension that was not offered, …).
    #[error("invalid upgrade answer: {0}")]
    Handshake(String),
    /// Connecting and the handshake took longer than the builder's timeout.
    #[error("no WebSocket connection within {0:?}")]
    Timeout(Duration),
}

/// ` (body: …)` for a short text body, to show a server's reason in the error message.
fn body_excerpt(body: &Bytes) -> String {
    match std::str::from_utf8(body) {
        Ok(text) if !text.trim().is_empty() => {
            let text = text.trim();
            let cut = text
                .char_indices()
                .nth(200)
                .map_or(text, |(end, _)| &text[..end]);
            format!(" ({cut})")
        }
        _ => String::new(),
    }
}

/// Why sending or receiving on a [`WebSocketClient`](super::WebSocketClient) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The connection is closed (by either side, or after an error).
    #[error("the WebSocket connection is closed")]
    Closed,
    /// The connection ended without a close frame.
    #[error("the connection ended without a close frame")]
    Abrupt,
    /// The server broke the protocol; the client closed the connection with `code`.
    #[error("the server broke the WebSocket protocol ({reason}); closed with {code}")]
    Protocol {
        /// The close code the client sent: 1002, 1007 or 1009.
        code: u16,
        /// What was wrong.
        reason: &'static str,
    },
    /// A ping or pong payload over 125 bytes.
    #[error("control frame payload of {0} bytes; at most 125 are allowed")]
    ControlTooLong(usize),
    /// A close code that an endpoint may not send (RFC 6455 §7.4).
    #[error("{0} is not a close code an endpoint may send")]
    InvalidCloseCode(u16),
    /// The server did not answer the close frame in time.
    #[error("no close frame from the server within {0:?}")]
    Timeout(Duration),
    /// Reading or writing the connection failed.
    #[error("WebSocket I/O error: {0}")]
    Io(#[from] io::Error),
}
