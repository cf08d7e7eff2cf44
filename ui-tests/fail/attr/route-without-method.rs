// RULE: #[route] names at least one method with `method = "…"`.
// WHY: a route without methods answers nothing; "every method" is spelled #[any], so it is never an accident.
// FIX: add `method = "GET"` (repeat for more methods), or use #[any("/path")] for every method.
use hyperbun::prelude::*;

#[route("/items")]
async fn items() -> &'static str {
    "items"
}

fn main() {
    let _ = hyperbun::router![items];
}
