// RULE: the type of a path parameter's argument implements `FromStr`.
// WHY: the parameter's text is parsed with `FromStr` (a `400` naming the parameter when it does not parse).
// FIX: implement `std::str::FromStr` for the type, or take a `String` and parse it yourself.
use hyperbun::prelude::*;

struct UserId(u64);

#[get("/users/:id")]
async fn user(id: UserId) -> String {
    format!("user {}", id.0)
}

fn main() {
    let _ = hyperbun::router![user];
}
