//! One request's way through the server: the hyper service of a connection looks the
//! request up in the routing table, answers 404/405/OPTIONS and oversized bodies itself, and
//! otherwise runs the route's handler with panics caught (a panic is that request's `500`,
//! nothing more).
//!
//! With middleware ([`Router::layer`]), the connection hands the request to the layers
//! instead, with what it knows of the connection in the request's extensions, and the
//! table's [`Dispatcher`] — the innermost service — looks it up the same way. The same
//! stack serves the router as a tower service under another server.

use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{header, HeaderValue, StatusCode};
use hyper::body::Incoming;

use super::conn::{OpenStream, Streams};
use super::ConnectionHold;
use crate::middleware::{BoxError, Inner, InnerFuture};
use crate::panic::panic_message;
use crate::rejection::body_error;
use crate::routing::{Lookup, RequestContext, ResponseFuture, RouteCall, RouteDef, RouteTable};
use crate::ws::handshake;
use crate::ws::upgrade::UpgradeFrom;
use crate::{
    Addr, Body, BodyError, BodyRejection, IntoResponse, RemoteAddr, Request, Response, Router,
    Server,
};

/// The hyper service for one connection.
pub(crate) struct ConnService {
    pub(crate) table: Arc<RouteTable>,
    /// The application's middleware around the table, if it has any.
    pub(crate) app: Option<Inner>,
    pub(crate) server: Server,
    pub(crate) remote_addr: Addr,
    /// Travels with upgrade requests, so the socket keeps the connection's slot.
    pub(crate) hold: ConnectionHold,
    /// HTTP/2: the streams in use, counted so an idle connection can be closed.
    pub(crate) streams: Option<Arc<Streams>>,
    pub(crate) body_limit: usize,
    /// Accepted past `max_connections`: every request is told `503`.
    pub(crate) over_capacity: bool,
}

impl hyper::service::Service<http::Request<Incoming>> for ConnService {
    type Response = Response;
    type Error = Infallible;
    type Future = Dispatch;

    fn call(&self, req: http::Request<Incoming>) -> Dispatch {
        if self.over_capacity {
            return Dispatch::ready(over_capacity(req.version()));
        }
        let stream = self.streams.as_ref().map(Streams::begin);
        let Some(app) = &self.app else {
            // No middleware: straight to the route.
            let conn = ConnRef {
                server: &self.server,
                remote_addr: &self.remote_addr,
                hold: &self.hold,
                streams: self.streams.as_ref(),
                body_limit: self.body_limit,
            };
            return route(&self.table, req, &conn, Body::incoming, stream);
        };
        // Through the middleware: the route is not known yet, so neither is its body limit
        // (the table's `Dispatcher` sets it); what the connection knows travels along.
        let limit = self.table.widest_body_limit(self.body_limit);
        let mut req = req.map(|body| Body::incoming(body, limit));
        req.extensions_mut().insert(Connection {
            server: self.server.clone(),
            remote_addr: self.remote_addr.clone(),
            hold: self.hold.clone(),
            streams: self.streams.clone(),
            body_limit: self.body_limit,
        });
        Dispatch::Layered {
            future: app.clone().oneshot(req),
            _stream: stream,
        }
    }
}

/// What a request knows of the connection it came on, in its extensions while it passes
/// through middleware.
#[derive(Clone)]
struct Connection {
    server: Server,
    remote_addr: Addr,
    hold: ConnectionHold,
    streams: Option<Arc<Streams>>,
    body_limit: usize,
}

/// The same, borrowed: the direct path builds no `Connection`.
struct ConnRef<'a> {
    server: &'a Server,
    remote_addr: &'a Addr,
    hold: &'a ConnectionHold,
    streams: Option<&'a Arc<Streams>>,
    body_limit: usize,
}

impl Connection {
    fn as_ref(&self) -> ConnRef<'_> {
        ConnRef {
            server: &self.server,
            remote_addr: &self.remote_addr,
            hold: &self.hold,
            streams: self.streams.as_ref(),
            body_limit: self.body_limit,
        }
    }
}

