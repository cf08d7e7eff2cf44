//! The smallest hyperbun app: JSON, a typed path parameter, and a JSON echo.
//!
//! Run it:   cargo run --example hello            (PORT=8080 to change the port; default 3000)
//!           TLS_CERT=cert.pem TLS_KEY=key.pem cargo run --example hello
//!                                                 → HTTPS instead (HTTP/1.1 and HTTP/2)
//! Try it:   curl localhost:3000/                  → {"message":"Hello, world!"}
//!           curl localhost:3000/users/42          → user 42
//!           curl localhost:3000/users/abc         → 400: invalid path parameter `id` …
//!           curl -X POST localhost:3000/echo -H 'content-type: application/json' -d '{"a":1}'
//!                                                 → {"a":1}
//!           curl -i -X DELETE localhost:3000/     → 405 with `Allow: GET, HEAD, OPTIONS`

use hyperbun::prelude::*;

// `pub(crate)`: the `tls` example, which includes this file, uses it through `hello::common`.
#[path = "common.rs"]
pub(crate) mod common;

// The handlers are `pub(crate)`: the `tls` example serves them too.

#[get("/")]
pub(crate) async fn index() -> Json<Value> {
    Json(json!({ "message": "Hello, world!" }))
}

#[get("/users/:id")]
pub(crate) async fn user(id: u64) -> String {
    format!("user {id}")
}

#[post("/echo")]
pub(crate) async fn echo(Json(body): Json<Value>) -> Json<Value> {
    Json(body)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = common::setup("info", 3000);
    match (std::env::var_os("TLS_CERT"), std::env::var_os("TLS_KEY")) {
        (Some(cert), Some(key)) => {
            let tls = hyperbun::TlsConfig::from_pem_files(cert, key)?;
            app().serve_tls(port, tls).await
        }
        _ => app().serve(port).await,
    }
}

/// The routes, shared by `main` and the tests below.
fn app() -> Router {
    hyperbun::router![index, user, echo]
}

#[cfg(test)]
mod tests {
    use hyperbun::prelude::{json, StatusCode, Value};
    use hyperbun::test::TestServer;

    #[tokio::test]
    async fn every_route_answers_as_documented() {
        let app = TestServer::start(super::app()).await;

        let reply = app.get("/").await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.header_values("content-type"), ["application/json"]);
        assert_eq!(reply.text(), r#"{"message":"Hello, world!"}"#);

        let reply = app.get("/users/42").await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.text(), "user 42");

        let reply = app.get("/users/abc").await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert!(reply.text().contains("`id`"), "{}", reply.text());

        let reply = app
            .post("/echo", "application/json", r#"{"a":[1,2]}"#)
            .await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.json::<Value>(), json!({ "a": [1, 2] }));

        app.stop().await;
    }
}
