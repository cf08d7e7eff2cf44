// RULE: a group's prefix is a static path: it starts with `/`, does not end with one, and has no `:param` or `*rest`.
// WHY: the group's handlers are written for their own paths; a parameter in front of them would reach none of them.
// FIX: write the parameter into each route's path, or mount the routes without the parameter.
use hyperbun::prelude::*;

#[get("/users")]
async fn users() -> &'static str {
    "users"
}

fn main() {
    let _ = hyperbun::router![group("/tenants/:tenant")[users]];
}
