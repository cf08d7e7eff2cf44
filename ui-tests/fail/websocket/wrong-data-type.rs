// RULE: every handler takes the socket as `&mut WebSocket<T>`, where `T` is the socket's `data = T`.
// WHY: `ws.data` is the data the connection was accepted with, of the one type `data = T`.
// FIX: take `ws: &mut WebSocket<User>`, or change the socket's `data = …`.
use hyperbun::prelude::*;

struct User;
struct Guest;

struct Chat;

#[websocket("/ws", data = User)]
impl Chat {
    fn open(_ws: &mut WebSocket<Guest>) {}

    fn message(_ws: &mut WebSocket<User>, _msg: Message) {}
}

fn main() {}
