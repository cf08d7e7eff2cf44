// RULE: a socket is a `GET` route at its path: no #[get] route may share it.
// WHY: a `GET` request to the path could be answered by either.
// FIX: move the page or the socket to another path (`/chat` and `/chat/ws`).
use hyperbun::prelude::*;

struct Chat;

#[websocket("/chat")]
impl Chat {
    fn message(_ws: &mut WebSocket, _msg: Message) {}
}

#[get("/chat")]
async fn page() -> Html<&'static str> {
    Html("<script>new WebSocket('/chat')</script>")
}

fn main() {
    let _ = hyperbun::router![Chat, page];
}
