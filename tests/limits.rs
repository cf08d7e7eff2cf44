//! Limits a hostile client runs into: request body limits (the server's
//! `max_request_body_size` and a route's `body_limit`, for bodies with a `Content-Length` and
//! for chunked bodies), a socket's message `rate_limit`, and `max_websockets_per_ip`.
//!
//! Chunked bodies and `Expect: 100-continue` are written on a raw connection: they are the
//! point here, and `TestServer`'s client sends every body with a `Content-Length`. Floods of
//! WebSocket messages are written on a raw socket too, in one write, so they reach the server
//! together, as a flood would.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hyperbun::client::{ClientBuilder, ConnectError};
use hyperbun::prelude::*;
use hyperbun::test::{masked_frame, TestServer};
use hyperbun::Router;
use hyperbun_tests::{chunked_request, journal, raw_exchange, within, RawConn, RawWs};

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

// ---------------------------------------------------------------------------------------
// A socket's message rate limit

/// Text frames `0`, `1`, … `n - 1`, as one buffer: a flood in one write.
fn numbered_frames(n: usize) -> Vec<u8> {
    (0..n)
        .flat_map(|i| masked_frame(0x81, i.to_string().as_bytes()))
        .collect()
}

/// The text of the next frame, which must be a text frame.
async fn next_text(ws: &mut RawWs) -> String {
    let frame = ws.read_frame().await;
    assert_eq!(frame.opcode, 1, "expected a text frame: {frame:?}");
    String::from_utf8(frame.payload).unwrap()
}

#[tokio::test]
async fn a_flood_past_the_burst_is_closed_with_1008_after_the_burst_was_handled() {
    struct Flood;

    // One token a second: no refill worth speaking of during the test.
    #[websocket("/flood", rate_limit = RateLimit::per_second(1).burst(5))]
    impl Flood {
        fn message(ws: &mut WebSocket, msg: Message) {
            journal::push("flood", msg.as_text().unwrap_or_default());
            ws.send(msg);
        }
        fn close(_ws: &mut WebSocket, code: u16, reason: &str) {
            journal::push("flood-close", format!("{code} {reason}"));
        }
    }

    let app = TestServer::start(hyperbun::router![Flood]).await;
    let mut ws = RawWs::open(&app, "/flood").await;
    ws.write(&numbered_frames(50)).await;
    for i in 0..5 {
        assert_eq!(next_text(&mut ws).await, i.to_string());
    }
    let close = ws.read_frame().await;
    assert_eq!(close.close_code(), 1008, "{close:?}");
    assert_eq!(&close.payload[2..], b"rate limit exceeded");
    // The client keeps flooding, then answers: nothing more is handled.
    ws.write(&numbered_frames(10)).await;
    ws.frame(0x88, &1000u16.to_be_bytes()).await;
    ws.expect_eof().await;
    assert_eq!(
        journal::wait("flood-close", 1).await,
        ["1008 rate limit exceeded"]
    );
    assert_eq!(journal::lines("flood"), ["0", "1", "2", "3", "4"]);
    app.stop().await;
}

#[tokio::test]
async fn only_whole_messages_count_not_fragments_or_pings() {
    struct Frugal;

    #[websocket("/frugal", rate_limit = RateLimit::per_second(1).burst(2))]
    impl Frugal {
        fn message(ws: &mut WebSocket, msg: Message) {
            ws.send(msg);
        }
    }

    let app = TestServer::start(hyperbun::router![Frugal]).await;
    let mut ws = RawWs::open(&app, "/frugal").await;
    // One message in three fragments, with pings between them: one token.
    let mut bytes = masked_frame(0x01, b"a");
    bytes.extend(masked_frame(0x89, b"p1"));
    bytes.extend(masked_frame(0x00, b"b"));
    bytes.extend(masked_frame(0x89, b"p2"));
    bytes.extend(masked_frame(0x80, b"c"));
    bytes.extend(masked_frame(0x81, b"second"));
    ws.write(&bytes).await;
    let mut texts = Vec::new();
    while texts.len() < 2 {
        let frame = ws.read_frame().await;
        match frame.opcode {
            0xA => {}
            1 => texts.push(String::from_utf8(frame.payload).unwrap()),
            _ => panic!("unexpected {frame:?}"),
        }
    }
    assert_eq!(texts, ["abc", "second"]);
    // The third message is one too many.
    ws.frame(0x81, b"third").await;
    assert_eq!(ws.expect_close().await, 1008);
    app.stop().await;
}

#[tokio::test]
async fn a_client_under_the_rate_is_never_closed() {
    struct Steady;

    // A burst of 10 at 1000/s; the client sends 50, one every 10 ms (100/s): far more than
    // the burst in total, never more than it at once.
    #[websocket("/steady", rate_limit = RateLimit::per_second(1000).burst(10))]
    impl Steady {
        fn message(ws: &mut WebSocket, msg: Message) {
            ws.send(msg);
        }
    }

    let app = TestServer::start(hyperbun::router![Steady]).await;
    let mut ws = app.ws("/steady").await;
    for i in 0..50 {
        ws.send(i.to_string()).await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for i in 0..50 {
        ws.expect_text(&i.to_string()).await;
    }
    ws.close().await;
    app.stop().await;
}

#[tokio::test]
async fn drop_mode_calls_rate_limited_keeps_the_socket_and_refills() {
    struct Polite;

    // Two tokens a second (one every 500 ms), three at once; past that, drop and warn.
    #[websocket(
        "/polite",
        rate_limit = RateLimit::per_second(2).burst(3).on_exceed(RateLimitAction::Drop)
    )]
    impl Polite {
        fn message(ws: &mut WebSocket, msg: Message) {
            ws.send(msg);
        }
        async fn rate_limited(ws: &mut WebSocket, msg: Message) {
            journal::push("polite", msg.as_text().unwrap_or_default());
            let warning = format!("slow down: {} dropped", msg.as_text().unwrap_or_default());
            ws.send(warning);
        }
    }

    let app = TestServer::start(hyperbun::router![Polite]).await;
    let mut ws = RawWs::open(&app, "/polite").await;
    ws.write(&numbered_frames(6)).await;
    for expected in [
        "0",
        "1",
        "2",
        "slow down: 3 dropped",
        "slow down: 4 dropped",
    ] {
        assert_eq!(next_text(&mut ws).await, expected);
    }
    assert_eq!(next_text(&mut ws).await, "slow down: 5 dropped");
    assert_eq!(journal::lines("polite"), ["3", "4", "5"]);
    // The bucket refills: after a token's worth of waiting, messages are handled again.
    tokio::time::sleep(Duration::from_millis(600)).await;
    ws.frame(0x81, b"again").await;
    assert_eq!(next_text(&mut ws).await, "again");
    ws.frame(0x88, &1000u16.to_be_bytes()).await;
    assert_eq!(ws.expect_close().await, 1000);
    app.stop().await;
}

