//! One request's way through the server: the hyper service of a connection looks the
//! request up in the routing table, answers 404/405/OPTIONS and oversized bodies itself, and
//! otherwise runs the route's handler with panics caught (a panic is that request's `500`,
//! nothing more).

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
use crate::panic::panic_message;
use crate::rejection::body_error;
use crate::routing::{Lookup, RequestContext, ResponseFuture, RouteDef, RouteTable};
use crate::ws::handshake;
use crate::ws::upgrade::UpgradeFrom;
use crate::{Addr, Body, BodyError, BodyRejection, IntoResponse, Response, Server};

/// The hyper service for one connection.
pub(crate) struct ConnService {
    pub(crate) table: Arc<RouteTable>,
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
        let websocket_over_h2 = handshake::is_extended_connect(&req);
        let method = if websocket_over_h2 {
            // RFC 8441: an HTTP/2 WebSocket is an extended CONNECT to the socket's path; the
            // table lists socket routes under GET, as HTTP/1.1 upgrades them.
            &http::Method::GET
        } else {
            req.method()
        };
        let (route, params, head) = match self.table.lookup(method, req.uri().path()) {
            Lookup::Found {
                route,
                params,
                head,
            } => (route, params, head),
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
        let limit = route.body_limit.unwrap_or(self.body_limit);
        if declared_length(&req).is_some_and(|len| len > limit as u64) {
            let (status, message) = body_error(&BodyError::too_large(limit));
            return Dispatch::ready(BodyRejection::new(status, message).into_response());
        }
        let mut req = req.map(|body| Body::incoming(body, limit));
        if websocket_over_h2 || req.headers().contains_key(header::UPGRADE) {
            // For the socket: its peer, and the connection it keeps while it lives.
            req.extensions_mut().insert(UpgradeFrom {
                remote_addr: self.remote_addr.clone(),
                hold: self
                    .hold
                    .with_stream(self.streams.as_ref().map(Streams::begin)),
            });
        }
        let cx = RequestContext {
            params,
            server: self.server.clone(),
            remote_addr: self.remote_addr.clone(),
        };
        tracing::trace!(target: "hyperbun::server", route = route.name, method = %req.method(), path = req.uri().path(), "dispatch");
        Dispatch::Handler {
            future: (route.handler)(req, cx),
            route,
            head,
            _stream: self.streams.as_ref().map(Streams::begin),
        }
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

/// The response future of one request: an immediate answer, or a handler's future (with
/// panics caught and turned into `500`).
pub(crate) enum Dispatch {
    Ready(Option<Response>),
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
