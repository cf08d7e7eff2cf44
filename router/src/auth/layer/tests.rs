//! The layer over a small app service, against the fake OAuth2 provider of
//! [`crate::test::oauth`] on 127.0.0.1 (the provider is real HTTP; the app is called as a
//! tower service).

use std::collections::HashMap;
use std::convert::Infallible;

use http::header::COOKIE;
use tower::Layer;
use tower::Service;

use super::*;
use crate::auth::{Auth, AuthBuilder, GitHub, Jwt, Key, OAuthProvider};
use crate::test::oauth::{FakeOAuthProvider, TokenFailure};
use http::{Request, Response};

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
    provider: FakeOAuthProvider,
    service: AuthService<App>,
}

/// The layer over [`App`], with the fake provider under the name `fake` (HTTP Basic client
/// authentication, as [`OAuthProvider::new`] has it).
async fn setup(configure: impl FnOnce(AuthBuilder) -> AuthBuilder) -> Setup {
    let provider = FakeOAuthProvider::start().await;
    let fake = provider.provider("fake");
    layered(provider, fake, configure)
}

fn layered(
    provider: FakeOAuthProvider,
    fake: OAuthProvider,
    configure: impl FnOnce(AuthBuilder) -> AuthBuilder,
) -> Setup {
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
    let back = setup.provider.approve(location(&answer)).await;
    back.strip_prefix("http://localhost:3000")
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn sign_in_and_out() {
    let mut setup = setup(|b| b).await;
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
    let mut setup = setup(|b| b).await;
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
    for (failure, expected) in [
        (
            TokenFailure::NotAToken,
            "fake token endpoint: the answer is not a token (at `token_type`)",
        ),
        (
            TokenFailure::ErrorIn200("bad_verification_code".into()),
            "fake refused the code: bad_verification_code",
        ),
        (
            TokenFailure::Refuse("access_denied".into()),
            "fake refused the code: access_denied",
        ),
    ] {
        let provider = FakeOAuthProvider::start()
            .await
            .with_token_failure(failure.clone());
        let fake = provider.provider("fake");
        let mut setup = layered(provider, fake, |b| b);
        let mut jar = Jar::default();
        let callback = to_callback(&mut setup, &mut jar, "/auth/signin/fake").await;
        let answer = get(&mut setup.service, &callback, &mut jar).await;
        assert_eq!(answer.status(), StatusCode::BAD_GATEWAY, "{failure:?}");
        assert_eq!(
            answer.body(),
            &format!("sign-in with fake failed: {expected}")
        );
        assert!(!answer.body().contains("gho_"));
        for issued in setup.provider.issued() {
            assert!(!answer.body().contains(&issued), "{issued} in {failure:?}");
        }
        setup.provider.stop().await;
    }
    // Wrong client secret.
    let provider = FakeOAuthProvider::start().await;
    let fake = OAuthProvider::new(
        "fake",
        provider.client_id(),
        "wrong-secret",
        provider.authorize_url(),
        provider.token_url(),
        provider.user_url(),
    );
    let mut setup = layered(provider, fake, |b| b);
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
    let mut setup = setup(|b| b.jwt(Jwt::hs256(b"jwt-secret-jwt-secret-jwt-secret"))).await;
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
    let mut old = setup(|b| b).await;
    let mut jar = Jar::default();
    let callback = to_callback(&mut old, &mut jar, "/auth/signin/fake").await;
    get(&mut old.service, &callback, &mut jar).await;
    let old_cookie = jar.0["hyperbun_session"].clone();

    let mut rotated = setup(|b| {
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
    let mut new_only = setup(|b| b.key(Key::from(&[8u8; 64]))).await;
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
    let mut setup = setup(|b| b.path("/login")).await;
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
