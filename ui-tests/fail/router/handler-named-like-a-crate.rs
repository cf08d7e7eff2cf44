// RULE: a handler listed in `router![…]` by a bare name is not named like a crate the package depends on (`bytes`, `serde`, `tokio`, …).
// WHY: `router!` reaches the route through the hidden module the attribute declares under the handler's name, and Rust will not let a macro-declared module shadow a crate's name.
// FIX: rename the handler (e.g. `runtime_info`), or list it by a path that starts in your own crate: `router![self::tokio]` or `router![crate::api::tokio]`.
use hyperbun::prelude::*;

#[get("/tokio")]
async fn tokio() -> &'static str {
    "runtime"
}

fn main() {
    let _ = hyperbun::router![tokio];
}
