//! Accepting an upgrade: the [`Upgrade`] value a hook returns, the traits `#[upgrade]`
//! implements, the socket route that joins a socket to its hook in the routing table,
//! [`Server::upgrade`] for upgrading by hand inside any route, and the switch from HTTP to the
//! connection driver.

// A rejection is a whole `Response`, as everywhere in the crate: once per handshake, so its
// size does not matter.
#![allow(clippy::result_large_err)]

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpStream, UnixStream};

use crate::extract::RequestContext;
use crate::replay::Replay;
use crate::routing::{ResponseFuture, Route, RouteDef};
use crate::server::ConnectionHold;
use crate::ws::handlers::SocketHandlers;
use crate::ws::handshake::{self, Accepted, UpgradeError};
use crate::ws::peers::PeerSlot;
use crate::ws::transport::Stream;
use crate::{Addr, IntoResponse, IntoResponseHeaders, Request, Response, Server};

/// An accepted upgrade, as an [`#[upgrade]`](crate::upgrade) hook returns it: the
/// connection's data, plus extra headers for the `101 Switching Protocols` response and,
/// optionally, the subprotocol to use.
///
/// # Examples
///
/// ```
/// use hyperbun::prelude::*;
///
/// struct User {
///     name: String,
/// }
///
/// struct Chat;
///
/// #[websocket("/chat", data = User)]
/// impl Chat {
///     fn message(ws: &mut WebSocket<User>, msg: Message) {
///         let line = format!("{}: {}", ws.data.name, msg.as_text().unwrap_or("(binary)"));
///         ws.send(line);
///     }
/// }
///
/// #[upgrade("/chat")]
/// async fn admit(headers: HeaderMap) -> Result<Upgrade<User>, StatusCode> {
///     let name = headers.get("x-user").and_then(|v| v.to_str().ok()).ok_or(StatusCode::UNAUTHORIZED)?;
///     Ok(Upgrade::new(User { name: name.to_owned() }).header("x-welcome", "yes"))
/// }
///
/// let router = hyperbun::router![Chat, admit];
/// # let _ = router;
/// ```
pub struct Upgrade<T> {
    pub(crate) data: T,
    pub(crate) headers: HeaderMap,
    pub(crate) protocol: Option<String>,
    pub(crate) error: Option<http::Error>,
}

impl<T> Upgrade<T> {
    /// Accepts the connection with `data` as its [`WebSocket::data`](crate::WebSocket::data).
    pub fn new(data: T) -> Self {
        Upgrade {
            data,
            headers: HeaderMap::new(),
            protocol: None,
            error: None,
        }
    }

    /// Adds a header to the `101` response. An invalid name or value turns the answer into
    /// a `500` (logged), like an invalid header in any response.
    #[must_use]
    pub fn header<K, V>(mut self, name: K, value: V) -> Self
    where
        HeaderName: TryFrom<K>,
        <HeaderName as TryFrom<K>>::Error: Into<http::Error>,
        HeaderValue: TryFrom<V>,
        <HeaderValue as TryFrom<V>>::Error: Into<http::Error>,
    {
        if self.error.is_some() {
            return self;
        }
        match (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            (Ok(name), Ok(value)) => {
                self.headers.append(name, value);
            }
            (Err(e), _) => self.error = Some(e.into()),
            (_, Err(e)) => self.error = Some(e.into()),
        }
        self
    }

    /// Chooses the subprotocol instead of the route's
    /// [`protocols`](crate::SocketOptions::protocols) list. It must be one the client
    /// offered; otherwise the answer is a `500` (logged), since a client would fail the
    /// connection anyway.
    #[must_use]
    pub fn protocol(mut self, protocol: impl Into<String>) -> Self {
        self.protocol = Some(protocol.into());
        self
    }

    /// The connection's data.
    pub fn data(&self) -> &T {
        &self.data
    }
}

impl<T: fmt::Debug> fmt::Debug for Upgrade<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upgrade")
            .field("data", &self.data)
            .field("headers", &self.headers)
            .field("protocol", &self.protocol)
            .finish_non_exhaustive()
    }
}

