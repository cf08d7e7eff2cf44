// RULE: #[route] lists each method at most once.
// WHY: a repeated method is a copy-paste slip, usually where another method was meant.
// FIX: remove the repeated `method = "…"`, or change it to the method you meant.
use hyperbun::prelude::*;

#[route("/items", method = "PUT", method = "PUT")]
async fn update() -> &'static str {
    "updated"
}

fn main() {
    let _ = hyperbun::router![update];
}
