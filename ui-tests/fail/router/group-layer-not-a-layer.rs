// RULE: a group's `layer = …` is a tower layer that can wrap hyperbun routes.
// WHY: the group's routes are wrapped in it when the router is built; anything else cannot wrap them.
// FIX: give a tower layer, a tuple of layers, or `hyperbun::middleware::from_fn(f)` for an async fn.
use hyperbun::prelude::*;

#[get("/users")]
async fn users() -> &'static str {
    "users"
}

fn main() {
    let max_requests = 100;
    let _ = hyperbun::router![group("/api", layer = max_requests)[users]];
}
