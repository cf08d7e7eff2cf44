//! Verb's in-band authentication: the socket opens for anyone, and the first thing a client
//! must send is a JWT. Until then it gets nothing but reminders, and after `AUTH_TIMEOUT_S`
//! seconds it is closed; a timer task does that through the socket's `SocketHandle`.
//!
//! Run it:   export JWT_SECRET=$(openssl rand -hex 32)
//!           cargo run --example verb_auth                 (PORT=8080 to change; default 3000)
//!           cargo run --example verb_auth -- token 1 ada user      → a token for ada (1 hour)
//!           cargo run --example verb_auth -- token 2 root admin    → an admin's token
//! Try it:   python3 -m websockets ws://localhost:3000/ws
//!           ← {"type":"auth_required","message":"Please authenticate"}
//!           {"type":"message","message":"hi"}   → {"type":"error","message":"Authentication required"}
//!           {"type":"auth","token":"TOKEN"}     → {"type":"auth_success","user":{"id":"1","username":"ada","role":"user"}}
//!           {"type":"message","message":"hi"}   → to every authenticated socket, the sender too:
//!                 {"type":"message","userId":"1","username":"ada","message":"hi","timestamp":"2025-01-01T12:00:00.000Z"}
//!           {"type":"admin_command","command":"stats"}
//!                 → {"type":"error","message":"Insufficient permissions"} for a user;
//!                   {"type":"admin_result","command":"stats","result":{"authenticatedSockets":N}} for an admin
//!           not json                            → {"type":"error","message":"Invalid message format"} (still open)
//!
//! Closing: a token that does not verify gets `{"type":"auth_failed","message":"Invalid token"}`
//! and the socket closes with `1008` (policy violation) "Invalid token"; no `auth` within
//! `AUTH_TIMEOUT_S` (default 10) gets `{"type":"auth_timeout","message":"Authentication
//! timeout"}` and `1008` "Authentication timeout". `1008` is RFC 6455's code for a message that
//! violates the server's policy, which both are; the reason tells them apart.
//!
//! Tokens are HS256 JWTs checked with `hyperbun::auth::Jwt` (signature, `exp`, `nbf`), with
//! the claims `sub` (the user's id), `name`, `role` (`user` or `admin`) and `exp`. The server
//! refuses to start without `JWT_SECRET` (or with one under 32 bytes) rather than fall back
//! on a default: a secret written in an example is a secret anyone can mint admin tokens
//! with, on every server that forgot to set its own. `token` mints with the same secret.
//!
//! Also answered: `{"type":"auth"}` again → `Already authenticated`, another `type` →
//! `Unknown message type`, an unknown admin command → `Unknown command`. Messages are limited
//! to 64 KiB (`1009` past it): a socket nobody has authenticated yet gets no more.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hyperbun::auth::Jwt;
use hyperbun::prelude::*;
use serde::{Deserialize, Serialize};
use time::macros::format_description;
use time::OffsetDateTime;

#[path = "common.rs"]
mod common;

/// The topic only authenticated sockets subscribe to.
const AUTHENTICATED: &str = "authenticated";

/// How long a socket may stay unauthenticated, by default.
const DEFAULT_AUTH_TIMEOUT: Duration = Duration::from_secs(10);

/// The shortest secret accepted: 256 bits, HS256's own strength.
const MIN_SECRET_LEN: usize = 32;

/// What the server needs, read once from the environment.
struct Settings {
    jwt: Jwt,
    auth_timeout: Duration,
}

/// Set by `main` before serving (and by the tests).
static SETTINGS: OnceLock<Settings> = OnceLock::new();

fn settings() -> &'static Settings {
    SETTINGS
        .get()
        .expect("bug: the settings are set before the server starts")
}

impl Settings {
    /// `JWT_SECRET` (required, at least 32 bytes) and `AUTH_TIMEOUT_S` (default 10), looked up
    /// with `var`; the error says what to set.
    fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let secret = var("JWT_SECRET").unwrap_or_default();
        if secret.is_empty() {
            return Err(format!(
                "JWT_SECRET is not set: the server needs the secret its tokens are signed \
                 with (at least {MIN_SECRET_LEN} bytes), \
                 e.g. `export JWT_SECRET=$(openssl rand -hex 32)`"
            ));
        }
        if secret.len() < MIN_SECRET_LEN {
            return Err(format!(
                "JWT_SECRET is {} bytes; HS256 wants at least {MIN_SECRET_LEN}, e.g. \
                 `export JWT_SECRET=$(openssl rand -hex 32)`",
                secret.len()
            ));
        }
        let auth_timeout = match var("AUTH_TIMEOUT_S") {
            None => DEFAULT_AUTH_TIMEOUT,
            Some(s) => match s.parse::<u64>() {
                Ok(secs) if secs > 0 => Duration::from_secs(secs),
                _ => return Err(format!("AUTH_TIMEOUT_S={s:?}: expected whole seconds, > 0")),
            },
        };
        Ok(Settings {
            jwt: Jwt::hs256(secret),
            auth_timeout,
        })
    }
}

