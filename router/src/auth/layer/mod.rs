//! The tower layer: the sign-in routes it answers itself, and the session it puts on every
//! other request.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{
    ALLOW, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, LOCATION, SET_COOKIE, WWW_AUTHENTICATE,
};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use serde::Deserialize;

use super::builder::Inner;
use super::oauth::{clear_signin_cookie, Pending, Provider};
use super::session::{unix_now, Session};

/// The [`Auth`](super::Auth) layer: wraps a service in an [`AuthService`]. From
/// [`Auth::layer`](super::Auth::layer); `Clone + Send + Sync`.
#[derive(Clone)]
pub struct AuthLayer {
    pub(super) auth: Arc<Inner>,
}

impl fmt::Debug for AuthLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthLayer")
            .field("path", &self.auth.path)
            .finish_non_exhaustive()
    }
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> AuthService<S> {
        AuthService {
            inner,
            auth: Arc::clone(&self.auth),
        }
    }
}

/// The service [`AuthLayer`] makes: answers the sign-in routes itself, and hands every other
/// request to the wrapped service with its [`Session`] (if any) in the extensions.
///
/// It is generic over the request body (it never reads it) and the response body: its own
/// answers are built as `String`s and converted with `From<String>`, which
/// [`hyperbun::Body`](crate::Body), `http_body_util::Full<Bytes>` and `String` itself
/// implement. It never fails by itself: its errors are the wrapped service's.
#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    auth: Arc<Inner>,
}

impl<S> fmt::Debug for AuthService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthService")
            .field("path", &self.auth.path)
            .finish_non_exhaustive()
    }
}

/// The future of an [`AuthService`] call.
pub type AuthFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, ReqBody, ResBody> tower::Service<Request<ReqBody>> for AuthService<S>
where
    S: tower::Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: From<String> + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = AuthFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let auth = Arc::clone(&self.auth);
        if let Some(route) = auth.own_route(req.method(), req.uri().path()) {
            let (parts, _body) = req.into_parts();
            return Box::pin(async move {
                let answer = auth.answer(route, &parts).await;
                Ok(answer.map(ResBody::from))
            });
        }
        // The clone takes the place of the service that was polled ready (tower's rule).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let reissue = match auth.identify(req.headers()) {
            Identity::Anonymous => None,
            Identity::Session { session, reissue } => {
                req.extensions_mut().insert(session);
                reissue
            }
            Identity::Refused(answer) => {
                // An `async` block, not `ready(..)`: it holds the `String` answer, so the
                // wrapped service's error need not be `Send`.
                return Box::pin(async move { Ok(answer.map(ResBody::from)) });
            }
        };
        Box::pin(async move {
            let mut response = inner.call(req).await?;
            if let Some(cookie) = reissue {
                if !response.status().is_informational() {
                    response.headers_mut().append(SET_COOKIE, cookie);
                }
            }
            Ok(response)
        })
    }
}

/// One of the layer's own routes.
#[derive(Debug)]
enum Route {
    /// The provider's index.
    SignIn(usize),
    /// The provider's index.
    Callback(usize),
    SignOut,
    Session,
    /// `signin/x` or `callback/x` for a provider that does not exist.
    NoProvider(String),
    /// A route of the layer with a method it does not answer.
    Method(&'static str),
}

/// Who a request is.
enum Identity {
    Anonymous,
    Session {
        session: Session,
        /// A `Set-Cookie` sealing the session under the current key.
        reissue: Option<HeaderValue>,
    },
    /// A bearer token that did not verify: `401`, the app is not asked.
    Refused(Response<String>),
}

#[derive(Deserialize)]
struct SignInQuery {
    return_to: Option<String>,
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

impl Inner {
    /// The layer's route for `path`, if it is one.
    fn own_route(&self, method: &Method, path: &str) -> Option<Route> {
        let rest = path.strip_prefix(self.path.as_str())?;
        let read = method == Method::GET || method == Method::HEAD;
        let provider = |name: &str| self.providers.iter().position(|p| p.name() == name);
        let route = if let Some(name) = rest.strip_prefix("/signin/") {
            match provider(name) {
                Some(p) if read => Route::SignIn(p),
                Some(_) => Route::Method("GET, HEAD"),
                None => Route::NoProvider(name.to_owned()),
            }
        } else if let Some(name) = rest.strip_prefix("/callback/") {
            match provider(name) {
                Some(p) if read => Route::Callback(p),
                Some(_) => Route::Method("GET, HEAD"),
                None => Route::NoProvider(name.to_owned()),
            }
        } else if rest == "/signout" {
            if read || method == Method::POST {
                Route::SignOut
            } else {
                Route::Method("GET, HEAD, POST")
            }
        } else if rest == "/session" {
            if read {
                Route::Session
            } else {
                Route::Method("GET, HEAD")
            }
        } else {
            return None;
        };
        Some(route)
    }

