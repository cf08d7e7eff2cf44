//! Backpressure, bun-router style: stream a large download over a WebSocket without letting
//! the send queue grow. Send until a send reports `Backpressure`, stop, and carry on in `drain`,
//! which runs once the queue has fallen below the limit.
//!
//! Run it:   cargo run --example backpressure   (PORT=8080 to change; default 3000)
//! Try it:   python3 -m websockets ws://localhost:3000/download
//!           → 256 binary chunks of 64 KiB (16 MiB), then the text `done: 256 chunks, N pauses`

use hyperbun::prelude::*;

#[path = "common.rs"]
mod common;

/// Size of one chunk.
const CHUNK: usize = 64 * 1024;
/// Chunks per download (16 MiB in all).
const CHUNKS: u32 = 256;

/// How far one download got.
#[derive(Debug, Default)]
struct Download {
    next: u32,
    pauses: u32,
}

/// The socket: start on open, resume on drain.
struct Stream;

#[websocket("/download", data = Download, backpressure_limit = 1024 * 1024)]
impl Stream {
    fn open(ws: &mut WebSocket<Download>) {
        pump(ws);
    }

    fn drain(ws: &mut WebSocket<Download>) {
        pump(ws);
    }

    fn message(ws: &mut WebSocket<Download>, _msg: Message) {
        let progress = format!("{}/{CHUNKS}", ws.data.next);
        ws.send(progress);
    }
}

/// Sends chunks until the queue pushes back or the download is complete.
fn pump(ws: &mut WebSocket<Download>) {
    while ws.data.next < CHUNKS {
        match ws.send(chunk(ws.data.next)) {
            SendStatus::Sent(_) => ws.data.next += 1,
            SendStatus::Backpressure(_) => {
                // Queued, but the queue is full: wait for `drain`.
                ws.data.next += 1;
                ws.data.pauses += 1;
                return;
            }
            // `Dropped`, not queued (closing, or over the limit): `drain` retries this chunk.
            _ => return,
        }
    }
    if ws.data.next == CHUNKS {
        let done = format!("done: {CHUNKS} chunks, {} pauses", ws.data.pauses);
        ws.send(done);
        ws.data.next += 1;
    }
}

/// Chunk `n`: its number (4 bytes, big-endian), then filler.
fn chunk(n: u32) -> Vec<u8> {
    let mut chunk = vec![(n % 251) as u8; CHUNK];
    chunk[..4].copy_from_slice(&n.to_be_bytes());
    chunk
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    app().serve(common::setup("info", 3000)).await
}

/// The routes, shared by `main` and the tests below.
fn app() -> Router {
    hyperbun::router![Stream]
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures_util::StreamExt;
    use hyperbun::test::TestServer;
    use hyperbun_tests::within;
    use tokio::net::TcpSocket;
    use tokio_tungstenite::tungstenite::Message as WsMessage;

    #[tokio::test]
    async fn a_slow_reader_gets_every_chunk_in_order_after_pauses() {
        let app = TestServer::start(super::app()).await;
        // A small receive buffer, and no reading for a while: the server must pause. The
        // buffer is a socket option, set before connecting, so the WebSocket runs over a
        // socket of our own (tokio-tungstenite) rather than `app.ws`.
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(64 * 1024).unwrap();
        let stream = socket.connect(app.addr()).await.unwrap();
        let url = app.ws_url("/download");
        let (mut ws, _) = within("handshake", tokio_tungstenite::client_async(url, stream))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;

        let mut next = 0u32;
        loop {
            let message = within("the next message", ws.next())
                .await
                .expect("the connection ended")
                .expect("ws error");
            match message {
                WsMessage::Binary(chunk) => {
                    assert_eq!(chunk.len(), super::CHUNK);
                    assert_eq!(u32::from_be_bytes(chunk[..4].try_into().unwrap()), next);
                    next += 1;
                }
                WsMessage::Text(done) => {
                    assert_eq!(next, super::CHUNKS, "every chunk before `done`");
                    let pauses: u32 = done
                        .strip_prefix("done: 256 chunks, ")
                        .and_then(|rest| rest.strip_suffix(" pauses"))
                        .and_then(|n| n.parse().ok())
                        .unwrap_or_else(|| panic!("unexpected {done}"));
                    assert!(pauses >= 1, "the server never saw backpressure: {done}");
                    break;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        drop(ws);
        app.stop().await;
    }
}
