//! `hyperbun::auth` end to end: the auth layer in front of hyperbun routes
//! (`router.layer(auth.layer())`), the fake OAuth2 provider of `hyperbun::test::oauth` on
//! 127.0.0.1 (GitHub's checks and answers, PKCE's S256 check), and real HTTP and WebSocket
//! clients.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use hyperbun::auth::{Auth, AuthBuilder, Jwt, Key, Session, User};
use hyperbun::client::{ClientBuilder, ConnectError};
use hyperbun::prelude::*;
use hyperbun::test::oauth::FakeOAuthProvider;
use hyperbun::test::{TestResponse, TestServer};

const JWT_SECRET: &[u8] = b"jwt-secret-5b8e3d2c6a1f4e7d9c0b";
/// The cookie key's bytes: every one is 0x5a, so its forms in a log would be recognisable.
const KEY_BYTE: u8 = 0x5a;
const RSA_PRIVATE: &str = include_str!("../router/src/auth/testdata/rsa-a.pem");
const RSA_PUBLIC: &str = include_str!("../router/src/auth/testdata/rsa-a.pub.pem");

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs()
}

/// The fake provider, refusing an authorize request that does not ask for GitHub's scope.
async fn start_provider() -> FakeOAuthProvider {
    FakeOAuthProvider::start().await.require_scope("read:user")
}

// ---------------------------------------------------------------------------------------
// The app.

#[get("/me")]
async fn me(session: Session) -> String {
    format!(
        "{} ({} via {})",
        session.user.display_name(),
        session.user.id,
        session.provider
    )
}

#[get("/maybe")]
async fn maybe(session: Option<Session>) -> String {
    match session {
        Some(session) => format!("signed in as {}", session.user.login),
        None => "anonymous".to_owned(),
    }
}

#[get("/claims")]
async fn claims(req: Request) -> Json<Value> {
    Json(Session::get(&req).map_or(Value::Null, |s| s.claims.clone()))
}

struct Room;

#[websocket("/ws", data = User)]
impl Room {
    fn open(ws: &mut WebSocket<User>) {
        let hello = format!("hello {}", ws.data.display_name());
        ws.send(hello);
    }

    fn message(ws: &mut WebSocket<User>, msg: Message) {
        if let Some(text) = msg.as_text() {
            let line = format!("{}: {text}", ws.data.login);
            ws.send(line);
        }
    }
}

/// Only signed-in users get a socket; their user is the socket's data.
#[upgrade("/ws")]
fn admit(session: Session) -> Upgrade<User> {
    Upgrade::new(session.user)
}

fn key(byte: u8) -> Key {
    Key::from(&[byte; 64])
}

/// The auth configuration of the tests: GitHub pointed at the fake provider.
fn auth_for(provider: &FakeOAuthProvider) -> AuthBuilder {
    Auth::builder()
        .key(key(KEY_BYTE))
        .provider(provider.github())
        .jwt(Jwt::hs256(JWT_SECRET))
        .public_url("http://localhost:3000")
}

async fn start_app(auth: AuthBuilder) -> TestServer {
    let auth = auth.build().expect("the test configuration is valid");
    let router = hyperbun::router![me, maybe, claims, Room, admit];
    TestServer::start(router.layer(auth.layer())).await
}

// ---------------------------------------------------------------------------------------
// A browser: cookies, and following the provider's redirect.

#[derive(Default, Clone, Debug)]
struct Browser {
    cookies: HashMap<String, String>,
}

