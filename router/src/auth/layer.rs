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

impl<S> tower_layer::Layer<S> for AuthLayer {
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

impl<S, ReqBody, ResBody> tower_service::Service<Request<ReqBody>> for AuthService<S>
where
    S: tower_service::Service<Request<ReqBody>, Response = Response<ResBody>>
        + Clone
        + Send
        + 'static,
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
        // The sign-in is over either way: its state and verifier are spent.
        answer.headers_mut().append(
            SET_COOKIE,
            clear_signin_cookie(&self.callback_path(), self.secure),
        );
        answer
    }

    async fn sign_in_user(
        &self,
        provider: &Provider,
        parts: &http::request::Parts,
    ) -> Result<(Session, Option<String>), super::oauth::Failure> {
        use super::oauth::Failure;
        let refuse = |status, reason: &str| Failure {
            status,
            reason: reason.to_owned(),
        };
        let query = parts.uri.query().unwrap_or_default();
        let query: CallbackQuery = serde_urlencoded::from_str(query)
            .map_err(|_| refuse(StatusCode::BAD_REQUEST, "invalid query string"))?;
        if let Some(error) = query.error {
            return Err(Failure {
                status: StatusCode::FORBIDDEN,
                reason: format!("the provider answered `{}`", printable(&error)),
            });
        }
        let cookies = self
            .cookies
            .as_ref()
            .expect("bug: build() refuses providers without a key");
        let pending = Pending::from_cookie(cookies.keys(), &parts.headers).ok_or_else(|| {
            refuse(
                StatusCode::BAD_REQUEST,
                "no sign-in in progress (its cookie is missing or expired); start again",
            )
        })?;
        let state = query
            .state
            .ok_or_else(|| refuse(StatusCode::BAD_REQUEST, "the callback has no `state`"))?;
        pending
            .check(provider.name(), &state)
            .map_err(|why| refuse(StatusCode::BAD_REQUEST, why))?;
        let code = query
            .code
            .ok_or_else(|| refuse(StatusCode::BAD_REQUEST, "the callback has no `code`"))?;
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
mod tests {
    //! The layer over a small app service, against a fake OAuth2 provider served by hyperbun
    //! on 127.0.0.1 (the provider is real HTTP; the app is called as a tower service).

    use std::collections::{HashMap, HashSet};
    use std::convert::Infallible;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Mutex, OnceLock};

    use base64::Engine;
    use http::header::COOKIE;
    use tower_layer::Layer;
    use tower_service::Service;

    use super::*;
    use crate::auth::{Auth, GitHub, Jwt, Key, OAuthProvider};
    use crate::test::TestServer;
    use crate::{get, post, Form, Query};
    use http::{Request, Response};

    const CLIENT_ID: &str = "fake-client";
    const CLIENT_SECRET: &str = "fake-client-secret-5d1e";

    /// What the fake provider remembers about a code it issued.
    struct Grant {
        challenge: String,
        redirect_uri: String,
    }

    fn codes() -> &'static Mutex<HashMap<String, Grant>> {
        static CODES: OnceLock<Mutex<HashMap<String, Grant>>> = OnceLock::new();
        CODES.get_or_init(Default::default)
    }

    fn tokens() -> &'static Mutex<HashSet<String>> {
        static TOKENS: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
        TOKENS.get_or_init(Default::default)
    }

    fn fresh(prefix: &str) -> String {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        format!(
            "{prefix}-{}-{}",
            NEXT.fetch_add(1, Ordering::Relaxed),
            unix_now()
        )
    }

    #[derive(serde::Deserialize)]
    struct AuthorizeQuery {
        client_id: String,
        redirect_uri: String,
        state: String,
        code_challenge: String,
        code_challenge_method: String,
    }

    #[get("/authorize")]
    async fn authorize(Query(q): Query<AuthorizeQuery>) -> (StatusCode, HeaderMap, String) {
        if q.client_id.is_empty() || q.code_challenge_method != "S256" {
            return (
                StatusCode::BAD_REQUEST,
                HeaderMap::new(),
                "bad request".into(),
            );
        }
        let code = fresh("code");
        let location = format!("{}?code={code}&state={}", q.redirect_uri, q.state);
        codes().lock().unwrap().insert(
            code,
            Grant {
                challenge: q.code_challenge,
                redirect_uri: q.redirect_uri,
            },
        );
        let mut headers = HeaderMap::new();
        headers.insert(LOCATION, location.parse().unwrap());
        (StatusCode::FOUND, headers, String::new())
    }

    #[derive(serde::Deserialize)]
    struct TokenForm {
        grant_type: String,
        code: String,
        redirect_uri: String,
        code_verifier: String,
    }

    fn json_answer(status: StatusCode, body: serde_json::Value) -> (StatusCode, HeaderMap, String) {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        (status, headers, body.to_string())
    }

    /// The token endpoint: HTTP Basic client credentials; the code once; SHA-256 of the
    /// verifier must be the challenge. Client id `broken-json` and `error-in-200` make it
    /// answer as broken providers do.
    #[post("/token")]
    async fn token(
        headers: HeaderMap,
        Form(form): Form<TokenForm>,
    ) -> (StatusCode, HeaderMap, String) {
        let basic = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok())
            .and_then(|v| String::from_utf8(v).ok())
            .unwrap_or_default();
        let (id, secret) = basic.split_once(':').unwrap_or_default();
        if secret != CLIENT_SECRET {
            return json_answer(
                StatusCode::UNAUTHORIZED,
                serde_json::json!({ "error": "invalid_client" }),
            );
        }
        let Some(grant) = codes().lock().unwrap().remove(&form.code) else {
            return json_answer(
                StatusCode::BAD_REQUEST,
                serde_json::json!({ "error": "invalid_grant" }),
            );
        };
        let digest = ring::digest::digest(&ring::digest::SHA256, form.code_verifier.as_bytes());
        let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref());
        if form.grant_type != "authorization_code"
            || computed != grant.challenge
            || form.redirect_uri != grant.redirect_uri
        {
            return json_answer(
                StatusCode::BAD_REQUEST,
                serde_json::json!({ "error": "invalid_grant" }),
            );
        }
        let access = fresh("gho_access");
        tokens().lock().unwrap().insert(access.clone());
        match id {
            "broken-json" => json_answer(
                StatusCode::OK,
                serde_json::json!({ "access_token": access, "token_type": 7 }),
            ),
            "error-in-200" => json_answer(
                StatusCode::OK,
                serde_json::json!({ "error": "bad_verification_code" }),
            ),
            _ => json_answer(
                StatusCode::OK,
                serde_json::json!({ "access_token": access, "token_type": "bearer", "scope": "read:user" }),
            ),
        }
    }

    #[get("/user")]
    async fn user(headers: HeaderMap) -> (StatusCode, HeaderMap, String) {
        let token = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !tokens().lock().unwrap().contains(token) {
            return json_answer(
                StatusCode::UNAUTHORIZED,
                serde_json::json!({ "message": "Bad credentials" }),
            );
        }
        json_answer(
            StatusCode::OK,
            serde_json::json!({ "id": 583231, "login": "octocat", "name": "The Octocat" }),
        )
    }

    /// The app behind the layer: says who is signed in.
    #[derive(Clone)]
    struct App;

    impl Service<Request<String>> for App {
        type Response = Response<String>;
        type Error = Infallible;
        type Future = std::future::Ready<Result<Response<String>, Infallible>>;

        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, req: Request<String>) -> Self::Future {
            let body = match Session::get(&req) {
                Some(session) => format!("hello {} via {}", session.user.login, session.provider),
                None => "anonymous".to_owned(),
            };
            std::future::ready(Ok(Response::new(body)))
        }
    }

    /// A browser's cookies, by name (paths ignored).
    #[derive(Default)]
    struct Jar(HashMap<String, String>);

    impl Jar {
        fn take(&mut self, answer: &Response<String>) {
            for value in answer.headers().get_all(SET_COOKIE) {
                let cookie = cookie::Cookie::parse(value.to_str().unwrap().to_owned()).unwrap();
                if cookie.max_age() == Some(cookie::time::Duration::ZERO) {
                    self.0.remove(cookie.name());
                } else {
                    self.0
                        .insert(cookie.name().to_owned(), cookie.value().to_owned());
                }
            }
        }

        fn header(&self) -> String {
            self.0
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        }
    }

    struct Setup {
        provider: TestServer,
        service: AuthService<App>,
    }

    async fn setup(
        client_id: &str,
        configure: impl FnOnce(crate::auth::AuthBuilder) -> crate::auth::AuthBuilder,
    ) -> Setup {
        let provider = TestServer::start(crate::router![authorize, token, user]).await;
        let base = format!("http://{}", provider.addr());
        let fake = OAuthProvider::new(
            "fake",
            client_id,
            CLIENT_SECRET,
            format!("{base}/authorize"),
            format!("{base}/token"),
            format!("{base}/user"),
        );
        let auth = configure(
            Auth::builder()
                .key(Key::from(&[7u8; 64]))
                .provider(fake)
                .public_url("http://localhost:3000"),
        )
        .build()
        .unwrap();
        Setup {
            provider,
            service: auth.layer().layer(App),
        }
    }

    async fn call(
        service: &mut AuthService<App>,
        method: Method,
        uri: &str,
        cookies: &Jar,
    ) -> Response<String> {
        let mut req = Request::builder().method(method).uri(uri);
        if !cookies.0.is_empty() {
            req = req.header(COOKIE, cookies.header());
        }
        let req = req.body(String::new()).unwrap();
        std::future::poll_fn(|cx| service.poll_ready(cx))
            .await
            .unwrap();
        service.call(req).await.unwrap()
    }

    async fn get(service: &mut AuthService<App>, uri: &str, cookies: &mut Jar) -> Response<String> {
        let answer = call(service, Method::GET, uri, cookies).await;
        cookies.take(&answer);
        answer
    }

    fn location(answer: &Response<String>) -> &str {
        answer.headers()[LOCATION].to_str().unwrap()
    }

    /// Signs in up to the callback: returns the callback's path and query.
    async fn to_callback(setup: &mut Setup, jar: &mut Jar, signin: &str) -> String {
        let answer = get(&mut setup.service, signin, jar).await;
        assert_eq!(answer.status(), StatusCode::FOUND, "{}", answer.body());
        // The browser follows to the provider, which sends it back with a code.
        let request = http::Request::get(location(&answer))
            .body(Vec::new())
            .unwrap();
        let at_provider = crate::auth::http::HttpClient::new()
            .send(request)
            .await
            .unwrap();
        assert_eq!(at_provider.status(), StatusCode::FOUND);
        let back = at_provider.headers()[LOCATION].to_str().unwrap();
        back.strip_prefix("http://localhost:3000")
            .unwrap()
            .to_owned()
    }

    #[tokio::test]
    async fn sign_in_and_out() {
        let mut setup = setup(CLIENT_ID, |b| b).await;
        let mut jar = Jar::default();
        assert_eq!(
            get(&mut setup.service, "/", &mut jar).await.body(),
            "anonymous"
        );
        let callback =
            to_callback(&mut setup, &mut jar, "/auth/signin/fake?return_to=/after").await;
        assert!(
            callback.starts_with("/auth/callback/fake?code="),
            "{callback}"
        );
        let answer = get(&mut setup.service, &callback, &mut jar).await;
        assert_eq!(answer.status(), StatusCode::FOUND, "{}", answer.body());
        assert_eq!(location(&answer), "/after");
        assert_eq!(answer.headers()[CACHE_CONTROL], "no-store");
        assert!(jar.0.contains_key("hyperbun_session"));
        assert!(
            !jar.0.contains_key("hyperbun_signin"),
            "the sign-in cookie is spent"
        );

        assert_eq!(
            get(&mut setup.service, "/anything", &mut jar).await.body(),
            "hello octocat via fake"
        );
        let session = get(&mut setup.service, "/auth/session", &mut jar).await;
        assert_eq!(session.headers()[CONTENT_TYPE], "application/json");
        let session: Session = serde_json::from_str(session.body()).unwrap();
        assert_eq!(session.user.id, "583231");
        assert_eq!(session.user.display_name(), "The Octocat");
        let ttl = session.expires_at - unix_now();
        assert!((7 * 24 * 3600 - 5..=7 * 24 * 3600).contains(&ttl), "{ttl}");

        // The same callback again: the sign-in is over.
        let again = get(&mut setup.service, &callback, &mut jar).await;
        assert_eq!(again.status(), StatusCode::BAD_REQUEST);
        assert!(
            again.body().contains("no sign-in in progress"),
            "{}",
            again.body()
        );

        let out = call(&mut setup.service, Method::POST, "/auth/signout", &jar).await;
        assert_eq!((out.status(), location(&out)), (StatusCode::FOUND, "/"));
        jar.take(&out);
        assert!(jar.0.is_empty());
        assert_eq!(
            get(&mut setup.service, "/", &mut jar).await.body(),
            "anonymous"
        );
        let none = get(&mut setup.service, "/auth/session", &mut jar).await;
        assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(none.body(), r#"{"error":"sign in first"}"#);
        setup.provider.stop().await;
    }

    #[tokio::test]
    async fn state_and_code_are_checked() {
        let mut setup = setup(CLIENT_ID, |b| b).await;
        let mut jar = Jar::default();
        let callback = to_callback(&mut setup, &mut jar, "/auth/signin/fake").await;
        let (before, state) = callback.split_once("&state=").unwrap();
        let forged = format!("{before}&state=forged{state}");
        let answer = get(&mut setup.service, &forged, &mut jar).await;
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            answer.body(),
            "sign-in with fake failed: `state` does not match the sign-in in progress"
        );

        // A replayed code (the sign-in cookie kept by an attacker): the provider refuses it.
        let mut jar = Jar::default();
        let callback = to_callback(&mut setup, &mut jar, "/auth/signin/fake").await;
        let signin = jar.0.clone();
        assert_eq!(
            get(&mut setup.service, &callback, &mut jar).await.status(),
            StatusCode::FOUND
        );
        let mut replay = Jar(signin);
        let answer = get(&mut setup.service, &callback, &mut replay).await;
        assert_eq!(answer.status(), StatusCode::BAD_GATEWAY);
        assert_eq!(
            answer.body(),
            "sign-in with fake failed: fake refused the code: invalid_grant"
        );

        // The user said no at the provider.
        let mut jar = Jar::default();
        to_callback(&mut setup, &mut jar, "/auth/signin/fake").await;
        let answer = get(
            &mut setup.service,
            "/auth/callback/fake?error=access_denied&state=x",
            &mut jar,
        )
        .await;
        assert_eq!(answer.status(), StatusCode::FORBIDDEN);
        assert!(answer.body().contains("access_denied"));

        for bad in [
            "//evil.example/x",
            "https://evil.example/",
            "/\\evil.example",
            "evil",
        ] {
            let uri = format!(
                "/auth/signin/fake?return_to={}",
                percent_encoding::utf8_percent_encode(bad, percent_encoding::NON_ALPHANUMERIC)
            );
            let answer = get(&mut setup.service, &uri, &mut Jar::default()).await;
            assert_eq!(answer.status(), StatusCode::BAD_REQUEST, "{bad}");
        }
        setup.provider.stop().await;
    }

    #[tokio::test]
    async fn provider_failures_are_502_and_name_no_secret() {
        for (client_id, expected) in [
            (
                "broken-json",
                "fake token endpoint: the answer is not a token (at `token_type`)",
            ),
            (
                "error-in-200",
                "fake refused the code: bad_verification_code",
            ),
        ] {
            let mut setup = setup(client_id, |b| b).await;
            let mut jar = Jar::default();
            let callback = to_callback(&mut setup, &mut jar, "/auth/signin/fake").await;
            let answer = get(&mut setup.service, &callback, &mut jar).await;
            assert_eq!(answer.status(), StatusCode::BAD_GATEWAY, "{client_id}");
            assert_eq!(
                answer.body(),
                &format!("sign-in with fake failed: {expected}")
            );
            assert!(!answer.body().contains("gho_access"));
            setup.provider.stop().await;
        }
        // Wrong client secret.
        let provider = TestServer::start(crate::router![authorize, token, user]).await;
        let base = format!("http://{}", provider.addr());
        let fake = OAuthProvider::new(
            "fake",
            CLIENT_ID,
            "wrong-secret",
            format!("{base}/authorize"),
            format!("{base}/token"),
            format!("{base}/user"),
        );
        let auth = Auth::builder()
            .key(Key::from(&[7u8; 64]))
            .provider(fake)
            .public_url("http://localhost:3000")
            .build()
            .unwrap();
        let mut setup = Setup {
            provider,
            service: auth.layer().layer(App),
        };
        let mut jar = Jar::default();
        let callback = to_callback(&mut setup, &mut jar, "/auth/signin/fake").await;
        let answer = get(&mut setup.service, &callback, &mut jar).await;
        assert_eq!(answer.status(), StatusCode::BAD_GATEWAY);
        assert_eq!(
            answer.body(),
            "sign-in with fake failed: fake refused the code: invalid_client"
        );
        assert!(!answer.body().contains("wrong-secret"));

        // The provider is gone.
        let mut jar = Jar::default();
        let callback = to_callback(&mut setup, &mut jar, "/auth/signin/fake").await;
        let addr = setup.provider.addr();
        setup.provider.stop().await;
        let answer = get(&mut setup.service, &callback, &mut jar).await;
        assert_eq!(answer.status(), StatusCode::BAD_GATEWAY);
        assert!(
            answer
                .body()
                .contains(&format!("fake token endpoint: {addr}: cannot connect")),
            "{}",
            answer.body()
        );
    }

    #[tokio::test]
    async fn bearer_tokens() {
        let jwt = Jwt::hs256(b"jwt-secret-jwt-secret-jwt-secret");
        let mut setup = setup(CLIENT_ID, |b| {
            b.jwt(Jwt::hs256(b"jwt-secret-jwt-secret-jwt-secret"))
        })
        .await;
        let bearer = |token: &str| {
            Request::get("/me")
                .header(AUTHORIZATION, format!("Bearer {token}"))
                .body(String::new())
                .unwrap()
        };
        let good = jwt
            .sign(&serde_json::json!({ "sub": "u-1", "name": "ada", "exp": unix_now() + 60 }))
            .unwrap();
        let answer = setup.service.call(bearer(&good)).await.unwrap();
        assert_eq!(answer.body(), "hello ada via jwt");

        let expired = jwt
            .sign(&serde_json::json!({ "sub": "u-1", "exp": unix_now() - 3600 }))
            .unwrap();
        let answer = setup.service.call(bearer(&expired)).await.unwrap();
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(answer.body(), "invalid bearer token: token expired");
        assert_eq!(
            answer.headers()[WWW_AUTHENTICATE],
            r#"Bearer error="invalid_token", error_description="token expired""#
        );
        let forged = Jwt::hs256(b"another-secret-another-secret-an")
            .sign(&serde_json::json!({ "sub": "root", "exp": unix_now() + 60 }))
            .unwrap();
        let answer = setup.service.call(bearer(&forged)).await.unwrap();
        assert_eq!(answer.body(), "invalid bearer token: bad signature");
        let no_sub = jwt
            .sign(&serde_json::json!({ "exp": unix_now() + 60 }))
            .unwrap();
        let answer = setup.service.call(bearer(&no_sub)).await.unwrap();
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
        // `Basic` is the app's business.
        let basic = Request::get("/")
            .header(AUTHORIZATION, "Basic YTpi")
            .body(String::new())
            .unwrap();
        assert_eq!(setup.service.call(basic).await.unwrap().body(), "anonymous");
        setup.provider.stop().await;

        // Without `.jwt(..)`, bearer headers pass through untouched.
        let mut plain = Auth::builder()
            .key(Key::generate())
            .provider(GitHub::new("i", "s"))
            .public_url("https://a.example")
            .build()
            .unwrap()
            .layer()
            .layer(App);
        assert_eq!(
            plain.call(bearer(&expired)).await.unwrap().body(),
            "anonymous"
        );
    }

    #[tokio::test]
    async fn cookies_under_a_previous_key_are_reissued() {
        let mut old = setup(CLIENT_ID, |b| b).await;
        let mut jar = Jar::default();
        let callback = to_callback(&mut old, &mut jar, "/auth/signin/fake").await;
        get(&mut old.service, &callback, &mut jar).await;
        let old_cookie = jar.0["hyperbun_session"].clone();

        let mut rotated = setup(CLIENT_ID, |b| {
            b.key(Key::from(&[8u8; 64]))
                .previous_keys([Key::from(&[7u8; 64])])
        })
        .await;
        let answer = get(&mut rotated.service, "/", &mut jar).await;
        assert_eq!(answer.body(), "hello octocat via fake");
        assert!(answer.headers().contains_key(SET_COOKIE), "re-issued");
        let new_cookie = jar.0["hyperbun_session"].clone();
        assert_ne!(new_cookie, old_cookie);
        let answer = get(&mut rotated.service, "/", &mut jar).await;
        assert!(!answer.headers().contains_key(SET_COOKIE), "issued once");

        // Only the new key: the new cookie opens, the old one does not.
        let mut new_only = setup(CLIENT_ID, |b| b.key(Key::from(&[8u8; 64]))).await;
        assert_eq!(
            get(&mut new_only.service, "/", &mut jar).await.body(),
            "hello octocat via fake"
        );
        let mut stale = Jar::default();
        stale.0.insert("hyperbun_session".into(), old_cookie);
        assert_eq!(
            get(&mut new_only.service, "/", &mut stale).await.body(),
            "anonymous"
        );

        // Tampered: anonymous, and the app still answers.
        let mut tampered = Jar::default();
        let mut bytes = new_cookie.into_bytes();
        let last = bytes.len() - 3;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        tampered
            .0
            .insert("hyperbun_session".into(), String::from_utf8(bytes).unwrap());
        assert_eq!(
            get(&mut new_only.service, "/", &mut tampered).await.body(),
            "anonymous"
        );
        for setup in [old, rotated, new_only] {
            setup.provider.stop().await;
        }
    }

    #[tokio::test]
    async fn the_layers_own_routes() {
        let mut setup = setup(CLIENT_ID, |b| b.path("/login")).await;
        let jar = Jar::default();
        let answer = call(&mut setup.service, Method::GET, "/login/signin/nope", &jar).await;
        assert_eq!(
            (answer.status(), answer.body().as_str()),
            (StatusCode::NOT_FOUND, "no sign-in provider named `nope`")
        );
        let answer = call(&mut setup.service, Method::POST, "/login/signin/fake", &jar).await;
        assert_eq!(answer.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(answer.headers()[ALLOW], "GET, HEAD");
        let answer = call(&mut setup.service, Method::DELETE, "/login/signout", &jar).await;
        assert_eq!(answer.headers()[ALLOW], "GET, HEAD, POST");
        // Not the layer's: the app answers.
        assert_eq!(
            call(&mut setup.service, Method::GET, "/auth/signin/fake", &jar)
                .await
                .body(),
            "anonymous"
        );
        assert_eq!(
            call(&mut setup.service, Method::GET, "/login/other", &jar)
                .await
                .body(),
            "anonymous"
        );
        let answer = call(&mut setup.service, Method::GET, "/login/signin/fake", &jar).await;
        let cookie = answer.headers()[SET_COOKIE].to_str().unwrap();
        assert!(cookie.contains("Path=/login/callback"), "{cookie}");
        setup.provider.stop().await;
    }
}
