// RULE: a socket's `rate_limit` lets at least one message a second through, in bursts of at least one.
// WHY: a rate or burst of zero would refuse every message: the socket could never be used.
// FIX: write `RateLimit::per_second(1)` or more, or leave `rate_limit` out for no limit.
use hyperbun::prelude::*;

struct Chat;

#[websocket("/ws", rate_limit = RateLimit::per_second(10).burst(0))]
impl Chat {
    fn message(_ws: &mut WebSocket, _msg: Message) {}
}

fn main() {}
