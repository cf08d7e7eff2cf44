// RULE: `method = "…"` names an HTTP method hyperbun knows: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, CONNECT or TRACE.
// WHY: the router dispatches on standard methods; a typo would otherwise be a route no request can reach.
// FIX: use one of the listed method names, e.g. `method = "GET"`.
use hyperbun::prelude::*;

#[route("/x", method = "FETCH")]
async fn x() -> &'static str {
    "x"
}

fn main() {
    let _ = hyperbun::router![x];
}
