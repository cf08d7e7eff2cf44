//! A fake OAuth2 provider (feature `auth`): test a sign-in with
//! [`hyperbun::auth`](crate::auth) end to end, on `127.0.0.1`, without GitHub.
//!
//! [`FakeOAuthProvider`] is a hyperbun server on a free port that answers like GitHub: an
//! authorize page where the user always says yes, a token endpoint that checks what GitHub
//! checks (the client's id and secret, a code used once, the redirect URI) and what PKCE
//! adds (the SHA-256 of the verifier is the S256 challenge), and a user endpoint in
//! GitHub's JSON shape. Every instance has its own client secret, codes, tokens and user,
//! so tests using it can run in parallel.
//!
//! ```
//! use hyperbun::auth::{Auth, Key, Session};
//! use hyperbun::prelude::*;
//! use hyperbun::test::oauth::FakeOAuthProvider;
//! use hyperbun::test::TestServer;
//!
//! #[get("/me")]
//! async fn me(session: Session) -> String {
//!     format!("hello {} via {}", session.user.display_name(), session.provider)
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let provider = FakeOAuthProvider::start().await;
//! let auth = Auth::builder()
//!     .key(Key::from(&[7u8; 64]))
//!     .provider(provider.github()) // GitHub, pointed at the fake
//!     .public_url("http://localhost:3000")
//!     .build()
//!     .unwrap();
//! let app = TestServer::start(hyperbun::router![me].layer(auth.layer())).await;
//!
//! // The browser's side: the app's sign-in, the provider, back to the app's callback.
//! let cookie = provider.sign_in(&app, "/auth/signin/github").await;
//! let mut headers = HeaderMap::new();
//! headers.insert("cookie", cookie.parse().unwrap());
//! let answer = app.request(Method::GET, "/me", headers, Bytes::new()).await;
//! assert_eq!(answer.text(), "hello The Octocat via github");
//!
//! app.stop().await;
//! provider.stop().await;
//! # }
//! ```

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use base64::Engine;
use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, COOKIE, LOCATION, SET_COOKIE, USER_AGENT};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{TestResponse, TestServer};
use crate::auth::{GitHub, OAuthProvider, User};
use crate::middleware::{from_fn, Next};
use crate::{get, post, Extension, Form, IntoResponse, Json, Query, Request, Response};

/// The client id of a new provider ([`with_client`](FakeOAuthProvider::with_client) changes
/// it).
const CLIENT_ID: &str = "fake-client-id";

/// A fake OAuth2 provider on `127.0.0.1`, in GitHub's likeness, for testing a sign-in with
/// [`hyperbun::auth`](crate::auth) without the network. See [the module](self) for an
/// example.
///
/// | endpoint | answers |
/// |---|---|
/// | `GET /authorize` | the user said yes: `302` to `redirect_uri` with a new `code` and the `state`; `400` unless `response_type=code`, this client's id, an S256 `code_challenge` and (with [`require_scope`](Self::require_scope)) that scope |
/// | `POST /token` | the client authenticates with HTTP Basic or `client_id`/`client_secret` in the form (`401` `invalid_client` otherwise); the request must accept JSON; the code is spent; the SHA-256 of `code_verifier` must be the challenge and `redirect_uri` the authorize request's (`400` `invalid_grant` otherwise): `200` with a new bearer access token, or what [`with_token_failure`](Self::with_token_failure) says |
/// | `GET /user` | with a token it issued and a `User-Agent` (GitHub wants one): the user of [`with_user`](Self::with_user) in GitHub's shape (`login`, a numeric `id`, `node_id`, `type`, `name`); `401` `Bad credentials` for another token |
///
/// Codes and access tokens are random, so [`issued`](Self::issued) can tell whether any of
/// them reached a log or a page. [`stop`](Self::stop) it to see how an app copes with an
/// unreachable provider: its URLs then point at a closed port.
///
/// Its `Debug` output never shows the client secret.
pub struct FakeOAuthProvider {
    server: TestServer,
    state: Shared,
}

