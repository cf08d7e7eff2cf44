// RULE: an entry of `router![…]` whose name starts with an uppercase letter is a socket type declared with #[websocket].
// WHY: `router!` tells a socket type (`Chat`) from a handler function (`chat`) by its first letter, and reaches a socket through the macro #[websocket] declares under the type's name.
// FIX: add `#[websocket("/path")]` to the type's `impl` block holding its handlers, or remove it from `router![…]`.
use hyperbun::prelude::*;

struct Chat;

impl Chat {
    #[allow(dead_code)]
    fn message(_ws: &mut WebSocket, _msg: Message) {}
}

fn main() {
    let _ = hyperbun::router![Chat];
}
