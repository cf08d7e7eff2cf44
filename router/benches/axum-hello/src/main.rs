//! `examples/hello.rs` written with axum: the same three routes, the same responses.
//!
//!   GET  /            → {"message":"Hello, world!"}
//!   GET  /users/{id}  → user <id>   (id: u64; 400 otherwise)
//!   POST /echo        → the JSON body, echoed
//!
//! Listens on 0.0.0.0:$PORT (default 3000) on a multi-thread tokio runtime, with TCP_NODELAY
//! on every connection, as hyperbun does.

use axum::extract::Path;
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use axum::{Json, Router};
use serde_json::{json, Value};

async fn index() -> Json<Value> {
    Json(json!({ "message": "Hello, world!" }))
}

async fn user(Path(id): Path<u64>) -> String {
    format!("user {id}")
}

async fn echo(Json(body): Json<Value>) -> Json<Value> {
    Json(body)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let app = Router::new()
        .route("/", get(index))
        .route("/users/{id}", get(user))
        .route("/echo", post(echo));
    let listener = tokio::net::TcpListener::bind(("0.0.0.0", port))
        .await?
        .tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
    axum::serve(listener, app).await
}
