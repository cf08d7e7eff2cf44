// RULE: a #[websocket] block holds only handlers named `open`, `message`, `close`, `drain`, `error`, `ping` or `pong`.
// WHY: a handler is found by its name; a misnamed one would silently never run.
// FIX: rename `on_message` to `message`; put helper functions in another `impl Chat` block.
use hyperbun::prelude::*;

struct Chat;

#[websocket("/ws")]
impl Chat {
    fn on_message(ws: &mut WebSocket, msg: Message) {
        ws.send(msg);
    }
}

fn main() {}
