//! The Redis backplane against a real `redis-server` (started by the harness, installed by
//! `tests/interop/setup-redis.sh` when missing): several hyperbun nodes on 127.0.0.1 share
//! topics through it. Each test has its own Redis, or its own prefix on a shared one.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::Duration;

use hyperbun::backplane::{RedisBackplane, Remote};
use hyperbun::prelude::*;
use hyperbun::test::{TestServer, TestWebSocket};
use hyperbun_tests::redis::{RedisCluster, RedisOptions, RedisServer};
use hyperbun_tests::{within, RawWs, TestCert, WAIT};
use tokio::io::{AsyncBufReadExt, BufReader};

#[path = "bin/backplane_room.rs"]
mod room;

use room::{room_topic, Room};

/// `/zip`: permessage-deflate, publish-to-self, and what it is sent is published compressed
/// to `zip`.
struct Zip;

#[websocket("/zip", per_message_deflate = true, publish_to_self = true)]
impl Zip {
    fn open(ws: &mut WebSocket) {
        ws.subscribe("zip");
    }

    fn message(ws: &mut WebSocket, msg: Message) {
        ws.publish_compressed("zip", msg);
    }
}

struct Publisher;

#[websocket("/pub", data = String)]
impl Publisher {
    fn message(ws: &mut WebSocket<String>, msg: Message) {
        let topic = ws.data.clone();
        let result = ws.publish(&topic, msg);
        if result.remote != Remote::Queued {
            ws.send(format!("not sent: {:?}", result.remote));
        }
    }
}

#[upgrade("/pub")]
fn pub_topic(Query(query): Query<HashMap<String, String>>) -> Upgrade<String> {
    Upgrade::new(query.get("topic").cloned().unwrap_or_else(|| "room".into()))
}

const HEARTBEAT: Duration = Duration::from_millis(100);

/// The backplane every node of a test uses: Redis at `url`, the test's own prefix.
fn backplane(url: &str, prefix: &str, id: &str) -> RedisBackplane {
    RedisBackplane::new(url)
        .expect("a Redis URL")
        .prefix(prefix)
        .node_id(id)
        .heartbeat(HEARTBEAT)
}

/// A node: the test's sockets, on `backplane`; returns once it is connected to Redis.
async fn node_with(backplane: RedisBackplane) -> TestServer {
    let config = ServerConfig::default().backplane(backplane);
    let app = TestServer::start(
        hyperbun::router![Room, room_topic, Publisher, pub_topic, Zip].config(config),
    )
    .await;
    wait_until("the node to connect to Redis", || connected(&app)).await;
    app
}

async fn node(redis: &RedisServer, prefix: &str, id: &str) -> TestServer {
    node_with(backplane(&redis.url(), prefix, id)).await
}

fn connected(app: &TestServer) -> bool {
    app.server().backplane_stats().is_some_and(|s| s.connected)
}

