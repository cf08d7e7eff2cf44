// RULE: an #[upgrade] hook's path is the path of a socket listed in the same `router![…]`.
// WHY: a hook admits connections to the socket at its path; without one it would never run.
// FIX: give the hook the socket's path (`/ws`), or list the socket it belongs to.
use hyperbun::prelude::*;

struct Chat;

#[websocket("/ws")]
impl Chat {
    fn message(_ws: &mut WebSocket, _msg: Message) {}
}

#[upgrade("/chat")]
fn admit() -> Upgrade<()> {
    Upgrade::new(())
}

fn main() {
    let _ = hyperbun::router![Chat, admit];
}
