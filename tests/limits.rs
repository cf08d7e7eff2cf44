//! Request body limits: the server's `max_request_body_size` and a route's `body_limit`, for
//! bodies with a `Content-Length` and for chunked bodies.
//!
//! Chunked bodies and `Expect: 100-continue` are written on a raw connection: they are the
//! point here, and `TestServer`'s client sends every body with a `Content-Length`.

use std::sync::atomic::{AtomicUsize, Ordering};

use hyperbun::prelude::*;
use hyperbun::test::TestServer;
use hyperbun::Router;
use hyperbun_tests::{chunked_request, raw_exchange, RawConn};

/// The server limit used throughout: 1 KiB.
const LIMIT: usize = 1024;
const JSON: &str = "application/json";
const TOO_LARGE: &str = "request body is larger than the limit of 1024 bytes";

fn small_limit(router: Router) -> Router {
    router.config(ServerConfig::default().max_request_body_size(LIMIT))
}

/// A JSON document (a string) of exactly `len` bytes.
fn json_of_len(len: usize) -> String {
    format!("\"{}\"", "a".repeat(len - 2))
}

#[tokio::test]
async fn json_with_content_length_over_the_limit_is_413_before_the_handler_runs() {
    static CALLS: AtomicUsize = AtomicUsize::new(0);

    #[post("/echo")]
    async fn echo(Json(body): Json<Value>) -> Json<Value> {
        CALLS.fetch_add(1, Ordering::SeqCst);
        Json(body)
    }

    let app = TestServer::start(small_limit(hyperbun::router![echo])).await;
    let reply = app.post("/echo", JSON, json_of_len(LIMIT + 1)).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        reply.header_values("content-type"),
        ["text/plain; charset=utf-8"]
    );
    assert_eq!(reply.text(), TOO_LARGE);

    let reply = app.post("/echo", JSON, json_of_len(4 * LIMIT)).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.text(), TOO_LARGE);
    assert_eq!(CALLS.load(Ordering::SeqCst), 0);

    // Exactly at the limit is fine.
    let body = json_of_len(LIMIT);
    let reply = app.post("/echo", JSON, body.clone()).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), body);
    assert_eq!(CALLS.load(Ordering::SeqCst), 1);
    app.stop().await;
}

#[tokio::test]
async fn chunked_json_growing_over_the_limit_is_413() {
    static CALLS: AtomicUsize = AtomicUsize::new(0);

    #[post("/echo")]
    async fn echo(Json(body): Json<Value>) -> Json<Value> {
        CALLS.fetch_add(1, Ordering::SeqCst);
        Json(body)
    }

    let app = TestServer::start(small_limit(hyperbun::router![echo])).await;
    // Four chunks of 400 bytes: the third one crosses 1 KiB. No Content-Length is declared.
    let chunk = [b'a'; 400];
    let request = chunked_request(
        "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json",
        &[b"\"", &chunk, &chunk, &chunk, &chunk, b"\""],
    );
    let reply = raw_exchange(app.addr(), request).await;
    assert_eq!(reply.status, 413, "{reply:?}");
    assert_eq!(reply.text(), TOO_LARGE);
    assert_eq!(CALLS.load(Ordering::SeqCst), 0);
    app.stop().await;
}

#[tokio::test]
async fn chunked_json_within_the_limit_is_accepted() {
    #[post("/echo")]
    async fn echo(Json(body): Json<Value>) -> Json<Value> {
        Json(body)
    }

    let app = TestServer::start(small_limit(hyperbun::router![echo])).await;
    let chunk = [b'a'; 300];
    let request = chunked_request(
        "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json",
        &[b"\"", &chunk, &chunk, &chunk, b"\""],
    );
    let reply = raw_exchange(app.addr(), request).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.header("content-type"), Some(JSON));
    assert_eq!(reply.text(), format!("\"{}\"", "a".repeat(900)));
    app.stop().await;
}

#[tokio::test]
async fn every_body_extractor_enforces_the_limit() {
    #[post("/bytes")]
    async fn raw(body: Bytes) -> String {
        body.len().to_string()
    }

    #[post("/string")]
    async fn string(body: String) -> String {
        body.len().to_string()
    }

    #[derive(serde::Deserialize)]
    struct Form1 {
        a: String,
    }

    #[post("/form")]
    async fn form(Form(f): Form<Form1>) -> String {
        f.a.len().to_string()
    }

    let app = TestServer::start(small_limit(hyperbun::router![raw, string, form])).await;
    let over = format!("a={}", "x".repeat(LIMIT));
    let form_type = "application/x-www-form-urlencoded";
    for path in ["/bytes", "/string", "/form"] {
        let reply = app.post(path, form_type, over.clone()).await;
        assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE, "{path}");
        assert_eq!(reply.text(), TOO_LARGE);

        let chunk = [b'x'; 600];
        let head = format!("POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {form_type}");
        let reply =
            raw_exchange(app.addr(), chunked_request(&head, &[b"a=", &chunk, &chunk])).await;
        assert_eq!(reply.status, 413, "{path}: {reply:?}");
        assert_eq!(reply.text(), TOO_LARGE);

        let reply = app.post(path, form_type, "a=xyz").await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
    }
    app.stop().await;
}

