//! Topic pub/sub with real clients: subscribe/publish from sockets and from the server,
//! publish_to_self, order (across topics, direct sends, frame sizes and full topic logs),
//! exact subscriber counts under churn, a slow subscriber that cannot grow server memory (or
//! is closed with `1008`), and the empty topic.

use hyperbun::prelude::*;
use hyperbun::test::TestServer;
use hyperbun::{PublishResult, TopicError};
use hyperbun_tests::{journal, RawWs, WAIT};

#[derive(Debug, Default)]
struct Member {
    room: String,
}

/// `/room?room=R`: joins R on open; each text message is published to R. Commands:
/// `topics` (list subscriptions), `leave` (unsubscribe), `empty` (try the empty topic).
struct Room;

#[websocket("/room", data = Member)]
impl Room {
    fn open(ws: &mut WebSocket<Member>) {
        let room = ws.data.room.clone();
        let first = ws.subscribe(&room);
        let again = ws.subscribe(&room);
        journal::push(&room, format!("joined {first:?} {again:?}"));
    }

    fn message(ws: &mut WebSocket<Member>, msg: Message) {
        let room = ws.data.room.clone();
        match msg.as_text().unwrap_or("") {
            "topics" => {
                let topics: Vec<String> = ws.subscriptions().map(str::to_owned).collect();
                ws.send(format!("{topics:?} {}", ws.is_subscribed(&room)));
            }
            "leave" => {
                let first = ws.unsubscribe(&room);
                let again = ws.unsubscribe(&room);
                ws.send(format!(
                    "left {first:?} {again:?} {}",
                    ws.is_subscribed(&room)
                ));
            }
            "empty" => {
                let sub = ws.subscribe("");
                let publ = ws.publish("", "x");
                ws.send(format!("{sub:?} {:?}", publ.refused));
            }
            _ => {
                let result = ws.publish(&room, msg);
                journal::push(&format!("{room}-results"), format!("{result:?}"));
            }
        }
    }
}

#[upgrade("/room")]
async fn room_hook(Query(q): Query<std::collections::HashMap<String, String>>) -> Upgrade<Member> {
    Upgrade::new(Member {
        room: q.get("room").cloned().unwrap_or_default(),
    })
}

/// Like `Room` but with `publish_to_self`.
struct Echoing;

#[websocket("/echoing", publish_to_self = true)]
impl Echoing {
    fn open(ws: &mut WebSocket) {
        ws.subscribe("echoing");
    }
    fn message(ws: &mut WebSocket, msg: Message) {
        ws.publish("echoing", msg);
    }
}

/// Publishes to itself, then sends: the send must not overtake the publish.
struct Ordered;

#[websocket("/ordered", publish_to_self = true)]
impl Ordered {
    fn open(ws: &mut WebSocket) {
        ws.subscribe("ordered");
    }
    fn message(ws: &mut WebSocket, msg: Message) {
        ws.publish("ordered", msg);
        ws.send("after");
    }
}

/// `/sequence?topics=a,b`: subscribes to the listed topics; on any message, publishes
/// [`SEQUENCE`] messages of mixed sizes (both sides of the frame-header and topic-log
/// boundaries) to `seq-a` and `seq-b`, every ninth one sent directly instead, all in one
/// handler call.
struct Sequence;

/// How many messages one `/sequence` run queues: over 64 KiB of small frames, so the topic
/// log fills up and is replaced while subscribers still have ranges in it.
const SEQUENCE: usize = 300;

/// The `i`th message of a sequence: where it goes and its text. The first 16 alternate
/// between the topics with one size, so the two topics' logs grow in step (the socket on both
/// gets frames that sit at the same offsets of different logs).
fn sequence_item(i: usize) -> (&'static str, String) {
    let size = [10, 125, 126, 1000, 2000, 4090, 5000, 300][i % 8];
    let (target, size) = if i < 16 {
        (["seq-a", "seq-b"][i % 2], 100)
    } else if i % 9 == 8 {
        ("direct", size)
    } else if i % 4 == 1 {
        ("seq-b", size)
    } else {
        ("seq-a", size)
    };
    let head = format!("{i} {target} ");
    (
        target,
        format!("{head}{}", "x".repeat(size - head.len().min(size))),
    )
}

