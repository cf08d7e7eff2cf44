//! A socket that no `router![…]` lists, upgraded by hand inside an HTTP route with
//! `server.upgrade::<Custom>(req, headers, data)` (bun-router's `upgrade(req, headers, data)`).
use hyperbun::prelude::*;

struct ClientData {
    user_id: String,
}

struct Custom;

#[websocket("/unused", data = ClientData, protocols = ["v1"])]
impl Custom {
    fn open(ws: &mut WebSocket<ClientData>) {
        let hello = format!("hello, {}", ws.data.user_id);
        ws.send(hello);
    }

    fn message(_ws: &mut WebSocket<ClientData>, _msg: Message) {}
}

#[get("/custom-ws")]
async fn custom(server: Server, req: Request) -> Response {
    let Some(user) = req.headers().get("x-user").and_then(|v| v.to_str().ok()) else {
        return (StatusCode::UNAUTHORIZED, "Unauthorized").into_response();
    };
    let data = ClientData {
        user_id: user.to_owned(),
    };
    match server.upgrade::<Custom>(req, [("x-user-id", data.user_id.clone())], data) {
        Ok(switching) => switching,
        Err(e) => e.into_response(),
    }
}

fn main() {
    let router = hyperbun::router![custom];
    assert_eq!(router.routes().count(), 1);
}
