//! Authentication: a login route issues a token; HTTP routes take the user through an
//! extractor (no token, no handler: a `401`), and the WebSocket route's upgrade hook admits
//! only known tokens, handing the socket its user as typed data.
//!
//! Run it:   cargo run --example auth          (PORT=8080 to change; default 3000)
//! Try it:   curl -X POST localhost:3000/login -H 'content-type: application/json' \
//!                -d '{"name":"ada","password":"lovelace"}'          → {"token":"…"}
//!           curl localhost:3000/me -H 'authorization: Bearer TOKEN'  → {"name":"ada"}
//!           curl -i localhost:3000/me                                → 401: missing or unknown token
//!           python3 -m websockets 'ws://localhost:3000/ws?token=TOKEN' → "welcome ada"; messages
//!                                                                      come back as "ada: …"
//!
//! Browsers cannot set headers on a WebSocket, so the socket takes the token from `?token=`
//! (or the `Authorization` header, for other clients). The users, their passwords and the
//! token table are in memory: a real application keeps them in its database and compares
//! password hashes.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::{LazyLock, Mutex};

use hyperbun::extract::{FromRequestParts, RequestContext};
use hyperbun::http::request::Parts;
use hyperbun::prelude::*;
use serde::Deserialize;

#[path = "common.rs"]
mod common;

/// The demo's users and passwords.
const USERS: [(&str, &str); 2] = [("ada", "lovelace"), ("alan", "turing")];

/// Issued tokens → user names.
static TOKENS: LazyLock<Mutex<HashMap<String, String>>> = LazyLock::new(Default::default);

/// A signed-in user: an extractor for HTTP routes and upgrade hooks.
#[derive(Debug, Clone)]
struct User {
    name: String,
}

impl FromRequestParts for User {
    type Rejection = (StatusCode, &'static str);

    async fn from_request_parts(
        parts: &mut Parts,
        _cx: &RequestContext,
    ) -> Result<Self, Self::Rejection> {
        let from_header = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let from_query = parts.uri.query().and_then(|query| {
            query
                .split('&')
                .find_map(|pair| pair.strip_prefix("token="))
        });
        let token = from_header.or(from_query).unwrap_or_default();
        let tokens = TOKENS.lock().unwrap_or_else(|e| e.into_inner());
        match tokens.get(token) {
            Some(name) => Ok(User { name: name.clone() }),
            None => Err((StatusCode::UNAUTHORIZED, "missing or unknown token")),
        }
    }
}

#[derive(Deserialize)]
struct Login {
    name: String,
    password: String,
}

/// Checks the password and issues a token.
#[post("/login")]
async fn login(Json(login): Json<Login>) -> Result<Json<Value>, (StatusCode, &'static str)> {
    let known = USERS
        .iter()
        .any(|&(name, password)| name == login.name && password == login.password);
    if !known {
        return Err((StatusCode::UNAUTHORIZED, "wrong name or password"));
    }
    let token = new_token();
    TOKENS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(token.clone(), login.name);
    Ok(Json(json!({ "token": token })))
}

/// Who the token belongs to.
#[get("/me")]
async fn me(user: User) -> Json<Value> {
    Json(json!({ "name": user.name }))
}

/// The socket: only signed-in users, each message signed with their name.
struct Room;

#[websocket("/ws", data = User, publish_to_self = true)]
impl Room {
    fn open(ws: &mut WebSocket<User>) {
        ws.subscribe("room");
        let welcome = format!("welcome {}", ws.data.name);
        ws.send(welcome);
    }

    fn message(ws: &mut WebSocket<User>, msg: Message) {
        if let Some(text) = msg.as_text() {
            let line = format!("{}: {text}", ws.data.name);
            ws.publish("room", line);
        }
    }
}

/// Admits the socket if the `User` extractor finds its token; otherwise the extractor's
/// `401` is the answer and no socket is opened.
#[upgrade("/ws")]
fn admit(user: User) -> Upgrade<User> {
    Upgrade::new(user)
}

/// A token nobody can guess from outside the process (a real application would use its
/// session store's).
fn new_token() -> String {
    let random = std::collections::hash_map::RandomState::new();
    let mut hasher = random.build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    let (a, b) = (hasher.finish(), random.build_hasher().finish());
    format!("{a:016x}{b:016x}")
}

fn app() -> Router {
    hyperbun::router![login, me, Room, admit]
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = common::setup("info", 3000);
    app().serve(port).await
}

#[cfg(test)]
mod tests {
    use hyperbun::client::{ClientBuilder, ConnectError};
    use hyperbun::prelude::*;
    use hyperbun::test::TestServer;

    #[tokio::test]
    async fn only_signed_in_users_get_in() {
        let app = TestServer::start(super::app()).await;
        let wrong = app
            .post_json("/login", &json!({ "name": "ada", "password": "babbage" }))
            .await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        let login = app
            .post_json("/login", &json!({ "name": "ada", "password": "lovelace" }))
            .await;
        assert_eq!(login.status, StatusCode::OK);
        let token = login.json::<Value>()["token"]
            .as_str()
            .expect("a token")
            .to_owned();

        // HTTP: the extractor.
        let mut headers = HeaderMap::new();
        let bearer = format!("Bearer {token}");
        headers.insert("authorization", bearer.parse().expect("a header value"));
        let me = app.request(Method::GET, "/me", headers, Bytes::new()).await;
        assert_eq!(me.json::<Value>(), json!({ "name": "ada" }));
        let anonymous = app.get("/me").await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
        assert_eq!(anonymous.text(), "missing or unknown token");

        // WebSocket: the token in the query (as a browser sends it) or in a header.
        let mut ada = app.ws(&format!("/ws?token={token}")).await;
        ada.expect_text("welcome ada").await;
        let with_header = ClientBuilder::new(app.ws_url("/ws")).header("Authorization", &bearer);
        let mut again = app.ws_with(with_header).await.expect("admitted");
        again.expect_text("welcome ada").await;
        app.wait_subscribers("room", 2).await;
        ada.send("hello").await;
        ada.expect_text("ada: hello").await;
        again.expect_text("ada: hello").await;

        for path in ["/ws", "/ws?token=guess"] {
            match app.ws_with(ClientBuilder::new(app.ws_url(path))).await {
                Err(ConnectError::Refused { status, body, .. }) => {
                    assert_eq!(status, StatusCode::UNAUTHORIZED);
                    assert_eq!(&body[..], b"missing or unknown token");
                }
                other => panic!("{path}: expected a 401, got {other:?}"),
            }
        }
        ada.close().await;
        again.close().await;
        app.stop().await;
    }
}