/// A token's claims.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// The user's id.
    sub: String,
    /// The user's name.
    name: String,
    role: Role,
    /// Expiry, in seconds since the Unix epoch.
    exp: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Role {
    User,
    Admin,
}

/// An authenticated user, as `auth_success` shows it.
#[derive(Debug, Serialize)]
struct User {
    id: String,
    username: String,
    role: Role,
}

/// Bun's `ws.data`: nobody until `auth` succeeds, and the deadline until then.
#[derive(Default)]
struct Client {
    user: Option<User>,
    deadline: Option<Deadline>,
}

/// The authentication deadline: a timer task holding the socket's handle, which sends
/// `auth_timeout` and closes the socket unless `auth` settles the deadline first. Whichever of
/// the two settles it decides; the other does nothing, so a token arriving as the timer fires
/// never gets both `auth_success` and `auth_timeout`. Dropped with the socket's data (or once
/// settled), it stops the timer.
struct Deadline {
    settled: Arc<AtomicBool>,
    timer: tokio::task::AbortHandle,
}

impl Deadline {
    fn start(socket: SocketHandle, after: Duration) -> Self {
        let settled = Arc::new(AtomicBool::new(false));
        let timer = tokio::spawn({
            let settled = Arc::clone(&settled);
            async move {
                tokio::time::sleep(after).await;
                if !settled.swap(true, Ordering::AcqRel) {
                    let timeout =
                        json!({ "type": "auth_timeout", "message": "Authentication timeout" });
                    socket.send(timeout.to_string());
                    // After the message above: the close frame goes behind what is queued.
                    socket.close(1008, "Authentication timeout");
                }
            }
        });
        Deadline {
            settled,
            timer: timer.abort_handle(),
        }
    }

    /// Settles the deadline for the client's `auth`: true if the timer had not fired yet.
    fn settle(self) -> bool {
        !self.settled.swap(true, Ordering::AcqRel)
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        self.timer.abort();
    }
}

/// The socket.
struct Chat;

#[websocket("/ws", data = Client, max_payload_length = 64 * 1024)]
impl Chat {
    fn open(ws: &mut WebSocket<Client>) {
        send(
            ws,
            &json!({ "type": "auth_required", "message": "Please authenticate" }),
        );
        ws.data.deadline = Some(Deadline::start(ws.handle(), settings().auth_timeout));
    }

    fn message(ws: &mut WebSocket<Client>, msg: Message) {
        let Some(request) = msg
            .as_text()
            .and_then(|text| serde_json::from_str::<Value>(text).ok())
        else {
            return error(ws, "Invalid message format");
        };
        let Some(user) = &ws.data.user else {
            return authenticate(ws, &request);
        };
        match request["type"].as_str() {
            Some("message") => {
                let Some(text) = request["message"].as_str() else {
                    return error(ws, "Invalid message format");
                };
                let message = json!({
                    "type": "message",
                    "userId": user.id,
                    "username": user.username,
                    "message": text,
                    "timestamp": now_iso8601(),
                });
                // The server's publish reaches every subscriber, the sender included.
                ws.server().publish(AUTHENTICATED, message.to_string());
            }
            Some("admin_command") if user.role != Role::Admin => {
                error(ws, "Insufficient permissions");
            }
            Some("admin_command") => admin_command(ws, &request),
            Some("auth") => error(ws, "Already authenticated"),
            _ => error(ws, "Unknown message type"),
        }
    }
}

