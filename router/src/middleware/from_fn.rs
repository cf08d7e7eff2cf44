//! [`from_fn`]: middleware as a plain `async fn(Request, Next) -> impl IntoResponse`.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::task::{Context, Poll};

use tower::{Layer, Service};

use super::inner::{BoxError, Inner, InnerFuture};
use crate::{IntoResponse, Request, Response};

/// Middleware from an async function `f(req, next)`: it sees the request first, and either
/// answers itself (a short-circuit: `401`, a redirect, a cached page) or calls
/// [`next.run(req)`](Next::run) for the response of what it wraps, which it may change
/// before returning it. Values it puts in the request's extensions reach handlers and
/// `#[upgrade]` hooks through the [`Extension`](crate::Extension) extractor.
///
/// axum's `middleware::from_fn`, without the extractors: the function gets the whole
/// [`Request`]; read what it needs from it.
///
/// # Examples
///
/// ```
/// use hyperbun::middleware::{from_fn, Next};
/// use hyperbun::prelude::*;
/// use hyperbun::test::TestServer;
///
/// #[derive(Clone)]
/// struct Tenant(String);
///
/// async fn tenant(mut req: Request, next: Next) -> Response {
///     let Some(name) = req.headers().get("x-tenant").and_then(|v| v.to_str().ok()) else {
///         return (StatusCode::BAD_REQUEST, "which tenant? (X-Tenant)").into_response();
///     };
///     let tenant = Tenant(name.to_owned());
///     req.extensions_mut().insert(tenant);
///     let mut response = next.run(req).await;
///     response.headers_mut().insert("x-served-by", HeaderValue::from_static("hyperbun"));
///     response
/// }
///
/// #[get("/hello")]
/// async fn hello(Extension(tenant): Extension<Tenant>) -> String {
///     format!("hello, {}", tenant.0)
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let app = TestServer::start(hyperbun::router![hello].layer(from_fn(tenant))).await;
/// assert_eq!(app.get("/hello").await.status, StatusCode::BAD_REQUEST);
/// let mut headers = HeaderMap::new();
/// headers.insert("x-tenant", HeaderValue::from_static("acme"));
/// let answer = app.request(Method::GET, "/hello", headers, Bytes::new()).await;
/// assert_eq!(answer.text(), "hello, acme");
/// assert_eq!(answer.headers["x-served-by"], "hyperbun");
/// app.stop().await;
/// # }
/// ```
pub fn from_fn<F>(f: F) -> FromFnLayer<F> {
    FromFnLayer { f }
}

/// The layer [`from_fn`] makes.
#[derive(Clone)]
pub struct FromFnLayer<F> {
    f: F,
}

impl<F> fmt::Debug for FromFnLayer<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FromFnLayer")
            .field("f", &std::any::type_name::<F>())
            .finish()
    }
}

impl<F, S, RB> Layer<S> for FromFnLayer<F>
where
    F: Clone,
    S: Service<Request, Response = http::Response<RB>> + Clone + Send + Sync + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    RB: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    RB::Error: Into<BoxError>,
{
    type Service = FromFn<F>;

    fn layer(&self, inner: S) -> FromFn<F> {
        FromFn {
            f: self.f.clone(),
            inner: Inner::new(inner),
        }
    }
}

/// The service [`from_fn`]'s layer makes.
#[derive(Clone)]
pub struct FromFn<F> {
    f: F,
    inner: Inner,
}

impl<F> fmt::Debug for FromFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FromFn")
            .field("f", &std::any::type_name::<F>())
            .finish_non_exhaustive()
    }
}

impl<F, Fut> Service<Request> for FromFn<F>
where
    F: Fn(Request, Next) -> Fut + Clone + Send + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: IntoResponse,
{
    type Response = Response;
    type Error = Infallible;
    type Future = InnerFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // `next.run` waits for the inner service to be ready when it is called.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> InnerFuture {
        let next = Next {
            inner: self.inner.clone(),
        };
        let response = (self.f)(req, next);
        Box::pin(async move { Ok(response.await.into_response()) })
    }
}

/// What a [`from_fn`] middleware wraps: [`run`](Next::run) it for the response.
#[derive(Debug, Clone)]
pub struct Next {
    inner: Inner,
}

impl Next {
    /// Passes `req` on and returns the response.
    pub async fn run(self, req: Request) -> Response {
        match self.inner.oneshot(req).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }
}