/// How the token endpoint fails an exchange that would otherwise succeed: see
/// [`FakeOAuthProvider::with_token_failure`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenFailure {
    /// `400 Bad Request` with `{"error": CODE}`: a refusal as RFC 6749 §5.2 has it, e.g.
    /// `invalid_grant` or `access_denied`.
    Refuse(String),
    /// `200 OK` with `{"error": CODE}`: how GitHub refuses a code, e.g.
    /// `bad_verification_code`.
    ErrorIn200(String),
    /// `200 OK` with JSON that is not a token response: `{"access_token": TOKEN,
    /// "token_type": 7}`. The token is issued (it is in [`issued`](FakeOAuthProvider::issued)),
    /// so a test can check that the app does not echo the answer.
    NotAToken,
}

/// What the provider's routes share with the [`FakeOAuthProvider`] handle.
#[derive(Clone)]
struct Shared(Arc<Mutex<State>>);

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock has failed already; the state is
        // still what it was.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

struct State {
    client_id: String,
    client_secret: String,
    user: User,
    scope: Option<String>,
    token_failure: Option<TokenFailure>,
    /// The codes not yet exchanged.
    grants: HashMap<String, Grant>,
    /// The access tokens the user endpoint accepts.
    tokens: HashSet<String>,
    /// Every code and access token, in the order issued.
    issued: Vec<String>,
}

/// What the authorize request said, for the code's exchange.
struct Grant {
    client_id: String,
    challenge: String,
    redirect_uri: String,
    scope: String,
}

impl State {
    /// A new random value: `prefix` and 40 hex digits.
    fn issue(&mut self, prefix: &str) -> String {
        let value = format!("{prefix}{}", random_hex(20));
        self.issued.push(value.clone());
        value
    }
}

impl FakeOAuthProvider {
    /// Starts a provider on `127.0.0.1:0` (a free port) in the current tokio runtime.
    ///
    /// Its client id is `fake-client-id`, its client secret random, its user GitHub's
    /// example: id `583231`, login `octocat`, name `The Octocat`. It accepts any scope and
    /// its token endpoint does not fail on purpose.
    ///
    /// # Panics
    ///
    /// If no port can be bound.
    pub async fn start() -> FakeOAuthProvider {
        let state = Shared(Arc::new(Mutex::new(State {
            client_id: CLIENT_ID.to_owned(),
            client_secret: format!("fake-secret-{}", random_hex(16)),
            user: User {
                id: "583231".to_owned(),
                login: "octocat".to_owned(),
                name: Some("The Octocat".to_owned()),
            },
            scope: None,
            token_failure: None,
            grants: HashMap::new(),
            tokens: HashSet::new(),
            issued: Vec::new(),
        })));
        let shared = state.clone();
        let with_state = from_fn(move |mut req: Request, next: Next| {
            req.extensions_mut().insert(shared.clone());
            next.run(req)
        });
        let router = crate::router![authorize, token, user].layer(with_state);
        FakeOAuthProvider {
            server: TestServer::start(router).await,
            state,
        }
    }

    /// Changes the client id and secret it accepts (and that [`github`](Self::github) and
    /// [`provider`](Self::provider) use).
    #[must_use]
    pub fn with_client(self, id: impl Into<String>, secret: impl Into<String>) -> Self {
        {
            let mut state = self.state.lock();
            state.client_id = id.into();
            state.client_secret = secret.into();
        }
        self
    }

    /// Changes the user it signs in. The user endpoint answers a numeric id as a JSON number,
    /// as GitHub does, and any other as a string; `name: None` is GitHub's `"name": null`.
    ///
    /// ```
    /// use hyperbun::auth::User;
    /// use hyperbun::test::oauth::FakeOAuthProvider;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let ada = User { id: "1".into(), login: "ada".into(), name: None };
    /// let provider = FakeOAuthProvider::start().await.with_user(ada);
    /// # provider.stop().await;
    /// # }
    /// ```
    #[must_use]
    pub fn with_user(self, user: User) -> Self {
        self.state.lock().user = user;
        self
    }

    /// Makes the authorize endpoint refuse (`400`) a request whose `scope` is not exactly
    /// `scope` (space-separated, as sent): to check which scopes an app asks for. Default:
    /// any scope, or none.
    #[must_use]
    pub fn require_scope(self, scope: impl Into<String>) -> Self {
        self.state.lock().scope = Some(scope.into());
        self
    }

