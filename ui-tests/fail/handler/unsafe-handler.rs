// RULE: route handlers are safe functions.
// WHY: the router calls handlers for any request, so it cannot uphold an `unsafe fn`'s safety contract.
// FIX: remove `unsafe` from the handler and wrap the unsafe operations in `unsafe { … }` blocks inside it.
use hyperbun::prelude::*;

#[get("/")]
async unsafe fn index() -> &'static str {
    "home"
}

fn main() {
    let _ = hyperbun::router![index];
}
