//! [`UpgradeError`]: why a request is not an acceptable WebSocket handshake, and the `4xx`
//! (or `429`, `500`) that says so. Its own file because it is public API with a response of
//! its own, while the checks that produce it live in [`handshake`](super).

use http::header::{HeaderValue, ALLOW, CONNECTION, SEC_WEBSOCKET_VERSION, UPGRADE};
use http::{Method, StatusCode, Version};

use crate::{IntoResponse, Response};

/// Why a request is not an acceptable WebSocket handshake.
///
/// Its [`IntoResponse`] is the fitting status (see [`status`](Self::status)), the
/// [`Display`](std::fmt::Display) text as a `text/plain` body, and the headers the status
/// calls for: `Allow: GET` with `405`, `Upgrade: websocket` and `Connection: Upgrade` with
/// `426`, plus `Sec-WebSocket-Version: 13` when the version was wrong.
///
/// # Examples
///
/// A route that upgrades by hand answers a request that is no WebSocket handshake with the
/// error's own response:
///
/// ```
/// use hyperbun::prelude::*;
/// use hyperbun::test::TestServer;
///
/// struct Echo;
///
/// #[websocket("/echo-socket")]
/// impl Echo {
///     fn message(ws: &mut WebSocket, msg: Message) {
///         ws.send(msg);
///     }
/// }
///
/// #[get("/manual")]
/// async fn manual(server: Server, req: Request) -> Response {
///     match server.upgrade::<Echo>(req, [("x-upgraded", "by hand")], ()) {
///         Ok(switching) => switching,
///         Err(error) => error.into_response(), // e.g. 426 with `Upgrade: websocket`
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let app = TestServer::start(hyperbun::router![Echo, manual]).await;
/// let plain = app.get("/manual").await;
/// assert_eq!(plain.status, StatusCode::UPGRADE_REQUIRED);
/// assert_eq!(plain.header("upgrade"), Some("websocket"));
/// let mut ws = app.ws("/manual").await;
/// assert_eq!(ws.client().response_headers()["x-upgraded"], "by hand");
/// ws.send("hi").await;
/// ws.expect_text("hi").await;
/// ws.close().await;
/// app.stop().await;
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpgradeError {
    /// The request's method is not `GET` (`405`).
    #[error("a WebSocket handshake must be a GET request, not {0}")]
    MethodNotAllowed(Method),
    /// The request is not HTTP/1.1 (`400`): HTTP/1.0 cannot switch protocols, and HTTP/2 and
    /// HTTP/3 open WebSockets with an extended `CONNECT`, which this server does not speak.
    #[error(
        "a WebSocket handshake is an HTTP/1.1 upgrade or an HTTP/2 extended CONNECT (RFC 8441); an {0:?} GET cannot switch protocols"
    )]
    HttpVersion(Version),
    /// The `Upgrade` header does not list `websocket` (`426`).
    #[error("this route only speaks WebSocket: the request has no `Upgrade: websocket` header")]
    UpgradeNotWebSocket,
    /// The `Connection` header does not list `upgrade` (`426`).
    #[error("this route only speaks WebSocket: the request has no `Connection: Upgrade` header")]
    ConnectionNotUpgrade,
    /// `Sec-WebSocket-Version` is missing or not exactly `13` (`426`).
    #[error("this route only speaks WebSocket version 13: `Sec-WebSocket-Version` must be 13")]
    WebSocketVersion,
    /// There is no `Sec-WebSocket-Key` header (`400`).
    #[error("the WebSocket handshake has no `Sec-WebSocket-Key` header")]
    MissingKey,
    /// `Sec-WebSocket-Key` is not one base64-encoded 16-byte value (`400`).
    #[error("`Sec-WebSocket-Key` must be a single base64-encoded 16-byte value")]
    MalformedKey,
    /// The route has an `Origin` allow-list and the request has no `Origin` header (`403`).
    #[error("this route only accepts WebSocket connections with an allowed `Origin` header")]
    MissingOrigin,
    /// The request's `Origin` is not in the route's allow-list (`403`).
    #[error("this route does not accept WebSocket connections from this `Origin`")]
    OriginNotAllowed,
    /// The client offered subprotocols and the route speaks none of them (`400`).
    #[error(
        "none of the offered subprotocols is spoken here (`Sec-WebSocket-Protocol` must offer one of: {})",
        .supported.join(", ")
    )]
    NoCommonProtocol {
        /// The route's subprotocols, most preferred first.
        supported: Vec<String>,
    },
    /// A header given for the `101` response is invalid (`500`: a bug in the server, not in
    /// the request).
    #[error("invalid header for the 101 Switching Protocols response: {0}")]
    InvalidHeader(#[source] http::Error),
    /// The request did not come from a connection this server accepted (it was built by
    /// hand, or taken apart and rebuilt without its extensions), so there is no connection
    /// to switch (`500`: a bug in the server, not in the request).
    #[error("the request did not arrive on a connection of this server, so it cannot be upgraded")]
    NotFromConnection,
    /// The client's IP address holds
    /// [`max_websockets_per_ip`](crate::ServerConfig::max_websockets_per_ip) open sockets
    /// already: `429 Too Many Requests` with `Retry-After: 1`.
    #[error("too many WebSocket connections from this address (at most {limit})")]
    TooManyFromAddress {
        /// The limit.
        limit: usize,
    },
}

impl UpgradeError {
    /// The status of this error's response: `405`, `400`, `426`, `403`, or `500` for an
    /// invalid header given by the server itself.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            UpgradeError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            UpgradeError::HttpVersion(_)
            | UpgradeError::MissingKey
            | UpgradeError::MalformedKey
            | UpgradeError::NoCommonProtocol { .. } => StatusCode::BAD_REQUEST,
            UpgradeError::UpgradeNotWebSocket
            | UpgradeError::ConnectionNotUpgrade
            | UpgradeError::WebSocketVersion => StatusCode::UPGRADE_REQUIRED,
            UpgradeError::MissingOrigin | UpgradeError::OriginNotAllowed => StatusCode::FORBIDDEN,
            UpgradeError::TooManyFromAddress { .. } => StatusCode::TOO_MANY_REQUESTS,
            UpgradeError::InvalidHeader(_) | UpgradeError::NotFromConnection => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

impl IntoResponse for UpgradeError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), self.to_string()).into_response();
        let headers = response.headers_mut();
        match self {
            UpgradeError::MethodNotAllowed(_) => {
                headers.insert(ALLOW, HeaderValue::from_static("GET"));
            }
            UpgradeError::UpgradeNotWebSocket
            | UpgradeError::ConnectionNotUpgrade
            | UpgradeError::WebSocketVersion => {
                // RFC 9110 §15.5.22: a 426 names the protocol to switch to, and a sender of
                // `Upgrade` lists it in `Connection` (RFC 9110 §7.8).
                headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
                headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
                if matches!(self, UpgradeError::WebSocketVersion) {
                    headers.insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
                }
            }
            UpgradeError::TooManyFromAddress { .. } => {
                // Sockets close at any moment: a page that reconnects may try again soon.
                headers.insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        response
    }
}
