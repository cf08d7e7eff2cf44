//! Everything generated code names, and nothing else. Not part of the public API: it may
//! change in any release, which is why `hyperbun` pins `hyperbun-macros` to an exact version.

use std::borrow::Cow;

use ::http::request::Parts;

pub use ::http::Method;
pub use ::hyperbun_macros::__router_step as router_step;

pub use crate::extract::{FromRequest, FromRequestParts, RequestContext};
pub use crate::response::IntoResponse;
pub use crate::routing::{
    DescribeDisplay, DescribeOther, HandlerFn, ParamError, ResponseFuture, Route, RouteDef, Router,
};
pub use crate::ws::handlers::SocketHandlers;
pub use crate::ws::upgrade::{DefaultUpgrade, IntoUpgrade, SocketRoute, UpgradeHook};
pub use crate::ws::{Message, RateLimit, SocketOptions, Upgrade, WebSocket, WebSocketError};
pub use crate::{Request, Response};
pub use ::bytes::Bytes;
pub use ::core::future::ready;
pub use ::std::sync::OnceLock;

pub use crate::middleware::{Inner, RouteLayer};

/// Wraps a route's handler in the route's `layer = …`; generated code spans the call at the
/// user's expression, so a value that is not a layer is reported there.
#[inline]
pub fn wrap_route(layer: impl RouteLayer, inner: Inner) -> Inner {
    layer.wrap(inner)
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

/// Joins an `#[upgrade]` hook `H` to its socket in `router!`: implemented only when the
/// hook's data type (`Self`) is the socket's (`SocketData`), and then `Hook` is `H`.
///
/// `router!` names the hook as `<HookData as SameData<SocketData, H>>::Hook`, spanned at the
/// hook's `Upgrade<T>`: when the types differ, no impl applies, the compiler reports it there
/// with this trait's message, and the hook's type becomes an error that silences every later
/// error about the route.
#[diagnostic::on_unimplemented(
    message = "the `#[upgrade]` hook returns `Upgrade<{Self}>`, but the socket's data is `{SocketData}`",
    label = "the hook's data type is `{Self}`, not the socket's `{SocketData}`",
    note = "the data a hook accepts a connection with is `ws.data` in the socket's handlers, so the two types are the same: make the hook return `Upgrade<{SocketData}>`, or declare the socket with `data = {Self}`"
)]
pub trait SameData<SocketData, H> {
    /// `H`.
    type Hook;
}

impl<T, H> SameData<T, H> for T {
    type Hook = H;
}

/// The data of a socket listed without an `#[upgrade]` hook: [`DefaultUpgrade`] makes it
/// with `Default`. Only for its message: `router!` requires it (through
/// [`default_socket`]) spanned at the socket's `data = T`.
#[diagnostic::on_unimplemented(
    message = "the socket's data `{Self}` does not implement `Default`, and no `#[upgrade]` hook gives it",
    label = "no `#[upgrade]` hook admits to this socket, so its data is made with `{Self}::default()`",
    note = "implement `Default` for `{Self}` (e.g. `#[derive(Default)]`), or add an `#[upgrade(\"…\")]` hook at the socket's path that returns `Upgrade<{Self}>`, and list it in `router![…]`"
)]
pub trait DefaultData: Default + Send + 'static {}

impl<T: Default + Send + 'static> DefaultData for T {}

/// The route of socket `S` listed without a hook. `D` is `S::Data`, passed as an argument
/// so the compiler checks `D: DefaultData` on the normalized type, with that trait's message.
#[must_use]
pub const fn default_socket<S, D>(_data: ::core::marker::PhantomData<D>) -> RouteDef
where
    S: SocketHandlers<Data = D>,
    D: DefaultData,
{
    <SocketRoute<S, DefaultUpgrade<D>> as Route>::DEF
}

#[doc(hidden)]
pub mod bench;