/// A route without its own `body_limit`: it keeps the server's.
#[post("/normal")]
async fn normal(body: Bytes) -> String {
    body.len().to_string()
}

#[tokio::test]
async fn route_body_limit_below_the_server_limit_is_enforced() {
    #[post("/small", body_limit = 16)]
    async fn small(body: Bytes) -> String {
        body.len().to_string()
    }

    let app = TestServer::start(small_limit(hyperbun::router![small, normal])).await;
    let reply = app.post("/small", "text/plain", "x".repeat(16)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "16");

    let reply = app.post("/small", "text/plain", "x".repeat(17)).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        reply.text(),
        "request body is larger than the limit of 16 bytes"
    );

    let request = chunked_request(
        "POST /small HTTP/1.1\r\nHost: 127.0.0.1",
        &[b"0123456789", b"0123456789"],
    );
    let reply = raw_exchange(app.addr(), request).await;
    assert_eq!(reply.status, 413, "{reply:?}");
    assert_eq!(
        reply.text(),
        "request body is larger than the limit of 16 bytes"
    );

    // Other routes keep the server limit.
    let reply = app.post("/normal", "text/plain", "x".repeat(LIMIT)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "1024");
    app.stop().await;
}

#[tokio::test]
async fn route_body_limit_above_the_server_limit_is_allowed() {
    #[post("/big", body_limit = 4096)]
    async fn big(body: Bytes) -> String {
        body.len().to_string()
    }

    let app = TestServer::start(small_limit(hyperbun::router![big, normal])).await;
    let reply = app.post("/big", "text/plain", "x".repeat(3000)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "3000");

    let chunk = [b'x'; 1000];
    let request = chunked_request(
        "POST /big HTTP/1.1\r\nHost: 127.0.0.1",
        &[&chunk, &chunk, &chunk],
    );
    let reply = raw_exchange(app.addr(), request).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.text(), "3000");

    let reply = app.post("/big", "text/plain", "x".repeat(4097)).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        reply.text(),
        "request body is larger than the limit of 4096 bytes"
    );

    let reply = app.post("/normal", "text/plain", "x".repeat(3000)).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.text(), TOO_LARGE);
    app.stop().await;
}

/// Answers with the number of body bytes it received.
#[post("/upload")]
async fn upload(body: Bytes) -> String {
    body.len().to_string()
}

#[tokio::test]
async fn expect_continue_over_the_limit_gets_413_without_100_continue() {
    let app = TestServer::start(small_limit(hyperbun::router![upload])).await;
    let mut conn = RawConn::connect(app.addr()).await;
    conn.write(
        "POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2000\r\nExpect: 100-continue\r\n\r\n",
    )
    .await;
    // The answer comes without the body ever being sent, and the connection is then closed
    // because the body it announced will not be read.
    let reply = conn.read_response().await;
    assert_eq!(reply.status, 413, "{reply:?}");
    assert_eq!(reply.header("connection"), Some("close"));
    assert_eq!(reply.text(), TOO_LARGE);
    assert_eq!(conn.read_until_closed().await, b"");
    app.stop().await;
}

#[tokio::test]
async fn expect_continue_within_the_limit_gets_100_continue_then_the_answer() {
    let app = TestServer::start(small_limit(hyperbun::router![upload])).await;
    let mut conn = RawConn::connect(app.addr()).await;
    conn.write(
        "POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n",
    )
    .await;
    let interim = conn.read_response().await;
    assert_eq!(interim.status, 100, "{interim:?}");
    conn.write("0123456789").await;
    let reply = conn.read_response().await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.text(), "10");
    app.stop().await;
}

#[tokio::test]
async fn unread_body_after_a_413_is_never_taken_for_a_request() {
    #[get("/ping")]
    async fn ping() -> &'static str {
        "pong"
    }

    let app = TestServer::start(small_limit(hyperbun::router![upload, ping])).await;
    let body = "x".repeat(2000);
    let chunk = [b'x'; 600];
    let over_limit = [
        format!("POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2000\r\n\r\n{body}")
            .into_bytes(),
        chunked_request(
            "POST /upload HTTP/1.1\r\nHost: 127.0.0.1",
            &[&chunk, &chunk],
        ),
    ];
    for request in over_limit {
        let mut conn = RawConn::connect(app.addr()).await;
        conn.write(request).await;
        let reply = conn.read_response().await;
        assert_eq!(reply.status, 413, "{reply:?}");

        // The server either drained the rest of the body and answers the next request, or
        // closed the connection; it must not parse the leftover body as a request (a 400).
        conn.write("GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .await;
        let rest = String::from_utf8(conn.read_until_closed().await).unwrap();
        assert!(
            rest.is_empty() || (rest.starts_with("HTTP/1.1 200 OK\r\n") && rest.ends_with("pong")),
            "{rest:?}"
        );
    }
    app.stop().await;
}
