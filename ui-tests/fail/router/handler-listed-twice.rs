// RULE: a router lists each handler once.
// WHY: listing a handler twice registers its route twice.
// FIX: remove the repeated handler.
use hyperbun::prelude::*;

#[get("/")]
async fn index() -> &'static str {
    "home"
}

fn main() {
    let _ = hyperbun::router![index, index];
}
