// RULE: a handler's first argument is the socket, borrowed mutably: `ws: &mut WebSocket<T>`.
// WHY: handlers send, subscribe and change `ws.data` through it.
// FIX: `fn message(ws: &mut WebSocket, msg: Message)`.
use hyperbun::prelude::*;

struct Chat;

#[websocket("/ws")]
impl Chat {
    fn message(_ws: &WebSocket, _msg: Message) {}
}

fn main() {}
