//! A hyperbun node on the Redis backplane, for `tests/backplane.rs` to run as a child process
//! it can kill with SIGKILL (a node that dies without saying goodbye). Arguments: the Redis
//! URL, the prefix, the node id and the heartbeat in milliseconds. It serves the same
//! `/room` socket as the tests' in-process nodes, prints its port once the backplane is
//! connected, and serves until its stdin closes.

use std::time::Duration;

use hyperbun::backplane::RedisBackplane;
use hyperbun::prelude::*;
use tokio::io::AsyncReadExt;

#[path = "backplane_room.rs"]
mod room;

use room::{room_topic, Room};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, prefix, id, heartbeat] = &args[..] else {
        panic!("usage: backplane-node REDIS_URL PREFIX NODE_ID HEARTBEAT_MS");
    };
    let backplane = RedisBackplane::new(url)
        .expect("a Redis URL")
        .prefix(prefix)
        .node_id(id)
        .heartbeat(Duration::from_millis(
            heartbeat.parse().expect("milliseconds"),
        ));
    let config = ServerConfig::default().backplane(backplane);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let server = hyperbun::router![Room, room_topic]
        .config(config)
        .listen(listener)?;
    while !server.backplane_stats().is_some_and(|s| s.connected) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    println!("{}", server.local_addr().port().expect("a TCP port"));
    let mut stdin = tokio::io::stdin();
    let mut byte = [0; 1];
    let _ = stdin.read(&mut byte).await;
    server.stop().await;
    Ok(())
}