/// Carried by requests that ask for a WebSocket: the connection they came on, so
/// [`Server::upgrade`] knows the peer (and that the request came from one of the server's
/// connections), and the socket keeps the connection's place in
/// [`max_connections`](crate::ServerConfig::max_connections) while it lives.
#[derive(Debug, Clone)]
pub(crate) struct UpgradeFrom {
    pub(crate) remote_addr: Addr,
    pub(crate) hold: ConnectionHold,
}

impl Server {
    /// Upgrades `req` to a WebSocket driven by the handlers of `S` (a type with a
    /// [`#[websocket]`](crate::websocket) block), with `data` as its client data: bun-router's
    /// `upgrade(req, headers, data)`. Returns the `101 Switching Protocols` response to return
    /// from the handler, or why the request cannot be upgraded (its
    /// [`IntoResponse`] is the right `4xx`).
    ///
    /// The socket's options (subprotocols, `Origin` allow-list, limits) are those of `S`;
    /// `S` does not have to be listed in [`router!`](crate::router) for this.
    ///
    /// # Errors
    ///
    /// [`UpgradeError`] when the request is not a valid WebSocket handshake, or a header in
    /// `headers` is invalid; [`UpgradeError::NotFromConnection`] for a request that did not
    /// arrive on one of the server's connections (built by hand, or rebuilt from its parts
    /// without the original's extensions), since there is no connection to switch;
    /// [`UpgradeError::TooManyFromAddress`] (`429`) when the peer's address holds
    /// [`max_websockets_per_ip`](crate::ServerConfig::max_websockets_per_ip) open sockets.
    ///
    /// # Examples
    ///
    /// ```
    /// use hyperbun::prelude::*;
    ///
    /// struct ClientData {
    ///     user_id: String,
    /// }
    ///
    /// struct Custom;
    ///
    /// #[websocket("/unused", data = ClientData)]
    /// impl Custom {
    ///     fn open(ws: &mut WebSocket<ClientData>) {
    ///         let hello = format!("hello, {}", ws.data.user_id);
    ///         ws.send(hello);
    ///     }
    ///     fn message(_ws: &mut WebSocket<ClientData>, _msg: Message) {}
    /// }
    ///
    /// #[get("/custom-ws")]
    /// async fn custom(server: Server, req: Request) -> Response {
    ///     let Some(user) = req.headers().get("x-user").and_then(|v| v.to_str().ok()) else {
    ///         return (StatusCode::UNAUTHORIZED, "Unauthorized").into_response();
    ///     };
    ///     let data = ClientData { user_id: user.to_owned() };
    ///     match server.upgrade::<Custom>(req, [("x-user-id", data.user_id.clone())], data) {
    ///         Ok(switching) => switching,
    ///         Err(e) => e.into_response(),
    ///     }
    /// }
    ///
    /// let router = hyperbun::router![custom];
    /// # let _ = router;
    /// ```
    pub fn upgrade<S: SocketHandlers>(
        &self,
        req: Request,
        headers: impl IntoResponseHeaders,
        data: S::Data,
    ) -> Result<Response, UpgradeError> {
        let accepted = handshake::check_request(&req, S::options())?;
        let mut upgrade = Upgrade::new(data);
        headers
            .apply(&mut upgrade.headers)
            .map_err(UpgradeError::InvalidHeader)?;
        let remote_addr = match req.extensions().get::<UpgradeFrom>() {
            Some(from) => from.remote_addr.clone(),
            None => return Err(UpgradeError::NotFromConnection),
        };
        let peer = self.admit_websocket(&remote_addr)?;
        Ok(switch::<S>(
            req,
            accepted,
            upgrade,
            self.clone(),
            remote_addr,
            peer,
        ))
    }
}