impl Browser {
    fn keep(&mut self, answer: &TestResponse) {
        for set in answer.header_values("set-cookie") {
            let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').expect("name=value");
            if attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    fn cookie_header(&self) -> String {
        let mut pairs: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        pairs.sort();
        pairs.join("; ")
    }

    async fn request(&mut self, app: &TestServer, method: Method, path: &str) -> TestResponse {
        let mut headers = HeaderMap::new();
        if !self.cookies.is_empty() {
            headers.insert("cookie", self.cookie_header().parse().unwrap());
        }
        let answer = app.request(method, path, headers, Bytes::new()).await;
        self.keep(&answer);
        answer
    }

    async fn get(&mut self, app: &TestServer, path: &str) -> TestResponse {
        self.request(app, Method::GET, path).await
    }

    /// From `/auth/signin/github` to the provider and back: the callback's path and query.
    async fn through_provider(&mut self, app: &TestServer, provider: &FakeOAuthProvider) -> String {
        let signin = self.get(app, "/auth/signin/github?return_to=/me").await;
        assert_eq!(signin.status, StatusCode::FOUND, "{}", signin.text());
        let back = provider.approve(signin.header("location").unwrap()).await;
        back.strip_prefix("http://localhost:3000")
            .unwrap_or_else(|| panic!("not the app's callback: {back}"))
            .to_owned()
    }

    /// The whole sign-in.
    async fn sign_in(&mut self, app: &TestServer, provider: &FakeOAuthProvider) {
        let callback = self.through_provider(app, provider).await;
        let answer = self.get(app, &callback).await;
        assert_eq!(answer.status, StatusCode::FOUND, "{}", answer.text());
        assert_eq!(answer.header("location"), Some("/me"));
    }
}

fn bearer(token: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    headers
}

// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn github_sign_in_reaches_routes_and_sockets() {
    let provider = start_provider().await;
    let app = start_app(auth_for(&provider)).await;
    let mut browser = Browser::default();
    assert_eq!(
        browser.get(&app, "/me").await.status,
        StatusCode::UNAUTHORIZED
    );

    let callback = browser.through_provider(&app, &provider).await;
    assert!(
        callback.starts_with("/auth/callback/github?code="),
        "{callback}"
    );
    let answer = browser.get(&app, &callback).await;
    assert_eq!(answer.status, StatusCode::FOUND, "{}", answer.text());
    assert_eq!(answer.header("location"), Some("/me"));
    let session_cookie = answer
        .header_values("set-cookie")
        .into_iter()
        .find(|c| c.starts_with("hyperbun_session="))
        .expect("a session cookie")
        .to_owned();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=604800"] {
        assert!(
            session_cookie.contains(attribute),
            "{attribute}: {session_cookie}"
        );
    }
    assert!(!session_cookie.contains("Secure"), "http:// public URL");

    let me = browser.get(&app, "/me").await;
    assert_eq!(
        (me.status, me.text()),
        (StatusCode::OK, "The Octocat (583231 via github)")
    );
    assert_eq!(
        browser.get(&app, "/maybe").await.text(),
        "signed in as octocat"
    );
    let session: Session = browser.get(&app, "/auth/session").await.json();
    assert_eq!(session.user.login, "octocat");
    assert_eq!(session.provider, "github");

    // The socket's upgrade hook takes the Session; its user is `ws.data`.
    let builder = ClientBuilder::new(app.ws_url("/ws")).header("Cookie", browser.cookie_header());
    let mut ws = app
        .ws_with(builder)
        .await
        .expect("a signed-in upgrade is admitted");
    ws.expect_text("hello The Octocat").await;
    ws.send("hi").await;
    ws.expect_text("octocat: hi").await;
    ws.close().await;
    match ClientBuilder::new(app.ws_url("/ws")).connect().await {
        Err(ConnectError::Refused { status, body, .. }) => {
            assert_eq!(status, StatusCode::UNAUTHORIZED);
            assert_eq!(body, "sign in first");
        }
        other => panic!("an anonymous upgrade must be refused: {other:?}"),
    }

    let out = browser.request(&app, Method::POST, "/auth/signout").await;
    assert_eq!(
        (out.status, out.header("location")),
        (StatusCode::FOUND, Some("/"))
    );
    assert_eq!(browser.get(&app, "/maybe").await.text(), "anonymous");
    app.stop().await;
    provider.stop().await;
}

#[tokio::test]
async fn a_tampered_cookie_is_no_session() {
    let provider = start_provider().await;
    let app = start_app(auth_for(&provider)).await;
    let mut browser = Browser::default();
    browser.sign_in(&app, &provider).await;
    let value = browser.cookies["hyperbun_session"].clone();
    let mut bytes = value.into_bytes();
    let i = bytes.len() / 2;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    browser
        .cookies
        .insert("hyperbun_session".into(), String::from_utf8(bytes).unwrap());
    assert_eq!(browser.get(&app, "/maybe").await.text(), "anonymous");
    let me = browser.get(&app, "/me").await;
    assert_eq!(
        (me.status, me.text()),
        (StatusCode::UNAUTHORIZED, "sign in first")
    );
    app.stop().await;
    provider.stop().await;
}

