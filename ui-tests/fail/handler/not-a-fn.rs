// RULE: route attributes apply to functions only.
// WHY: a route is a handler function the router calls with the request's arguments.
// FIX: put the attribute on an `async fn` (or `fn`) that returns a response.
use hyperbun::prelude::*;

#[get("/")]
struct Index {
    title: String,
}

fn main() {}
