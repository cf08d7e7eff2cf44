//! Pulsar's WebSocket chat with sign-in: only signed-in users may open `/ws`, and the session's
//! user is the socket's `ws.data`. Sign-in is GitHub's (OAuth2 with PKCE, into an encrypted
//! session cookie) for browsers, and a bearer JWT for scripts and tests — both through the
//! `hyperbun::auth` layer in front of the router, as Pulsar's `authMiddleware`.
//!
//! Run it:   GITHUB_CLIENT_ID=… GITHUB_CLIENT_SECRET=… cargo run --example pulsar_chat
//!           JWT_SECRET=$(openssl rand -hex 32) cargo run --example pulsar_chat
//!           (either or both; PORT=8080 to change the port, default 3000; PUBLIC_URL if the
//!           app is reached elsewhere than http://localhost:PORT; COOKIE_KEY, 64+ bytes, to
//!           keep sessions across restarts — without it a random key is made at start)
//! Try it:   curl localhost:3000/                              → {"message":"Hello, world!"}
//!           curl -i localhost:3000/ws                         → 401, before any upgrade
//!           browser: http://localhost:3000/auth/signin/github → GitHub, then back signed in;
//!                    a page on this origin can then open ws://localhost:3000/ws
//!           cargo run --example pulsar_chat -- token ada Ada  → a JWT for user `ada`, named Ada
//!           python3 -m websockets ws://localhost:3000/ws      (with `Authorization: Bearer TOKEN`)
//!
//! The protocol, Pulsar's: on open the socket gets `Welcome to the chat!`, joins the `chat`
//! topic, and everybody else gets `NAME joined the chat!`; a message `m` becomes `NAME: m`,
//! sent back to the sender and published to everybody else; on close the others get
//! `NAME left the chat!`. `NAME` is the user's display name, `Someone` when there is none
//! (a GitHub account without a name, a token without a `name` claim).
//!
//! To try GitHub locally: register an OAuth app (GitHub → Settings → Developer settings →
//! OAuth Apps) with the callback URL `http://localhost:3000/auth/callback/github`, and run
//! with its client id and secret. Tokens for scripts are HS256 JWTs signed with `JWT_SECRET`,
//! with the claims `sub` (the user id), `name` (the display name) and `exp`; the `token`
//! command mints one valid for an hour.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hyperbun::auth::{Auth, AuthError, GitHub, Jwt, Key, Session};
use hyperbun::prelude::*;

#[path = "common.rs"]
mod common;

/// The one room.
const CHAT: &str = "chat";

/// Who is on a socket: the signed-in user's display name.
#[derive(Debug)]
struct ChatUser {
    name: String,
}

#[get("/")]
async fn index() -> Json<Value> {
    Json(json!({ "message": "Hello, world!" }))
}

/// Pulsar's `canUpgrade` + `upgrade`: no session, no socket (`401` from the extractor).
#[upgrade("/ws")]
fn admit(session: Session) -> Upgrade<ChatUser> {
    let name = session.user.name.unwrap_or_else(|| "Someone".to_owned());
    Upgrade::new(ChatUser { name })
}

struct Chat;

#[websocket("/ws", data = ChatUser)]
impl Chat {
    fn open(ws: &mut WebSocket<ChatUser>) {
        ws.send("Welcome to the chat!");
        ws.subscribe(CHAT);
        let joined = format!("{} joined the chat!", ws.data.name);
        ws.publish(CHAT, joined);
    }

    fn message(ws: &mut WebSocket<ChatUser>, msg: Message) {
        let Some(text) = msg.as_text() else {
            return;
        };
        let line = format!("{}: {text}", ws.data.name);
        ws.send(line.as_str());
        ws.publish(CHAT, line);
    }

    fn close(ws: &mut WebSocket<ChatUser>, _code: u16, _reason: &str) {
        let left = format!("{} left the chat!", ws.data.name);
        ws.publish(CHAT, left);
    }
}

/// How users sign in, from the environment (or from a test).
struct Settings {
    /// GitHub's OAuth app: client id and secret.
    github: Option<(String, String)>,
    jwt_secret: Option<String>,
    /// Where browsers reach the app; GitHub sends them back to `PUBLIC_URL/auth/callback/github`.
    public_url: String,
    cookie_key: Key,
}

