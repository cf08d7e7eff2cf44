// RULE: `method = "…"` is an option of #[route] only.
// WHY: #[get], #[post], … already name their method, and #[any] answers every method.
// FIX: use #[route("/path", method = "GET", method = "POST")] to list methods, or drop the option.
use hyperbun::prelude::*;

#[get("/items", method = "POST")]
async fn items() -> &'static str {
    "items"
}

fn main() {
    let _ = hyperbun::router![items];
}
