// RULE: route handlers are free functions; they take no `self`.
// WHY: the router calls the handler with the request's arguments only; there is no value to call a method on.
// FIX: make the handler a free function; reach shared state through an extractor or a `static`.
use hyperbun::prelude::*;

struct Api;

impl Api {
    #[get("/")]
    async fn index(&self) -> &'static str {
        "home"
    }
}

fn main() {}
