// RULE: a path has at most one socket.
// WHY: a handshake at the path could be served by either socket's handlers.
// FIX: give one of the sockets another path: #[websocket("/feed")].
use hyperbun::prelude::*;

struct Chat;

#[websocket("/ws")]
impl Chat {
    fn message(_ws: &mut WebSocket, _msg: Message) {}
}

struct Feed;

#[websocket("/ws")]
impl Feed {
    fn message(_ws: &mut WebSocket, _msg: Message) {}
}

fn main() {
    let _ = hyperbun::router![Chat, Feed];
}
