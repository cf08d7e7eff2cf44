//! bun-router's rooms: a lobby, named rooms, and private messages, on topics.
//!
//! Run it:   cargo run --example rooms         (PORT=8080 to change; default 3000)
//! Try it:   python3 -m websockets 'ws://localhost:3000/ws?name=ada'   (and another as bob)
//!           /join games          → "Joined room: games", then everybody in games, you included,
//!                                  gets "ada joined the room"
//!           hello                → everybody in your room, you included, gets "ada: hello"
//!           /whisper bob psst    → only bob gets "[PM from ada]: psst"
//!
//! Protocol: `ws://HOST/ws?name=NAME` (default `Anonymous`). On open the socket joins `lobby`
//! (its current room) and `user:NAME` (for whispers). Join announcements and room lines are
//! published the way bun-router's example does it, with the server-level publish
//! (`router.publish(room, …)` there, `ws.server().publish(room, …)` here), which reaches every
//! subscriber of the room, the sender included; a whisper reaches only its addressee.

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
        ws.subscribe("lobby");
        ws.subscribe(&inbox);
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
            ws.publish(&format!("user:{user}"), pm);
        } else {
            let line = format!("{}: {text}", ws.data.name);
            ws.server().publish(&ws.data.room, line);
        }
    }
}

/// Leaves the current room for `room`.
fn join(ws: &mut WebSocket<Member>, room: &str) {
    if room.is_empty() || room.starts_with("user:") {
        ws.send("Room names are non-empty and may not start with `user:`");
        return;
    }
    if room == ws.data.room {
        ws.send(format!("Already in room: {room}"));
        return;
    }
    // The name comes from the client: the server refuses one longer than
    // `ServerConfig::max_topic_length`, and says why.
    if let SubscribeStatus::Refused(why) = ws.subscribe(room) {
        ws.send(format!("Cannot join that room: {why}"));
        return;
    }
    let old = std::mem::replace(&mut ws.data.room, room.to_owned());
    ws.unsubscribe(&old);
    ws.send(format!("Joined room: {room}"));
    let joined = format!("{} joined the room", ws.data.name);
    ws.server().publish(room, joined);
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

    use hyperbun::test::TestServer;

    /// How long "nothing arrives" is watched for.
    const QUIET: Duration = Duration::from_millis(200);

    #[tokio::test]
    async fn lobby_rooms_and_whispers() {
        let app = TestServer::start(super::app()).await;
        let mut ada = app.ws("/ws?name=ada").await;
        let mut bob = app.ws("/ws?name=bob").await;
        let mut cy = app.ws("/ws?name=cy").await;
        app.wait_subscribers("lobby", 3).await;
        assert_eq!(app.server().subscriber_count("user:bob"), 1);

        // The lobby: everybody, the sender included (bun-router's `router.publish`).
        ada.send("hello").await;
        for ws in [&mut ada, &mut bob, &mut cy] {
            ws.expect_text("ada: hello").await;
        }

        // bob moves to games and sees his own arrival; ada follows and both are told.
        bob.send("/join games").await;
        bob.expect_text("Joined room: games").await;
        bob.expect_text("bob joined the room").await;
        app.wait_subscribers("lobby", 2).await;
        ada.send("/join games").await;
        ada.expect_text("Joined room: games").await;
        ada.expect_text("ada joined the room").await;
        bob.expect_text("ada joined the room").await;

        // Room messages stay in the room: cy (still in the lobby) hears nothing.
        bob.send("gg").await;
        bob.expect_text("bob: gg").await;
        ada.expect_text("bob: gg").await;
        cy.expect_silence(QUIET).await;

        // A whisper reaches only its addressee, wherever they are.
        cy.send("/whisper ada psst, over here").await;
        ada.expect_text("[PM from cy]: psst, over here").await;
        bob.expect_silence(QUIET).await;

        // Leaving: the counts follow.
        drop((ada, bob));
        app.wait_subscribers("games", 0).await;
        app.wait_subscribers("user:ada", 0).await;
        cy.close().await;
        app.stop().await;
    }
}
