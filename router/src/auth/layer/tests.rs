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
async fn token(headers: HeaderMap, Form(form): Form<TokenForm>) -> (StatusCode, HeaderMap, String) {
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
    let callback = to_callback(&mut setup, &mut jar, "/auth/signin/fake?return_to=/after").await;
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
    // A forged callback does not cancel the sign-in in progress: the real one still works.
    assert!(!answer.headers().contains_key(SET_COOKIE));
    let answer = get(&mut setup.service, &callback, &mut jar).await;
    assert_eq!(answer.status(), StatusCode::FOUND, "{}", answer.body());

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
    let callback = to_callback(&mut setup, &mut jar, "/auth/signin/fake").await;
    let (_, state) = callback.split_once("&state=").unwrap();
    let denied = format!("/auth/callback/fake?error=access_denied&state={state}");
    let answer = get(&mut setup.service, &denied, &mut jar).await;
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        answer.body(),
        "sign-in with fake failed: the provider answered `access_denied`"
    );
    assert!(jar.0.is_empty(), "the sign-in is over");

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

#[test]
fn layer_and_service_are_clone_send_sync() {
    fn clone_send_sync<T: Clone + Send + Sync + 'static>() {}
    clone_send_sync::<AuthLayer>();
    clone_send_sync::<AuthService<App>>();
    clone_send_sync::<Auth>();
    // Over the router, as `Router::layer` will take it.
    fn service<S: Service<Request<crate::Body>, Response = Response<crate::Body>>>() {}
    fn router_like<S>()
    where
        S: Service<Request<crate::Body>, Response = Response<crate::Body>>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        service::<AuthService<S>>();
        clone_send_sync::<AuthService<S>>();
    }
    let _ = router_like::<AuthService<BodyApp>>;
}

/// An app on hyperbun bodies, like the router.
#[derive(Clone)]
struct BodyApp;

impl Service<Request<crate::Body>> for BodyApp {
    type Response = Response<crate::Body>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Response<crate::Body>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _req: Request<crate::Body>) -> Self::Future {
        std::future::ready(Ok(Response::new(crate::Body::empty())))
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
