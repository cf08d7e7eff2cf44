// RULE: an #[upgrade] hook returns its decision: `Upgrade<T>` or `Result<Upgrade<T>, E>`.
// WHY: the hook decides whether a connection is accepted, and with what data.
// FIX: add `-> Result<Upgrade<T>, StatusCode>` and return `Ok(Upgrade::new(data))`.
use hyperbun::prelude::*;

#[upgrade("/ws")]
async fn admit(headers: HeaderMap) {
    let _ = headers;
}

fn main() {}
