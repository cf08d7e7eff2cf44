//! Turning handler return values into HTTP responses.

use std::borrow::Cow;
use std::convert::Infallible;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::StatusCode;

use crate::{Body, Response};

/// Anything a route handler can return.
///
/// Implemented for `&'static str` and `String` (`text/plain; charset=utf-8`), [`Json`],
/// [`Html`], `Bytes` and `Vec<u8>` (`application/octet-stream`), `()` (an empty `200`),
/// [`StatusCode`] (an empty body), `(StatusCode, body)`, `(StatusCode, headers, body)`,
/// `(headers, body)`, [`Response`] itself, and `Result<T, E>` where both `T` and `E` are
/// responses. Headers are anything that implements [`IntoResponseHeaders`], such as
/// `[(&str, &str); N]` or a [`HeaderMap`].
///
/// # Examples
///
/// Implementing it for your own error type, so handlers can use `?`:
///
/// ```
/// use hyperbun::{IntoResponse, Response, StatusCode};
///
/// enum AppError {
///     NotFound,
///     Database(String),
/// }
///
/// impl IntoResponse for AppError {
///     fn into_response(self) -> Response {
///         match self {
///             AppError::NotFound => (StatusCode::NOT_FOUND, "no such thing").into_response(),
///             AppError::Database(why) => {
///                 (StatusCode::INTERNAL_SERVER_ERROR, format!("database: {why}")).into_response()
///             }
///         }
///     }
/// }
///
/// let response = Err::<String, _>(AppError::NotFound).into_response();
/// assert_eq!(response.status(), StatusCode::NOT_FOUND);
/// let response = Err::<String, _>(AppError::Database("down".into())).into_response();
/// assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an HTTP response",
    label = "a handler must return a type that implements `IntoResponse`",
    note = "return a `String`, `&'static str`, `Json<T>`, `Html<T>`, `StatusCode`, `(StatusCode, body)`, \
            `Response`, or a `Result` of those; or implement `hyperbun::IntoResponse` for `{Self}`"
)]
pub trait IntoResponse {
    /// Builds the response.
    fn into_response(self) -> Response;
}

fn with_content_type(body: impl Into<Body>, content_type: &'static str) -> Response {
    let mut response = Response::new(body.into());
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

const TEXT: &str = "text/plain; charset=utf-8";
const OCTETS: &str = "application/octet-stream";

impl IntoResponse for Response {
    fn into_response(self) -> Response {
        self
    }
}

impl IntoResponse for () {
    fn into_response(self) -> Response {
        Response::new(Body::empty())
    }
}

impl IntoResponse for Infallible {
    fn into_response(self) -> Response {
        match self {}
    }
}

impl IntoResponse for &'static str {
    fn into_response(self) -> Response {
        with_content_type(self, TEXT)
    }
}

impl IntoResponse for String {
    fn into_response(self) -> Response {
        with_content_type(self, TEXT)
    }
}

impl IntoResponse for Cow<'static, str> {
    fn into_response(self) -> Response {
        with_content_type(self, TEXT)
    }
}

impl IntoResponse for Bytes {
    fn into_response(self) -> Response {
        with_content_type(self, OCTETS)
    }
}

impl IntoResponse for Vec<u8> {
    fn into_response(self) -> Response {
        with_content_type(self, OCTETS)
    }
}

impl IntoResponse for Body {
    fn into_response(self) -> Response {
        Response::new(self)
    }
}

impl IntoResponse for StatusCode {
    fn into_response(self) -> Response {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = self;
        response
    }
}

impl<T: IntoResponse, E: IntoResponse> IntoResponse for Result<T, E> {
    fn into_response(self) -> Response {
        match self {
            Ok(ok) => ok.into_response(),
            Err(err) => err.into_response(),
        }
    }
}

impl<B: IntoResponse> IntoResponse for (StatusCode, B) {
    fn into_response(self) -> Response {
        let mut response = self.1.into_response();
        *response.status_mut() = self.0;
        response
    }
}

impl<H: IntoResponseHeaders, B: IntoResponse> IntoResponse for (StatusCode, H, B) {
    fn into_response(self) -> Response {
        let (status, headers, body) = self;
        let mut response = (headers, body).into_response();
        *response.status_mut() = status;
        response
    }
}

