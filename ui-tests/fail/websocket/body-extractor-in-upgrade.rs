// RULE: an #[upgrade] hook's arguments read only the request head.
// WHY: a WebSocket handshake is a `GET` without a body, and the connection goes to the socket afterwards.
// FIX: take head extractors (`HeaderMap`, `Query<T>`, …) or `&Request`.
use hyperbun::prelude::*;

struct Chat;

#[websocket("/ws")]
impl Chat {
    fn message(_ws: &mut WebSocket, _msg: Message) {}
}

#[upgrade("/ws")]
async fn admit(Json(token): Json<String>) -> Result<Upgrade<()>, StatusCode> {
    if token.is_empty() {
        return Err(StatusCode::UNAUTHORIZED);
    }
    Ok(Upgrade::new(()))
}

fn main() {
    let _ = hyperbun::router![Chat, admit];
}
