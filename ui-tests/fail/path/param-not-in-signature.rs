// RULE: every `:param` and `*rest` in the path is bound by a handler argument of the same name.
// WHY: parameters bind by name; an unbound parameter is a value the handler silently never sees.
// FIX: name the argument like the parameter (`id: u32`), or remove the parameter from the path.
use hyperbun::prelude::*;

#[get("/users/:id")]
async fn user(uid: u32) -> String {
    format!("user {uid}")
}

fn main() {
    let _ = hyperbun::router![user];
}
