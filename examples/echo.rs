//! A WebSocket echo server: every message comes back with the same opcode (text as text,
//! binary as binary). It accepts the upgrade on any path and takes messages up to 64 MiB,
//! which is what the Autobahn conformance suite expects of its target.
//!
//! With `DEFLATE=1` it negotiates permessage-deflate and sends its echoes compressed.
//!
//! Run it:   cargo run --release --example echo          (PORT=9002 to change; default 9001)
//! Try it:   python3 -m websockets ws://localhost:9001/  → type a line, get it back
//!           tests/autobahn/run.sh -x target/release/examples/echo   (the conformance suite)

use hyperbun::prelude::*;

#[path = "common.rs"]
mod common;

/// The socket: echo whatever arrives.
struct Echo;

#[websocket(
    max_payload_length = 64 * 1024 * 1024,
    // An echo server must never drop: let the send queue hold a few maximum-size messages.
    backpressure_limit = 256 * 1024 * 1024,
    per_message_deflate = common::deflate_from_env()
)]
impl Echo {
    fn message(ws: &mut WebSocket, msg: Message) {
        // Compressed when the connection negotiated permessage-deflate, as it came otherwise.
        ws.send_compressed(msg);
    }
}

/// Any path upgrades (`/` and everything below it), by hand.
#[get("/")]
async fn root(server: Server, req: Request) -> Result<Response, UpgradeError> {
    server.upgrade::<Echo>(req, [("x-powered-by", "hyperbun")], ())
}

#[get("/*path")]
async fn any_path(path: String, server: Server, req: Request) -> Result<Response, UpgradeError> {
    let _ = path;
    server.upgrade::<Echo>(req, [("x-powered-by", "hyperbun")], ())
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    app().serve(common::setup("warn", 9001)).await
}

/// The routes, shared by `main` and the tests below.
fn app() -> Router {
    hyperbun::router![root, any_path]
}

#[cfg(test)]
mod tests {
    use hyperbun::test::TestServer;

    #[tokio::test]
    async fn echoes_text_and_binary_on_any_path() {
        let app = TestServer::start(super::app()).await;
        for path in ["/", "/echo", "/any/depth/at/all"] {
            let mut ws = app.ws(path).await;
            ws.send("hello").await;
            ws.expect_text("hello").await;
            ws.send(vec![1u8, 2, 3]).await;
            ws.expect_binary(&[1, 2, 3]).await;
            ws.close().await;
        }
        let mut ws = app.ws("/").await;
        let big = vec![0x5au8; 12 * 1024 * 1024];
        ws.send(big.clone()).await;
        ws.expect_binary(&big).await;
        ws.close().await;
        app.stop().await;
    }
}
