// RULE: two routes with a method in common never match the same path with the same shape (names do not matter).
// WHY: `/users/:id` and `/users/:name` both match `/users/7`; nothing says which handler answers.
// FIX: keep one route and branch inside it, or give them different methods or static segments.
use hyperbun::prelude::*;

#[get("/users/:id")]
async fn by_id(id: u64) -> String {
    format!("user {id}")
}

#[get("/users/:name")]
async fn by_name(name: String) -> String {
    format!("user {name}")
}

fn main() {
    let _ = hyperbun::router![by_id, by_name];
}
