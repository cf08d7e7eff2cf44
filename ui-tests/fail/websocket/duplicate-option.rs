// RULE: a #[websocket] option is given at most once.
// WHY: with two values, one would silently win.
// FIX: keep one `send_pings = …`.
use hyperbun::prelude::*;

struct Chat;

#[websocket("/ws", send_pings = true, idle_timeout = 60, send_pings = false)]
impl Chat {
    fn message(_ws: &mut WebSocket, _msg: Message) {}
}

fn main() {}
