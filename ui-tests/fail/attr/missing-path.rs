// RULE: a route attribute starts with the route path as a string literal.
// WHY: the path is what the router matches requests against; there is no default path.
// FIX: write the path first: `#[get("/path")]`.
use hyperbun::prelude::*;

#[get]
async fn index() -> &'static str {
    "home"
}

fn main() {
    let _ = hyperbun::router![index];
}
