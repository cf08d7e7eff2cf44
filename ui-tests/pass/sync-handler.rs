//! A handler may be a plain `fn`; it takes the same arguments and returns the same types.
use hyperbun::prelude::*;

#[get("/health")]
fn health() -> &'static str {
    "ok"
}

#[get("/users/:id")]
fn user(id: u64, Query(page): Query<Page>) -> String {
    format!("user {id}, page {}", page.page.unwrap_or(1))
}

#[post("/echo")]
fn echo(Json(body): Json<Value>) -> Json<Value> {
    Json(body)
}

#[derive(serde::Deserialize)]
struct Page {
    page: Option<u32>,
}

fn main() {
    let _ = hyperbun::router![health, user, echo];
}