/// Looks `req` up in the table and starts its answer: a route's handler (inside the
/// route's and its group's middleware, if any), a mounted service, or 404/405/`OPTIONS`.
/// `body` makes the request's body with the route's limit. Inlined into its two callers: the
/// request (a few hundred bytes) is then not copied into a call.
#[inline(always)]
fn route<B>(
    table: &RouteTable,
    req: http::Request<B>,
    conn: &ConnRef<'_>,
    body: impl FnOnce(B, usize) -> Body,
    stream: Option<OpenStream>,
) -> Dispatch {
    let websocket_over_h2 = handshake::is_extended_connect(&req);
    let method = if websocket_over_h2 {
        // RFC 8441: an HTTP/2 WebSocket is an extended CONNECT to the socket's path; the
        // table lists socket routes under GET, as HTTP/1.1 upgrades them.
        &http::Method::GET
    } else {
        req.method()
    };
    let (route, index, params, head) = match table.lookup(method, req.uri().path()) {
        Lookup::Found {
            route,
            index,
            params,
            head,
        } => (route, index, params, head),
        Lookup::Nested(nested) => {
            let mut req = req.map(|b| body(b, conn.body_limit));
            strip_prefix(&mut req, &nested.prefix);
            return Dispatch::Layered {
                future: nested.service.clone().oneshot(req),
                _stream: stream,
            };
        }
        Lookup::NotFound => {
            return Dispatch::ready((StatusCode::NOT_FOUND, "Not Found").into_response());
        }
        Lookup::Options(allow) => {
            let mut response = StatusCode::NO_CONTENT.into_response();
            response.headers_mut().insert(header::ALLOW, allow.clone());
            return Dispatch::ready(response);
        }
        Lookup::MethodNotAllowed(allow) => {
            let mut response =
                (StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed").into_response();
            response.headers_mut().insert(header::ALLOW, allow.clone());
            return Dispatch::ready(response);
        }
    };
    let limit = route.body_limit.unwrap_or(conn.body_limit);
    if declared_length(&req).is_some_and(|len| len > limit as u64) {
        let (status, message) = body_error(&BodyError::too_large(limit));
        return Dispatch::ready(BodyRejection::new(status, message).into_response());
    }
    let mut req = req.map(|b| body(b, limit));
    if websocket_over_h2 || req.headers().contains_key(header::UPGRADE) {
        // For the socket: its peer, and the connection it keeps while it lives.
        req.extensions_mut().insert(UpgradeFrom {
            remote_addr: conn.remote_addr.clone(),
            hold: conn.hold.with_stream(conn.streams.map(Streams::begin)),
        });
    }
    let cx = RequestContext {
        params,
        server: conn.server.clone(),
        remote_addr: conn.remote_addr.clone(),
    };
    tracing::trace!(target: "hyperbun::server", route = route.name, method = %req.method(), path = req.uri().path(), "dispatch");
    let own = table.layered(index);
    let future = match (table.group_of(route), own) {
        (None, None) => (route.handler)(req, cx),
        (group, own) => {
            let (service, own) = match group {
                Some(group) => (group, own.cloned()),
                None => (own.expect("bug: matched as Some"), None),
            };
            req.extensions_mut().insert(RouteCall {
                handler: route.handler,
                cx,
                own,
            });
            let future = service.clone().oneshot(req);
            Box::pin(async move {
                match future.await {
                    Ok(response) => response,
                    Err(never) => match never {},
                }
            })
        }
    };
    Dispatch::Handler {
        future,
        route,
        head,
        _stream: stream,
    }
}

/// `/legacy/users?x` as `/users?x` for the service mounted at `/legacy`.
fn strip_prefix<B>(req: &mut http::Request<B>, prefix: &str) {
    let uri = req.uri();
    let rest = &uri.path()[prefix.len()..];
    let path = if rest.is_empty() { "/" } else { rest };
    let path_and_query = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_owned(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = path_and_query.parse().ok();
    if let Ok(uri) = http::Uri::from_parts(parts) {
        *req.uri_mut() = uri;
    }
}

/// The innermost service of the application's middleware: the routing table.
#[derive(Clone)]
pub(crate) struct Dispatcher {
    table: Arc<RouteTable>,
    /// For requests that did not come through a connection of this server (a router served
    /// by another server as a tower service).
    elsewhere: Connection,
}

impl tower::Service<Request> for Dispatcher {
    type Response = Response;
    type Error = Infallible;
    type Future = Dispatch;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: Request) -> Dispatch {
        let conn = match req.extensions_mut().remove::<Connection>() {
            Some(conn) => conn,
            None => {
                let mut conn = self.elsewhere.clone();
                conn.remote_addr = peer_of(&req);
                conn
            }
        };
        route(
            &self.table,
            req,
            &conn.as_ref(),
            |body, limit| body.limited(limit),
            None,
        )
    }
}

/// The peer of a request from another server: what it put in the extensions, if anything.
fn peer_of(req: &Request) -> Addr {
    if let Some(RemoteAddr(addr)) = req.extensions().get::<RemoteAddr>() {
        return addr.clone();
    }
    match req.extensions().get::<std::net::SocketAddr>() {
        Some(addr) => Addr::Tcp(*addr),
        None => Addr::Unknown,
    }
}

/// The application's service: its middleware around the table, over `server`. `None`
/// without middleware (the connection then takes the direct path).
pub(crate) fn app(router: &Router, server: &Server) -> Option<Inner> {
    (!router.layers.is_empty()).then(|| stack(router, server))
}

/// The service stack of a router served by another server, as a tower service: over a
/// [`Server`] handle of its own (for extractors, publishing and upgrades).
fn standalone(router: &Router) -> Inner {
    stack(router, &Server::new(Addr::Unknown, &router.config))
}

/// The router's layers around its table's [`Dispatcher`].
fn stack(router: &Router, server: &Server) -> Inner {
    let mut app = Inner::new(Dispatcher {
        table: Arc::clone(&router.table),
        elsewhere: Connection {
            server: server.clone(),
            remote_addr: Addr::Unknown,
            hold: ConnectionHold::default(),
            streams: None,
            body_limit: router.config.max_request_body_size,
        },
    });
    for layer in &router.layers {
        app = layer.wrap(app);
    }
    app
}

/// The router as a tower service, to serve with another server (hyper's, axum's `serve`,
/// a test harness) or to nest in another framework. Under hyperbun's own
/// [`serve`](Router::serve) this is not used: each connection dispatches directly.
///
/// A request served this way has [`Addr::Unknown`] as its peer unless the server put a
/// `std::net::SocketAddr` or a [`RemoteAddr`] in its extensions; WebSocket upgrades work
/// when the server is hyper with upgrades enabled.
impl<B> tower::Service<http::Request<B>> for Router
where
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = InnerFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> InnerFuture {
        let app = self.standalone.get_or_init(|| standalone(self));
        app.clone().oneshot(req.map(Body::from_any))
    }
}

