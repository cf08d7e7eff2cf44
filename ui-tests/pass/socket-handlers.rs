//! All eight handlers, plain `fn` and `async fn` mixed, with the argument patterns users
//! write (`_`, `mut`, destructuring-free names).
use hyperbun::prelude::*;
use hyperbun::WebSocketError;

async fn later() {}

#[derive(Default)]
struct State {
    pings: u32,
    log: Vec<String>,
}

struct Everything;

#[websocket("/all", data = State)]
impl Everything {
    async fn open(ws: &mut WebSocket<State>) {
        later().await;
        ws.send("open");
    }

    fn message(ws: &mut WebSocket<State>, msg: Message) {
        ws.send(msg);
    }

    async fn rate_limited(ws: &mut WebSocket<State>, msg: Message) {
        later().await;
        ws.data.log.push(format!("dropped {} bytes", msg.len()));
    }

    async fn close(ws: &mut WebSocket<State>, code: u16, reason: &str) {
        later().await;
        ws.data.log.push(format!("closed {code} {reason}"));
    }

    fn drain(ws: &mut WebSocket<State>) {
        ws.send("drained");
    }

    async fn error(ws: &mut WebSocket<State>, error: &WebSocketError) {
        let line = error.to_string();
        later().await;
        ws.data.log.push(line);
    }

    fn ping(ws: &mut WebSocket<State>, payload: Bytes) {
        ws.data.pings += payload.len() as u32;
    }

    async fn pong(mut _ws: &mut WebSocket<State>, _: Bytes) {}
}

/// Documented, with an allowed lint and a handler behind a `cfg`.
struct Documented;

/// The socket's docs stay.
#[websocket("/documented")]
impl Documented {
    /// A handler's docs stay too.
    #[allow(clippy::needless_pass_by_value)]
    fn message(_ws: &mut WebSocket, msg: Message) {
        drop(msg);
    }

    #[cfg(any())]
    fn drain(_ws: &mut WebSocket) {}
}

fn main() {
    let router = hyperbun::router![Everything, Documented];
    assert_eq!(router.routes().count(), 2);
}
