// RULE: the `T` of a `Json<T>` or `Form<T>` body implements `serde::Deserialize`.
// WHY: the body is parsed into `T` with serde before the handler runs.
// FIX: add `#[derive(serde::Deserialize)]` to the type, or take `Json<Value>` for any JSON.
use hyperbun::prelude::*;

struct NewUser {
    name: String,
}

#[post("/users")]
async fn create(Json(user): Json<NewUser>) -> String {
    user.name
}

fn main() {
    let _ = hyperbun::router![create];
}
