// RULE: each handler takes its arguments: `close(ws, code: u16, reason: &str)`.
// WHY: the socket calls each handler with a fixed list of arguments.
// FIX: add the missing argument: `fn close(ws: &mut WebSocket, code: u16, reason: &str)`.
use hyperbun::prelude::*;

struct Chat;

#[websocket("/ws")]
impl Chat {
    fn message(_ws: &mut WebSocket, _msg: Message) {}

    fn close(_ws: &mut WebSocket, _code: u16) {}
}

fn main() {}
