// RULE: an allowed origin is written as browsers send it in `Origin`: `scheme://host[:port]`.
// WHY: origins are compared as written; "https://example.com/" (with a `/`) would never match.
// FIX: write "https://example.com".
use hyperbun::prelude::*;

struct Chat;

#[websocket("/ws", allowed_origins = ["https://example.com/"])]
impl Chat {
    fn message(_ws: &mut WebSocket, _msg: Message) {}
}

fn main() {}