#[websocket("/sequence", data = Vec<String>, publish_to_self = true)]
impl Sequence {
    fn open(ws: &mut WebSocket<Vec<String>>) {
        for topic in ws.data.clone() {
            ws.subscribe(&topic);
        }
    }
    fn message(ws: &mut WebSocket<Vec<String>>, _msg: Message) {
        for i in 0..SEQUENCE {
            match sequence_item(i) {
                ("direct", text) => assert!(ws.send(text).is_queued()),
                (topic, text) => assert_eq!(ws.publish(topic, text).dropped, 0),
            }
        }
    }
}

#[upgrade("/sequence")]
fn sequence_hook(
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Upgrade<Vec<String>> {
    let topics = q.get("topics").map(String::as_str).unwrap_or("");
    Upgrade::new(topics.split(',').map(str::to_owned).collect())
}

/// `/strict`: on `strict`, closed with `1008` once a publish finds its 64 KiB queue full.
struct Strict;

#[websocket(
    "/strict",
    backpressure_limit = 65536,
    close_on_backpressure_limit = true
)]
impl Strict {
    fn open(ws: &mut WebSocket) {
        ws.subscribe("strict");
    }
    fn message(_ws: &mut WebSocket, _msg: Message) {}
    fn close(_ws: &mut WebSocket, code: u16, _reason: &str) {
        journal::push("strict-close", format!("close {code}"));
    }
}

/// `/count/:topic`: the subscriber count.
#[get("/count/:topic")]
async fn count(topic: String, server: Server) -> String {
    server.subscriber_count(&topic).to_string()
}

/// `/announce/:topic/:n/:size`: publishes `n` binary messages of `size` bytes from the
/// server, letting other tasks run between them (a feed publishes over time); answers with
/// the summed counts.
#[get("/announce/:topic/:n/:size")]
async fn announce(topic: String, n: usize, size: usize, server: Server) -> String {
    let mut total = PublishResult::default();
    for i in 0..n {
        let mut payload = vec![0u8; size.max(4)];
        payload[..4].copy_from_slice(&(i as u32).to_be_bytes());
        let result = server.publish(&topic, payload);
        total.delivered += result.delivered;
        total.backpressured += result.backpressured;
        total.dropped += result.dropped;
        tokio::task::yield_now().await;
    }
    format!(
        "{} {} {}",
        total.delivered, total.backpressured, total.dropped
    )
}

/// `/say/:topic/:text`: one text publish from an HTTP route.
#[get("/say/:topic/:text")]
async fn say(topic: String, text: String, server: Server) -> String {
    let r = server.publish(&topic, text);
    match r.refused {
        None => format!("{r:?}"),
        Some(e) => format!("error: {e}"),
    }
}

async fn start() -> TestServer {
    hyperbun_tests::start(hyperbun::router![
        Room,
        room_hook,
        Echoing,
        Ordered,
        Sequence,
        sequence_hook,
        Strict,
        count,
        announce,
        say
    ])
    .await
}

async fn count_of(app: &TestServer, topic: &str) -> usize {
    app.get(&format!("/count/{topic}"))
        .await
        .text()
        .parse()
        .unwrap()
}

/// Waits until `topic` has `n` subscribers.
async fn until_count(app: &TestServer, topic: &str, n: usize) {
    app.wait_subscribers(topic, n).await;
}

