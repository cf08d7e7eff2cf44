// RULE: a socket has at most one #[upgrade] hook.
// WHY: the hook decides whether and with what data a connection is accepted; two would disagree.
// FIX: merge the two hooks into one, or remove one from `router![…]`.
use hyperbun::prelude::*;

struct Chat;

#[websocket("/ws")]
impl Chat {
    fn message(_ws: &mut WebSocket, _msg: Message) {}
}

#[upgrade("/ws")]
fn admit() -> Upgrade<()> {
    Upgrade::new(())
}

#[upgrade("/ws")]
fn check_token(headers: HeaderMap) -> Result<Upgrade<()>, StatusCode> {
    headers.get("x-token").ok_or(StatusCode::UNAUTHORIZED)?;
    Ok(Upgrade::new(()))
}

fn main() {
    let _ = hyperbun::router![Chat, admit, check_token];
}
