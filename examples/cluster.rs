//! The chat example on as many servers as you like: the same protocol and the same page, with
//! its topic on Redis, so people connected to different servers share one room.
//!
//! Run it:   redis-server &                                  (or REDIS_URL=redis://host:6379)
//!           PORT=3000 cargo run --example cluster &
//!           PORT=3001 cargo run --example cluster
//! Try it:   open http://localhost:3000/ and http://localhost:3001/ in two tabs, pick names, talk
//!           curl localhost:3000/room-stats      → {"chat":1,"cluster":2}
//!
//! Protocol: the `chat` example's. `ws://HOST/ws?name=NAME` (default `Anonymous`); on open the
//! socket joins `chat` and everybody on every server, the newcomer included, gets
//! `NAME joined`; each text message `m` becomes `NAME: m` for everybody; when a socket closes
//! the others get `NAME left`. `GET /room-stats` is `{"chat": N}` for this server's sockets and
//! `"cluster"` for every server's.
//!
//! What changes from `chat`: one line of configuration (`ServerConfig::backplane`). A publish
//! reaches this server's subscribers at once and is queued for the others; the result says
//! whether it was (`PublishResult::remote`), and the example logs the rare one that was not.

use std::collections::HashMap;

use hyperbun::backplane::RedisBackplane;
use hyperbun::prelude::*;

#[path = "common.rs"]
mod common;

/// Bun's `ws.data`, typed.
#[derive(Debug)]
struct User {
    name: String,
}

/// The room, on every server.
struct Chat;

#[websocket("/ws", data = User, publish_to_self = true, per_message_deflate = true)]
impl Chat {
    fn open(ws: &mut WebSocket<User>) {
        ws.subscribe("chat");
        let joined = format!("{} joined", ws.data.name);
        report(ws.publish("chat", joined));
    }

    fn message(ws: &mut WebSocket<User>, msg: Message) {
        if let Message::Text(text) = msg {
            let line = format!("{}: {text}", ws.data.name);
            report(ws.publish("chat", line));
        }
    }

    fn close(ws: &mut WebSocket<User>, _code: u16, _reason: &str) {
        let left = format!("{} left", ws.data.name);
        report(ws.server().publish("chat", left));
    }
}

/// Logs a line the other servers will not get (Redis unreachable or too slow).
fn report(result: hyperbun::PublishResult) {
    if result.remote.is_lost() {
        tracing::warn!(remote = ?result.remote, "a chat line reached this server's sockets only");
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

/// This server's count, and every server's (`null` while Redis is unreachable).
#[get("/room-stats")]
async fn room_stats(server: Server) -> Json<Value> {
    let cluster = server.cluster_subscriber_count("chat").await;
    Json(json!({
        "chat": server.subscriber_count("chat"),
        "cluster": cluster.ok().map(|count| count.subscribers),
    }))
}

#[get("/")]
async fn page() -> Html<&'static str> {
    Html(include_str!("chat_page.html"))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = common::setup("info", 3000);
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let backplane = RedisBackplane::new(&url).map_err(std::io::Error::other)?;
    app(backplane).serve(port).await
}

/// The routes on `backplane`, shared by `main` and the tests below.
fn app(backplane: RedisBackplane) -> Router {
    let config = ServerConfig::default().backplane(backplane.prefix("hyperbun-chat"));
    hyperbun::router![Chat, admit, room_stats, page].config(config)
}

/// The page in two headless Chromium tabs (WebDriver), one on each of two servers; installs
/// Chromium when missing.
#[cfg(test)]
#[path = "cluster_browser_test.rs"]
mod browser_test;

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use hyperbun::test::TestServer;
    use hyperbun_tests::redis::RedisServer;

    use super::*;

    /// A server of the example on the test's Redis, once it is connected (the browser test
    /// starts its two with it too).
    pub(super) async fn server(redis: &RedisServer) -> TestServer {
        let app = TestServer::start(app(RedisBackplane::new(&redis.url()).unwrap())).await;
        for _ in 0..500 {
            if app.server().backplane_stats().is_some_and(|s| s.connected) {
                return app;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the example never connected to {}", redis.url());
    }

    /// The room's channel on Redis: the example's prefix, `t:` for a topic, the topic.
    const CHANNEL: &str = "hyperbun-chat:t:chat";

    /// Waits until `servers` servers are subscribed to the room's channel on Redis. A server
    /// subscribes a moment after its first socket joins the room (Redis must acknowledge it);
    /// until then lines published on the other servers miss that server's sockets.
    pub(super) async fn wait_subscribed(redis: &RedisServer, servers: usize) {
        redis.wait_numsub(CHANNEL, servers).await;
    }

    #[tokio::test]
    async fn two_servers_share_the_room() {
        let redis = RedisServer::start().await;
        let (one, two) = (server(&redis).await, server(&redis).await);
        let page = two.get("/").await;
        assert!(page.text().contains("new WebSocket("));

        let mut ada = one.ws("/ws?name=ada").await;
        ada.expect_text("ada joined").await;
        wait_subscribed(&redis, 1).await;
        let mut bob = two.ws("/ws?name=bob").await;
        bob.expect_text("bob joined").await;
        ada.expect_text("bob joined").await;
        wait_subscribed(&redis, 2).await;
        let stats = one.get("/room-stats").await.json::<Value>();
        assert_eq!(stats, json!({ "chat": 1, "cluster": 2 }));

        bob.send("hi ada").await;
        bob.expect_text("bob: hi ada").await;
        ada.expect_text("bob: hi ada").await;
        ada.send("hi bob").await;
        ada.expect_text("ada: hi bob").await;
        bob.expect_text("ada: hi bob").await;

        bob.close().await;
        ada.expect_text("bob left").await;
        let stats = one.get("/room-stats").await.json::<Value>();
        assert_eq!(stats, json!({ "chat": 1, "cluster": 1 }));
        ada.close().await;
        one.stop().await;
        two.stop().await;
    }
}
