//! The one body type used for requests and responses. `Send + Sync`, so requests can be
//! borrowed across `.await`s.

use std::any::Any;
use std::fmt;
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type BoxBody = http_body_util::combinators::BoxBody<Bytes, BoxError>;
type UnsyncBoxBody = http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>;

/// The body of a [`Request`](crate::Request) or a [`Response`](crate::Response).
///
/// Bodies of incoming requests are read lazily and enforce the server's request body limit
/// ([`ServerConfig::max_request_body_size`](crate::ServerConfig::max_request_body_size), or a
/// route's `body_limit`) while they stream: reading past it fails with a [`BodyError`] for
/// which [`BodyError::is_too_large`] is true, and extractors turn that into `413 Payload Too
/// Large`.
///
/// # Examples
///
/// ```
/// use hyperbun::Body;
///
/// let body = Body::from("hello");
/// # let _ = body;
/// let empty = Body::empty();
/// # let _ = empty;
/// ```
pub struct Body(Inner);

enum Inner {
    Empty,
    Full(Option<Bytes>),
    Incoming {
        body: hyper::body::Incoming,
        /// Bytes that may still be read before the limit is crossed.
        remaining: usize,
        limit: usize,
    },
    Boxed(BoxBody),
    /// A body whose limit was set after it was made (a route's, for a body that came through
    /// middleware): what may still be read, and the limit.
    Limited {
        body: Box<Body>,
        remaining: usize,
        limit: usize,
    },
    /// A body that is `Send` but not `Sync` (a middleware's), made `Sync` by a lock that only
    /// the one task polling it ever takes.
    Unsync(Mutex<UnsyncBoxBody>),
}

impl Body {
    /// A body with no bytes.
    #[must_use]
    pub const fn empty() -> Self {
        Body(Inner::Empty)
    }

    /// Wraps any [`http_body::Body`], e.g. a stream built with `http-body-util`. It must be
    /// `Sync` as well as `Send`, so that a [`Request`](crate::Request) can be shared by
    /// reference across an `.await` (an `async` upgrade hook's `&Request`, for one).
    pub fn new<B>(body: B) -> Self
    where
        B: http_body::Body<Data = Bytes> + Send + Sync + 'static,
        B::Error: Into<BoxError>,
    {
        Body(Inner::Boxed(body.map_err(Into::into).boxed()))
    }

    /// Any `Send` body, as the one body type: itself when it is a `Body` already, boxed
    /// otherwise (behind a lock when it may not be `Sync`). Middleware hands the router
    /// bodies of its own types (`Limited<Body>`, a compression body); this is where they
    /// become a `Body` again.
    pub(crate) fn from_any<B>(body: B) -> Self
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let mut slot = Some(body);
        if let Some(body) = (&mut slot as &mut dyn Any).downcast_mut::<Option<Body>>() {
            return body.take().expect("bug: the slot was just filled");
        }
        let body = slot.take().expect("bug: the slot was just filled");
        Body(Inner::Unsync(Mutex::new(
            body.map_err(Into::into).boxed_unsync(),
        )))
    }

    /// This body, failing with "too large" once more than `limit` bytes have been read from
    /// now on, counting what was read under an earlier limit.
    pub(crate) fn limited(self, limit: usize) -> Self {
        match self.0 {
            Inner::Empty => self,
            Inner::Incoming {
                body,
                remaining,
                limit: before,
            } => Body(Inner::Incoming {
                body,
                remaining: limit.saturating_sub(before - remaining),
                limit,
            }),
            Inner::Limited {
                body,
                remaining,
                limit: before,
            } => Body(Inner::Limited {
                body,
                remaining: limit.saturating_sub(before - remaining),
                limit,
            }),
            _ => Body(Inner::Limited {
                body: Box::new(self),
                remaining: limit,
                limit,
            }),
        }
    }

    pub(crate) fn incoming(body: hyper::body::Incoming, limit: usize) -> Self {
        Body(Inner::Incoming {
            body,
            remaining: limit,
            limit,
        })
    }

    /// Reads the whole body into one buffer.
    ///
    /// # Errors
    ///
    /// Fails if the connection fails while reading, or the body is larger than the request
    /// body limit ([`BodyError::is_too_large`]).
    pub async fn to_bytes(self) -> Result<Bytes, BodyError> {
        match self.0 {
            Inner::Empty => Ok(Bytes::new()),
            Inner::Full(bytes) => Ok(bytes.unwrap_or_default()),
            _ => Ok(self.collect().await?.to_bytes()),
        }
    }
}

impl Default for Body {
    fn default() -> Self {
        Body::empty()
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.0 {
            Inner::Empty => "empty",
            Inner::Full(_) => "full",
            Inner::Incoming { .. } => "incoming",
            Inner::Boxed(_) | Inner::Unsync(_) => "boxed",
            Inner::Limited { .. } => "limited",
        };
        f.debug_tuple("Body").field(&kind).finish()
    }
}

macro_rules! body_from {
    ($($ty:ty => $conv:expr),* $(,)?) => {$(
        impl From<$ty> for Body {
            fn from(value: $ty) -> Self {
                let bytes: Bytes = ($conv)(value);
                Body(Inner::Full(Some(bytes)))
            }
        }
    )*};
}

