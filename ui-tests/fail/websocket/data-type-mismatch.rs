// RULE: an #[upgrade] hook returns `Upgrade<T>` where `T` is the `data` type of the socket at its path.
// WHY: the data the hook accepts a connection with is `ws.data` in the socket's handlers.
// FIX: return `Upgrade<User>` from the hook, or declare the socket with `data = Session`.
use hyperbun::prelude::*;

struct User;
struct Session;

struct Chat;

#[websocket("/chat", data = User)]
impl Chat {
    fn message(_ws: &mut WebSocket<User>, _msg: Message) {}
}

#[upgrade("/chat")]
async fn admit() -> Result<Upgrade<Session>, StatusCode> {
    Ok(Upgrade::new(Session))
}

fn main() {
    let _ = hyperbun::router![Chat, admit];
}