impl Settings {
    /// From environment variables, as `var` reads them (`main`: the process's environment).
    fn from_vars(port: u16, var: impl Fn(&str) -> Option<String>) -> Result<Settings, String> {
        let var = |name: &str| var(name).filter(|v| !v.is_empty());
        let github = match (var("GITHUB_CLIENT_ID"), var("GITHUB_CLIENT_SECRET")) {
            (Some(id), Some(secret)) => Some((id, secret)),
            (None, None) => None,
            _ => {
                return Err("set both GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET, or neither".into())
            }
        };
        let jwt_secret = var("JWT_SECRET");
        if github.is_none() && jwt_secret.is_none() {
            return Err(
                "nobody could sign in: set GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET \
                        (browsers, through GitHub), JWT_SECRET (bearer tokens), or both"
                    .into(),
            );
        }
        let cookie_key = match var("COOKIE_KEY") {
            Some(key) => Key::from(key.as_bytes()),
            None => {
                tracing::warn!("no COOKIE_KEY: sessions are sealed with a key made at start and end with this process");
                Key::generate()
            }
        };
        Ok(Settings {
            github,
            jwt_secret,
            public_url: var("PUBLIC_URL").unwrap_or_else(|| format!("http://localhost:{port}")),
            cookie_key,
        })
    }
}

/// The app: the routes behind the sign-in layer.
fn app(settings: Settings) -> Result<Router, AuthError> {
    let mut auth = Auth::builder()
        .key(settings.cookie_key)
        .public_url(settings.public_url);
    if let Some((id, secret)) = settings.github {
        auth = auth.provider(GitHub::new(id, secret));
    }
    if let Some(secret) = settings.jwt_secret {
        auth = auth.jwt(Jwt::hs256(secret));
    }
    let auth = auth.build()?;
    Ok(hyperbun::router![index, Chat, admit].layer(auth.layer()))
}

