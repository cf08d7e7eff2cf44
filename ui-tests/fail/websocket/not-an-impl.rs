// RULE: #[websocket] goes on the `impl Type { … }` block that holds the socket's handlers.
// WHY: the handlers are the block's functions; the type itself is declared by you.
// FIX: `struct Chat;` then `#[websocket("/ws")] impl Chat { fn message(…) { … } }`.
use hyperbun::prelude::*;

#[websocket("/ws")]
struct Chat;

fn main() {}
