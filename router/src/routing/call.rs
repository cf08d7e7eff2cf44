//! A route's handler as a tower service, for the middleware of a route or a group to wrap.
//!
//! A layer sees only the request, so the route found for it travels in its extensions as a
//! [`RouteCall`]: the handler, what its extractors need ([`RequestContext`]), and the
//! route's own layered handler when a group's layer wraps a route that has one.

use std::convert::Infallible;
use std::task::{Context, Poll};

use tower::Service;

use super::{HandlerFn, RequestContext};
use crate::middleware::{Inner, InnerFuture};
use crate::{IntoResponse, Request, StatusCode};

/// The route a request is on its way to, through middleware.
#[derive(Clone)]
pub(crate) struct RouteCall {
    pub(crate) handler: HandlerFn,
    pub(crate) cx: RequestContext,
    /// The route's handler inside its own `layer = …`, still to run (inside a group).
    pub(crate) own: Option<Inner>,
}

/// The innermost service of a route's or a group's middleware: runs the route's own
/// middleware if it has some and it has not run yet, else the handler.
#[derive(Clone, Copy)]
pub(crate) struct RouteEnd;

pub(crate) fn handler_service() -> Inner {
    Inner::new(RouteEnd)
}

impl Service<Request> for RouteEnd {
    type Response = crate::Response;
    type Error = Infallible;
    type Future = InnerFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: Request) -> InnerFuture {
        let Some(call) = req.extensions_mut().get_mut::<RouteCall>() else {
            // A layer rebuilt the request without its extensions.
            tracing::error!(target: "hyperbun::server", "a route's middleware dropped the request's extensions; the handler cannot run");
            let response =
                (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response();
            return Box::pin(async move { Ok(response) });
        };
        if let Some(own) = call.own.take() {
            return own.oneshot(req);
        }
        let call = req
            .extensions_mut()
            .remove::<RouteCall>()
            .expect("bug: the call was just found");
        let future = (call.handler)(req, call.cx);
        Box::pin(async move { Ok(future.await) })
    }
}