/// A token for scripts: `sub`, `name`, valid for an hour.
fn token(secret: &str, sub: &str, name: Option<&str>) -> String {
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
        + 3600;
    let mut claims = json!({ "sub": sub, "exp": exp });
    if let Some(name) = name {
        claims["name"] = json!(name);
    }
    Jwt::hs256(secret)
        .sign(&claims)
        .expect("an HS256 token can always be signed")
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some("token") = args.first().map(String::as_str) {
        let Some(secret) = std::env::var("JWT_SECRET").ok().filter(|s| !s.is_empty()) else {
            eprintln!("set JWT_SECRET (the server's) to mint a token");
            std::process::exit(2);
        };
        let Some(sub) = args.get(1) else {
            eprintln!("usage: pulsar_chat token USER_ID [DISPLAY_NAME]");
            std::process::exit(2);
        };
        println!("{}", token(&secret, sub, args.get(2).map(String::as_str)));
        return Ok(());
    }
    let port = common::setup("info", 3000);
    let app = Settings::from_vars(port, |name| std::env::var(name).ok())
        .and_then(|settings| app(settings).map_err(|e| e.to_string()));
    match app {
        Ok(app) => app.serve(port).await,
        Err(why) => {
            eprintln!("pulsar_chat: {why}");
            std::process::exit(2);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyperbun::client::{ClientBuilder, ConnectError};
    use hyperbun::test::{TestServer, TestWebSocket};

    const SECRET: &str = "a-test-secret-of-at-least-32-bytes!!";

    fn settings() -> Settings {
        Settings {
            github: Some(("Iv1.test-client".into(), "test-client-secret".into())),
            jwt_secret: Some(SECRET.into()),
            public_url: "http://localhost:3000".into(),
            cookie_key: Key::generate(),
        }
    }

    async fn join(app: &TestServer, sub: &str, name: Option<&str>) -> TestWebSocket {
        let builder = ClientBuilder::new(app.ws_url("/ws")).header(
            "authorization",
            format!("Bearer {}", token(SECRET, sub, name)),
        );
        let mut ws = app.ws_with(builder).await.expect("signed in");
        ws.expect_text("Welcome to the chat!").await;
        ws
    }

    #[tokio::test]
    async fn the_index_answers_hello_world() {
        let app = TestServer::start(app(settings()).unwrap()).await;
        assert_eq!(
            app.get("/").await.json::<Value>(),
            json!({ "message": "Hello, world!" })
        );
        app.stop().await;
    }

    #[tokio::test]
    async fn the_socket_is_refused_with_401_unless_signed_in() {
        let app = TestServer::start(app(settings()).unwrap()).await;
        let status = |e: ConnectError| match e {
            ConnectError::Refused { status, .. } => status,
            other => panic!("expected a refusal, got {other}"),
        };
        let Err(anonymous) = app.ws_with(ClientBuilder::new(app.ws_url("/ws"))).await else {
            panic!("an anonymous socket was admitted");
        };
        assert_eq!(status(anonymous), StatusCode::UNAUTHORIZED);
        let forged = ClientBuilder::new(app.ws_url("/ws")).header(
            "authorization",
            format!(
                "Bearer {}",
                token("another-secret-of-at-least-32-bytes", "eve", Some("Eve"))
            ),
        );
        let Err(forged) = app.ws_with(forged).await else {
            panic!("a forged token was admitted");
        };
        assert_eq!(status(forged), StatusCode::UNAUTHORIZED);
        app.stop().await;
    }

    #[tokio::test]
    async fn joins_messages_and_leaves_reach_the_room_as_pulsar_sends_them() {
        let app = TestServer::start(app(settings()).unwrap()).await;
        let mut ada = join(&app, "1", Some("Ada")).await;
        app.wait_subscribers(CHAT, 1).await;
        let mut grace = join(&app, "2", Some("Grace")).await;
        ada.expect_text("Grace joined the chat!").await;
        app.wait_subscribers(CHAT, 2).await;

        grace.send("hello, Ada").await;
        grace.expect_text("Grace: hello, Ada").await;
        ada.expect_text("Grace: hello, Ada").await;

        // No display name: Someone.
        let mut anonymous = join(&app, "3", None).await;
        ada.expect_text("Someone joined the chat!").await;
        grace.expect_text("Someone joined the chat!").await;

        grace.close().await;
        ada.expect_text("Grace left the chat!").await;
        anonymous.expect_text("Grace left the chat!").await;
        ada.expect_silence(Duration::from_millis(100)).await;
        ada.close().await;
        anonymous.close().await;
        app.stop().await;
    }

    #[tokio::test]
    async fn browsers_sign_in_through_github() {
        let app = TestServer::start(app(settings()).unwrap()).await;
        let redirect = app.get("/auth/signin/github").await;
        assert_eq!(redirect.status, StatusCode::FOUND);
        let location = redirect.header("location").expect("a Location");
        assert!(
            location.starts_with("https://github.com/login/oauth/authorize?"),
            "{location}"
        );
        for part in [
            "client_id=Iv1.test-client",
            "code_challenge_method=S256",
            "state=",
            "redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fauth%2Fcallback%2Fgithub",
        ] {
            assert!(location.contains(part), "no {part} in {location}");
        }
        app.stop().await;
    }

    #[test]
    fn settings_refuse_a_server_nobody_could_sign_in_to_and_half_a_github_app() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let Err(nobody) = Settings::from_vars(3000, vars(&[])) else {
            panic!("a server nobody can sign in to was accepted");
        };
        assert!(nobody.contains("JWT_SECRET"), "{nobody}");
        let Err(half) = Settings::from_vars(3000, vars(&[("GITHUB_CLIENT_ID", "Iv1.x")])) else {
            panic!("half a GitHub app was accepted");
        };
        assert!(half.contains("GITHUB_CLIENT_SECRET"), "{half}");
        let Ok(jwt) = Settings::from_vars(3000, vars(&[("JWT_SECRET", SECRET)])) else {
            panic!("JWT_SECRET alone was refused");
        };
        assert_eq!(jwt.public_url, "http://localhost:3000");
        assert!(app(jwt).is_ok());
    }
}
