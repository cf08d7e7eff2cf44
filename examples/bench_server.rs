//! The benchmark server: the same two endpoints as Bun's reference server
//! (`../shared/tools/bun/server.js`), so `wsbench` can load both the same way.
//!
//! - `/echo`: every message is sent back to its sender.
//! - `/ws`: on open the socket subscribes to `room`; every message is published to `room`
//!   with `publish_to_self`, so every client, the sender included, receives it (the shape of
//!   Bun's `bench/websocket-server/chat-server.bun.js`).
//!
//! `DEFLATE=1` negotiates permessage-deflate, like Bun's `perMessageDeflate: true` there;
//! like that server, it then inflates what clients compress and sends uncompressed.
//!
//! Run it:   cargo run --release --example bench_server     (PORT, default 4001)
//! Measure:  ../shared/tools/wsbench/compare.sh -w chat-16,chat-32,fanout-500 target/release/examples/bench_server

use hyperbun::prelude::*;

#[path = "common.rs"]
mod common;

/// `/echo`.
struct Echo;

#[websocket("/echo", per_message_deflate = common::deflate_from_env())]
impl Echo {
    fn message(ws: &mut WebSocket, msg: Message) {
        ws.send(msg);
    }
}

/// `/ws`: the chat room.
struct Chat;

#[websocket(
    "/ws",
    publish_to_self = true,
    per_message_deflate = common::deflate_from_env()
)]
impl Chat {
    fn open(ws: &mut WebSocket) {
        ws.subscribe("room").expect("`room` is a topic");
    }

    fn message(ws: &mut WebSocket, msg: Message) {
        ws.publish("room", msg).expect("`room` is a topic");
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = common::setup("warn", 4001);
    let server = app().bind(("127.0.0.1", port)).await?;
    server.stopped().await;
    Ok(())
}

/// The routes, shared by `main` and the tests below.
fn app() -> Router {
    hyperbun::router![Echo, Chat]
}

#[cfg(test)]
mod tests {
    use hyperbun_tests::{spawn, ws_connect, ws_next, ws_send, WsMessage};

    #[tokio::test]
    async fn echo_and_room_behave_like_buns_reference_server() {
        let app = spawn(super::app()).await;
        let mut echo = ws_connect(app.addr, "/echo").await;
        ws_send(&mut echo, WsMessage::binary(vec![1u8, 2])).await;
        assert_eq!(ws_next(&mut echo).await, WsMessage::binary(vec![1u8, 2]));

        let mut a = ws_connect(app.addr, "/ws").await;
        let mut b = ws_connect(app.addr, "/ws").await;
        hyperbun_tests::wait_subscribers(&app.server, "room", 2).await;
        ws_send(&mut a, WsMessage::text("hello")).await;
        // Everybody, the sender included.
        assert_eq!(ws_next(&mut a).await, WsMessage::text("hello"));
        assert_eq!(ws_next(&mut b).await, WsMessage::text("hello"));
        drop((echo, a, b));
        app.stop().await;
    }
}