#[tokio::test]
async fn a_previous_key_still_opens_and_the_cookie_is_reissued() {
    let provider = start_provider().await;
    let before = start_app(auth_for(&provider)).await;
    let mut browser = Browser::default();
    browser.sign_in(&before, &provider).await;
    let old = browser.cookies["hyperbun_session"].clone();
    before.stop().await;

    // The key rotated: a new key, the old one listed as previous.
    let after = start_app(
        auth_for(&provider)
            .key(key(0x11))
            .previous_keys([key(KEY_BYTE)]),
    )
    .await;
    let answer = browser.get(&after, "/me").await;
    assert_eq!(answer.text(), "The Octocat (583231 via github)");
    let reissued = answer.header_values("set-cookie");
    assert_eq!(reissued.len(), 1, "{reissued:?}");
    assert!(reissued[0].starts_with("hyperbun_session="));
    let new = browser.cookies["hyperbun_session"].clone();
    assert_ne!(new, old);
    assert!(browser
        .get(&after, "/me")
        .await
        .headers
        .get("set-cookie")
        .is_none());
    after.stop().await;

    // The old key dropped: the re-issued cookie works, the old one does not.
    let later = start_app(auth_for(&provider).key(key(0x11))).await;
    assert_eq!(
        browser.get(&later, "/maybe").await.text(),
        "signed in as octocat"
    );
    let mut stale = Browser::default();
    stale.cookies.insert("hyperbun_session".into(), old);
    assert_eq!(stale.get(&later, "/maybe").await.text(), "anonymous");
    later.stop().await;
    provider.stop().await;
}

#[tokio::test]
async fn a_bad_state_is_400() {
    let provider = start_provider().await;
    let app = start_app(auth_for(&provider)).await;
    let mut browser = Browser::default();
    let callback = browser.through_provider(&app, &provider).await;
    let (code, _state) = callback.split_once("&state=").unwrap();
    let answer = browser
        .get(&app, &format!("{code}&state=not-the-state"))
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.text(),
        "sign-in with github failed: `state` does not match the sign-in in progress"
    );
    // Without the sign-in cookie (another browser): 400 as well.
    let answer = Browser::default().get(&app, &callback).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(
        answer.text().contains("no sign-in in progress"),
        "{}",
        answer.text()
    );
    assert_eq!(browser.get(&app, "/maybe").await.text(), "anonymous");
    app.stop().await;
    provider.stop().await;
}

#[tokio::test]
async fn bearer_jwts_hs256_rs256_and_expired() {
    let provider = start_provider().await;
    let app = start_app(auth_for(&provider)).await;
    let hs = Jwt::hs256(JWT_SECRET);
    let token = hs
        .sign(&json!({ "sub": "svc-7", "name": "Ada", "exp": now() + 300, "role": "admin" }))
        .unwrap();
    let answer = app
        .request(Method::GET, "/me", bearer(&token), Bytes::new())
        .await;
    assert_eq!(
        (answer.status, answer.text()),
        (StatusCode::OK, "Ada (svc-7 via jwt)")
    );
    let claims: Value = app
        .request(Method::GET, "/claims", bearer(&token), Bytes::new())
        .await
        .json();
    assert_eq!(claims["role"], "admin");

    let expired = hs
        .sign(&json!({ "sub": "svc-7", "exp": now() - 3600 }))
        .unwrap();
    let answer = app
        .request(Method::GET, "/maybe", bearer(&expired), Bytes::new())
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.text(), "invalid bearer token: token expired");
    assert_eq!(
        answer.header("www-authenticate"),
        Some(r#"Bearer error="invalid_token", error_description="token expired""#)
    );
    let forged = Jwt::hs256(b"not-the-secret-not-the-secret-no")
        .sign(&json!({ "sub": "root", "exp": now() + 300 }))
        .unwrap();
    let answer = app
        .request(Method::GET, "/maybe", bearer(&forged), Bytes::new())
        .await;
    assert_eq!(answer.text(), "invalid bearer token: bad signature");
    app.stop().await;

    // RS256: the app holds the issuer's public key; the issuer signs with the private one.
    let rs_app =
        start_app(auth_for(&provider).jwt(Jwt::rs256_pem(RSA_PUBLIC.as_bytes()).unwrap())).await;
    let issuer = Jwt::rs256_private_pem(RSA_PRIVATE.as_bytes()).unwrap();
    let token = issuer
        .sign(&json!({ "sub": "u-9", "exp": now() + 300 }))
        .unwrap();
    let answer = rs_app
        .request(Method::GET, "/me", bearer(&token), Bytes::new())
        .await;
    assert_eq!(
        (answer.status, answer.text()),
        (StatusCode::OK, "u-9 (u-9 via jwt)")
    );
    // An HS256 token signed with the (public) RSA key is refused, not verified.
    let confused = Jwt::hs256(RSA_PUBLIC.as_bytes())
        .sign(&json!({ "sub": "root", "exp": now() + 300 }))
        .unwrap();
    let answer = rs_app
        .request(Method::GET, "/me", bearer(&confused), Bytes::new())
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        answer.text(),
        "invalid bearer token: algorithm HS256 not accepted (expected RS256)"
    );
    // A bearer token on the socket route too.
    let builder =
        ClientBuilder::new(rs_app.ws_url("/ws")).header("Authorization", format!("Bearer {token}"));
    let mut ws = rs_app.ws_with(builder).await.expect("admitted with a JWT");
    ws.expect_text("hello u-9").await;
    ws.close().await;
    rs_app.stop().await;
    provider.stop().await;
}

