// RULE: a route path starts with `/`.
// WHY: request paths always start with `/`; a path without it could never match.
// FIX: add the leading slash: "/users".
use hyperbun::prelude::*;

#[get("users")]
async fn users() -> &'static str {
    "users"
}

fn main() {
    let _ = hyperbun::router![users];
}
