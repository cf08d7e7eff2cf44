//! The smallest hyperbun app: JSON, a typed path parameter, and a JSON echo, behind
//! tower-http's CORS (any origin) and request tracing — on every route, 404 and 405 included.
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
//!           curl -i -X OPTIONS localhost:3000/echo -H 'origin: https://example.com' \
//!                -H 'access-control-request-method: POST'
//!                                                 → 200 with `access-control-allow-origin: *`
//!           RUST_LOG=tower_http=debug cargo run --example hello
//!                                                 → a trace line per request and response
//!
//! HELLO_LAYERS=none|noop|cors-trace (default cors-trace) picks the middleware; the HTTP
//! benchmark (`router/benches/http.sh`, `LAYERS=…`) compares the three with the axum twin.

use hyperbun::prelude::*;
use tower_http::cors::{Any, CorsLayer};
use tower_http::trace::TraceLayer;

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

/// The routes and their middleware, shared by `main` and the tests below.
fn app() -> Router {
    let router = app_routes();
    match std::env::var("HELLO_LAYERS").as_deref() {
        Ok("none") => router,
        // A layer that does nothing: what the layered path itself costs.
        Ok("noop") => router.layer(tower::layer::util::Identity::new()),
        Ok("cors-trace") | Err(_) => with_cors_and_trace(router),
        Ok(other) => {
            eprintln!("HELLO_LAYERS={other:?}: expected none, noop or cors-trace");
            std::process::exit(2);
        }
    }
}

/// The routes alone.
fn app_routes() -> Router {
    hyperbun::router![index, user, echo]
}

/// CORS for any origin, method and header, and a trace span per request (the last layer
/// added is the outermost: the trace sees preflights too).
pub(crate) fn with_cors_and_trace(router: Router) -> Router {
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods(Any)
        .allow_headers(Any);
    router.layer(cors).layer(TraceLayer::new_for_http())
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

    #[tokio::test]
    async fn a_preflight_to_any_route_and_every_answer_carry_the_cors_headers() {
        use hyperbun::prelude::{Bytes, HeaderMap, HeaderValue, Method};

        let app = TestServer::start(super::with_cors_and_trace(super::app_routes())).await;
        for (path, method) in [("/", "GET"), ("/users/7", "GET"), ("/echo", "POST")] {
            let mut headers = HeaderMap::new();
            headers.insert("origin", HeaderValue::from_static("https://example.com"));
            headers.insert(
                "access-control-request-method",
                HeaderValue::from_str(method).unwrap(),
            );
            headers.insert(
                "access-control-request-headers",
                HeaderValue::from_static("content-type"),
            );
            let reply = app
                .request(Method::OPTIONS, path, headers, Bytes::new())
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{path}");
            assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
            assert_eq!(reply.header("access-control-allow-methods"), Some("*"));
            assert_eq!(reply.header("access-control-allow-headers"), Some("*"));
        }
        let mut origin = HeaderMap::new();
        origin.insert("origin", HeaderValue::from_static("https://example.com"));
        for (method, path, status) in [
            (Method::GET, "/", StatusCode::OK),
            (Method::GET, "/users/abc", StatusCode::BAD_REQUEST),
            (Method::GET, "/nowhere", StatusCode::NOT_FOUND),
            (Method::DELETE, "/", StatusCode::METHOD_NOT_ALLOWED),
        ] {
            let reply = app
                .request(method, path, origin.clone(), Bytes::new())
                .await;
            assert_eq!(reply.status, status, "{path}");
            assert_eq!(
                reply.header("access-control-allow-origin"),
                Some("*"),
                "{path}"
            );
        }
        app.stop().await;
    }
}
