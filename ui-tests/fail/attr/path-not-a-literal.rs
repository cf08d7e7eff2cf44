// RULE: the route path is a string literal, not a constant or expression.
// WHY: the macros parse and check the path at compile time, and a macro sees only the tokens written in the attribute.
// FIX: write the path itself: `#[get("/users")]`.
use hyperbun::prelude::*;

const USERS: &str = "/users";

#[get(USERS)]
async fn users() -> &'static str {
    "users"
}

fn main() {
    let _ = hyperbun::router![users];
}
