// RULE: a socket whose handlers take `WebSocket<T>` declares `data = T`.
// WHY: without `data = …` the socket's data is `()`.
// FIX: #[websocket("/ws", data = User)].
use hyperbun::prelude::*;

#[derive(Default)]
struct User;

struct Chat;

#[websocket("/ws")]
impl Chat {
    fn message(_ws: &mut WebSocket<User>, _msg: Message) {}
}

fn main() {}
