// RULE: an argument that no `:param` names is an extractor: it implements `FromRequestParts` (or `FromRequest` when last).
// WHY: the router must know how to produce every argument from the request.
// FIX: add the parameter to the path (`/items/:count`), or take an extractor such as `Query<T>`.
use hyperbun::prelude::*;

#[get("/items")]
async fn items(count: u32) -> String {
    format!("{count} items")
}

fn main() {
    let _ = hyperbun::router![items];
}