/// Polls `done` every 10 ms until it holds, within [`WAIT`].
async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    within(what, async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

/// `count` sockets on `app` subscribed to `topic`.
/// `app`'s cluster count of `topic`: (subscribers, nodes counted, every live node answered).
async fn cluster_count(app: &TestServer, topic: &str) -> (usize, usize, bool) {
    let count = app.server().cluster_subscriber_count(topic).await.unwrap();
    (count.subscribers, count.nodes, count.is_complete())
}

async fn members(app: &TestServer, topic: &str, count: usize) -> Vec<TestWebSocket> {
    let mut sockets = Vec::new();
    for _ in 0..count {
        sockets.push(app.ws(&format!("/room?topic={topic}")).await);
    }
    app.wait_subscribers(topic, count).await;
    sockets
}

#[tokio::test]
async fn a_publish_on_one_node_reaches_every_subscriber_on_every_node_once() {
    let redis = RedisServer::start().await;
    let [a, b, c] = [
        node(&redis, "once", "a").await,
        node(&redis, "once", "b").await,
        node(&redis, "once", "c").await,
    ];
    let mut on_a = members(&a, "room", 2).await;
    let mut on_b = members(&b, "room", 1).await;
    let mut on_c = members(&c, "room", 1).await;
    redis
        .wait_channels("once:t:*", false, &["once:t:room"])
        .await;
    // Three nodes hold the one channel.
    redis.wait_numsub("once:t:room", 3).await;

    // From a socket on `a`: everybody but the sender, each once.
    on_a[0].send("hello").await;
    for ws in on_a[1..].iter_mut().chain(&mut on_b).chain(&mut on_c) {
        ws.expect_text("hello").await;
    }
    // From the server handle on `b`, binary: everybody, the sockets of `a` included.
    let result = b.server().publish("room", Bytes::from_static(b"\x00bin"));
    assert_eq!((result.delivered, result.remote), (1, Remote::Queued));
    for ws in on_a.iter_mut().chain(&mut on_b).chain(&mut on_c) {
        ws.expect_binary(b"\x00bin").await;
    }
    // Nothing twice: the next message each socket gets is the next publish.
    c.server().publish("room", "after");
    for ws in on_a.iter_mut().chain(&mut on_b).chain(&mut on_c) {
        ws.expect_text("after").await;
    }
    for ws in on_a.iter_mut().chain(&mut on_b).chain(&mut on_c) {
        ws.expect_silence(Duration::from_millis(100)).await;
    }
    let stats = a.server().backplane_stats().unwrap();
    assert_eq!(
        (stats.sent, stats.received, stats.not_sent, stats.lost),
        (1, 2, 0, 0)
    );
    drop((on_a, on_b, on_c));
    for app in [a, b, c] {
        app.stop().await;
    }
}

#[tokio::test]
async fn compression_and_publish_to_self_behave_across_nodes_as_in_process() {
    let redis = RedisServer::start().await;
    let a = node(&redis, "zip", "a").await;
    let b = node(&redis, "zip", "b").await;
    let offer = "Sec-WebSocket-Extensions: permessage-deflate\r\n";
    let (mut there, head) = RawWs::open_with(&b, "/zip", offer).await;
    assert!(head.contains("permessage-deflate"), "{head}");
    let mut here = a.ws("/zip").await;
    a.wait_subscribers("zip", 1).await;
    b.wait_subscribers("zip", 1).await;
    redis.wait_numsub("zip:t:zip", 2).await;

    // Compressed on the publishing node means compressed on the others.
    let long = "compress me ".repeat(100);
    a.server().publish_compressed("zip", long.as_str());
    here.expect_text(&long).await;
    let frame = there.read_frame().await;
    assert!(frame.rsv1 && frame.payload.len() < long.len(), "{frame:?}");
    a.server().publish("zip", long.as_str());
    here.expect_text(&long).await;
    let frame = there.read_frame().await;
    assert!(
        !frame.rsv1 && frame.payload == long.as_bytes(),
        "uncompressed stays so"
    );

    // publish_to_self: the sender gets its own message once, from its own node only.
    here.send("mine").await;
    here.expect_text("mine").await;
    here.expect_silence(Duration::from_millis(200)).await;
    let frame = there.read_frame().await;
    // Once, compressed as `publish_compressed` asked.
    assert_eq!((frame.opcode, frame.rsv1), (1, true), "{frame:?}");
    let next = tokio::time::timeout(Duration::from_millis(200), there.read_frame()).await;
    assert!(next.is_err(), "nothing twice: {next:?}");
    drop((here, there));
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_node_subscribes_on_redis_for_its_first_subscriber_and_leaves_after_its_last() {
    let redis = RedisServer::start().await;
    let a = node(&redis, "follow", "a").await;
    let b = node(&redis, "follow", "b").await;
    redis.wait_channels("follow:t:*", false, &[]).await;

    let mut first = members(&a, "news", 1).await;
    redis
        .wait_channels("follow:t:*", false, &["follow:t:news"])
        .await;
    let mut second = a.ws("/room?topic=news").await;
    a.wait_subscribers("news", 2).await;
    let mut elsewhere = members(&b, "sport", 1).await;
    redis
        .wait_channels("follow:t:*", false, &["follow:t:news", "follow:t:sport"])
        .await;
    let numsub = redis.cli(&["PUBSUB", "NUMSUB", "follow:t:news"]).await;
    assert_eq!(
        numsub.lines().last(),
        Some("1"),
        "one node holds it: {numsub}"
    );

    // Traffic for a topic a node does not hold never reaches it.
    b.server().publish("news", "for a");
    first[0].expect_text("for a").await;
    second.expect_text("for a").await;
    assert_eq!(b.server().backplane_stats().unwrap().received, 0);

    first[0].send("/leave").await;
    first[0].expect_text("left").await;
    // One subscriber is left on `a`: still subscribed.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(redis.channels("follow:t:news").await, ["follow:t:news"]);
    second.close().await;
    redis
        .wait_channels("follow:t:*", false, &["follow:t:sport"])
        .await;
    elsewhere[0].close().await;
    redis.wait_channels("follow:t:*", false, &[]).await;
    assert_eq!(a.server().backplane_stats().unwrap().subscriptions, 0);
    drop(first);
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishes_keep_their_order_per_publisher_with_none_lost_under_load() {
    const PUBLISHERS: usize = 2;
    const EACH: usize = 50_000;
    let redis = RedisServer::start().await;
    // Room for the whole burst, both ways: the clients send faster than a debug build's
    // pipelines drain, and `b` may be busier than Redis is fast (smaller buffers report the
    // excess: not sent, or missed; see the stalled-Redis test).
    let room = |id| {
        backplane(&redis.url(), "order", id)
            .queue_capacity(PUBLISHERS * EACH)
            .incoming_capacity(PUBLISHERS * EACH)
    };
    let a = node_with(room("a")).await;
    let b = node_with(room("b")).await;
    let far = members(&b, "load", 1).await.pop().unwrap();
    let near = members(&a, "load", 1).await.pop().unwrap();
    // Both nodes hold the channel: what is published from now on reaches both.
    redis.wait_numsub("order:t:load", 2).await;

    let mut senders = Vec::new();
    for p in 0..PUBLISHERS {
        let mut ws = a.ws("/pub?topic=load").await;
        senders.push(tokio::spawn(async move {
            for seq in 0..EACH {
                ws.send(format!("{p} {seq}")).await;
            }
            ws
        }));
    }
    let check = |ws: TestWebSocket| async move {
        let mut ws = ws.with_timeout(WAIT);
        let mut next = [0; PUBLISHERS];
        for _ in 0..PUBLISHERS * EACH {
            let msg = ws.recv().await;
            let text = msg.as_text().expect("text");
            let (p, seq) = text.split_once(' ').unwrap();
            let (p, seq): (usize, usize) = (p.parse().unwrap(), seq.parse().unwrap());
            assert_eq!(seq, next[p], "publisher {p}: out of order or lost");
            next[p] += 1;
        }
        ws
    };
    let (near, far) = tokio::join!(check(near), check(far));
    for sender in senders {
        // Nothing came back: every publish was queued for Redis.
        sender
            .await
            .unwrap()
            .expect_silence(Duration::from_millis(50))
            .await;
    }
    let (sa, sb) = (
        a.server().backplane_stats().unwrap(),
        b.server().backplane_stats().unwrap(),
    );
    let total = (PUBLISHERS * EACH) as u64;
    assert_eq!((sa.sent, sa.not_sent, sa.lost), (total, 0, 0), "{sa:?}");
    assert_eq!((sb.received, sb.missed), (total, 0), "{sb:?}");
    drop((near, far));
    a.stop().await;
    b.stop().await;
}

/// A node in a child process (tests/bin/backplane_node.rs), which a test can SIGKILL.
struct ChildNode {
    child: tokio::process::Child,
    port: u16,
}

impl ChildNode {
    async fn start(redis: &RedisServer, prefix: &str, id: &str) -> ChildNode {
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_backplane-node"))
            .args([&redis.url(), prefix, id, &HEARTBEAT.as_millis().to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start a backplane node");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = within("the child node's port", lines.next_line()).await;
        let port = line.unwrap().expect("a port line").parse().expect("a port");
        ChildNode { child, port }
    }

    async fn ws(&self, path: &str) -> hyperbun::client::WebSocketClient {
        let url = format!("ws://127.0.0.1:{}{path}", self.port);
        (hyperbun::client::connect(&url).await).expect("connect to the child node")
    }

    async fn kill(&mut self) {
        self.child.start_kill().expect("SIGKILL");
        self.child.wait().await.expect("the child ends");
    }
}

#[tokio::test]
async fn a_cluster_count_adds_every_live_node_and_forgets_one_killed_without_goodbye() {
    let redis = RedisServer::start().await;
    let a = node(&redis, "count", "a").await;
    let c = node(&redis, "count", "c").await;
    let mut b = ChildNode::start(&redis, "count", "b").await;
    let on_a = members(&a, "room", 2).await;
    let on_c = members(&c, "room", 1).await;
    let mut on_b = Vec::new();
    for _ in 0..3 {
        on_b.push(b.ws("/room").await);
    }

    // `b` counts its sockets once their `open` has run: a moment after the handshake.
    within("b's three sockets in the count", async {
        while cluster_count(&a, "room").await.0 != 6 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert_eq!(cluster_count(&a, "room").await, (6, 3, true));
    assert_eq!(
        a.server().subscriber_count("room"),
        2,
        "the local count stays local"
    );
    assert_eq!(cluster_count(&c, "room").await, (6, 3, true));
    assert_eq!(cluster_count(&c, "nobody").await, (0, 3, true));

    // Killed: no goodbye. Until its heartbeat expires it is named, not counted.
    b.kill().await;
    let count = a.server().cluster_subscriber_count("room").await.unwrap();
    if !count.is_complete() {
        assert_eq!(count.unanswered, ["b"]);
        assert_eq!((count.subscribers, count.nodes), (3, 2));
    }
    // Three heartbeats later it is off the list: complete again, without it.
    tokio::time::sleep(HEARTBEAT * 4).await;
    assert_eq!(cluster_count(&a, "room").await, (3, 2, true));

    // A node that stops says goodbye: gone from the list at once.
    drop(on_c);
    c.stop().await;
    assert_eq!(cluster_count(&a, "room").await, (2, 1, true));
    drop(on_a);
    a.stop().await;
}

#[tokio::test]
async fn redis_restarting_loses_what_is_published_meanwhile_says_so_and_restores_everything() {
    let mut redis = RedisServer::start().await;
    let a = node(&redis, "restart", "a").await;
    let b = node(&redis, "restart", "b").await;
    let mut here = members(&a, "room", 1).await.pop().unwrap();
    let mut there = members(&b, "room", 1).await.pop().unwrap();
    redis
        .wait_channels(
            "restart:*",
            false,
            &["restart:n:a", "restart:n:b", "restart:t:room"],
        )
        .await;
    redis.wait_numsub("restart:t:room", 2).await;

    redis.kill().await;
    wait_until("the nodes to notice", || !connected(&a) && !connected(&b)).await;
    // Local subscribers still get it at once; the result says the others will not.
    let result = a.server().publish("room", "during the outage");
    assert_eq!((result.delivered, result.remote), (1, Remote::Unavailable));
    here.expect_text("during the outage").await;
    let stats = a.server().backplane_stats().unwrap();
    assert_eq!((stats.connected, stats.not_sent), (false, 1));

    redis.restart().await;
    wait_until("the nodes to reconnect", || connected(&a) && connected(&b)).await;
    // Every subscription that still has local subscribers is back, without a restart.
    redis
        .wait_channels(
            "restart:*",
            false,
            &["restart:n:a", "restart:n:b", "restart:t:room"],
        )
        .await;
    redis.wait_numsub("restart:t:room", 2).await;
    let result = a.server().publish("room", "after the outage");
    assert_eq!(result.remote, Remote::Queued);
    here.expect_text("after the outage").await;
    there.expect_text("after the outage").await;
    there.expect_silence(Duration::from_millis(100)).await;
    drop((here, there));
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_stalled_redis_fills_the_bounded_queue_and_publishes_say_they_were_not_sent() {
    let redis = RedisServer::start().await;
    let a = node_with(backplane(&redis.url(), "slow", "a").queue_capacity(16)).await;
    let b = node(&redis, "slow", "b").await;
    let mut here = members(&a, "room", 1).await.pop().unwrap();
    let mut there = members(&b, "room", 1).await.pop().unwrap();
    redis.wait_numsub("slow:t:room", 2).await;

    redis.pause();
    let mut remote = HashMap::new();
    for i in 0..2000 {
        let result = a.server().publish("room", format!("{i}"));
        assert_eq!(result.delivered, 1, "local delivery never waits for Redis");
        *remote.entry(result.remote).or_insert(0) += 1;
        if i % 100 == 0 {
            tokio::task::yield_now().await;
        }
    }
    for i in 0..2000 {
        here.expect_text(&format!("{i}")).await;
    }
    let refused = remote.get(&Remote::QueueFull).copied().unwrap_or(0)
        + remote.get(&Remote::Unavailable).copied().unwrap_or(0);
    assert!(refused >= 2000 - 16 - 512, "{remote:?}");
    let stats = a.server().backplane_stats().unwrap();
    assert_eq!(stats.not_sent, refused as u64, "{stats:?}");

    redis.resume();
    wait_until("the queue to drain", || {
        let s = a.server().backplane_stats().unwrap();
        s.queued == 0 && s.connected
    })
    .await;
    let stats = a.server().backplane_stats().unwrap();
    assert_eq!(
        stats.sent + stats.not_sent + stats.lost,
        2000,
        "every publish accounted for: {stats:?}"
    );
    // What Redis took arrives on `b`, in order; then the traffic flows again.
    let mut last = None;
    for _ in 0..stats.sent {
        let n: usize = there.recv().await.as_text().unwrap().parse().unwrap();
        assert!(last < Some(n), "in order");
        last = Some(n);
    }
    wait_until("a publish to reach Redis", || {
        a.server().publish("room", "again").remote == Remote::Queued
    })
    .await;
    there.expect_text("again").await;
    drop((here, there));
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn sharded_pubsub_carries_topics_across_a_redis_cluster() {
    let cluster = RedisCluster::start(3).await;
    let sharded = |id| {
        RedisBackplane::new(&cluster.url())
            .expect("a cluster URL")
            .prefix("shard")
            .node_id(id)
            .heartbeat(HEARTBEAT)
            .sharded(true)
    };
    let a = node_with(sharded("a")).await;
    let b = node_with(sharded("b")).await;
    // Topics on different shards (their channels hash to different slots).
    let topics = ["red", "green", "blue", "amber", "violet"];
    let mut on_a = Vec::new();
    let mut on_b = Vec::new();
    for topic in topics {
        on_a.push(members(&a, topic, 1).await.pop().unwrap());
        on_b.push(members(&b, topic, 1).await.pop().unwrap());
    }
    let mut channels: Vec<String> = topics.iter().map(|t| format!("shard:t:{t}")).collect();
    channels.sort();
    let expected: Vec<&str> = channels.iter().map(String::as_str).collect();
    cluster.wait_shard_channels("shard:t:*", &expected).await;
    for channel in &channels {
        cluster.wait_shard_numsub(channel, 2).await;
    }

    for (i, topic) in topics.iter().enumerate() {
        on_a[i].send(format!("{topic} from a")).await;
        on_b[i].expect_text(&format!("{topic} from a")).await;
        b.server().publish(topic, format!("{topic} from b"));
        on_a[i].expect_text(&format!("{topic} from b")).await;
        on_b[i].expect_text(&format!("{topic} from b")).await;
    }
    let count = a.server().cluster_subscriber_count("green").await.unwrap();
    assert_eq!((count.subscribers, count.nodes), (2, 2));

    for ws in on_a.iter_mut().chain(&mut on_b).take(1) {
        ws.close().await;
    }
    on_b.remove(0).close().await;
    let expected: Vec<&str> = expected
        .into_iter()
        .filter(|c| *c != "shard:t:red")
        .collect();
    cluster.wait_shard_channels("shard:t:*", &expected).await;
    drop((on_a, on_b));
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn rediss_with_a_password_carries_topics() {
    let cert = TestCert::new();
    let redis = RedisServer::start_with(RedisOptions {
        password: Some("s3cret pass".into()),
        tls: Some(cert.clone()),
    })
    .await;
    assert!(redis.url().starts_with("rediss://"), "{}", redis.url());
    let tls = hyperbun_tests::client_config_trusting(&cert.ca_der, &[]);
    let a = node_with(backplane(&redis.url(), "tls", "a").tls(tls.clone())).await;
    let b = node_with(backplane(&redis.url(), "tls", "b").tls(tls)).await;
    let mut there = members(&b, "room", 1).await.pop().unwrap();
    redis.wait_channels("tls:t:*", false, &["tls:t:room"]).await;
    a.server().publish("room", "over TLS");
    there.expect_text("over TLS").await;
    drop(there);
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_wrong_password_leaves_the_node_serving_and_every_publish_says_not_sent() {
    let redis = RedisServer::start_with(RedisOptions {
        password: Some("right".into()),
        tls: None,
    })
    .await;
    let url = format!("redis://:wrong@127.0.0.1:{}", redis.port());
    let config = ServerConfig::default().backplane(backplane(&url, "auth", "a"));
    let app = TestServer::start(hyperbun::router![Room, room_topic].config(config)).await;
    let mut ws = members(&app, "room", 1).await.pop().unwrap();
    tokio::time::sleep(HEARTBEAT * 3).await;
    let result = app.server().publish("room", "local only");
    assert_eq!((result.delivered, result.remote), (1, Remote::Unavailable));
    ws.expect_text("local only").await;
    assert!(app.server().cluster_subscriber_count("room").await.is_err());
    drop(ws);
    app.stop().await;
}

#[tokio::test]
async fn a_bad_backplane_setting_fails_at_start_naming_it() {
    let cases = [
        (
            RedisBackplane::new("redis://127.0.0.1:1")
                .unwrap()
                .queue_capacity(0),
            "queue_capacity",
        ),
        (
            RedisBackplane::new("redis://127.0.0.1:1")
                .unwrap()
                .incoming_capacity(0),
            "incoming_capacity",
        ),
        (
            RedisBackplane::new("redis://127.0.0.1:1")
                .unwrap()
                .prefix(""),
            "prefix",
        ),
        (
            RedisBackplane::new("redis://127.0.0.1:1")
                .unwrap()
                .node_id("x".repeat(256)),
            "node_id",
        ),
        (
            RedisBackplane::new("redis://127.0.0.1:1")
                .unwrap()
                .heartbeat(Duration::ZERO),
            "heartbeat",
        ),
    ];
    for (backplane, setting) in cases {
        let config = ServerConfig::default().backplane(backplane);
        let e = hyperbun::router![Room, room_topic]
            .config(config)
            .bind("127.0.0.1:0")
            .await
            .expect_err("refused");
        assert!(e.to_string().contains(setting), "{setting}: {e}");
    }
    let e = RedisBackplane::new("redis://:pw@127.0.0.1:port").unwrap_err();
    assert!(
        e.to_string().contains("invalid Redis URL") && !e.to_string().contains("pw"),
        "{e}"
    );
}
