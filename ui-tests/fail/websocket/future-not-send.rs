// RULE: an `async fn` socket handler's future is `Send`: it holds no `Rc` or other non-`Send` value across an `.await`.
// WHY: sockets run on a multi-threaded runtime, which may move a handler between threads at an `.await`.
// FIX: drop the value before the `.await` (end its scope), or use a `Send` type such as `Arc`.
use hyperbun::prelude::*;
use std::rc::Rc;

async fn tick() {}

struct Chat;

#[websocket("/ws")]
impl Chat {
    async fn message(ws: &mut WebSocket, _msg: Message) {
        let count = Rc::new(1);
        tick().await;
        ws.send(count.to_string());
    }
}

fn main() {}