    /// Makes the token endpoint answer every exchange that would succeed with `failure`
    /// instead, as a broken or unwilling provider does. The checks come first: a wrong
    /// client secret is still `invalid_client`, a spent code `invalid_grant`.
    ///
    /// ```
    /// use hyperbun::test::oauth::{FakeOAuthProvider, TokenFailure};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// // GitHub refuses a code with `200 OK`; the sign-in then ends in a `502`.
    /// let provider = FakeOAuthProvider::start()
    ///     .await
    ///     .with_token_failure(TokenFailure::ErrorIn200("bad_verification_code".into()));
    /// # provider.stop().await;
    /// # }
    /// ```
    #[must_use]
    pub fn with_token_failure(self, failure: TokenFailure) -> Self {
        self.state.lock().token_failure = Some(failure);
        self
    }

    /// The [`GitHub`] preset with this provider's client id and secret, its three URLs
    /// pointed here.
    pub fn github(&self) -> GitHub {
        GitHub::new(self.client_id(), self.client_secret())
            .authorize_url(self.authorize_url())
            .token_url(self.token_url())
            .user_url(self.user_url())
    }

    /// An [`OAuthProvider`] named `name` pointed here, with this provider's client id and
    /// secret and [`OAuthProvider::new`]'s defaults (HTTP Basic client authentication, no
    /// scopes, GitHub's user fields).
    pub fn provider(&self, name: &str) -> OAuthProvider {
        OAuthProvider::new(
            name,
            self.client_id(),
            self.client_secret(),
            self.authorize_url(),
            self.token_url(),
            self.user_url(),
        )
    }

    /// The client id it accepts.
    pub fn client_id(&self) -> String {
        self.state.lock().client_id.clone()
    }

    /// The client secret it accepts: random unless [`with_client`](Self::with_client) set
    /// one, so a test can look for it in logs.
    pub fn client_secret(&self) -> String {
        self.state.lock().client_secret.clone()
    }

    /// `http://127.0.0.1:PORT/authorize`.
    pub fn authorize_url(&self) -> String {
        self.server.url("/authorize")
    }

    /// `http://127.0.0.1:PORT/token`.
    pub fn token_url(&self) -> String {
        self.server.url("/token")
    }

