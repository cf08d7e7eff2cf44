// RULE: groups do not nest.
// WHY: a group inside a group would hide which prefix and which layers a route gets.
// FIX: give the inner routes a group of their own with the whole prefix and the layers they need.
use hyperbun::prelude::*;

#[get("/users")]
async fn users() -> &'static str {
    "users"
}

fn main() {
    let _ = hyperbun::router![group("/api")[group("/v1")[users]]];
}
