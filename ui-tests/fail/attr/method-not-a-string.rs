// RULE: `method = "…"` takes the method's name as a string literal.
// WHY: the macro checks method names at compile time, so it needs the name itself.
// FIX: quote the method: `method = "GET"`.
use hyperbun::prelude::*;

#[route("/items", method = GET)]
async fn items() -> &'static str {
    "items"
}

fn main() {
    let _ = hyperbun::router![items];
}
