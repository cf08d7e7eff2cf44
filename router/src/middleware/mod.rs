//! Middleware: tower layers around the whole application, a group of routes or one route,
//! and [`from_fn`] for middleware written as a plain async function.
//!
//! The routing table is built at compile time, so a layer cannot miss a route: a
//! [`Router::layer`](crate::Router::layer) wraps the finished table — every route, socket
//! upgrade, 404, 405, automatic `OPTIONS` answer and [mounted
//! service](crate::Router::nest_service) — wherever the call sits in the builder chain
//! (axum's layers wrap only the routes added before them, which is how CORS preflights end
//! up answered `405`). A group's layer wraps the group's routes and a route's `layer = …`
//! the route's handler; both are checked where they are written, like the rest of the table.
//!
//! | module | what lives there |
//! |---|---|
//! | `inner` | [`Inner`], the one service type every layer wraps, and the body conversions |
//! | `from_fn` | [`from_fn`] and [`Next`] |
//!
//! A router with no layer serves every request on the direct path (no boxing, no request
//! extensions); the layered path costs a clone of the boxed service stack and one boxed
//! future per request, measured in the guide ([`guide::middleware`](crate::guide::middleware)).

mod from_fn;
mod inner;

use std::sync::Arc;

use bytes::Bytes;
use tower::{Layer, Service};

pub use from_fn::{from_fn, FromFn, FromFnLayer, Next};
pub use inner::{BoxError, Inner, InnerFuture};

use crate::Request;

/// A tower [`Layer`] that can wrap hyperbun routes: its service takes a [`Request`] and
/// answers with any `http::Response` whose body yields [`Bytes`]; an error becomes a logged
/// `500`. Every layer of tower and tower-http is one, as is a tuple of them (outermost
/// first) and a `tower::ServiceBuilder`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a tower layer that can wrap hyperbun routes",
    label = "not a layer for hyperbun routes",
    note = "a layer here must implement `tower::Layer<hyperbun::middleware::Inner>`, and its \
            service `tower::Service<hyperbun::Request>` answering with an `http::Response` whose \
            body yields `Bytes`; service and layer `Clone + Send + Sync + 'static`",
    note = "for middleware written as an async function, wrap it: \
            `hyperbun::middleware::from_fn(my_fn)`"
)]
pub trait RouteLayer: Send + Sync + 'static {
    /// Wraps `inner` and boxes the result.
    fn wrap(&self, inner: Inner) -> Inner;
}

impl<L, RB> RouteLayer for L
where
    L: Layer<Inner> + Send + Sync + 'static,
    L::Service: Service<Request, Response = http::Response<RB>> + Clone + Send + Sync + 'static,
    <L::Service as Service<Request>>::Error: Into<BoxError>,
    <L::Service as Service<Request>>::Future: Send + 'static,
    RB: http_body::Body<Data = Bytes> + Send + 'static,
    RB::Error: Into<BoxError>,
{
    fn wrap(&self, inner: Inner) -> Inner {
        Inner::new(self.layer(inner))
    }
}

/// A layer as the router keeps it until it builds the service stack.
pub(crate) type SharedLayer = Arc<dyn RouteLayer>;
