//! bun-router's rooms: a lobby, named rooms, and private messages, on topics.
//!
//! Run it:   cargo run --example rooms         (PORT=8080 to change; default 3000)
//! Try it:   python3 -m websockets 'ws://localhost:3000/ws?name=ada'   (and another as bob)
//!           /join games          → "Joined room: games"; the others in games get "ada joined the room"
//!           hello                → everybody else in your room gets "ada: hello"
//!           /whisper bob psst    → only bob gets "[PM from ada]: psst"
//!
//! Protocol: `ws://HOST/ws?name=NAME` (default `Anonymous`). On open the socket joins `lobby`
//! (its current room) and `user:NAME` (for whispers).

use std::collections::HashMap;

use hyperbun::prelude::*;

#[path = "common.rs"]
mod common;

/// Who the socket is and where it is.
#[derive(Debug)]
struct Member {
    name: String,
    room: String,
}

/// The socket.
struct Rooms;

#[websocket("/ws", data = Member)]
impl Rooms {
    fn open(ws: &mut WebSocket<Member>) {
        let inbox = format!("user:{}", ws.data.name);
        ws.subscribe("lobby").expect("a topic");
        ws.subscribe(&inbox).expect("a topic");
    }

    fn message(ws: &mut WebSocket<Member>, msg: Message) {
        let Some(text) = msg.as_text() else {
            return;
        };
        if let Some(room) = text.strip_prefix("/join ") {
            join(ws, room.trim());
        } else if let Some(rest) = text.strip_prefix("/whisper ") {
            let (user, words) = rest.split_once(' ').unwrap_or((rest, ""));
            let pm = format!("[PM from {}]: {words}", ws.data.name);
            ws.publish(&format!("user:{user}"), pm).expect("a topic");
        } else {
            let line = format!("{}: {text}", ws.data.name);
            let room = ws.data.room.clone();
            ws.publish(&room, line).expect("a topic");
        }
    }
}

/// Leaves the current room for `room`.
fn join(ws: &mut WebSocket<Member>, room: &str) {
    if room.is_empty() || room.starts_with("user:") {
        ws.send("Room names are non-empty and may not start with `user:`");
        return;
    }
    let old = std::mem::replace(&mut ws.data.room, room.to_owned());
    ws.unsubscribe(&old).expect("a topic");
    ws.subscribe(room).expect("a topic");
    ws.send(format!("Joined room: {room}"));
    let joined = format!("{} joined the room", ws.data.name);
    ws.publish(room, joined).expect("a topic");
}

/// Names the member from `?name=`.
#[upgrade("/ws")]
fn admit(Query(query): Query<HashMap<String, String>>) -> Upgrade<Member> {
    let name = query
        .get("name")
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .unwrap_or("Anonymous");
    Upgrade::new(Member {
        name: name.to_owned(),
        room: "lobby".to_owned(),
    })
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    app().serve(common::setup("info", 3000)).await
}

/// The routes, shared by `main` and the tests below.
fn app() -> Router {
    hyperbun::router![Rooms, admit]
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use hyperbun_tests::{spawn, ws_connect, ws_send, ws_text, WsClient, WsMessage};

    /// Nothing arrives within a short while.
    async fn silent(ws: &mut WsClient) {
        use futures_util::StreamExt;
        let next = tokio::time::timeout(Duration::from_millis(200), ws.next()).await;
        assert!(next.is_err(), "expected silence, got {next:?}");
    }

    async fn members(app: &hyperbun_tests::TestServer, topic: &str, n: usize) {
        hyperbun_tests::wait_subscribers(&app.server, topic, n).await;
    }

    #[tokio::test]
    async fn lobby_rooms_and_whispers() {
        let app = spawn(super::app()).await;
        let mut ada = ws_connect(app.addr, "/ws?name=ada").await;
        let mut bob = ws_connect(app.addr, "/ws?name=bob").await;
        let mut cy = ws_connect(app.addr, "/ws?name=cy").await;
        members(&app, "lobby", 3).await;
        assert_eq!(app.server.subscriber_count("user:bob"), 1);

        // The lobby: everybody else.
        ws_send(&mut ada, WsMessage::text("hello")).await;
        assert_eq!(ws_text(&mut bob).await, "ada: hello");
        assert_eq!(ws_text(&mut cy).await, "ada: hello");

        // bob moves to games; ada follows and bob is told.
        ws_send(&mut bob, WsMessage::text("/join games")).await;
        assert_eq!(ws_text(&mut bob).await, "Joined room: games");
        members(&app, "lobby", 2).await;
        ws_send(&mut ada, WsMessage::text("/join games")).await;
        assert_eq!(ws_text(&mut ada).await, "Joined room: games");
        assert_eq!(ws_text(&mut bob).await, "ada joined the room");

        // Room messages stay in the room: cy (still in the lobby) hears nothing.
        ws_send(&mut bob, WsMessage::text("gg")).await;
        assert_eq!(ws_text(&mut ada).await, "bob: gg");
        silent(&mut cy).await;

        // A whisper reaches only its addressee, wherever they are.
        ws_send(&mut cy, WsMessage::text("/whisper ada psst, over here")).await;
        assert_eq!(ws_text(&mut ada).await, "[PM from cy]: psst, over here");
        silent(&mut bob).await;

        // Leaving: the counts follow.
        drop((ada, bob));
        members(&app, "games", 0).await;
        members(&app, "user:ada", 0).await;
        drop(cy);
        app.stop().await;
    }
}