#[tokio::test]
async fn no_secret_reaches_the_logs() {
    let logs = hyperbun_tests::captured_logs();
    let provider = start_provider().await;
    let app = start_app(auth_for(&provider)).await;

    // A sign-in, a session, a socket, a sign-out.
    let mut browser = Browser::default();
    browser.sign_in(&app, &provider).await;
    browser.get(&app, "/me").await;
    let builder = ClientBuilder::new(app.ws_url("/ws")).header("Cookie", browser.cookie_header());
    let mut ws = app.ws_with(builder).await.unwrap();
    ws.expect_text("hello The Octocat").await;
    ws.close().await;
    // Failures: a bad state, a replayed code, a wrong client secret, an unreachable provider,
    // a tampered cookie, expired and forged tokens.
    let mut other = Browser::default();
    let callback = other.through_provider(&app, &provider).await;
    let (code, _) = callback.split_once("&state=").unwrap();
    other.get(&app, &format!("{code}&state=forged")).await;
    let mut replay = Browser::default();
    let callback = replay.through_provider(&app, &provider).await;
    let signin = replay.clone();
    assert_eq!(replay.get(&app, &callback).await.status, StatusCode::FOUND);
    let answer = signin.clone().get(&app, &callback).await;
    assert_eq!(answer.status, StatusCode::BAD_GATEWAY, "{}", answer.text());
    let wrong = start_app(
        auth_for(&provider).provider(
            hyperbun::auth::OAuthProvider::new(
                "wrong",
                provider.client_id(),
                "wrong-secret-0000",
                provider.authorize_url(),
                provider.token_url(),
                provider.user_url(),
            )
            .scopes(["read:user"])
            .client_secret_in_body(),
        ),
    )
    .await;
    let mut browser2 = Browser::default();
    let signin = browser2.get(&wrong, "/auth/signin/wrong").await;
    let back = provider.approve(signin.header("location").unwrap()).await;
    let callback = back
        .strip_prefix("http://localhost:3000")
        .unwrap()
        .to_owned();
    let answer = browser2.get(&wrong, &callback).await;
    assert_eq!(answer.status, StatusCode::BAD_GATEWAY, "{}", answer.text());
    assert!(
        answer.text().contains("invalid_client"),
        "{}",
        answer.text()
    );
    wrong.stop().await;
    let mut late = Browser::default();
    let callback = late.through_provider(&app, &provider).await;
    let client_secret = provider.client_secret();
    let issued = provider.issued();
    provider.stop().await;
    let answer = late.get(&app, &callback).await;
    assert_eq!(answer.status, StatusCode::BAD_GATEWAY, "{}", answer.text());
    let mut tampered = browser.clone();
    tampered
        .cookies
        .insert("hyperbun_session".into(), "AAAA".into());
    tampered.get(&app, "/maybe").await;
    let hs = Jwt::hs256(JWT_SECRET);
    let expired = hs
        .sign(&json!({ "sub": "x", "exp": now() - 3600 }))
        .unwrap();
    app.request(Method::GET, "/maybe", bearer(&expired), Bytes::new())
        .await;
    app.stop().await;

    let text = logs.text();
    assert!(text.contains("signed in"), "the flow was logged:\n{text}");
    assert!(
        text.contains("sign-in failed"),
        "the failures were logged:\n{text}"
    );
    let key_forms = [
        format!("{:?}", [KEY_BYTE; 64]),
        base64::engine::general_purpose::STANDARD.encode([KEY_BYTE; 64]),
        "5a5a5a5a5a5a5a5a".to_owned(),
        String::from_utf8(vec![KEY_BYTE; 16]).unwrap(),
    ];
    let mut secrets: Vec<String> = vec![
        client_secret,
        "wrong-secret-0000".to_owned(),
        String::from_utf8(JWT_SECRET.to_vec()).unwrap(),
        expired,
    ];
    secrets.extend(key_forms);
    secrets.extend(issued);
    secrets.extend(browser.cookies.values().cloned());
    for secret in &secrets {
        assert!(
            !text.contains(secret.as_str()),
            "{secret:?} is in the logs:\n{text}"
        );
    }
}
