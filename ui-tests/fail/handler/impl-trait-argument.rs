// RULE: handler arguments have concrete types; `impl Trait` is not allowed.
// WHY: an `impl Trait` argument makes the function generic, and the router must know the type it extracts.
// FIX: use a concrete type, e.g. `id: u64` or `String`.
use hyperbun::prelude::*;

#[get("/users/:id")]
async fn user(id: impl std::fmt::Display) -> String {
    format!("user {id}")
}

fn main() {
    let _ = hyperbun::router![user];
}