#[test]
#[should_panic(expected = "invalid options for socket `Computed`")]
fn a_computed_zero_rate_is_refused_when_the_router_is_built() {
    struct Computed;

    fn limit() -> RateLimit {
        RateLimit::per_second(0)
    }

    #[websocket("/computed", rate_limit = limit())]
    impl Computed {
        fn message(_ws: &mut WebSocket, _msg: Message) {}
    }

    let _ = hyperbun::router![Computed];
}

// ---------------------------------------------------------------------------------------
// WebSockets per IP address

/// The echo socket the per-IP tests open.
struct PerIp;

#[websocket("/ws")]
impl PerIp {
    fn message(ws: &mut WebSocket, msg: Message) {
        ws.send(msg);
    }
}

/// The same socket, upgraded by hand.
#[get("/manual")]
async fn manual(server: Server, req: Request) -> Response {
    match server.upgrade::<PerIp>(req, HeaderMap::new(), ()) {
        Ok(answer) => answer,
        Err(e) => e.into_response(),
    }
}

#[get("/hello")]
async fn hello() -> &'static str {
    "hello"
}

fn two_per_ip(router: Router) -> Router {
    router.config(ServerConfig::default().max_websockets_per_ip(Some(2)))
}

/// Expects the upgrade of `path` to be refused with `429`, `Retry-After` and a reason.
async fn expect_429(app: &TestServer, path: &str) {
    match app.ws_with(ClientBuilder::new(app.ws_url(path))).await {
        Err(ConnectError::Refused {
            status,
            headers,
            body,
        }) => {
            assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
            assert_eq!(headers.get("retry-after").unwrap(), "1");
            assert_eq!(
                std::str::from_utf8(&body).unwrap(),
                "too many WebSocket connections from this address (at most 2)"
            );
        }
        Err(e) => panic!("expected a 429, got {e}"),
        Ok(_) => panic!("expected a 429, the upgrade was accepted"),
    }
}

/// Waits until the server counts `n` open sockets.
async fn wait_open(app: &TestServer, n: usize) {
    within(&format!("{n} open sockets"), async {
        while app.server().pending_websockets() != n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn a_third_socket_from_one_ip_is_429_until_one_closes() {
    static HOOK_CALLS: AtomicUsize = AtomicUsize::new(0);

    struct Counted;

    #[websocket("/ws")]
    impl Counted {
        fn message(ws: &mut WebSocket, msg: Message) {
            ws.send(msg);
        }
    }

    #[upgrade("/ws")]
    fn count_calls() -> Upgrade<()> {
        HOOK_CALLS.fetch_add(1, Ordering::SeqCst);
        Upgrade::new(())
    }

    let app = TestServer::start(two_per_ip(hyperbun::router![Counted, count_calls, hello])).await;
    let mut first = app.ws("/ws").await;
    let mut second = app.ws("/ws").await;
    expect_429(&app, "/ws").await;
    assert_eq!(
        HOOK_CALLS.load(Ordering::SeqCst),
        2,
        "refused before the hook runs"
    );
    // HTTP from the same address is unaffected, and so are the open sockets.
    let reply = app.get("/hello").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "hello");
    second.send("still here").await;
    second.expect_text("still here").await;

    first.close().await;
    wait_open(&app, 1).await;
    let mut third = app.ws("/ws").await;
    third.send("in").await;
    third.expect_text("in").await;
    expect_429(&app, "/ws").await;
    second.close().await;
    third.close().await;
    app.stop().await;
}

#[tokio::test]
async fn manual_upgrades_count_against_the_same_limit() {
    let app = TestServer::start(two_per_ip(hyperbun::router![PerIp, manual])).await;
    let mut routed = app.ws("/ws").await;
    let mut manual = app.ws("/manual").await;
    manual.send("by hand").await;
    manual.expect_text("by hand").await;
    expect_429(&app, "/manual").await;
    expect_429(&app, "/ws").await;
    // A socket cut without a closing handshake frees its slot too.
    drop(manual);
    wait_open(&app, 1).await;
    let mut again = app.ws("/manual").await;
    again.send("back").await;
    again.expect_text("back").await;
    routed.close().await;
    again.close().await;
    app.stop().await;
}

#[tokio::test]
async fn without_a_limit_one_ip_opens_any_number_of_sockets() {
    let app = TestServer::start(hyperbun::router![PerIp]).await;
    let mut sockets = Vec::new();
    for _ in 0..5 {
        sockets.push(app.ws("/ws").await);
    }
    wait_open(&app, 5).await;
    for ws in &mut sockets {
        ws.close().await;
    }
    app.stop().await;
}