    /// The answer to one of the layer's routes.
    async fn answer(&self, route: Route, parts: &http::request::Parts) -> Response<String> {
        let mut answer = match route {
            Route::SignIn(i) => self.sign_in(&self.providers[i], parts),
            Route::Callback(i) => self.callback(&self.providers[i], parts).await,
            Route::SignOut => self.sign_out(),
            Route::Session => self.session(&parts.headers),
            Route::NoProvider(name) => text(
                StatusCode::NOT_FOUND,
                format!("no sign-in provider named `{}`", printable(&name)),
            ),
            Route::Method(allow) => {
                let mut answer = text(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
                answer
                    .headers_mut()
                    .insert(ALLOW, HeaderValue::from_static(allow));
                answer
            }
        };
        answer
            .headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        answer
    }

    /// `GET {path}/signin/{provider}[?return_to=/local/path]`: to the provider, with a sign-in
    /// cookie holding the state and the PKCE verifier.
    fn sign_in(&self, provider: &Provider, parts: &http::request::Parts) -> Response<String> {
        let query = parts.uri.query().unwrap_or_default();
        let Ok(query) = serde_urlencoded::from_str::<SignInQuery>(query) else {
            return text(StatusCode::BAD_REQUEST, "invalid query string");
        };
        let return_to = match query.return_to {
            None => None,
            Some(path) if is_local_path(&path) => Some(path),
            Some(_) => {
                return text(
                    StatusCode::BAD_REQUEST,
                    "return_to must be a path on this site, such as /dashboard",
                );
            }
        };
        let Some(cookies) = &self.cookies else {
            unreachable!("bug: build() refuses providers without a key")
        };
        let (url, cookie) = provider.start(
            return_to,
            cookies.keys(),
            &self.callback_path(),
            self.secure,
        );
        tracing::debug!(target: "hyperbun::auth", provider = provider.name(), "sign-in started");
        let Ok(location) = HeaderValue::try_from(url) else {
            return text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the authorization URL is not a valid header",
            );
        };
        let mut answer = text(StatusCode::FOUND, "");
        answer.headers_mut().insert(LOCATION, location);
        answer.headers_mut().append(SET_COOKIE, cookie);
        answer
    }

    /// `GET {path}/callback/{provider}?code&state`: checks the state, exchanges the code,
    /// fetches the user, and signs them in.
    async fn callback(
        &self,
        provider: &Provider,
        parts: &http::request::Parts,
    ) -> Response<String> {
        let name = provider.name();
        let mut spent = true;
        let mut answer = match self.sign_in_user(provider, parts).await {
            Ok((session, return_to)) => {
                tracing::info!(
                    target: "hyperbun::auth",
                    provider = name,
                    user.id = %session.user.id,
                    user.login = %session.user.login,
                    "signed in"
                );
                let cookies = self
                    .cookies
                    .as_ref()
                    .expect("bug: build() refuses providers without a key");
                let mut answer = text(StatusCode::FOUND, "");
                let location = HeaderValue::try_from(return_to.unwrap_or_else(|| "/".to_owned()))
                    .unwrap_or(HeaderValue::from_static("/"));
                answer.headers_mut().insert(LOCATION, location);
                answer
                    .headers_mut()
                    .append(SET_COOKIE, cookies.issue(&session));
                answer
            }
            Err(failure) => {
                spent = !failure.keep_signin;
                if failure.status.is_server_error() {
                    tracing::warn!(target: "hyperbun::auth", provider = name, status = failure.status.as_u16(), reason = %failure.reason, "sign-in failed");
                } else {
                    tracing::debug!(target: "hyperbun::auth", provider = name, status = failure.status.as_u16(), reason = %failure.reason, "sign-in refused");
                }
                text(
                    failure.status,
                    format!("sign-in with {name} failed: {}", failure.reason),
                )
            }
        };
        // Once the callback matched the sign-in, its state and verifier are spent, whatever
        // came of them. A callback with another `state` is not this browser's sign-in: it
        // leaves it in place, so a forged link cannot cancel a sign-in in progress.
        if spent {
            answer.headers_mut().append(
                SET_COOKIE,
                clear_signin_cookie(&self.callback_path(), self.secure),
            );
        }
        answer
    }

