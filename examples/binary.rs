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
    use hyperbun_tests::{spawn, ws_closed, ws_connect, ws_next, ws_send, WsMessage};

    #[tokio::test]
    async fn sums_binary_and_refuses_text() {
        let app = spawn(super::app()).await;
        let mut ws = ws_connect(app.addr, "/sum").await;
        let numbers: Vec<u8> = [1u32, 2, 3, u32::MAX]
            .iter()
            .flat_map(|n| n.to_le_bytes())
            .collect();
        ws_send(&mut ws, WsMessage::binary(numbers)).await;
        let reply = ws_next(&mut ws).await.into_data();
        assert_eq!(reply.len(), 16);
        let count = u64::from_le_bytes(reply[..8].try_into().unwrap());
        let sum = u64::from_le_bytes(reply[8..].try_into().unwrap());
        assert_eq!((count, sum), (4, 6 + u64::from(u32::MAX)));

        ws_send(&mut ws, WsMessage::binary(vec![1u8, 2, 3])).await;
        assert_eq!(ws_closed(&mut ws).await.0, 1007);

        let mut ws = ws_connect(app.addr, "/sum").await;
        ws_send(&mut ws, WsMessage::text("1 2 3")).await;
        assert_eq!(
            ws_closed(&mut ws).await,
            (1003, "binary messages only".to_owned())
        );
        app.stop().await;
    }
}
