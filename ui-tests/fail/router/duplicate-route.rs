// RULE: a router has at most one route per method and path.
// WHY: the router could not tell which handler should answer.
// FIX: remove one handler, or give it a different method or path.
use hyperbun::prelude::*;

#[get("/users")]
async fn list() -> &'static str {
    "users"
}

#[get("/users")]
async fn list_again() -> &'static str {
    "users again"
}

fn main() {
    let _ = hyperbun::router![list, list_again];
}
