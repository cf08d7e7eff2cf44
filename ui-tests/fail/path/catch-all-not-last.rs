// RULE: a catch-all `*name` is the last segment of the path.
// WHY: a catch-all matches the rest of the path, slashes included, so nothing can follow it.
// FIX: move the catch-all to the end, or use a `:param` for a single segment.
use hyperbun::prelude::*;

#[get("/files/*path/meta")]
async fn meta(path: String) -> String {
    path
}

fn main() {
    let _ = hyperbun::router![meta];
}
