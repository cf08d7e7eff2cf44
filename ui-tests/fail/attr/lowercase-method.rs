// RULE: method names are uppercase: `method = "GET"`, not `method = "get"`.
// WHY: HTTP method names are case-sensitive (RFC 9110), and requests use the uppercase names.
// FIX: write the method in uppercase, as the error suggests.
use hyperbun::prelude::*;

#[route("/x", method = "get")]
async fn x() -> &'static str {
    "x"
}

fn main() {
    let _ = hyperbun::router![x];
}
