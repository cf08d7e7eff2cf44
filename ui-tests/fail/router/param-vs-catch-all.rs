// RULE: a `:param` and a `*catch_all` cannot sit at the same place in two routes.
// WHY: `/files/a.txt` matches both `/files/:name` and `/files/*rest`, and neither is more specific.
// FIX: keep the catch-all and check inside it, or move one route under a static segment.
use hyperbun::prelude::*;

#[get("/files/:name")]
async fn by_name(name: String) -> String {
    name
}

#[get("/files/*rest")]
async fn nested(rest: String) -> String {
    rest
}

fn main() {
    let _ = hyperbun::router![by_name, nested];
}
