// RULE: a route has one `layer = …`.
// WHY: with two, which one runs outside the other would be a guess.
// FIX: give the layers as one tuple, outermost first: `layer = (first, second)`.
use hyperbun::middleware::Next;
use hyperbun::prelude::*;

async fn audit(req: Request, next: Next) -> Response {
    next.run(req).await
}

#[get(
    "/admin",
    layer = hyperbun::middleware::from_fn(audit),
    layer = hyperbun::middleware::from_fn(audit)
)]
async fn admin() -> &'static str {
    "admin"
}

fn main() {
    let _ = hyperbun::router![admin];
}
