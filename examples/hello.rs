//! The smallest hyperbun app: JSON, a typed path parameter, and a JSON echo.
//!
//! Run it:   cargo run --example hello            (PORT=8080 to change the port; default 3000)
//! Try it:   curl localhost:3000/                  → {"message":"Hello, world!"}
//!           curl localhost:3000/users/42          → user 42
//!           curl localhost:3000/users/abc         → 400: invalid path parameter `id` …
//!           curl -X POST localhost:3000/echo -H 'content-type: application/json' -d '{"a":1}'
//!                                                 → {"a":1}
//!           curl -i -X DELETE localhost:3000/     → 405 with `Allow: GET, HEAD, OPTIONS`

use hyperbun::prelude::*;

#[get("/")]
async fn index() -> Json<Value> {
    Json(json!({ "message": "Hello, world!" }))
}

#[get("/users/:id")]
async fn user(id: u64) -> String {
    format!("user {id}")
}

#[post("/echo")]
async fn echo(Json(body): Json<Value>) -> Json<Value> {
    Json(body)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let router = hyperbun::router![index, user, echo];
    router.serve(port).await
}
