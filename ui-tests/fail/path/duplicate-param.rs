// RULE: each parameter name appears once in a path.
// WHY: a parameter binds the handler argument of the same name, and one argument cannot hold two values.
// FIX: give each parameter a distinct name, e.g. `/users/:user_id/posts/:post_id`.
use hyperbun::prelude::*;

#[get("/users/:id/posts/:id")]
async fn post(id: u32) -> String {
    format!("post {id}")
}

fn main() {
    let _ = hyperbun::router![post];
}