    async fn sign_in_user(
        &self,
        provider: &Provider,
        parts: &http::request::Parts,
    ) -> Result<(Session, Option<String>), super::oauth::Failure> {
        use super::oauth::Failure;
        let bad = |reason: &str| Failure::new(StatusCode::BAD_REQUEST, reason);
        let query = parts.uri.query().unwrap_or_default();
        let query: CallbackQuery =
            serde_urlencoded::from_str(query).map_err(|_| bad("invalid query string"))?;
        let cookies = self
            .cookies
            .as_ref()
            .expect("bug: build() refuses providers without a key");
        let pending = Pending::from_cookie(cookies.keys(), &parts.headers).ok_or_else(|| {
            bad("no sign-in in progress (its cookie is missing or expired); start again")
        })?;
        let state = query.state.ok_or_else(|| Failure {
            keep_signin: true,
            ..bad("the callback has no `state`")
        })?;
        pending
            .check(provider.name(), &state)
            .map_err(|why| Failure {
                keep_signin: true,
                ..bad(why)
            })?;
        // The provider's answer to this very sign-in: the user declined, or it failed.
        if let Some(error) = query.error {
            return Err(Failure::new(
                StatusCode::FORBIDDEN,
                format!("the provider answered `{}`", printable(&error)),
            ));
        }
        let code = query
            .code
            .ok_or_else(|| bad("the callback has no `code`"))?;
        let return_to = pending.return_to.clone();
        let user = provider.finish(code, pending, &self.http).await?;
        let session = Session {
            user,
            provider: provider.name().to_owned(),
            expires_at: unix_now() + self.ttl.as_secs(),
            claims: serde_json::Value::Null,
        };
        Ok((session, return_to))
    }

    /// `GET|POST {path}/signout`: deletes the session cookie, back to `/`.
    fn sign_out(&self) -> Response<String> {
        let mut answer = text(StatusCode::FOUND, "");
        answer
            .headers_mut()
            .insert(LOCATION, HeaderValue::from_static("/"));
        if let Some(cookies) = &self.cookies {
            answer.headers_mut().append(SET_COOKIE, cookies.clear());
        }
        answer
    }

    /// `GET {path}/session`: the session as JSON, or `401`.
    fn session(&self, headers: &HeaderMap) -> Response<String> {
        match self.identify(headers) {
            Identity::Session { session, reissue } => {
                let json = serde_json::to_string(&session).expect("bug: a Session serializes");
                let mut answer = with_type(StatusCode::OK, json, "application/json");
                if let Some(cookie) = reissue {
                    answer.headers_mut().append(SET_COOKIE, cookie);
                }
                answer
            }
            Identity::Anonymous => with_type(
                StatusCode::UNAUTHORIZED,
                r#"{"error":"sign in first"}"#.to_owned(),
                "application/json",
            ),
            Identity::Refused(answer) => answer,
        }
    }

    /// The request's session: a bearer JWT (when configured) or the session cookie.
    fn identify(&self, headers: &HeaderMap) -> Identity {
        if let Some(jwt) = &self.jwt {
            if let Some(token) = bearer(headers) {
                let verified = jwt
                    .verify::<serde_json::Value>(token)
                    .map_err(|e| e.to_string())
                    .and_then(|claims| Session::from_claims(claims).map_err(str::to_owned));
                return match verified {
                    Ok(session) => Identity::Session {
                        session,
                        reissue: None,
                    },
                    Err(reason) => {
                        tracing::debug!(target: "hyperbun::auth", %reason, "bearer token refused");
                        Identity::Refused(invalid_token(&reason))
                    }
                };
            }
        }
        let Some(cookies) = &self.cookies else {
            return Identity::Anonymous;
        };
        match cookies.read(headers) {
            Some(found) => Identity::Session {
                reissue: found.reissue.then(|| cookies.issue(&found.session)),
                session: found.session,
            },
            None => Identity::Anonymous,
        }
    }

    /// Where the sign-in cookie is sent back: the callback routes only.
    fn callback_path(&self) -> String {
        format!("{}/callback", self.path)
    }
}

/// The token of an `Authorization: Bearer …` header.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// `401` with `WWW-Authenticate: Bearer error="invalid_token"` (RFC 6750 §3.1).
fn invalid_token(reason: &str) -> Response<String> {
    let mut answer = text(
        StatusCode::UNAUTHORIZED,
        format!("invalid bearer token: {reason}"),
    );
    let description: String = reason
        .chars()
        .filter(|c| c.is_ascii_graphic() && *c != '"' && *c != '\\' || *c == ' ')
        .collect();
    let challenge = HeaderValue::try_from(format!(
        r#"Bearer error="invalid_token", error_description="{description}""#
    ))
    .unwrap_or(HeaderValue::from_static(r#"Bearer error="invalid_token""#));
    answer.headers_mut().insert(WWW_AUTHENTICATE, challenge);
    answer
}

/// A path on this site: `/…`, not `//host` or `/\host` (which browsers read as another
/// host), no control characters.
fn is_local_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && !path.chars().any(|c| c.is_control() || c == '\\')
        && path.parse::<http::uri::PathAndQuery>().is_ok()
}

/// At most 64 characters of `s`, without control characters (it came from the request).
fn printable(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(64).collect()
}

fn text(status: StatusCode, body: impl Into<String>) -> Response<String> {
    with_type(status, body.into(), "text/plain; charset=utf-8")
}

fn with_type(status: StatusCode, body: String, content_type: &'static str) -> Response<String> {
    let mut answer = Response::new(body);
    *answer.status_mut() = status;
    answer
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    answer
}

#[cfg(test)]
mod tests;
