// RULE: `router![…]` lists functions declared with a route attribute (#[get], #[post], #[route], #[any], …).
// WHY: the router reads each route's method and path from what the attribute leaves next to the function.
// FIX: add a route attribute to the function, e.g. `#[get("/health")]`.

async fn health() -> &'static str {
    "ok"
}

fn main() {
    let _ = hyperbun::router![health];
}
