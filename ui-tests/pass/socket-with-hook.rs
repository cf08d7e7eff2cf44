//! A socket with data, admitted by an #[upgrade] hook at its path (with a path parameter,
//! head extractors, `&Request`), next to HTTP routes; and a socket with `Default` data
//! listed without a hook.
use hyperbun::prelude::*;

struct Player {
    name: String,
    room: String,
}

struct Game;

#[websocket("/rooms/:room", data = Player)]
impl Game {
    fn open(ws: &mut WebSocket<Player>) {
        let welcome = format!("welcome to {}", ws.data.room);
        ws.send(welcome);
    }

    fn message(ws: &mut WebSocket<Player>, msg: Message) {
        if let Some(text) = msg.as_text() {
            let line = format!("{}: {text}", ws.data.name);
            ws.send(line);
        }
    }
}

// The parameter is named differently from the socket's: paths match by shape.
#[upgrade("/rooms/:id")]
fn join(id: String, req: &Request, headers: HeaderMap) -> Result<Upgrade<Player>, StatusCode> {
    let name = headers
        .get("x-player")
        .and_then(|v| v.to_str().ok())
        .ok_or(StatusCode::UNAUTHORIZED)?;
    let _ = req.uri().path();
    Ok(Upgrade::new(Player { name: name.to_owned(), room: id }).header("x-room", "joined"))
}

#[derive(Default)]
struct Counter {
    seen: u64,
}

struct Count;

#[websocket("/count", data = Counter)]
impl Count {
    fn message(ws: &mut WebSocket<Counter>, _msg: Message) {
        ws.data.seen += 1;
    }
}

struct Echo;

#[websocket]
impl Echo {
    async fn message(ws: &mut WebSocket, msg: Message) {
        ws.send(msg);
    }
}

#[upgrade("/ws")]
async fn always(method: Method) -> Upgrade<()> {
    let _ = method;
    Upgrade::new(())
}

#[get("/")]
async fn index() -> &'static str {
    "home"
}

// A socket beside HTTP routes under the same prefix.
#[get("/rooms")]
async fn rooms() -> &'static str {
    "rooms"
}

fn main() {
    let router = hyperbun::router![index, Game, join, rooms, Count, Echo, always];
    assert_eq!(router.routes().count(), 5);
    assert_eq!(router.find(&Method::GET, "/rooms/lobby"), Some("/rooms/:room"));
    assert_eq!(router.find(&Method::GET, "/ws"), Some("/ws"));
}
