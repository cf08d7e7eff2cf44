//! Extractors: how handler arguments are produced from a request.
//!
//! A route handler's arguments are either **path parameters** (an argument whose name matches
//! a `:param` or `*rest` in the route path; parsed with [`FromStr`](std::str::FromStr)) or
//! **extractors**. Every argument but the last must implement [`FromRequestParts`]: it reads
//! the request head (method, URI, headers) and leaves the body alone. The last argument may
//! also implement [`FromRequest`], which consumes the whole request, body included (`Json`,
//! `Form`, `Bytes`, `String`, [`Request`]). Both rules are checked at compile time.

use std::future::Future;

use bytes::Bytes;
use http::request::Parts;
use http::{header, HeaderMap, Method, StatusCode, Uri};
use serde::de::DeserializeOwned;

use crate::rejection::{body_error, BodyRejection, FormRejection, JsonRejection, QueryRejection};
pub use crate::routing::RequestContext;
use crate::{Addr, Json, Request, Server};

/// An extractor that reads only the request head, so any argument may use it.
///
/// # Examples
///
/// An extractor for a bearer token:
///
/// ```
/// use hyperbun::prelude::*;
/// use hyperbun::extract::{FromRequestParts, RequestContext};
/// use hyperbun::http::request::Parts;
///
/// struct Bearer(String);
///
/// impl FromRequestParts for Bearer {
///     type Rejection = (StatusCode, &'static str);
///
///     async fn from_request_parts(parts: &mut Parts, _cx: &RequestContext) -> Result<Self, Self::Rejection> {
///         parts
///             .headers
///             .get("authorization")
///             .and_then(|v| v.to_str().ok())
///             .and_then(|v| v.strip_prefix("Bearer "))
///             .map(|token| Bearer(token.to_owned()))
///             .ok_or((StatusCode::UNAUTHORIZED, "missing bearer token"))
///     }
/// }
///
/// #[get("/me")]
/// async fn me(token: Bearer) -> String {
///     format!("token {}", token.0)
/// }
/// # fn main() { let _ = hyperbun::router![me]; }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a handler argument here",
    label = "not a path parameter, and not an extractor that can be used here",
    note = "an argument named like a `:param` of the route path receives that parameter; \
            every other argument is an extractor",
    note = "any argument may be an extractor that leaves the body alone: `Query<T>`, `HeaderMap`, \
            `Method`, `Uri`, `Server`, `RemoteAddr`, `Option<T>`, or a type that implements \
            `hyperbun::extract::FromRequestParts`",
    note = "only the last argument may read the body: `Json<T>`, `Form<T>`, `Bytes`, `String`, \
            `Request`, or a type that implements `hyperbun::extract::FromRequest`; \
            move such an argument to the end",
    note = "`Query<T>`, `Json<T>` and `Form<T>` need `T: serde::Deserialize`: \
            `#[derive(serde::Deserialize)]`"
)]
pub trait FromRequestParts: Sized {
    /// The response sent instead of calling the handler when extraction fails.
    type Rejection: crate::IntoResponse;

    /// Extracts the value from the request head.
    fn from_request_parts(
        parts: &mut Parts,
        cx: &RequestContext,
    ) -> impl Future<Output = Result<Self, Self::Rejection>> + Send;
}

/// An extractor that may consume the whole request, body included. Only a handler's last
/// argument may use one. Every [`FromRequestParts`] type is one too.
///
/// # Examples
///
/// A body extractor: lines of text, at most 100 of them.
///
/// ```
/// use hyperbun::extract::{FromRequest, RequestContext};
/// use hyperbun::prelude::*;
/// use hyperbun::test::TestServer;
/// use http_body_util::BodyExt;
///
/// struct Lines(Vec<String>);
///
/// impl FromRequest for Lines {
///     type Rejection = (StatusCode, String);
///
///     async fn from_request(req: Request, _cx: &RequestContext) -> Result<Self, Self::Rejection> {
///         let bad = |why: String| (StatusCode::BAD_REQUEST, why);
///         let body = req.into_body().collect().await.map_err(|e| bad(e.to_string()))?;
///         let text = String::from_utf8(body.to_bytes().to_vec()).map_err(|e| bad(e.to_string()))?;
///         let lines: Vec<String> = text.lines().map(str::to_owned).collect();
///         if lines.len() > 100 {
///             return Err(bad(format!("{} lines; at most 100", lines.len())));
///         }
///         Ok(Lines(lines))
///     }
/// }
///
/// #[post("/count")]
/// async fn count(lines: Lines) -> String {
///     lines.0.len().to_string()
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let app = TestServer::start(hyperbun::router![count]).await;
/// let body = Bytes::from("a\nb\nc");
/// let answer = app.request(Method::POST, "/count", HeaderMap::new(), body).await;
/// assert_eq!(answer.text(), "3");
/// app.stop().await;
/// # }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a handler argument",
    label = "not a path parameter, and not an extractor",
    note = "an argument named like a `:param` of the route path receives that parameter; \
            every other argument is an extractor",
    note = "extractors are `Query<T>`, `HeaderMap`, `Method`, `Uri`, `Server`, `RemoteAddr`, \
            `Option<T>`, and as the last argument `Json<T>`, `Form<T>`, `Bytes`, `String` or \
            `Request`; implement `hyperbun::extract::FromRequestParts` (or `FromRequest`, which may \
            read the body) for your own",
    note = "`Query<T>`, `Json<T>` and `Form<T>` need `T: serde::Deserialize`: \
            `#[derive(serde::Deserialize)]`"
)]
pub trait FromRequest: Sized {
    /// The response sent instead of calling the handler when extraction fails.
    type Rejection: crate::IntoResponse;

