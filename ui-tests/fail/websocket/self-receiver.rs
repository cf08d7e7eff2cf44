// RULE: socket handlers take the socket, not `self`.
// WHY: the socket type is only a name for the route; per-connection state is `ws.data`.
// FIX: `fn message(ws: &mut WebSocket<D>, msg: Message)`, with the state in `data = D`.
use hyperbun::prelude::*;

struct Chat {
    count: u64,
}

#[websocket("/ws")]
impl Chat {
    fn message(&mut self, _msg: Message) {
        self.count += 1;
    }
}

fn main() {}
