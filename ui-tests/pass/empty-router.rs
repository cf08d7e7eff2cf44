//! A router with no routes: every request is a `404`.
use hyperbun::prelude::*;

fn main() {
    let router = hyperbun::router![];
    assert_eq!(router.routes().count(), 0);
    assert_eq!(router.find(&Method::GET, "/"), None);
}
