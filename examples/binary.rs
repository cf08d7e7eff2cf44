//! Binary in, binary out: a tiny binary protocol. Each binary message is a list of
//! little-endian `u32`s; the reply is one binary message with their count and sum (two
//! little-endian `u64`s). A text message is refused with close code `1003` (unsupported data),
//! a message whose length is not a multiple of 4 gets close code `1007` (inconsistent data).
//!
//! Run it:   cargo run --example binary   (PORT=8080 to change; default 3000)
//! Try it:   python3 -c "import asyncio, struct, websockets
//! async def main():
//!     async with websockets.connect('ws://localhost:3000/sum') as ws:
//!         await ws.send(struct.pack('<3I', 1, 2, 3)); print(struct.unpack('<2Q', await ws.recv()))
//! asyncio.run(main())"                     → (3, 6)

use hyperbun::prelude::*;

#[path = "common.rs"]
mod common;

/// The socket.
struct Sum;

#[websocket("/sum", max_payload_length = 1024 * 1024)]
impl Sum {
    fn message(ws: &mut WebSocket, msg: Message) {
        let Message::Binary(bytes) = msg else {
            ws.close(1003, "binary messages only");
            return;
        };
        if bytes.len() % 4 != 0 {
            ws.close(1007, "length is not a multiple of 4");
            return;
        }
        let (count, sum) = bytes
            .chunks_exact(4)
            .map(|n| u64::from(u32::from_le_bytes([n[0], n[1], n[2], n[3]])))
            .fold((0u64, 0u64), |(count, sum), n| (count + 1, sum + n));
        let mut reply = Vec::with_capacity(16);
        reply.extend_from_slice(&count.to_le_bytes());
        reply.extend_from_slice(&sum.to_le_bytes());
        ws.send(reply);
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    app().serve(common::setup("info", 3000)).await
}

/// The routes, shared by `main` and the tests below.
fn app() -> Router {
    hyperbun::router![Sum]
}

#[cfg(test)]
mod tests {
    use hyperbun::test::TestServer;

    #[tokio::test]
    async fn sums_binary_and_refuses_text() {
        let app = TestServer::start(super::app()).await;
        let mut ws = app.ws("/sum").await;
        let numbers: Vec<u8> = [1u32, 2, 3, u32::MAX]
            .iter()
            .flat_map(|n| n.to_le_bytes())
            .collect();
        ws.send(numbers).await;
        let count = 4u64.to_le_bytes();
        let sum = (6 + u64::from(u32::MAX)).to_le_bytes();
        ws.expect_binary(&[count, sum].concat()).await;

        ws.send(vec![1u8, 2, 3]).await;
        ws.expect_close(1007).await;

        let mut ws = app.ws("/sum").await;
        ws.send("1 2 3").await;
        assert_eq!(ws.expect_close(1003).await.reason, "binary messages only");
        app.stop().await;
    }
}
