// RULE: an #[any] route is the only route at its path.
// WHY: #[any] answers every method, so any other route at the same path would answer the same requests.
// FIX: list the methods #[any] should answer with #[route(…, method = "…")], or drop the other route.
use hyperbun::prelude::*;

#[any("/status")]
async fn status() -> &'static str {
    "any"
}

#[get("/status")]
async fn get_status() -> &'static str {
    "get"
}

fn main() {
    let _ = hyperbun::router![status, get_status];
}
