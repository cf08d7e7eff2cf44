//! The harness's own tests: each proves a behaviour the backplane's tests rely on.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{RedisCluster, RedisOptions, RedisServer};
use crate::{within, TestCert};

/// Reads from `stream` until what it has read satisfies `done`; returns all of it.
async fn read_until<S>(stream: &mut S, what: &str, done: impl Fn(&str) -> bool) -> String
where
    S: AsyncRead + Unpin,
{
    within(what, async {
        let mut received = String::new();
        let mut buf = [0u8; 1024];
        while !done(&received) {
            let n = stream.read(&mut buf).await.expect("read");
            assert!(n > 0, "closed after {received:?} while waiting for {what}");
            received.push_str(std::str::from_utf8(&buf[..n]).expect("UTF-8"));
        }
        received
    })
    .await
}

/// Reads one line (a simple reply or an error).
async fn read_line<S: AsyncRead + Unpin>(stream: &mut S) -> String {
    read_until(stream, "a reply line", |r| r.ends_with("\r\n")).await
}

async fn connect(redis: &RedisServer) -> TcpStream {
    within("connect", TcpStream::connect(redis.addr()))
        .await
        .expect("connect")
}

/// A raw connection subscribed to `channel` with `command` (`SUBSCRIBE` or
/// `SSUBSCRIBE`): it holds the channel until it is dropped. `None` if the server answered
/// with an error (a cluster node that does not own the channel's slot).
async fn subscribe(redis: &RedisServer, command: &str, channel: &str) -> Option<TcpStream> {
    let mut stream = connect(redis).await;
    let request = format!("{command} {channel}\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let confirmed = format!("{channel}\r\n:1\r\n");
    let reply = read_until(&mut stream, &format!("{command} {channel}'s reply"), |r| {
        r.ends_with(&confirmed) || (r.starts_with('-') && r.ends_with("\r\n"))
    })
    .await;
    (!reply.starts_with('-')).then_some(stream)
}

#[tokio::test]
async fn a_started_server_answers_ping_through_cli() {
    let redis = RedisServer::start().await;
    assert_eq!(redis.cli(&["PING"]).await, "PONG");
    assert_eq!(redis.url(), format!("redis://127.0.0.1:{}", redis.port()));
    assert_eq!(redis.cli(&["CONFIG", "GET", "save"]).await, "save");
    let appendonly = redis.cli(&["CONFIG", "GET", "appendonly"]).await;
    assert_eq!(appendonly, "appendonly\nno");
}

#[tokio::test]
async fn kill_closes_the_port_and_restart_reopens_it_with_ping_answering() {
    let mut redis = RedisServer::start().await;
    let (port, first) = (redis.port(), redis.pid());
    redis.kill().await;
    let refused = TcpStream::connect(redis.addr()).await;
    assert!(refused.is_err(), "port {port} still open after kill");
    redis.restart().await;
    assert_eq!(redis.port(), port);
    assert_ne!(redis.pid(), first);
    assert_eq!(redis.cli(&["PING"]).await, "PONG");
}

#[tokio::test]
async fn a_port_taken_before_the_server_binds_it_is_reported_for_another_try() {
    // By something else: the server exits (EADDRINUSE).
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut redis = RedisServer::unstarted(RedisOptions::default(), false).await;
    redis.port = taken.local_addr().expect("address").port();
    assert!(redis.launch().await.is_err());
    assert!(redis.child.is_none());
    // By another redis-server, which answers PING: told apart by its process id.
    let other = RedisServer::start().await;
    redis.port = other.port();
    assert!(redis.launch().await.is_err());
    assert!(redis.child.is_none());
    assert_eq!(other.cli(&["PING"]).await, "PONG");
}

#[tokio::test]
async fn a_paused_server_leaves_ping_unanswered_until_resumed() {
    let redis = RedisServer::start().await;
    let mut stream = connect(&redis).await;
    redis.pause();
    stream.write_all(b"PING\r\n").await.expect("write");
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_millis(300), stream.read(&mut buf)).await;
    assert!(read.is_err(), "a paused server answered: {read:?}");
    redis.resume();
    assert_eq!(read_line(&mut stream).await, "+PONG\r\n");
}

