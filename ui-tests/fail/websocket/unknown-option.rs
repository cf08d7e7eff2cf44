// RULE: #[websocket] takes only the options it knows, with Bun's names in snake_case.
// WHY: a misspelt option would silently keep its default.
// FIX: write `idle_timeout = 30`.
use hyperbun::prelude::*;

struct Chat;

#[websocket("/ws", idleTimeout = 30)]
impl Chat {
    fn message(_ws: &mut WebSocket, _msg: Message) {}
}

fn main() {}
