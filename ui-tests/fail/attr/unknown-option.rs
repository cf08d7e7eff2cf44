// RULE: a route attribute takes only the options it knows: `body_limit` (and `method` for #[route]).
// WHY: a misspelled option would otherwise be silently ignored.
// FIX: correct the option's name, or remove it.
use hyperbun::prelude::*;

#[get("/", timout = 5)]
async fn index() -> &'static str {
    "home"
}

fn main() {
    let _ = hyperbun::router![index];
}
