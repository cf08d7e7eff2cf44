// RULE: a #[websocket] block holds only the socket's handler functions.
// WHY: the macro reads the block as the list of handlers.
// FIX: move the constant to another `impl Chat { … }` block.
use hyperbun::prelude::*;

struct Chat;

#[websocket("/ws")]
impl Chat {
    const GREETING: &'static str = "hello";

    fn message(ws: &mut WebSocket, _msg: Message) {
        ws.send("hi");
    }
}

fn main() {}
