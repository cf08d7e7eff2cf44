//! Bun's chat room: one topic, typed client data, and a browser page.
//!
//! Run it:   cargo run --example chat          (PORT=8080 to change; default 3000)
//! Try it:   open http://localhost:3000/ in two browser tabs, pick names, talk
//!           python3 -m websockets 'ws://localhost:3000/ws?name=ada'   → "ada joined", then type
//!           curl localhost:3000/room-stats                            → {"chat":1}
//!
//! Protocol: `ws://HOST/ws?name=NAME` (default `Anonymous`). On open the socket joins `chat`
//! and everybody, the newcomer included, gets `NAME joined`; each text message `m` becomes
//! `NAME: m` for everybody; when a socket closes the others get `NAME left`.

use std::collections::HashMap;

use hyperbun::prelude::*;

#[path = "common.rs"]
mod common;

/// Bun's `ws.data`, typed.
#[derive(Debug)]
struct User {
    name: String,
}

/// The room.
struct Chat;

#[websocket("/ws", data = User, publish_to_self = true, per_message_deflate = true)]
impl Chat {
    fn open(ws: &mut WebSocket<User>) {
        ws.subscribe("chat");
        let joined = format!("{} joined", ws.data.name);
        ws.publish("chat", joined);
    }

    fn message(ws: &mut WebSocket<User>, msg: Message) {
        if let Message::Text(text) = msg {
            let line = format!("{}: {text}", ws.data.name);
            ws.publish("chat", line);
        }
    }

    fn close(ws: &mut WebSocket<User>, _code: u16, _reason: &str) {
        // The socket has already left `chat`: this reaches everybody else.
        let left = format!("{} left", ws.data.name);
        ws.server().publish("chat", left);
    }
}

/// Names the user from `?name=`.
#[upgrade("/ws")]
fn admit(Query(query): Query<HashMap<String, String>>) -> Upgrade<User> {
    let name = query
        .get("name")
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .unwrap_or("Anonymous");
    Upgrade::new(User {
        name: name.to_owned(),
    })
}

#[get("/room-stats")]
async fn room_stats(server: Server) -> Json<Value> {
    Json(json!({ "chat": server.subscriber_count("chat") }))
}

#[get("/")]
async fn page() -> Html<&'static str> {
    Html(PAGE)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    app().serve(common::setup("info", 3000)).await
}

/// The routes, shared by `main` and the tests below.
fn app() -> Router {
    hyperbun::router![Chat, admit, room_stats, page]
}

/// The browser client (the `cluster` example serves it too).
const PAGE: &str = include_str!("chat_page.html");

/// The page in two headless Chromium tabs (WebDriver); installs Chromium when missing.
#[cfg(test)]
#[path = "chat_browser_test.rs"]
mod browser_test;

#[cfg(test)]
mod tests {
    use hyperbun::test::TestServer;

    #[tokio::test]
    async fn join_talk_count_and_leave() {
        let app = TestServer::start(super::app()).await;
        let page = app.get("/").await;
        assert!(page
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/html")));
        assert!(page.text().contains("new WebSocket("));

        let mut ada = app.ws("/ws?name=ada").await;
        ada.expect_text("ada joined").await; // the newcomer is told too
        let mut anon = app.ws("/ws").await;
        anon.expect_text("Anonymous joined").await;
        ada.expect_text("Anonymous joined").await;
        assert_eq!(app.get("/room-stats").await.text(), r#"{"chat":2}"#);

        anon.send("hi").await;
        anon.expect_text("Anonymous: hi").await;
        ada.expect_text("Anonymous: hi").await;

        anon.close().await;
        ada.expect_text("Anonymous left").await;
        assert_eq!(app.get("/room-stats").await.text(), r#"{"chat":1}"#);
        ada.close().await;
        app.stop().await;
    }
}
