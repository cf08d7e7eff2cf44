// RULE: a route's `layer = …` is a tower layer that can wrap hyperbun routes.
// WHY: the route's handler is wrapped in it when the router is built; anything else cannot wrap it.
// FIX: give a tower layer (`tower_http::cors::CorsLayer::permissive()`), a tuple of layers, or `hyperbun::middleware::from_fn(f)` for an async fn.
use hyperbun::prelude::*;

async fn audit(req: Request, next: hyperbun::middleware::Next) -> Response {
    next.run(req).await
}

#[get("/admin", layer = audit)]
async fn admin() -> &'static str {
    "admin"
}

fn main() {
    let _ = hyperbun::router![admin];
}
