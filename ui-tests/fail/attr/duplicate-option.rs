// RULE: an option is given at most once.
// WHY: with two values, one would silently win.
// FIX: keep one `body_limit = …`.
use hyperbun::prelude::*;

#[post("/upload", body_limit = 1024, body_limit = 2048)]
async fn upload(body: Bytes) -> String {
    format!("{} bytes", body.len())
}

fn main() {
    let _ = hyperbun::router![upload];
}
