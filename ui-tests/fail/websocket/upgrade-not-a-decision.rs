// RULE: an #[upgrade] hook returns `Upgrade<T>` or `Result<Upgrade<T>, E>` where `E: IntoResponse`.
// WHY: a rejected handshake needs a response to send; `None` says nothing about why.
// FIX: return `Result<Upgrade<()>, StatusCode>` and reject with e.g. `Err(StatusCode::FORBIDDEN)`.
use hyperbun::prelude::*;

#[upgrade("/ws")]
fn admit(headers: HeaderMap) -> Option<Upgrade<()>> {
    headers.get("x-token")?;
    Some(Upgrade::new(()))
}

fn main() {}
