// RULE: socket handlers are not generic.
// WHY: the socket calls each handler with its own concrete types.
// FIX: use concrete types: `fn message(ws: &mut WebSocket, msg: Message)`.
use hyperbun::prelude::*;

struct Chat;

#[websocket("/ws")]
impl Chat {
    fn message<M: Into<Message>>(_ws: &mut WebSocket, _msg: M) {}
}

fn main() {}
