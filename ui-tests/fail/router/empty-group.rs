// RULE: a group has a path prefix, a layer or both.
// WHY: a group with neither changes nothing, which is most likely not what was meant.
// FIX: give it a prefix (`group("/api")[…]`), a layer (`group(layer = L)[…]`), or list the routes without a group.
use hyperbun::prelude::*;

#[get("/users")]
async fn users() -> &'static str {
    "users"
}

fn main() {
    let _ = hyperbun::router![group()[users]];
}