#[tokio::test]
async fn a_password_server_refuses_ping_without_it_and_answers_with_it() {
    let redis = RedisServer::start_with(RedisOptions {
        password: Some("s3cret pass".to_owned()),
        ..RedisOptions::default()
    })
    .await;
    let mut stream = connect(&redis).await;
    stream.write_all(b"PING\r\n").await.expect("write");
    let refused = read_line(&mut stream).await;
    assert!(refused.starts_with("-NOAUTH"), "{refused}");
    let auth = b"AUTH \"s3cret pass\"\r\nPING\r\n";
    stream.write_all(auth).await.expect("write");
    let answered = read_until(&mut stream, "+OK and +PONG", |r| r.ends_with("+PONG\r\n")).await;
    assert_eq!(answered, "+OK\r\n+PONG\r\n");
    assert_eq!(redis.cli(&["PING"]).await, "PONG");
    let port = redis.port();
    assert_eq!(
        redis.url(),
        format!("redis://:s3cret%20pass@127.0.0.1:{port}")
    );
}

#[tokio::test]
async fn a_tls_server_answers_ping_through_cli_and_a_client_checking_localhost() {
    let cert = TestCert::new();
    let redis = RedisServer::start_with(RedisOptions {
        tls: Some(cert.clone()),
        ..RedisOptions::default()
    })
    .await;
    assert_eq!(redis.cli(&["PING"]).await, "PONG");
    assert_eq!(redis.url(), format!("rediss://localhost:{}", redis.port()));
    // The URL's name, checked against the certificate by a client trusting the CA alone.
    let mut tls = crate::tls_connect(redis.addr(), cert.client_config_alpn(&[]))
        .await
        .expect("a TLS handshake for localhost");
    tls.write_all(b"PING\r\n").await.expect("write");
    assert_eq!(read_line(&mut tls).await, "+PONG\r\n");
    // And no cleartext on that port.
    let mut plain = connect(&redis).await;
    plain.write_all(b"PING\r\n").await.expect("write");
    let mut received = Vec::new();
    let _ = within(
        "the TLS port to drop a cleartext PING",
        plain.read_to_end(&mut received),
    )
    .await;
    assert!(!received.starts_with(b"+PONG"), "{received:?}");
}

#[tokio::test]
async fn channels_see_what_subscriptions_hold_until_their_connections_drop() {
    let redis = RedisServer::start().await;
    let plain = subscribe(&redis, "SUBSCRIBE", "news.a")
        .await
        .expect("subscribed");
    let shard = subscribe(&redis, "SSUBSCRIBE", "news.s")
        .await
        .expect("subscribed");
    assert_eq!(redis.channels("news.*").await, ["news.a"]);
    assert_eq!(redis.shard_channels("news.*").await, ["news.s"]);
    assert_eq!(redis.channels("other.*").await, Vec::<String>::new());
    drop(plain);
    redis.wait_channels("news.*", false, &[]).await;
    redis.wait_channels("news.*", true, &["news.s"]).await;
    drop(shard);
    redis.wait_channels("news.*", true, &[]).await;
}

#[tokio::test]
async fn a_three_master_cluster_comes_up_with_cluster_state_ok_on_every_node() {
    let cluster = RedisCluster::start(3).await;
    let ports: Vec<u16> = cluster.nodes().iter().map(RedisServer::port).collect();
    let [p1, p2, p3] = ports[..] else {
        panic!("3 nodes: {ports:?}")
    };
    let url = format!("redis-cluster://127.0.0.1:{p1}?node=127.0.0.1:{p2}&node=127.0.0.1:{p3}");
    assert_eq!(cluster.url(), url);
    for node in cluster.nodes() {
        let info = node.cli(&["CLUSTER", "INFO"]).await;
        assert!(info.contains("cluster_state:ok"), "{info}");
        assert!(info.contains("cluster_known_nodes:3"), "{info}");
    }
    // A shard channel is held by the node owning its slot; the others answer -MOVED.
    let mut held = Vec::new();
    for node in cluster.nodes() {
        held.extend(subscribe(node, "SSUBSCRIBE", "room.1").await);
    }
    assert_eq!(held.len(), 1, "one node owns room.1's slot");
    cluster.wait_shard_channels("room.*", &["room.1"]).await;
    assert_eq!(cluster.shard_channels("*").await, ["room.1"]);
    held.clear();
    cluster.wait_shard_channels("room.*", &[]).await;
}
