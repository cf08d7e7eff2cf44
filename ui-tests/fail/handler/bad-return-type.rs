// RULE: a handler returns a type that implements `IntoResponse`.
// WHY: the router must turn the value into an HTTP response.
// FIX: return a `String`, `Json<T>`, `StatusCode`, `(StatusCode, body)`, … or implement `IntoResponse` for your type.
use hyperbun::prelude::*;

struct User {
    name: String,
}

#[get("/user")]
async fn user() -> User {
    User { name: "Ada".into() }
}

fn main() {
    let _ = hyperbun::router![user];
}
