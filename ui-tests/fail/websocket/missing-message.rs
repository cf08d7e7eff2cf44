// RULE: every socket has a `message` handler.
// WHY: a socket that ignores what it receives is almost always a mistake.
// FIX: add `fn message(ws: &mut WebSocket, msg: Message) { … }` to the block.
use hyperbun::prelude::*;

struct Chat;

#[websocket("/ws")]
impl Chat {
    fn open(ws: &mut WebSocket) {
        ws.send("hello");
    }
}

fn main() {}
