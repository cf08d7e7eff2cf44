//! Every topic refusal through a real server: the empty topic, a name over
//! `ServerConfig::max_topic_length`, and a subscribe past `max_topics_per_socket`, each
//! reported (never a panic, never an `Err` to unwrap) by `subscribe`, a socket's `publish`
//! and `Server::publish`.

use hyperbun::prelude::*;
use hyperbun::test::TestServer;
use hyperbun::TopicError;

/// Each text message `sub:T`, `unsub:T` or `pub:T` acts on topic `T` and answers with what
/// came of it.
struct Topics;

#[websocket("/topics", max_topics_per_socket = 2)]
impl Topics {
    fn message(ws: &mut WebSocket, msg: Message) {
        let text = msg.as_text().unwrap_or_default().to_owned();
        let reply = if let Some(topic) = text.strip_prefix("sub:") {
            match ws.subscribe(topic) {
                SubscribeStatus::Refused(why) => format!("refused {why:?}: {why}"),
                status => format!("{status:?}"),
            }
        } else if let Some(topic) = text.strip_prefix("unsub:") {
            format!("unsubscribed {}", ws.unsubscribe(topic))
        } else if let Some(topic) = text.strip_prefix("pub:") {
            let result = ws.publish(topic, "x");
            format!("{:?} {}", result.refused, result.queued())
        } else {
            format!("{:?}", ws.subscriptions().count())
        };
        ws.send(reply);
    }
}

async fn start() -> TestServer {
    let router = hyperbun::router![Topics].config(ServerConfig::default().max_topic_length(8));
    TestServer::start(router).await
}

#[tokio::test]
async fn the_empty_topic_is_refused() {
    let app = start().await;
    let mut ws = app.ws("/topics").await;
    ws.send("sub:").await;
    ws.expect_text("refused Empty: a topic must not be empty")
        .await;
    ws.send("pub:").await;
    ws.expect_text("Some(Empty) 0").await;
    let result = app.server().publish("", "x");
    assert_eq!(result.refused, Some(TopicError::Empty));
    assert_eq!(
        (result.delivered, result.backpressured, result.dropped),
        (0, 0, 0)
    );
    assert_eq!(app.server().topic_count(), 0);
    ws.close().await;
    app.stop().await;
}

#[tokio::test]
async fn a_topic_over_max_topic_length_is_refused() {
    let app = start().await;
    let mut ws = app.ws("/topics").await;
    ws.send("sub:12345678").await;
    ws.expect_text("Subscribed").await;
    ws.send("sub:123456789").await;
    ws.expect_text(
        "refused TooLong { len: 9, limit: 8 }: a topic of 9 bytes is longer than the limit of \
         8 bytes (ServerConfig::max_topic_length)",
    )
    .await;
    ws.send("pub:123456789").await;
    ws.expect_text("Some(TooLong { len: 9, limit: 8 }) 0").await;
    assert_eq!(
        app.server().publish("123456789", "x").refused,
        Some(TopicError::TooLong { len: 9, limit: 8 })
    );
    assert_eq!(
        app.server().publish_text("123456789", "x", true).queued(),
        0
    );
    // A name at the limit is fine, from the server too.
    let result = app.server().publish_binary("12345678", b"to one", false);
    assert_eq!((result.refused, result.delivered), (None, 1));
    ws.expect_binary(b"to one").await;
    assert_eq!(app.server().topics(), ["12345678"]);
    ws.close().await;
    app.stop().await;
}

#[tokio::test]
async fn a_subscribe_past_max_topics_per_socket_is_refused() {
    let app = start().await;
    let mut ws = app.ws("/topics").await;
    ws.send("sub:a").await;
    ws.expect_text("Subscribed").await;
    ws.send("sub:b").await;
    ws.expect_text("Subscribed").await;
    ws.send("sub:c").await;
    ws.expect_text(
        "refused TooManyTopics { limit: 2 }: the socket is subscribed to 2 topics, the limit \
         (SocketOptions::max_topics_per_socket, `max_topics_per_socket = N` in #[websocket])",
    )
    .await;
    // At the limit, a topic it has is still reported as such, and it can publish anywhere.
    ws.send("sub:a").await;
    ws.expect_text("AlreadySubscribed").await;
    ws.send("pub:c").await;
    ws.expect_text("None 0").await;
    assert_eq!(app.server().subscriber_count("c"), 0);
    // Leaving one makes room.
    ws.send("unsub:a").await;
    ws.expect_text("unsubscribed true").await;
    ws.send("unsub:a").await;
    ws.expect_text("unsubscribed false").await;
    ws.send("sub:c").await;
    ws.expect_text("Subscribed").await;
    ws.send("count").await;
    ws.expect_text("2").await;
    let mut topics = app.server().topics();
    topics.sort();
    assert_eq!(topics, ["b", "c"]);
    // Another socket has a limit of its own.
    let mut other = app.ws("/topics").await;
    other.send("sub:a").await;
    other.expect_text("Subscribed").await;
    other.close().await;
    ws.close().await;
    app.stop().await;
}
