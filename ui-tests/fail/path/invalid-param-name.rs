// RULE: a parameter is a whole segment `:name` or `*name` where name is a Rust identifier.
// WHY: the parameter binds the handler argument of the same name, so the name must be one an argument can have.
// FIX: use an identifier, e.g. `:user_id` instead of `:user-id`.
use hyperbun::prelude::*;

#[get("/users/:user-id")]
async fn user() -> &'static str {
    "user"
}

fn main() {
    let _ = hyperbun::router![user];
}
