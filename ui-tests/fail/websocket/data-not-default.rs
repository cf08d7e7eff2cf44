// RULE: a socket listed without an #[upgrade] hook has a `data` type that implements `Default`.
// WHY: without a hook, every valid handshake is accepted with `T::default()` as its data.
// FIX: `#[derive(Default)]` on `User`, or add an #[upgrade("/chat")] hook that returns `Upgrade<User>` and list it.
use hyperbun::prelude::*;

struct User {
    name: String,
}

struct Chat;

#[websocket("/chat", data = User)]
impl Chat {
    fn message(ws: &mut WebSocket<User>, _msg: Message) {
        let _ = &ws.data.name;
    }
}

fn main() {
    let _ = hyperbun::router![Chat];
}