    /// `http://127.0.0.1:PORT/user`.
    pub fn user_url(&self) -> String {
        self.server.url("/user")
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// Every code and access token it has issued so far, oldest first: none of them should
    /// reach a log line, an error message or a page.
    pub fn issued(&self) -> Vec<String> {
        self.state.lock().issued.clone()
    }

    /// The user says yes at the provider: what a browser does with the app's redirect to
    /// `authorize_url`. Returns where the provider sends the browser back: the app's
    /// callback URL with `code` and `state` (the app's public URL, so not necessarily one the
    /// test can reach as it is).
    ///
    /// # Panics
    ///
    /// If `authorize_url` is not on this provider, or the authorize endpoint refuses it (the
    /// message has its answer).
    pub async fn approve(&self, authorize_url: &str) -> String {
        let base = self.server.url("");
        let path = authorize_url
            .strip_prefix(&base)
            .filter(|path| path.starts_with('/'))
            .unwrap_or_else(|| {
                panic!("FakeOAuthProvider: {authorize_url} is not on this provider ({base})")
            });
        let answer = self.server.get(path).await;
        match answer.header(LOCATION.as_str()) {
            Some(back) if answer.status == StatusCode::FOUND => back.to_owned(),
            _ => panic!(
                "FakeOAuthProvider: the authorize endpoint answered {} {:?} to {authorize_url}",
                answer.status,
                answer.text()
            ),
        }
    }

    /// A whole sign-in, as a browser makes it: `GET signin_path` on `app` (e.g.
    /// `/auth/signin/github?return_to=/me`), [`approve`](Self::approve) at the provider, then
    /// the app's callback with the sign-in cookie. Returns the `Cookie` header the browser
    /// sends from then on (`hyperbun_session=…`).
    ///
    /// The callback is requested by its path and query on `app`, whatever public URL the app
    /// put in front of them.
    ///
    /// # Panics
    ///
    /// If the sign-in does not redirect here, or the callback does not answer `302` with a
    /// cookie (the message has its answer).
    pub async fn sign_in(&self, app: &TestServer, signin_path: &str) -> String {
        let mut jar = Jar::default();
        let signin = app.get(signin_path).await;
        jar.keep(&signin);
        let to_provider = match signin.header(LOCATION.as_str()) {
            Some(location) if signin.status == StatusCode::FOUND => location.to_owned(),
            _ => panic!(
                "FakeOAuthProvider::sign_in: {signin_path} answered {} {:?}",
                signin.status,
                signin.text()
            ),
        };
        let back = self.approve(&to_provider).await;
        let callback = back
            .parse::<http::Uri>()
            .ok()
            .and_then(|uri| uri.path_and_query().map(ToString::to_string))
            .unwrap_or_else(|| panic!("FakeOAuthProvider::sign_in: {back:?} is not a URL"));
        let mut headers = HeaderMap::new();
        if let Ok(cookies) = HeaderValue::try_from(jar.header()) {
            if !cookies.is_empty() {
                headers.insert(COOKIE, cookies);
            }
        }
        let answer = app
            .request(Method::GET, &callback, headers, Bytes::new())
            .await;
        let sets_a_cookie = answer
            .header_values(SET_COOKIE.as_str())
            .iter()
            .any(|set| !set.contains("Max-Age=0"));
        jar.keep(&answer);
        if answer.status != StatusCode::FOUND || !sets_a_cookie {
            panic!(
                "FakeOAuthProvider::sign_in: the callback answered {} {:?} with cookies {:?}",
                answer.status,
                answer.text(),
                answer.header_values(SET_COOKIE.as_str())
            );
        }
        jar.header()
    }

    /// Stops the provider and waits until it has; its URLs then point at a closed port.
    ///
    /// # Panics
    ///
    /// If it takes longer than 10 s.
    pub async fn stop(self) {
        self.server.stop().await;
    }
}

impl fmt::Debug for FakeOAuthProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeOAuthProvider")
            .field("url", &self.server.url(""))
            .field("client_id", &self.client_id())
            .finish_non_exhaustive()
    }
}

/// A browser's cookies, by name, in the order set (paths ignored).
#[derive(Default)]
struct Jar(Vec<(String, String)>);

impl Jar {
    /// Keeps the cookies `answer` sets and drops those it deletes (`Max-Age=0`).
    fn keep(&mut self, answer: &TestResponse) {
        for set in answer.header_values(SET_COOKIE.as_str()) {
            let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let name = name.trim();
            self.0.retain(|(kept, _)| kept != name);
            if !attributes.contains("Max-Age=0") {
                self.0.push((name.to_owned(), value.trim().to_owned()));
            }
        }
    }

    fn header(&self) -> String {
        let pairs: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
        pairs.join("; ")
    }
}

