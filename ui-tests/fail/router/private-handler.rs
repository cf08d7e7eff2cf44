// RULE: a handler listed by path from another module is visible there: declare it `pub` (or `pub(crate)`).
// WHY: `router![api::index]` names the handler like any other item, and Rust privacy applies.
// FIX: write `pub async fn index()`.
mod api {
    use hyperbun::prelude::*;

    #[get("/")]
    async fn index() -> &'static str {
        "home"
    }
}

fn main() {
    let _ = hyperbun::router![api::index];
}