body_from! {
    Bytes => |b| b,
    Vec<u8> => Bytes::from,
    String => Bytes::from,
    &'static str => |s: &'static str| Bytes::from_static(s.as_bytes()),
    &'static [u8] => Bytes::from_static,
    std::borrow::Cow<'static, str> => |c: std::borrow::Cow<'static, str>| match c {
        std::borrow::Cow::Borrowed(s) => Bytes::from_static(s.as_bytes()),
        std::borrow::Cow::Owned(s) => Bytes::from(s),
    },
}

impl From<()> for Body {
    fn from((): ()) -> Self {
        Body::empty()
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        match &mut self.get_mut().0 {
            Inner::Empty => Poll::Ready(None),
            Inner::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Inner::Incoming {
                body,
                remaining,
                limit,
            } => match Pin::new(body).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    if let Some(data) = frame.data_ref() {
                        if data.len() > *remaining {
                            return Poll::Ready(Some(Err(BodyError::too_large(*limit))));
                        }
                        *remaining -= data.len();
                    }
                    Poll::Ready(Some(Ok(frame)))
                }
                Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(BodyError::read(e)))),
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            },
            Inner::Boxed(body) => Pin::new(body)
                .poll_frame(cx)
                .map(|frame| frame.map(|r| r.map_err(BodyError::other))),
            Inner::Unsync(body) => Pin::new(body.get_mut().unwrap_or_else(PoisonError::into_inner))
                .poll_frame(cx)
                .map(|frame| frame.map(|r| r.map_err(BodyError::other))),
            Inner::Limited {
                body,
                remaining,
                limit,
            } => match Pin::new(&mut **body).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    if let Some(data) = frame.data_ref() {
                        if data.len() > *remaining {
                            return Poll::Ready(Some(Err(BodyError::too_large(*limit))));
                        }
                        *remaining -= data.len();
                    }
                    Poll::Ready(Some(Ok(frame)))
                }
                other => other,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.0 {
            Inner::Empty => true,
            Inner::Full(bytes) => bytes.is_none(),
            Inner::Incoming { body, .. } => body.is_end_stream(),
            Inner::Boxed(body) => body.is_end_stream(),
            other => rare_is_end_stream(other),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.0 {
            Inner::Empty => SizeHint::with_exact(0),
            Inner::Full(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            Inner::Incoming { body, .. } => body.size_hint(),
            Inner::Boxed(body) => body.size_hint(),
            other => rare_size_hint(other),
        }
    }
}

// The bodies of middleware, out of line: hyper asks every response body these questions
// several times, and the common kinds above stay small enough to be inlined there.

#[inline(never)]
fn rare_is_end_stream(inner: &Inner) -> bool {
    match inner {
        Inner::Unsync(body) => http_body::Body::is_end_stream(&*crate::sync::lock(body)),
        Inner::Limited { body, .. } => http_body::Body::is_end_stream(&**body),
        _ => unreachable!("bug: a common body kind reached the rare path"),
    }
}

#[inline(never)]
fn rare_size_hint(inner: &Inner) -> SizeHint {
    match inner {
        Inner::Unsync(body) => http_body::Body::size_hint(&*crate::sync::lock(body)),
        Inner::Limited { body, .. } => http_body::Body::size_hint(&**body),
        _ => unreachable!("bug: a common body kind reached the rare path"),
    }
}

/// Reading a request body failed.
///
/// Query it with [`is_too_large`](Self::is_too_large); the `Display` text is for people and
/// is not stable.
#[derive(Debug)]
pub struct BodyError {
    kind: BodyErrorKind,
}

#[derive(Debug)]
enum BodyErrorKind {
    TooLarge { limit: usize },
    Read(hyper::Error),
    Other(BoxError),
}

impl BodyError {
    pub(crate) fn too_large(limit: usize) -> Self {
        BodyError {
            kind: BodyErrorKind::TooLarge { limit },
        }
    }

    fn read(e: hyper::Error) -> Self {
        BodyError {
            kind: BodyErrorKind::Read(e),
        }
    }

    fn other(e: BoxError) -> Self {
        // A `Body` that went through middleware comes back wrapped in its error type.
        let e = match e.downcast::<BodyError>() {
            Ok(inner) => return *inner,
            Err(e) => e,
        };
        BodyError {
            kind: BodyErrorKind::Other(e),
        }
    }

    /// True if the body was larger than the request body limit.
    #[must_use]
    pub fn is_too_large(&self) -> bool {
        match &self.kind {
            BodyErrorKind::TooLarge { .. } => true,
            // tower-http's `RequestBodyLimitLayer` limits a body with `http_body_util::Limited`.
            BodyErrorKind::Other(e) => e.is::<http_body_util::LengthLimitError>(),
            BodyErrorKind::Read(_) => false,
        }
    }
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            BodyErrorKind::TooLarge { limit } => {
                write!(f, "request body is larger than the limit of {limit} bytes")
            }
            BodyErrorKind::Read(e) => write!(f, "failed to read the request body: {e}"),
            BodyErrorKind::Other(e) => write!(f, "body stream failed: {e}"),
        }
    }
}

impl std::error::Error for BodyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            BodyErrorKind::TooLarge { .. } => None,
            BodyErrorKind::Read(e) => Some(e),
            BodyErrorKind::Other(e) => Some(&**e),
        }
    }
}

#[cfg(test)]
mod send_sync {
    #[test]
    fn body_and_request_are_send_and_sync() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<super::Body>();
        send_sync::<crate::Request>();
    }
}