/// An unauthenticated socket's message: `auth` with a token that verifies, or nothing.
fn authenticate(ws: &mut WebSocket<Client>, request: &Value) {
    if request["type"] != "auth" {
        return error(ws, "Authentication required");
    }
    let Some(token) = request["token"].as_str() else {
        return error(ws, "Invalid message format");
    };
    let verified = settings().jwt.verify::<Claims>(token);
    if !ws.data.deadline.take().is_some_and(Deadline::settle) {
        // The timer fired first: `auth_timeout` is out, and the socket is closing.
        return;
    }
    match verified {
        Ok(claims) => {
            let user = User {
                id: claims.sub,
                username: claims.name,
                role: claims.role,
            };
            ws.subscribe(AUTHENTICATED);
            send(ws, &json!({ "type": "auth_success", "user": user }));
            let peer = ws.remote_addr();
            tracing::info!(user = %user.username, role = ?user.role, %peer, "authenticated");
            ws.data.user = Some(user);
        }
        Err(e) => {
            tracing::info!(peer = %ws.remote_addr(), "authentication failed: {e}");
            send(
                ws,
                &json!({ "type": "auth_failed", "message": "Invalid token" }),
            );
            ws.close(1008, "Invalid token");
        }
    }
}

/// An admin's command. `stats`: how many sockets are authenticated.
fn admin_command(ws: &mut WebSocket<Client>, request: &Value) {
    match request["command"].as_str() {
        Some("stats") => {
            let authenticated = ws.server().subscriber_count(AUTHENTICATED);
            send(
                ws,
                &json!({
                    "type": "admin_result",
                    "command": "stats",
                    "result": { "authenticatedSockets": authenticated },
                }),
            );
        }
        _ => error(ws, "Unknown command"),
    }
}

fn send(ws: &mut WebSocket<Client>, value: &Value) {
    ws.send(value.to_string());
}

fn error(ws: &mut WebSocket<Client>, message: &str) {
    send(ws, &json!({ "type": "error", "message": message }));
}

/// Now as JavaScript's `toISOString()` writes it: UTC, milliseconds, `Z`.
fn now_iso8601() -> String {
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    OffsetDateTime::now_utc()
        .format(format)
        .expect("bug: a UTC date formats")
}

/// A token for `id`, `name` and `role`, valid for `ttl`.
fn mint(jwt: &Jwt, id: &str, name: &str, role: Role, ttl: Duration) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let claims = Claims {
        sub: id.to_owned(),
        name: name.to_owned(),
        role,
        exp: now + ttl.as_secs(),
    };
    jwt.sign(&claims).expect("bug: HS256 claims sign")
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let settings = match Settings::from_env(|name| std::env::var(name).ok()) {
        Ok(settings) => settings,
        Err(why) => {
            eprintln!("verb_auth: {why}");
            std::process::exit(2);
        }
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [command, id, name, role] = &args[..] {
        if command == "token" {
            let role = match role.as_str() {
                "user" => Role::User,
                "admin" => Role::Admin,
                other => {
                    eprintln!("verb_auth: role {other:?}: expected `user` or `admin`");
                    std::process::exit(2);
                }
            };
            println!(
                "{}",
                mint(&settings.jwt, id, name, role, Duration::from_secs(3600))
            );
            return Ok(());
        }
    }
    if !args.is_empty() {
        eprintln!("usage: verb_auth                     serve (PORT, JWT_SECRET, AUTH_TIMEOUT_S)");
        eprintln!("       verb_auth token ID NAME ROLE  print a token valid for an hour");
        eprintln!("                                     (ROLE: user or admin)");
        std::process::exit(2);
    }
    let port = common::setup("info", 3000);
    tracing::info!(
        auth_timeout_s = settings.auth_timeout.as_secs(),
        "tokens: HS256 with JWT_SECRET"
    );
    let _ = SETTINGS.set(settings);
    app().serve(port).await
}

