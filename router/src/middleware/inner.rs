//! [`Inner`]: the one service type every layer wraps, and the conversions that let a layer
//! change the request and response body types without the router caring.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http::StatusCode;
use tower::util::BoxCloneSyncService;
use tower::{Service, ServiceExt};

use crate::{Body, IntoResponse, Request, Response};

/// The error type layers may fail with: anything that converts into a boxed error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The future of an [`Inner`] service's response.
pub type InnerFuture = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

/// What a layer wraps: the rest of the application from where the layer stands — the
/// routing table with every route, 404/405/`OPTIONS` answer and mounted service under a
/// [`Router::layer`](crate::Router::layer); the group's routes under a group's layer; the
/// route's handler under a route's `layer = …`. Layers further in are part of it.
///
/// It is a [`tower::Service`] for requests with any body a layer may have put there
/// (`http_body_util::Limited<Body>` from tower-http's `RequestBodyLimitLayer`, say), and
/// answers with a [`Response`]; it never fails (errors are responses). Cheap to clone.
#[derive(Clone)]
pub struct Inner(BoxCloneSyncService<Request, Response, Infallible>);

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Inner")
    }
}

impl Inner {
    /// Boxes a layered service: its response body becomes a [`Body`], and an error becomes
    /// a logged `500` (tower-http's `TimeoutLayer` answers `408` itself; for other errors
    /// that deserve their own answer, handle them in the layer, as tower's
    /// `HandleErrorLayer` does).
    pub(crate) fn new<S, RB>(service: S) -> Inner
    where
        S: Service<Request, Response = http::Response<RB>> + Clone + Send + Sync + 'static,
        S::Error: Into<BoxError>,
        S::Future: Send + 'static,
        RB: http_body::Body<Data = Bytes> + Send + 'static,
        RB::Error: Into<BoxError>,
    {
        Inner(BoxCloneSyncService::new(Answering {
            service,
            not_ready: false,
        }))
    }

    /// Calls the service once it is ready, as a boxed future. A service that is ready at
    /// once (most are) is called at once, and its own boxed future is the answer: no
    /// `Oneshot` state and no second box holding the request. A panic in a layer's
    /// `poll_ready` or `call` is the request's `500`, as it is when it happens later.
    pub(crate) fn oneshot(mut self, req: Request) -> InnerFuture {
        let called = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let mut cx = Context::from_waker(std::task::Waker::noop());
            match self.0.poll_ready(&mut cx) {
                Poll::Ready(Ok(())) => self.0.call(req),
                Poll::Ready(Err(never)) => match never {},
                // Asked again, with the waker of the task that polls the answer.
                Poll::Pending => Box::pin(self.0.oneshot(req)),
            }
        }));
        called.unwrap_or_else(|panic| {
            let why = crate::panic::panic_message(&*panic);
            tracing::error!(target: "hyperbun::server", "middleware panicked: {why}");
            Box::pin(std::future::ready(Ok(internal_error())))
        })
    }
}

impl<B> Service<http::Request<B>> for Inner
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = InnerFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> InnerFuture {
        self.0.call(req.map(Body::from_any))
    }
}

/// A layered service whose answer is always a [`Response`].
#[derive(Clone)]
struct Answering<S> {
    service: S,
    /// `poll_ready` failed: the service may not be called, and the call is answered `500`.
    not_ready: bool,
}

impl<S, RB> Service<Request> for Answering<S>
where
    S: Service<Request, Response = http::Response<RB>>,
    S::Error: Into<BoxError>,
    RB: http_body::Body<Data = Bytes> + Send + 'static,
    RB::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Answer<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        if let Err(e) = ready!(self.service.poll_ready(cx)) {
            tracing::error!(target: "hyperbun::server", "middleware failed: {}", e.into());
            self.not_ready = true;
        }
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        if std::mem::take(&mut self.not_ready) {
            return Answer::NotReady;
        }
        Answer::Called {
            future: self.service.call(req),
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Answering`].
    #[project = AnswerProj]
    enum Answer<F> {
        Called {
            #[pin]
            future: F,
        },
        NotReady,
    }
}

impl<F, RB, E> Future for Answer<F>
where
    F: Future<Output = Result<http::Response<RB>, E>>,
    E: Into<BoxError>,
    RB: http_body::Body<Data = Bytes> + Send + 'static,
    RB::Error: Into<BoxError>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let AnswerProj::Called { future } = self.project() else {
            return Poll::Ready(Ok(internal_error()));
        };
        Poll::Ready(Ok(match ready!(future.poll(cx)) {
            Ok(response) => response.map(Body::from_any),
            Err(e) => {
                tracing::error!(target: "hyperbun::server", "middleware failed: {}", e.into());
                internal_error()
            }
        }))
    }
}

/// A layer's error as the response: `500`; the error goes to the log, not to the client.
fn internal_error() -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response()
}