    /// Extracts the value from the request.
    fn from_request(
        req: Request,
        cx: &RequestContext,
    ) -> impl Future<Output = Result<Self, Self::Rejection>> + Send;
}

impl<T: FromRequestParts> FromRequest for T {
    type Rejection = T::Rejection;

    async fn from_request(req: Request, cx: &RequestContext) -> Result<Self, Self::Rejection> {
        let (mut parts, _body) = req.into_parts();
        T::from_request_parts(&mut parts, cx).await
    }
}

/// The whole request, as the last argument.
impl FromRequest for Request {
    type Rejection = std::convert::Infallible;

    async fn from_request(req: Request, _cx: &RequestContext) -> Result<Self, Self::Rejection> {
        Ok(req)
    }
}

impl<T: FromRequestParts + Send> FromRequestParts for Option<T> {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        cx: &RequestContext,
    ) -> Result<Self, Self::Rejection> {
        Ok(T::from_request_parts(parts, cx).await.ok())
    }
}

macro_rules! from_parts {
    ($($(#[$doc:meta])* $ty:ty => |$parts:ident, $cx:ident| $value:expr;)*) => {$(
        $(#[$doc])*
        impl FromRequestParts for $ty {
            type Rejection = std::convert::Infallible;

            async fn from_request_parts(
                $parts: &mut Parts,
                $cx: &RequestContext,
            ) -> Result<Self, Self::Rejection> {
                Ok($value)
            }
        }
    )*};
}

from_parts! {
    /// A copy of the request headers.
    HeaderMap => |parts, _cx| parts.headers.clone();
    /// The request method.
    Method => |parts, _cx| parts.method.clone();
    /// The request URI.
    Uri => |parts, _cx| parts.uri.clone();
    /// The handle of the server that received the request.
    Server => |_parts, cx| cx.server.clone();
    /// The peer's address.
    RemoteAddr => |_parts, cx| RemoteAddr(cx.remote_addr.clone());
}

/// The address of the client that sent the request: the TCP peer, or [`Addr::Unix`] on a
/// [Unix socket](crate::Router::listen_unix).
///
/// # Examples
///
/// ```
/// use hyperbun::prelude::*;
///
/// #[get("/whoami")]
/// async fn whoami(RemoteAddr(addr): RemoteAddr) -> String {
///     addr.to_string()
/// }
/// # fn main() { let _ = hyperbun::router![whoami]; }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteAddr(pub Addr);

/// The query string, deserialized with serde (`400 Bad Request` if it does not fit `T`).
///
/// # Examples
///
/// ```
/// use hyperbun::prelude::*;
///
/// #[derive(serde::Deserialize)]
/// struct Page { page: Option<u32>, per_page: Option<u32> }
///
/// #[get("/items")]
/// async fn items(Query(p): Query<Page>) -> String {
///     format!("page {} ({} per page)", p.page.unwrap_or(1), p.per_page.unwrap_or(20))
/// }
/// # fn main() { let _ = hyperbun::router![items]; }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned> FromRequestParts for Query<T> {
    type Rejection = QueryRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _cx: &RequestContext,
    ) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        serde_urlencoded::from_str(query).map(Query).map_err(|e| {
            QueryRejection::new(
                StatusCode::BAD_REQUEST,
                format!("invalid query string: {e}"),
            )
        })
    }
}