/// Answers `101` and hands the connection to the driver once hyper releases it. `peer` is the
/// connection's place in its IP's socket limit: every caller must have been admitted.
pub(crate) fn switch<S: SocketHandlers>(
    mut req: Request,
    mut accepted: Accepted,
    upgrade: Upgrade<S::Data>,
    server: Server,
    remote_addr: Addr,
    peer: PeerSlot,
) -> Response {
    let options = S::options();
    if let Some(e) = upgrade.error {
        tracing::error!(target: "hyperbun::ws", socket = S::NAME, "invalid 101 header from the upgrade hook: {e}");
        return (StatusCode::INTERNAL_SERVER_ERROR, "invalid upgrade header").into_response();
    }
    if let Some(protocol) = upgrade.protocol {
        if !handshake::offered_protocol(req.headers(), &protocol) {
            tracing::error!(target: "hyperbun::ws", socket = S::NAME, protocol, "the upgrade hook chose a subprotocol the client did not offer");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "invalid subprotocol choice",
            )
                .into_response();
        }
        accepted.protocol = HeaderValue::try_from(protocol).ok();
    }
    let protocol = accepted
        .protocol
        .as_ref()
        .and_then(|p| p.to_str().ok())
        .map(Box::from);
    let hold = req
        .extensions_mut()
        .remove::<UpgradeFrom>()
        .map(|from| from.hold);
    let on_upgrade = hyper::upgrade::on(&mut req);
    let response = handshake::switching_protocols(&accepted, options, upgrade.headers);
    let data = upgrade.data;
    let deflate = accepted.deflate;
    let stop = server.stop_receiver();
    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(upgraded) => upgraded,
            Err(e) => {
                tracing::debug!(target: "hyperbun::ws", socket = S::NAME, %remote_addr, "upgrade did not complete: {e}");
                return;
            }
        };
        let (transport, leftover) = into_transport(upgraded);
        // A task of its own, so the connection's task does not also carry this one's state.
        tokio::spawn(crate::ws::driver::run::<S>(
            transport,
            leftover,
            data,
            server,
            remote_addr,
            crate::ws::driver::Negotiated { protocol, deflate },
            stop,
            peer,
            hold,
        ));
    });
    response
}

/// The upgraded connection as a transport, with the bytes read past the handshake. TCP and
/// Unix sockets are unwrapped to their own fast transport, and a TLS stream to itself;
/// anything else (an HTTP/2 stream, a stream from middleware) is driven through hyper's
/// `Upgraded`.
fn into_transport(upgraded: Upgraded) -> (Stream, Bytes) {
    let upgraded = match upgraded.downcast::<TokioIo<Replay<TcpStream>>>() {
        Ok(parts) => {
            let (stream, unread) = parts.io.into_inner().into_parts();
            return (Stream::Tcp(stream), joined(unread, parts.read_buf));
        }
        Err(upgraded) => upgraded,
    };
    let upgraded = match upgraded.downcast::<TokioIo<Replay<UnixStream>>>() {
        Ok(parts) => {
            let (stream, unread) = parts.io.into_inner().into_parts();
            return (Stream::Unix(stream), joined(unread, parts.read_buf));
        }
        Err(upgraded) => upgraded,
    };
    let upgraded = match upgraded.downcast::<TokioIo<TcpStream>>() {
        Ok(parts) => return (Stream::Tcp(parts.io.into_inner()), parts.read_buf),
        Err(upgraded) => upgraded,
    };
    let upgraded = match upgraded.downcast::<TokioIo<UnixStream>>() {
        Ok(parts) => return (Stream::Unix(parts.io.into_inner()), parts.read_buf),
        Err(upgraded) => upgraded,
    };
    #[cfg(feature = "tls")]
    let upgraded = match upgraded.downcast::<TokioIo<crate::ws::tls::TlsStream>>() {
        Ok(parts) => {
            return (
                Stream::Other(Box::new(parts.io.into_inner())),
                parts.read_buf,
            )
        }
        Err(upgraded) => upgraded,
    };
    // hyper replays what it read past the handshake itself.
    (Stream::other(TokioIo::new(upgraded)), Bytes::new())
}

/// What a [`Replay`] still held, then what hyper read past the handshake.
fn joined(unread: Bytes, read_buf: Bytes) -> Bytes {
    if unread.is_empty() {
        return read_buf;
    }
    let mut all = bytes::BytesMut::from(unread);
    all.extend_from_slice(&read_buf);
    all.freeze()
}