impl<H: IntoResponseHeaders, B: IntoResponse> IntoResponse for (H, B) {
    fn into_response(self) -> Response {
        let (headers, body) = self;
        let mut response = body.into_response();
        match headers.apply(response.headers_mut()) {
            Ok(()) => response,
            Err(e) => {
                tracing::error!(target: "hyperbun::rejection", "invalid response header: {e}");
                (StatusCode::INTERNAL_SERVER_ERROR, "invalid response header").into_response()
            }
        }
    }
}

/// Extra headers in a `(StatusCode, headers, body)` or `(headers, body)` response.
///
/// Implemented for [`HeaderMap`], arrays and `Vec`s of `(name, value)` pairs where the name
/// converts to a [`HeaderName`] and the value to a [`HeaderValue`] (e.g. `&str`, `String`).
/// A pair that does not convert (an invalid header name or value) turns the response into a
/// `500` and logs why at `error` on the `hyperbun::rejection` target.
///
/// # Examples
///
/// ```
/// use hyperbun::{IntoResponse, StatusCode};
///
/// let response = (StatusCode::CREATED, [("location", "/users/7")], "created").into_response();
/// assert_eq!(response.headers()["location"], "/users/7");
/// ```
pub trait IntoResponseHeaders {
    /// Inserts the headers, replacing existing values of the same name.
    ///
    /// # Errors
    ///
    /// Returns an error if a name or value is not a valid HTTP header.
    fn apply(self, headers: &mut HeaderMap) -> Result<(), http::Error>;
}

impl IntoResponseHeaders for HeaderMap {
    fn apply(self, headers: &mut HeaderMap) -> Result<(), http::Error> {
        headers.extend(self);
        Ok(())
    }
}

fn apply_pairs<K, V>(
    pairs: impl IntoIterator<Item = (K, V)>,
    headers: &mut HeaderMap,
) -> Result<(), http::Error>
where
    K: TryInto<HeaderName>,
    K::Error: Into<http::Error>,
    V: TryInto<HeaderValue>,
    V::Error: Into<http::Error>,
{
    for (name, value) in pairs {
        let name = name.try_into().map_err(Into::into)?;
        let value = value.try_into().map_err(Into::into)?;
        headers.insert(name, value);
    }
    Ok(())
}

impl<K, V, const N: usize> IntoResponseHeaders for [(K, V); N]
where
    K: TryInto<HeaderName>,
    K::Error: Into<http::Error>,
    V: TryInto<HeaderValue>,
    V::Error: Into<http::Error>,
{
    fn apply(self, headers: &mut HeaderMap) -> Result<(), http::Error> {
        apply_pairs(self, headers)
    }
}

impl<K, V> IntoResponseHeaders for Vec<(K, V)>
where
    K: TryInto<HeaderName>,
    K::Error: Into<http::Error>,
    V: TryInto<HeaderValue>,
    V::Error: Into<http::Error>,
{
    fn apply(self, headers: &mut HeaderMap) -> Result<(), http::Error> {
        apply_pairs(self, headers)
    }
}

/// A JSON body: as a response it serializes `T` with `application/json`; as an extractor it
/// parses the request body (see [`JsonRejection`](crate::JsonRejection) for its rejections).
///
/// # Examples
///
/// ```
/// use hyperbun::prelude::*;
///
/// #[derive(serde::Serialize)]
/// struct User { id: u64, name: String }
///
/// #[get("/users/:id")]
/// async fn user(id: u64) -> Json<User> {
///     Json(User { id, name: "Ada".into() })
/// }
/// # fn main() { let _ = hyperbun::router![user]; }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(bytes) => with_content_type(bytes, "application/json"),
            Err(e) => {
                tracing::error!(target: "hyperbun::rejection", "failed to serialize a JSON response: {e}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "failed to serialize the response",
                )
                    .into_response()
            }
        }
    }
}

/// An HTML response (`text/html; charset=utf-8`).
///
/// # Examples
///
/// ```
/// use hyperbun::{Html, IntoResponse};
///
/// let page = Html("<h1>Hello</h1>").into_response();
/// assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Html<T>(pub T);

impl<T: Into<Body>> IntoResponse for Html<T> {
    fn into_response(self) -> Response {
        with_content_type(self.0, "text/html; charset=utf-8")
    }
}
