// RULE: route handlers are not generic.
// WHY: the router calls the handler itself, so it must know the concrete type of every argument and of the result.
// FIX: use concrete types; for shared logic, call a generic helper from a concrete handler.
use hyperbun::prelude::*;

#[get("/")]
async fn index<T: Default>() -> &'static str {
    "home"
}

fn main() {
    let _ = hyperbun::router![index];
}
