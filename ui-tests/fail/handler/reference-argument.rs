// RULE: handler arguments are owned values: `String`, not `&str`.
// WHY: a handler's future outlives the request it reads from, so it cannot borrow from it.
// FIX: take the owned type: `String` for `&str`, `HeaderMap` for `&HeaderMap`.
use hyperbun::prelude::*;

#[get("/users/:name")]
async fn user(name: &str) -> String {
    format!("user {name}")
}

fn main() {
    let _ = hyperbun::router![user];
}
