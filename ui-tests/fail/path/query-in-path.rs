// RULE: a route path contains no `?` or `#`.
// WHY: they start the query string and fragment of a URL, which routing never looks at.
// FIX: route on the path alone and read the query with `Query<T>`.
use hyperbun::prelude::*;

#[get("/search?q=:term")]
async fn search() -> &'static str {
    "results"
}

fn main() {
    let _ = hyperbun::router![search];
}