/// An `#[upgrade]` hook. `#[upgrade]` implements it on the `Handler` type of the hidden
/// module named after the hook function.
pub trait UpgradeHook: 'static {
    /// The data the hook gives accepted connections.
    type Data: Send + 'static;

    /// Extracts the hook's arguments, calls it, and hands the request back with the accepted
    /// [`Upgrade`], or returns the rejection response.
    fn call(
        req: Request,
        cx: &RequestContext,
    ) -> impl Future<Output = Result<(Request, Upgrade<Self::Data>), Response>> + Send + '_;
}

/// What an `#[upgrade]` hook may return: an [`Upgrade`], or a `Result` whose error is a
/// response.
#[diagnostic::on_unimplemented(
    message = "an `#[upgrade]` hook must return `Upgrade<T>` or `Result<Upgrade<T>, E>` where `E: IntoResponse`, not `{Self}`",
    label = "not an upgrade decision"
)]
pub trait IntoUpgrade {
    /// The connection data.
    type Data: Send + 'static;

    /// Accept (with data) or reject (with a response).
    fn into_upgrade(self) -> Result<Upgrade<Self::Data>, Response>;
}

impl<T: Send + 'static> IntoUpgrade for Upgrade<T> {
    type Data = T;

    fn into_upgrade(self) -> Result<Upgrade<T>, Response> {
        Ok(self)
    }
}

impl<T: Send + 'static, E: IntoResponse> IntoUpgrade for Result<Upgrade<T>, E> {
    type Data = T;

    fn into_upgrade(self) -> Result<Upgrade<T>, Response> {
        self.map_err(IntoResponse::into_response)
    }
}

/// The hook of a socket route without `#[upgrade]`: accepts every valid handshake with
/// `T::default()`.
#[derive(Debug)]
pub struct DefaultUpgrade<T>(PhantomData<fn() -> T>);

impl<T: Default + Send + 'static> UpgradeHook for DefaultUpgrade<T> {
    type Data = T;

    async fn call(req: Request, _cx: &RequestContext) -> Result<(Request, Upgrade<T>), Response> {
        Ok((req, Upgrade::new(T::default())))
    }
}

/// A socket route: the handlers `S` behind the hook `H` (`DefaultUpgrade` when the route
/// has no `#[upgrade]`). `router!` lists `<SocketRoute<S, H> as Route>::DEF`.
#[derive(Debug)]
pub struct SocketRoute<S, H>(PhantomData<fn() -> (S, H)>);

impl<S, H> Route for SocketRoute<S, H>
where
    S: SocketHandlers,
    H: UpgradeHook<Data = S::Data>,
{
    const DEF: RouteDef = RouteDef {
        methods: &[http::Method::GET],
        path: S::PATH,
        pattern: S::PATTERN,
        body_limit: None,
        handler: serve::<S, H>,
        name: S::NAME,
        location: S::LOCATION,
        prepare: Some(prepare::<S>),
        layer: None,
        group: None,
    };
}

/// Builds the socket's options when the router is built, and stops the program there if
/// they cannot work, naming the socket (see `RouteDef::prepare`).
fn prepare<S: SocketHandlers>() {
    if let Err(why) = S::options().validate() {
        let (file, line, column) = S::LOCATION;
        panic!(
            "invalid options for socket `{}` at \"{}\" ({file}:{line}:{column}): {why}",
            S::NAME,
            S::PATH
        );
    }
}

/// The route handler: check the handshake, count the peer's sockets, run the hook, switch
/// protocols.
fn serve<S, H>(req: Request, cx: RequestContext) -> ResponseFuture
where
    S: SocketHandlers,
    H: UpgradeHook<Data = S::Data>,
{
    Box::pin(async move {
        let options = S::options();
        let accepted = match handshake::check_request(&req, options) {
            Ok(accepted) => accepted,
            Err(e) => return e.into_response(),
        };
        // Before the hook, which may be costly (a session lookup): a refused peer costs nothing.
        let peer = match cx.server.admit_websocket(&cx.remote_addr) {
            Ok(peer) => peer,
            Err(refused) => return refused.into_response(),
        };
        match H::call(req, &cx).await {
            Ok((req, upgrade)) => {
                switch::<S>(req, accepted, upgrade, cx.server, cx.remote_addr, peer)
            }
            Err(rejection) => rejection,
        }
    })
}