fn content_type_is(headers: &HeaderMap, want: &str, suffix: Option<&str>) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case(want)
        || suffix.is_some_and(|s| {
            essence.len() > s.len()
                && essence
                    .get(essence.len() - s.len()..)
                    .is_some_and(|end| end.eq_ignore_ascii_case(s))
                && essence.contains('/')
        })
}

/// The body of a request whose `Content-Type` must be `want` (or, with `suffix`, end in it,
/// like `application/ld+json`): `415` for another type, `413` over the body limit.
async fn read_typed_body(
    req: Request,
    want: &str,
    suffix: Option<&str>,
) -> Result<Bytes, (StatusCode, String)> {
    if !content_type_is(req.headers(), want, suffix) {
        return Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("expected a request with `Content-Type: {want}`"),
        ));
    }
    req.into_body().to_bytes().await.map_err(|e| body_error(&e))
}

/// The request body parsed as JSON: `415` unless `Content-Type` is `application/json` (or
/// `…+json`), `413` over the body limit, `400` if it does not parse or does not fit `T`.
impl<T: DeserializeOwned> FromRequest for Json<T> {
    type Rejection = JsonRejection;

    async fn from_request(req: Request, _cx: &RequestContext) -> Result<Self, Self::Rejection> {
        let bytes = read_typed_body(req, "application/json", Some("+json"))
            .await
            .map_err(|(status, message)| JsonRejection::new(status, message))?;
        serde_json::from_slice(&bytes).map(Json).map_err(|e| {
            JsonRejection::new(StatusCode::BAD_REQUEST, format!("invalid JSON body: {e}"))
        })
    }
}

/// An `application/x-www-form-urlencoded` body, deserialized with serde: `415` for another
/// `Content-Type`, `413` over the body limit, `400` if it does not fit `T`.
///
/// # Examples
///
/// ```
/// use hyperbun::prelude::*;
///
/// #[derive(serde::Deserialize)]
/// struct Login { user: String }
///
/// #[post("/login")]
/// async fn login(Form(form): Form<Login>) -> String {
///     format!("hello {}", form.user)
/// }
/// # fn main() { let _ = hyperbun::router![login]; }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Form<T>(pub T);

impl<T: DeserializeOwned> FromRequest for Form<T> {
    type Rejection = FormRejection;

    async fn from_request(req: Request, _cx: &RequestContext) -> Result<Self, Self::Rejection> {
        let bytes = read_typed_body(req, "application/x-www-form-urlencoded", None)
            .await
            .map_err(|(status, message)| FormRejection::new(status, message))?;
        serde_urlencoded::from_bytes(&bytes).map(Form).map_err(|e| {
            FormRejection::new(StatusCode::BAD_REQUEST, format!("invalid form body: {e}"))
        })
    }
}

/// The raw request body (`413` over the body limit).
impl FromRequest for Bytes {
    type Rejection = BodyRejection;

    async fn from_request(req: Request, _cx: &RequestContext) -> Result<Self, Self::Rejection> {
        req.into_body().to_bytes().await.map_err(|e| {
            let (status, message) = body_error(&e);
            BodyRejection::new(status, message)
        })
    }
}

/// The request body as UTF-8 text (`413` over the body limit, `400` if it is not UTF-8).
impl FromRequest for String {
    type Rejection = BodyRejection;

    async fn from_request(req: Request, cx: &RequestContext) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, cx).await?;
        String::from_utf8(bytes.into()).map_err(|_| {
            BodyRejection::new(StatusCode::BAD_REQUEST, "request body is not valid UTF-8")
        })
    }
}

/// A value a middleware put in the request's extensions (a user, a tenant, a request id):
/// cloned out of them. `500 Internal Server Error` if no middleware put one there, which is a
/// mistake in the application, not in the request; take `Option<Extension<T>>` where the
/// value is optional.
///
/// # Examples
///
/// See [`from_fn`](crate::middleware::from_fn).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Extension<T>(pub T);

impl<T: Clone + Send + Sync + 'static> FromRequestParts for Extension<T> {
    type Rejection = (StatusCode, String);

    async fn from_request_parts(
        parts: &mut Parts,
        _cx: &RequestContext,
    ) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<T>() {
            Some(value) => Ok(Extension(value.clone())),
            None => {
                let name = std::any::type_name::<T>();
                tracing::error!(target: "hyperbun::server", "no request extension of type `{name}`: is the middleware that inserts it missing?");
                Err((
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("Internal Server Error: missing request extension `{name}`"),
                ))
            }
        }
    }
}