#[tokio::test]
async fn publish_reaches_every_subscriber_but_the_sender() {
    let app = start().await;
    let mut a = app.ws("/room?room=lobby").await;
    let mut b = app.ws("/room?room=lobby").await;
    let mut c = app.ws("/room?room=lobby").await;
    until_count(&app, "lobby", 3).await;
    assert_eq!(
        journal::wait("lobby", 3).await[0],
        "joined Subscribed AlreadySubscribed"
    );

    a.send("hi from a").await;
    b.expect_text("hi from a").await;
    c.expect_text("hi from a").await;
    let results = journal::wait("lobby-results", 1).await;
    assert_eq!(
        results[0],
        "PublishResult { delivered: 2, backpressured: 0, dropped: 0, refused: None, remote: InProcess }"
    );

    // The sender got nothing: the next thing it reads is its own command's answer.
    a.send("topics").await;
    a.expect_text(r#"["lobby"] true"#).await;

    // From an HTTP route, through the Server handle: everyone, text.
    let reply = app.get("/say/lobby/hello").await;
    assert_eq!(
        reply.text(),
        "PublishResult { delivered: 3, backpressured: 0, dropped: 0, refused: None, remote: InProcess }"
    );
    for ws in [&mut a, &mut b, &mut c] {
        ws.expect_text("hello").await;
    }
    // A topic nobody is on.
    assert_eq!(
        app.get("/say/nobody/x").await.text(),
        "PublishResult { delivered: 0, backpressured: 0, dropped: 0, refused: None, remote: InProcess }"
    );
    assert_eq!(app.server().topic_count(), 1);
    assert_eq!(app.server().topics(), ["lobby"]);
    drop((a, b, c));
    app.stop().await;
}

#[tokio::test]
async fn topics_are_any_utf8() {
    let app = start().await;
    let topic = "salle été ☕";
    let mut a = app.ws("/room?room=salle%20%C3%A9t%C3%A9%20%E2%98%95").await;
    let mut b = app.ws("/room?room=salle%20%C3%A9t%C3%A9%20%E2%98%95").await;
    until_count(&app, topic, 2).await;
    a.send("bonjour").await;
    b.expect_text("bonjour").await;
    assert_eq!(app.server().topics(), [topic]);
    drop((a, b));
    app.stop().await;
}

#[tokio::test]
async fn publish_to_self_includes_the_sender() {
    let app = start().await;
    let mut a = app.ws("/echoing").await;
    let mut b = app.ws("/echoing").await;
    until_count(&app, "echoing", 2).await;
    a.send("both").await;
    a.expect_text("both").await;
    b.expect_text("both").await;
    drop((a, b));
    app.stop().await;
}

#[tokio::test]
async fn a_send_after_a_publish_never_overtakes_it() {
    let app = start().await;
    let mut ws = app.ws("/ordered").await;
    until_count(&app, "ordered", 1).await;
    for i in 0..50 {
        ws.send(format!("m{i}")).await;
    }
    for i in 0..50 {
        ws.expect_text(&format!("m{i}")).await;
        ws.expect_text("after").await;
    }
    drop(ws);
    app.stop().await;
}

#[tokio::test]
async fn order_holds_across_topics_sizes_direct_sends_and_full_logs() {
    let app = start().await;
    let mut both = app.ws("/sequence?topics=seq-a,seq-b").await;
    let mut only_a = app.ws("/sequence?topics=seq-a").await;
    let mut only_b = app.ws("/sequence?topics=seq-b").await;
    until_count(&app, "seq-a", 2).await;
    until_count(&app, "seq-b", 2).await;
    // Two runs: the second starts on logs the first left behind.
    for _ in 0..2 {
        both.send("go").await;
        for i in 0..SEQUENCE {
            let (target, text) = sequence_item(i);
            both.expect_text(&text).await;
            match target {
                "seq-a" => only_a.expect_text(&text).await,
                "seq-b" => only_b.expect_text(&text).await,
                _ => {}
            }
        }
    }
    // Nothing else arrived: the next message on each is the answer to a fresh publish.
    app.get("/say/seq-a/end").await;
    app.get("/say/seq-b/end").await;
    both.expect_text("end").await;
    both.expect_text("end").await;
    only_a.expect_text("end").await;
    only_b.expect_text("end").await;
    drop((both, only_a, only_b));
    app.stop().await;
}

#[tokio::test]
async fn unsubscribe_and_the_empty_topic() {
    let app = start().await;
    let mut a = app.ws("/room?room=quiet").await;
    until_count(&app, "quiet", 1).await;
    a.send("leave").await;
    a.expect_text("left true false false").await;
    assert_eq!(count_of(&app, "quiet").await, 0);
    assert_eq!(app.server().topic_count(), 0, "an emptied topic is freed");

    a.send("empty").await;
    a.expect_text("Refused(Empty) Some(Empty)").await;
    assert_eq!(app.get("/say/%20/x").await.status, StatusCode::OK);
    assert_eq!(
        app.server().publish("", "x").refused,
        Some(TopicError::Empty),
        "the server refuses it too"
    );
    drop(a);
    app.stop().await;
}

#[tokio::test]
async fn counts_stay_exact_under_churn() {
    let app = start().await;
    let mut graceful = Vec::new();
    let mut abrupt = Vec::new();
    for i in 0..30 {
        if i % 2 == 0 {
            graceful.push(app.ws("/room?room=churn").await);
        } else {
            // Raw: dropping it ends the TCP connection with no close frame at all.
            abrupt.push(RawWs::open(&app, "/room?room=churn").await);
        }
    }
    until_count(&app, "churn", 30).await;
    drop(abrupt.drain(..10));
    until_count(&app, "churn", 20).await;
    for mut ws in graceful.drain(..10) {
        ws.close().await;
    }
    until_count(&app, "churn", 10).await;
    drop(abrupt);
    drop(graceful);
    until_count(&app, "churn", 0).await;
    assert_eq!(app.server().topic_count(), 0);
    app.stop().await;
}

#[tokio::test]
async fn a_slow_subscriber_is_dropped_while_fast_ones_get_everything() {
    // Large frames: each is shared whole by both subscribers.
    let app = start().await.with_timeout(WAIT);
    let slow = slow_and_fast_subscribers(&app, "/room?room=feed", "feed", 400, 65536).await;
    drop(slow);
    app.stop().await;
}

#[tokio::test]
async fn a_slow_subscriber_is_dropped_while_fast_ones_get_everything_small_frames() {
    // Small frames go through the topic log: the slow subscriber's queue holds a range of it.
    let app = start().await.with_timeout(WAIT);
    let slow = slow_and_fast_subscribers(&app, "/room?room=small", "small", 25_000, 1024).await;
    drop(slow);
    app.stop().await;
}

#[tokio::test]
async fn a_slow_subscriber_with_close_on_backpressure_limit_is_closed_with_1008() {
    let app = start().await.with_timeout(WAIT);
    // The slow one starts reading once 16 MiB went out, more than its 1 MiB queue and any
    // kernel buffers hold: what was queued before the close frame arrives first, then the
    // close frame with 1008 (`slow_and_fast_subscribers` checks it).
    let mut slow = slow_and_fast_subscribers(&app, "/strict", "strict", 25_000, 1024).await;
    slow.frame(0x88, &1008u16.to_be_bytes()).await;
    assert_eq!(journal::wait("strict-close", 1).await, ["close 1008"]);
    // Both left the topic (the fast one was dropped).
    until_count(&app, "strict", 0).await;
    app.stop().await;
}

/// Publishes `n` messages of `size` bytes (25 MiB in all) to `topic`, which a fast reader
/// (through `/room`) and a client at `slow_path` that does not read are on; checks the fast
/// one got everything in order and the slow one missed some. Returns the slow client.
/// Publishing takes seconds in a debug build: give `app` a longer timeout ([`WAIT`]).
async fn slow_and_fast_subscribers(
    app: &TestServer,
    slow_path: &str,
    topic: &str,
    n: u32,
    size: usize,
) -> RawWs {
    let mut fast = app.ws(&format!("/room?room={topic}")).await;
    // A raw client, which does not read (and so answers nothing) until the test says so.
    let mut slow = RawWs::open(app, slow_path).await;
    until_count(app, topic, 2).await;
    let strict = slow_path == "/strict";
    let (passed_limit, limit_passed) = tokio::sync::oneshot::channel::<()>();
    let mut passed_limit = Some(passed_limit);

    // Published from a route while `fast` reads concurrently.
    let announce = format!("/announce/{topic}/{n}/{size}");
    let read_all = async {
        for next in 0..n {
            if next == 16 * 1024 {
                if let Some(tx) = passed_limit.take() {
                    let _ = tx.send(());
                }
            }
            match fast.recv().await {
                Message::Binary(b) => {
                    assert_eq!(
                        u32::from_be_bytes(b[..4].try_into().unwrap()),
                        next,
                        "in order"
                    );
                    assert_eq!(b.len(), size);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    };
    // A slow subscriber closed for being at its limit has 5 s to take what was queued for it
    // and the close frame: it reads once it must be past the limit, while publishing goes on.
    let read_slow = async {
        if strict {
            let _ = limit_passed.await;
            assert_eq!(slow.expect_close().await, 1008);
        }
    };
    let (reply, (), ()) = tokio::join!(app.get(&announce), read_all, read_slow);
    let counts: Vec<usize> = reply
        .text()
        .split(' ')
        .map(|n| n.parse().unwrap())
        .collect();
    // The fast one got every message; the slow one stopped getting them once the kernel's
    // buffers and its 1 MiB queue were full. A slow subscriber that is closed for it
    // (`close_on_backpressure_limit`) leaves the topic when its connection ends, which may be
    // before the last publish: then the later ones did not count it at all.
    let total = counts.iter().sum::<usize>();
    if strict {
        assert!(
            (n as usize + 1..=2 * n as usize).contains(&total),
            "{counts:?}"
        );
    } else {
        assert_eq!(
            total,
            2 * n as usize,
            "each publish went to both: {counts:?}"
        );
    }
    assert!(
        counts[2] >= n as usize / 4,
        "the slow subscriber dropped: {counts:?}"
    );
    drop(fast);
    slow
}
