// RULE: a route path has no empty segments (`//`); only a trailing `/` is allowed.
// WHY: `//` is almost always a typo, and clients and proxies often collapse it, so such a route is unreliable.
// FIX: remove the extra `/`.
use hyperbun::prelude::*;

#[get("/users//posts")]
async fn posts() -> &'static str {
    "posts"
}

fn main() {
    let _ = hyperbun::router![posts];
}