/// `len` random bytes in hex.
fn random_hex(len: usize) -> String {
    use ring::rand::SecureRandom;
    let mut bytes = vec![0u8; len];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .expect("bug: the system's random number generator failed");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An OAuth2 error answer, `{"error": CODE}`.
fn oauth_error(status: StatusCode, code: &str) -> Response {
    (status, Json(json!({ "error": code }))).into_response()
}

fn bad_request(why: String) -> Response {
    (StatusCode::BAD_REQUEST, why).into_response()
}

#[derive(Deserialize)]
struct AuthorizeQuery {
    #[serde(default)]
    response_type: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    redirect_uri: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    code_challenge: String,
    #[serde(default)]
    code_challenge_method: String,
    scope: Option<String>,
}

/// The authorize page, after the user said yes: back to the app with a code.
#[get("/authorize")]
async fn authorize(
    Extension(state): Extension<Shared>,
    Query(q): Query<AuthorizeQuery>,
) -> Response {
    let mut state = state.lock();
    if q.response_type != "code" {
        return bad_request(format!(
            "response_type {:?}: expected code",
            q.response_type
        ));
    }
    if q.client_id != state.client_id {
        return bad_request(format!("unknown client_id {:?}", q.client_id));
    }
    if q.code_challenge.is_empty() || q.code_challenge_method != "S256" {
        return bad_request("PKCE: an S256 code_challenge is required".to_owned());
    }
    if let Some(required) = &state.scope {
        if q.scope.as_ref() != Some(required) {
            return bad_request(format!("scope {:?}: expected {required:?}", q.scope));
        }
    }
    let Ok(mut back) = oauth2::url::Url::parse(&q.redirect_uri) else {
        return bad_request(format!("redirect_uri {:?} is not a URL", q.redirect_uri));
    };
    let code = state.issue("");
    back.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &q.state);
    state.grants.insert(
        code,
        Grant {
            client_id: q.client_id,
            challenge: q.code_challenge,
            redirect_uri: q.redirect_uri,
            scope: q.scope.unwrap_or_default(),
        },
    );
    (StatusCode::FOUND, [(LOCATION, back.to_string())], "").into_response()
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    grant_type: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    redirect_uri: String,
    #[serde(default)]
    code_verifier: String,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// The client's id and secret: HTTP Basic (each form-urlencoded, RFC 6749 §2.3.1), else the
/// form's.
fn client_credentials(headers: &HeaderMap, form: &TokenForm) -> Option<(String, String)> {
    let decode = |part: &str| {
        percent_encoding::percent_decode_str(&part.replace('+', " "))
            .decode_utf8()
            .ok()
            .map(|s| s.into_owned())
    };
    if let Some(basic) = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(basic)
            .ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (id, secret) = decoded.split_once(':')?;
        return Some((decode(id)?, decode(secret)?));
    }
    Some((form.client_id.clone()?, form.client_secret.clone()?))
}

/// The token endpoint: the client authenticated, the code once, the PKCE verifier whose
/// SHA-256 is the challenge.
#[post("/token")]
async fn token(
    Extension(state): Extension<Shared>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    let accepts_json = headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    if !accepts_json {
        return oauth_error(StatusCode::BAD_REQUEST, "not_json");
    }
    let mut state = state.lock();
    let authenticated = client_credentials(&headers, &form)
        .is_some_and(|(id, secret)| id == state.client_id && secret == state.client_secret);
    if !authenticated {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    if form.grant_type != "authorization_code" {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    let Some(grant) = state.grants.remove(&form.code) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    };
    let digest = ring::digest::digest(&ring::digest::SHA256, form.code_verifier.as_bytes());
    let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref());
    if computed != grant.challenge
        || form.redirect_uri != grant.redirect_uri
        || grant.client_id != state.client_id
    {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    match state.token_failure.clone() {
        Some(TokenFailure::Refuse(code)) => oauth_error(StatusCode::BAD_REQUEST, &code),
        Some(TokenFailure::ErrorIn200(code)) => oauth_error(StatusCode::OK, &code),
        Some(TokenFailure::NotAToken) => {
            let access = state.issue("gho_");
            state.tokens.insert(access.clone());
            Json(json!({ "access_token": access, "token_type": 7 })).into_response()
        }
        None => {
            let access = state.issue("gho_");
            state.tokens.insert(access.clone());
            Json(json!({ "access_token": access, "token_type": "bearer", "scope": grant.scope }))
                .into_response()
        }
    }
}

/// GitHub's `GET /user`.
#[get("/user")]
async fn user(Extension(state): Extension<Shared>, headers: HeaderMap) -> Response {
    let state = state.lock();
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !state.tokens.contains(token) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "message": "Bad credentials" })),
        )
            .into_response();
    }
    if !headers.contains_key(USER_AGENT) {
        return (StatusCode::FORBIDDEN, "a User-Agent is required").into_response();
    }
    let user = &state.user;
    let id = user
        .id
        .parse::<u64>()
        .map_or_else(|_| Value::from(user.id.as_str()), Value::from);
    let node_id = base64::engine::general_purpose::STANDARD.encode(format!("04:User{}", user.id));
    Json(json!({
        "login": user.login,
        "id": id,
        "node_id": node_id,
        "type": "User",
        "name": user.name,
    }))
    .into_response()
}
