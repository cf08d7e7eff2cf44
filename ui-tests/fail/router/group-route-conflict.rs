// RULE: a route in a group is checked at its whole path, the group's prefix included.
// WHY: `/users` under `group("/api")` answers `/api/users`, which another route may already answer.
// FIX: remove one of the routes, or give the group (or the route) another path.
use hyperbun::prelude::*;

#[get("/api/users")]
async fn all_users() -> &'static str {
    "all"
}

#[get("/users")]
async fn users() -> &'static str {
    "users"
}

fn main() {
    let _ = hyperbun::router![all_users, group("/api")[users]];
}
