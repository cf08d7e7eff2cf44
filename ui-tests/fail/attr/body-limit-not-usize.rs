// RULE: `body_limit` is a number of bytes, a `usize` expression.
// WHY: the limit is compared with the body's length in bytes; it has no units syntax.
// FIX: write the number of bytes, e.g. `body_limit = 1024 * 1024` for 1 MiB.
use hyperbun::prelude::*;

#[post("/upload", body_limit = "1MB")]
async fn upload(body: Bytes) -> String {
    format!("{} bytes", body.len())
}

fn main() {
    let _ = hyperbun::router![upload];
}
