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
        ws.subscribe("room");
    }

    fn message(ws: &mut WebSocket, msg: Message) {
        ws.publish("room", msg);
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
    use hyperbun::test::TestServer;

    #[tokio::test]
    async fn echo_and_room_behave_like_buns_reference_server() {
        let app = TestServer::start(super::app()).await;
        let mut echo = app.ws("/echo").await;
        echo.send(vec![1u8, 2]).await;
        echo.expect_binary(&[1, 2]).await;

        let mut a = app.ws("/ws").await;
        let mut b = app.ws("/ws").await;
        app.wait_subscribers("room", 2).await;
        a.send("hello").await;
        // Everybody, the sender included.
        a.expect_text("hello").await;
        b.expect_text("hello").await;
        for mut ws in [echo, a, b] {
            ws.close().await;
        }
        app.stop().await;
    }
}