/// The routes, shared by `main` and the tests below.
fn app() -> Router {
    hyperbun::router![Chat]
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::{Duration, Instant};

    use hyperbun::auth::Jwt;
    use hyperbun::prelude::{json, Router, Value};
    use hyperbun::test::{TestServer, TestWebSocket};

    use super::{mint, Role, Settings, AUTHENTICATED, SETTINGS};

    const SECRET: &str = "a test secret that is 32 bytes+!";

    /// The settings as `main` reads them, from a test environment with `AUTH_TIMEOUT_S=1`.
    fn app() -> Router {
        SETTINGS.get_or_init(|| {
            let env = HashMap::from([("JWT_SECRET", SECRET), ("AUTH_TIMEOUT_S", "1")]);
            Settings::from_env(|name| env.get(name).map(|v| (*v).to_owned()))
                .expect("valid settings")
        });
        super::app()
    }

    fn token(id: &str, name: &str, role: Role) -> String {
        mint(&Jwt::hs256(SECRET), id, name, role, Duration::from_secs(60))
    }

    async fn reply(ws: &mut TestWebSocket) -> Value {
        let message = ws.recv().await;
        serde_json::from_str(message.as_text().expect("text")).expect("JSON")
    }

    /// Opens a socket and authenticates it with `token`; returns it once `auth_success` came.
    async fn signed_in(app: &TestServer, token: &str) -> TestWebSocket {
        let mut ws = app.ws("/ws").await;
        ws.expect_json(&json!({ "type": "auth_required", "message": "Please authenticate" }))
            .await;
        ws.send(json!({ "type": "auth", "token": token }).to_string())
            .await;
        let success = reply(&mut ws).await;
        assert_eq!(success["type"], "auth_success", "{success}");
        ws
    }

    /// `2025-01-01T12:00:00.000Z`, as JavaScript's `toISOString()`.
    fn is_iso8601_utc_millis(s: &str) -> bool {
        let b = s.as_bytes();
        let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
        b.len() == 24
            && digits(0..4)
            && b[4] == b'-'
            && digits(5..7)
            && b[7] == b'-'
            && digits(8..10)
            && b[10] == b'T'
            && digits(11..13)
            && b[13] == b':'
            && digits(14..16)
            && b[16] == b':'
            && digits(17..19)
            && b[19] == b'.'
            && digits(20..23)
            && b[23] == b'Z'
    }

    #[test]
    fn settings_need_a_secret_and_take_the_timeout_from_the_environment() {
        let from = |pairs: &[(&str, &str)]| {
            let env: HashMap<String, String> = pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            Settings::from_env(|name| env.get(name).cloned())
        };
        let unset = from(&[]).err().expect("refused without JWT_SECRET");
        assert!(unset.starts_with("JWT_SECRET is not set"), "{unset}");
        let short = from(&[("JWT_SECRET", "dev")]).err().expect("refused");
        assert!(short.contains("at least 32"), "{short}");
        let default = from(&[("JWT_SECRET", SECRET)]).expect("valid");
        assert_eq!(default.auth_timeout, Duration::from_secs(10));
        let one = from(&[("JWT_SECRET", SECRET), ("AUTH_TIMEOUT_S", "1")]).expect("valid");
        assert_eq!(one.auth_timeout, Duration::from_secs(1));
        for bad in ["0", "soon", "-1"] {
            let why = from(&[("JWT_SECRET", SECRET), ("AUTH_TIMEOUT_S", bad)])
                .err()
                .expect("refused");
            assert!(why.starts_with("AUTH_TIMEOUT_S="), "{why}");
        }
    }

    #[tokio::test]
    async fn the_whole_protocol_for_a_user_and_an_admin() {
        let app = TestServer::start(app()).await;

        // Before authenticating: reminders, and bad input does not close the socket.
        let mut ada = app.ws("/ws").await;
        ada.expect_json(&json!({ "type": "auth_required", "message": "Please authenticate" }))
            .await;
        ada.send(json!({ "type": "message", "message": "hi" }).to_string())
            .await;
        ada.expect_json(&json!({ "type": "error", "message": "Authentication required" }))
            .await;
        ada.send("not json").await;
        ada.expect_json(&json!({ "type": "error", "message": "Invalid message format" }))
            .await;
        assert_eq!(app.server().subscriber_count(AUTHENTICATED), 0);

        let ada_token = token("1", "ada", Role::User);
        ada.send(json!({ "type": "auth", "token": ada_token }).to_string())
            .await;
        ada.expect_json(&json!({
            "type": "auth_success",
            "user": { "id": "1", "username": "ada", "role": "user" },
        }))
        .await;
        ada.send(json!({ "type": "auth", "token": ada_token }).to_string())
            .await;
        ada.expect_json(&json!({ "type": "error", "message": "Already authenticated" }))
            .await;

        // A user may not run admin commands; an admin may.
        ada.send(json!({ "type": "admin_command", "command": "stats" }).to_string())
            .await;
        ada.expect_json(&json!({ "type": "error", "message": "Insufficient permissions" }))
            .await;
        let mut root = signed_in(&app, &token("2", "root", Role::Admin)).await;
        app.wait_subscribers(AUTHENTICATED, 2).await;
        root.send(json!({ "type": "admin_command", "command": "stats" }).to_string())
            .await;
        root.expect_json(&json!({
            "type": "admin_result",
            "command": "stats",
            "result": { "authenticatedSockets": 2 },
        }))
        .await;
        root.send(json!({ "type": "admin_command", "command": "reboot" }).to_string())
            .await;
        root.expect_json(&json!({ "type": "error", "message": "Unknown command" }))
            .await;

        // A message reaches every authenticated socket, the sender's included.
        ada.send(json!({ "type": "message", "message": "hello" }).to_string())
            .await;
        for ws in [&mut ada, &mut root] {
            let mut message = reply(ws).await;
            let timestamp = message["timestamp"].take();
            assert!(
                is_iso8601_utc_millis(timestamp.as_str().expect("a string")),
                "{timestamp}"
            );
            let expected = json!({
                "type": "message",
                "userId": "1",
                "username": "ada",
                "message": "hello",
                "timestamp": null,
            });
            assert_eq!(message, expected);
        }

        // Invalid input once authenticated: an error, and the socket stays open.
        root.send("{ not json").await;
        root.expect_json(&json!({ "type": "error", "message": "Invalid message format" }))
            .await;
        root.send(json!({ "type": "message" }).to_string()).await;
        root.expect_json(&json!({ "type": "error", "message": "Invalid message format" }))
            .await;
        root.send(json!({ "type": "dance" }).to_string()).await;
        root.expect_json(&json!({ "type": "error", "message": "Unknown message type" }))
            .await;
        root.send(json!({ "type": "message", "message": "still here" }).to_string())
            .await;
        for ws in [&mut ada, &mut root] {
            assert_eq!(reply(ws).await["message"], "still here");
        }

        ada.close().await;
        root.close().await;
        app.stop().await;
    }

    #[tokio::test]
    async fn a_token_that_does_not_verify_fails_and_closes_with_1008() {
        let app = TestServer::start(app()).await;
        let other_secret = mint(
            &Jwt::hs256("another secret, also 32 bytes long"),
            "1",
            "ada",
            Role::Admin,
            Duration::from_secs(60),
        );
        let expired = {
            let jwt = Jwt::hs256(SECRET);
            let exp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("after 1970")
                .as_secs()
                - 3600;
            jwt.sign(&json!({ "sub": "1", "name": "ada", "role": "user", "exp": exp }))
                .expect("signed")
        };
        let unknown_role = Jwt::hs256(SECRET)
            .sign(&json!({ "sub": "1", "name": "ada", "role": "root", "exp": u64::MAX / 2 }))
            .expect("signed");
        for token in [other_secret.as_str(), &expired, &unknown_role, "garbage"] {
            let mut ws = app.ws("/ws").await;
            ws.expect_json(&json!({ "type": "auth_required", "message": "Please authenticate" }))
                .await;
            ws.send(json!({ "type": "auth", "token": token }).to_string())
                .await;
            ws.expect_json(&json!({ "type": "auth_failed", "message": "Invalid token" }))
                .await;
            assert_eq!(ws.expect_close(1008).await.reason, "Invalid token");
        }
        assert_eq!(app.server().subscriber_count(AUTHENTICATED), 0);
        app.stop().await;
    }

    #[tokio::test]
    async fn no_auth_within_the_timeout_closes_with_1008() {
        let app = TestServer::start(app()).await;
        let mut ws = app.ws("/ws").await;
        let opened = Instant::now();
        ws.expect_json(&json!({ "type": "auth_required", "message": "Please authenticate" }))
            .await;
        // Talking without authenticating does not put the deadline off.
        ws.send(json!({ "type": "message", "message": "hi" }).to_string())
            .await;
        ws.expect_json(&json!({ "type": "error", "message": "Authentication required" }))
            .await;
        ws.expect_json(&json!({ "type": "auth_timeout", "message": "Authentication timeout" }))
            .await;
        assert!(
            opened.elapsed() >= Duration::from_millis(900),
            "after AUTH_TIMEOUT_S=1"
        );
        assert_eq!(ws.expect_close(1008).await.reason, "Authentication timeout");
        app.stop().await;
    }

    #[tokio::test]
    async fn an_authenticated_socket_outlives_the_timeout() {
        let app = TestServer::start(app()).await;
        let mut ws = signed_in(&app, &token("3", "cy", Role::User)).await;
        ws.expect_silence(Duration::from_millis(1500)).await;
        ws.send(json!({ "type": "message", "message": "still here" }).to_string())
            .await;
        assert_eq!(reply(&mut ws).await["message"], "still here");
        ws.close().await;
        app.stop().await;
    }
}
