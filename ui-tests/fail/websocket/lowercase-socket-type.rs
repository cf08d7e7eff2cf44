// RULE: a socket type's name starts with an uppercase letter.
// WHY: `router![…]` tells a socket type (`Chat`) from a handler function (`chat`) by its first letter.
// FIX: rename `chat_socket` to `ChatSocket`.
use hyperbun::prelude::*;

#[allow(non_camel_case_types)]
struct chat_socket;

#[websocket("/ws")]
impl chat_socket {
    fn message(_ws: &mut WebSocket, _msg: Message) {}
}

fn main() {}
