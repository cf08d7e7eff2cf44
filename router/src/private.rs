//! Everything generated code names, and nothing else. Not part of the public API: it may
//! change in any release, which is why `hyperbun` pins `hyperbun-macros` to an exact version.

use std::borrow::Cow;

use ::http::request::Parts;

pub use ::http::Method;
pub use ::hyperbun_macros::__router_step as router_step;

pub use crate::extract::{FromRequest, FromRequestParts, RequestContext};
pub use crate::response::IntoResponse;
pub use crate::routing::{
    DescribeDisplay, DescribeOther, HandlerFn, ParamError, ResponseFuture, RouteDef, Router,
};
pub use crate::ws::handlers::{
    DefaultUpgrade, IntoUpgrade, SocketHandlers, SocketRoute, UpgradeHook,
};
pub use crate::ws::{Message, SocketOptions, Upgrade, WebSocket, WebSocketError};
pub use crate::{Request, Response};
pub use ::bytes::Bytes;
pub use ::std::sync::OnceLock;

/// A handler as the routing table sees it. `#[get]` and friends implement it on the
/// `Handler` type of the hidden module that shares the handler function's name.
pub trait Route {
    /// The route's description.
    const DEF: RouteDef;
}

/// Converts a handler's return value; generated code spans the call at the user's return
/// type, so a type that is not a response is reported there.
#[inline]
pub fn into_response<R: IntoResponse>(value: R) -> Response {
    value.into_response()
}

/// Boxes a handler's future.
#[inline]
pub fn boxed<F>(future: F) -> ResponseFuture
where
    F: std::future::Future<Output = Response> + Send + 'static,
{
    Box::pin(future)
}

/// The `index`-th path parameter of the matched route, percent-decoded.
///
/// # Errors
///
/// `400` when the decoded value is not UTF-8.
pub fn param<'p>(
    parts: &'p Parts,
    cx: &RequestContext,
    index: usize,
    name: &str,
) -> Result<Cow<'p, str>, crate::PathParamRejection> {
    let raw = cx
        .raw_param(parts, index)
        .expect("bug: the route pattern has as many parameters as the macro counted");
    crate::routing::decode(name, raw)
}

/// The `400` for a parameter value that did not parse into `T`.
#[cold]
pub fn invalid_param<T>(name: &str, value: &str, why: Option<String>) -> Response {
    crate::routing::invalid::<T>(name, value, why).into_response()
}
