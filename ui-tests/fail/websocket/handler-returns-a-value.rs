// RULE: socket handlers return nothing (`()`).
// WHY: there is no one to return a value to; answers are sent with `ws.send(…)`.
// FIX: remove `-> String` and send the reply: `ws.send(reply)`.
use hyperbun::prelude::*;

struct Chat;

#[websocket("/ws")]
impl Chat {
    fn message(_ws: &mut WebSocket, _msg: Message) -> String {
        "pong".to_owned()
    }
}

fn main() {}