/// The answer to every request on a connection accepted past `max_connections`; on
/// HTTP/1.1 it also ends the connection.
fn over_capacity(version: http::Version) -> Response {
    let mut response = (
        StatusCode::SERVICE_UNAVAILABLE,
        "Service Unavailable: server capacity reached",
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    if version < http::Version::HTTP_2 {
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

fn declared_length<B>(req: &http::Request<B>) -> Option<u64> {
    req.headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// The response future of one request: an immediate answer, a handler's future, or the
/// application's middleware (panics caught and turned into `500` for both).
pub(crate) enum Dispatch {
    Ready(Option<Response>),
    Layered {
        future: InnerFuture,
        /// HTTP/2: the request's stream, in use until its response is ready.
        _stream: Option<OpenStream>,
    },
    Handler {
        future: ResponseFuture,
        route: &'static RouteDef,
        head: bool,
        /// HTTP/2: the request's stream, in use until its response is ready.
        _stream: Option<OpenStream>,
    },
}

impl Dispatch {
    fn ready(response: Response) -> Self {
        Dispatch::Ready(Some(response))
    }
}

impl Future for Dispatch {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            Dispatch::Ready(response) => Poll::Ready(Ok(response
                .take()
                .expect("bug: Dispatch polled after completion"))),
            Dispatch::Layered { future, .. } => {
                match std::panic::catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
                    Ok(polled) => polled,
                    Err(panic) => {
                        let why = panic_message(&*panic);
                        tracing::error!(target: "hyperbun::server", "middleware panicked: {why}");
                        Poll::Ready(Ok((
                            StatusCode::INTERNAL_SERVER_ERROR,
                            "Internal Server Error",
                        )
                            .into_response()))
                    }
                }
            }
            Dispatch::Handler {
                future,
                route,
                head,
                ..
            } => {
                let polled =
                    std::panic::catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx)));
                let response = match polled {
                    Ok(Poll::Pending) => return Poll::Pending,
                    Ok(Poll::Ready(response)) => response,
                    Err(panic) => {
                        let why = panic_message(&*panic);
                        tracing::error!(
                            target: "hyperbun::server",
                            route = route.name,
                            path = route.path,
                            file = route.location.0,
                            line = route.location.1,
                            "handler panicked: {why}"
                        );
                        (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response()
                    }
                };
                Poll::Ready(Ok(if *head {
                    strip_body(response)
                } else {
                    response
                }))
            }
        }
    }
}

/// A `HEAD` answered by a `GET` handler: same status and headers, no body; the length the
/// body would have had is kept when it is known.
fn strip_body(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    if let Some(len) = http_body::Body::size_hint(&body).exact() {
        parts
            .headers
            .entry(header::CONTENT_LENGTH)
            .or_insert(HeaderValue::from(len));
    }
    Response::from_parts(parts, Body::empty())
}
