//! Verb's live data feed: clients pick topics over a small JSON protocol, and a background
//! task publishes to them through the `Server` handle.
//!
//! Run it:   cargo run --example live_feed     (PORT=8080 to change; default 3000)
//! Try it:   python3 -m websockets ws://localhost:3000/ws
//!           {"type":"subscribe","topic":"crypto"}    → {"type":"subscribed","topic":"crypto"}, then data
//!           {"type":"getTopics"}                     → {"type":"topics","topics":[…],"subscribed":[…]}
//!           {"type":"unsubscribe","topic":"crypto"}  → {"type":"unsubscribed","topic":"crypto"}
//!           not json                                  → {"type":"error","message":"Invalid message format"}
//!
//! Topics and their periods: `stocks` 1 s, `crypto` 0.5 s, `news` 3 s, `weather` 5 s. Each
//! update is `{"type":"data","topic":T,"data":{…},"timestamp":MS}`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hyperbun::prelude::*;
use serde::Deserialize;

#[path = "common.rs"]
mod common;

/// The feeds and how often each publishes (in base periods: the test runs them faster).
const FEEDS: [(&str, u32); 4] = [("stocks", 2), ("crypto", 1), ("news", 6), ("weather", 10)];

/// What clients may send.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
enum Request {
    Subscribe { topic: String },
    Unsubscribe { topic: String },
    GetTopics,
}

/// The socket.
struct Feed;

#[websocket("/ws")]
impl Feed {
    fn open(ws: &mut WebSocket) {
        ws.send(
            json!({ "type": "connected", "message": "Ready to receive data feeds" }).to_string(),
        );
    }

    fn message(ws: &mut WebSocket, msg: Message) {
        let request = msg
            .as_text()
            .and_then(|text| serde_json::from_str::<Request>(text).ok());
        let reply = match request {
            None => json!({ "type": "error", "message": "Invalid message format" }),
            Some(Request::GetTopics) => {
                let mut subscribed: Vec<&str> = ws.subscriptions().collect();
                subscribed.sort_unstable();
                let topics: Vec<&str> = FEEDS.iter().map(|(t, _)| *t).collect();
                json!({ "type": "topics", "topics": topics, "subscribed": subscribed })
            }
            Some(Request::Subscribe { topic } | Request::Unsubscribe { topic })
                if !FEEDS.iter().any(|(t, _)| *t == topic) =>
            {
                json!({ "type": "error", "message": format!("Unknown topic: {topic}") })
            }
            Some(Request::Subscribe { topic }) => {
                ws.subscribe(&topic);
                json!({ "type": "subscribed", "topic": topic })
            }
            Some(Request::Unsubscribe { topic }) => {
                ws.unsubscribe(&topic);
                json!({ "type": "unsubscribed", "topic": topic })
            }
        };
        ws.send(reply.to_string());
    }
}

/// Publishes every feed on its schedule, `period` being the base tick, until the server
/// stops.
async fn run_feeds(server: Server, period: Duration) {
    let mut ticks = tokio::time::interval(period);
    let mut n: u32 = 0;
    while !server.is_stopping() {
        ticks.tick().await;
        n = n.wrapping_add(1);
        for (topic, every) in FEEDS {
            if n.is_multiple_of(every) && server.subscriber_count(topic) > 0 {
                let update = json!({
                    "type": "data",
                    "topic": topic,
                    "data": sample(topic, n),
                    "timestamp": now_ms(),
                });
                server.publish(topic, update.to_string());
            }
        }
    }
}

/// Made-up but changing data for `topic` at tick `n`.
fn sample(topic: &str, n: u32) -> Value {
    let wiggle = f64::from((n.wrapping_mul(2_654_435_761) >> 16) % 1000) / 100.0;
    match topic {
        "stocks" => json!({ "symbol": "HYPR", "price": 100.0 + wiggle }),
        "crypto" => json!({ "symbol": "BTC", "price": 60_000.0 + wiggle * 100.0 }),
        "news" => json!({ "headline": format!("Story #{n}") }),
        _ => json!({ "city": "Lisbon", "celsius": 15.0 + wiggle }),
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = common::setup("info", 3000);
    let server = app().bind(("0.0.0.0", port)).await?;
    tokio::spawn(run_feeds(server.clone(), Duration::from_millis(500)));
    server.stopped().await;
    Ok(())
}

/// The routes, shared by `main` and the tests below.
fn app() -> Router {
    hyperbun::router![Feed]
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use hyperbun::prelude::{json, Value};
    use hyperbun::test::{TestServer, TestWebSocket};

    async fn reply(ws: &mut TestWebSocket) -> Value {
        let message = ws.recv().await;
        serde_json::from_str(message.as_text().expect("text")).expect("JSON")
    }

    #[tokio::test]
    async fn the_whole_protocol() {
        let app = TestServer::start(super::app()).await;
        let feeds = super::run_feeds(app.server().clone(), Duration::from_millis(10));
        tokio::spawn(feeds);
        let mut ws = app.ws("/ws").await;
        ws.expect_json(&json!({ "type": "connected", "message": "Ready to receive data feeds" }))
            .await;

        // Bad input: an error, and the socket stays open.
        ws.send("not json").await;
        ws.expect_json(&json!({ "type": "error", "message": "Invalid message format" }))
            .await;
        ws.send(json!({ "type": "subscribe", "topic": "gossip" }).to_string())
            .await;
        ws.expect_json(&json!({ "type": "error", "message": "Unknown topic: gossip" }))
            .await;

        ws.send(json!({ "type": "subscribe", "topic": "crypto" }).to_string())
            .await;
        ws.expect_json(&json!({ "type": "subscribed", "topic": "crypto" }))
            .await;
        // Updates arrive, from the background task, for that topic only.
        for _ in 0..3 {
            let update = reply(&mut ws).await;
            assert_eq!(
                (&update["type"], &update["topic"]),
                (&json!("data"), &json!("crypto"))
            );
            assert!(update["data"]["price"].is_f64());
            assert!(update["timestamp"].is_u64());
        }

        ws.send(json!({ "type": "getTopics" }).to_string()).await;
        let topics = loop {
            let next = reply(&mut ws).await;
            if next["type"] == "topics" {
                break next;
            }
        };
        assert_eq!(
            topics,
            json!({ "type": "topics", "topics": ["stocks", "crypto", "news", "weather"], "subscribed": ["crypto"] })
        );

        ws.send(json!({ "type": "unsubscribe", "topic": "crypto" }).to_string())
            .await;
        loop {
            let next = reply(&mut ws).await;
            if next["type"] == "unsubscribed" {
                assert_eq!(next["topic"], "crypto");
                break;
            }
            assert_eq!(
                next["topic"], "crypto",
                "only crypto updates before the answer"
            );
        }
        assert_eq!(app.server().subscriber_count("crypto"), 0);
        ws.close().await;
        app.stop().await;
    }
}
