//! WebSocket behaviour seen from a real client on 127.0.0.1: handshake options, hooks,
//! manual upgrade, handler life cycle, typed data, backpressure, idle timeout, panics and
//! shutdown. The client is `TestServer::ws`; a `RawWs` where a test needs a peer that
//! misbehaves (floods pings unread, never answers a ping, vanishes without a close frame).

use std::time::Duration;

use hyperbun::client::{ClientBuilder, ClientError, ClientEvent, ConnectError};
use hyperbun::prelude::*;
use hyperbun::test::{TestServer, TestWebSocket};
use hyperbun_tests::{journal, within, RawWs};
use tokio::sync::Notify;

// ---------------------------------------------------------------------------------------
// Sockets under test

struct Echo;

#[websocket("/echo")]
impl Echo {
    fn message(ws: &mut WebSocket, msg: Message) {
        ws.send(msg);
    }
}

/// Journals every handler under the `key` query parameter; commands in text messages.
#[derive(Debug, Default)]
struct Life {
    key: String,
    messages: u32,
}

struct Lifecycle;

#[websocket("/life", data = Life)]
impl Lifecycle {
    fn open(ws: &mut WebSocket<Life>) {
        journal::push(&ws.data.key, "open");
    }

    fn message(ws: &mut WebSocket<Life>, msg: Message) {
        ws.data.messages += 1;
        let text = msg.as_text().unwrap_or("").to_owned();
        journal::push(&ws.data.key, format!("message {text}"));
        match text.as_str() {
            "close" => ws.close(4000, "bye"),
            "terminate" => ws.terminate(),
            "panic" => panic!("boom"),
            "count" => {
                let count = ws.data.messages.to_string();
                ws.send(count);
            }
            "state" => {
                let state = format!(
                    "{:?} {:?} {}",
                    ws.ready_state(),
                    ws.protocol(),
                    ws.remote_addr()
                        .ip()
                        .map_or_else(|| ws.remote_addr().to_string(), |ip| ip.to_string())
                );
                ws.send(state);
            }
            "server-ping" => {
                let status = ws.ping(b"srv");
                let too_big = ws.ping([0u8; 126]);
                journal::push(
                    &ws.data.key,
                    format!("ping sent {status:?}, too big {too_big:?}"),
                );
            }
            "cork" => {
                let statuses = [ws.send("one"), ws.send("two")];
                journal::push(&ws.data.key, format!("corked {statuses:?}"));
            }
            "twice" => {
                ws.close(4001, "first");
                ws.close(4002, "second");
                let after = ws.send("after close");
                journal::push(&ws.data.key, format!("send after close: {after:?}"));
            }
            _ => {
                ws.send(msg);
            }
        }
    }

    fn close(ws: &mut WebSocket<Life>, code: u16, reason: &str) {
        let state = ws.ready_state();
        journal::push(&ws.data.key, format!("close {code} {reason} {state:?}"));
    }

    fn error(ws: &mut WebSocket<Life>, error: &WebSocketError) {
        journal::push(&ws.data.key, format!("error {error}"));
    }

    fn ping(ws: &mut WebSocket<Life>, payload: Bytes) {
        journal::push(
            &ws.data.key,
            format!("ping {}", String::from_utf8_lossy(&payload)),
        );
    }

    fn pong(ws: &mut WebSocket<Life>, payload: Bytes) {
        journal::push(
            &ws.data.key,
            format!("pong {}", String::from_utf8_lossy(&payload)),
        );
    }
}

#[upgrade("/life")]
async fn life_hook(Query(q): Query<std::collections::HashMap<String, String>>) -> Upgrade<Life> {
    Upgrade::new(Life {
        key: q.get("key").cloned().unwrap_or_default(),
        messages: 0,
    })
}

struct Protocols;

#[websocket("/proto", protocols = ["chat.v2", "chat.v1"])]
impl Protocols {
    fn open(ws: &mut WebSocket) {
        let protocol = ws.protocol().unwrap_or("none").to_owned();
        ws.send(protocol);
    }
    fn message(_ws: &mut WebSocket, _msg: Message) {}
}

/// A hook that overrides the protocol choice: `b` if offered, else an unoffered `zzz`.
struct Pick;

#[websocket("/pick", protocols = ["a", "b"])]
impl Pick {
    fn open(ws: &mut WebSocket) {
        let protocol = ws.protocol().unwrap_or("none").to_owned();
        ws.send(protocol);
    }
    fn message(_ws: &mut WebSocket, _msg: Message) {}
}

#[upgrade("/pick")]
fn pick_hook(headers: HeaderMap) -> Upgrade<()> {
    let offers = headers
        .get("sec-websocket-protocol")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let choice = if offers.contains('b') { "b" } else { "zzz" };
    Upgrade::new(()).protocol(choice)
}

struct Origins;

#[websocket("/origin", allowed_origins = ["https://good.example"])]
impl Origins {
    fn message(ws: &mut WebSocket, msg: Message) {
        ws.send(msg);
    }
}

/// Admitted only with the right token; the user name comes from the hook.
struct Secure;

#[websocket("/secure", data = String)]
impl Secure {
    fn open(ws: &mut WebSocket<String>) {
        let hello = format!("hello {}", ws.data);
        ws.send(hello);
    }
    fn message(_ws: &mut WebSocket<String>, _msg: Message) {}
}

/// An `async` hook that borrows the request (DESIGN's `admit(req: &Request, …)`).
#[upgrade("/secure")]
async fn secure_hook(req: &Request) -> Result<Upgrade<String>, (StatusCode, &'static str)> {
    tokio::task::yield_now().await;
    match req.headers().get("x-token").and_then(|v| v.to_str().ok()) {
        Some("let-me-in") => Ok(Upgrade::new("ada".to_owned()).header("x-user", "ada")),
        _ => Err((StatusCode::UNAUTHORIZED, "no token")),
    }
}

#[get("/manual")]
async fn manual(server: Server, req: Request) -> Response {
    match server.upgrade::<Echo>(req, [("x-manual", "yes")], ()) {
        Ok(switching) => switching,
        Err(e) => (StatusCode::BAD_REQUEST, format!("manual: {e}")).into_response(),
    }
}

struct Small;

#[websocket("/small", max_payload_length = 1024)]
impl Small {
    fn message(ws: &mut WebSocket, msg: Message) {
        ws.send(msg);
    }
}

struct Idle;

#[websocket("/idle", idle_timeout = 1)]
impl Idle {
    fn message(ws: &mut WebSocket, msg: Message) {
        ws.send(msg);
    }
}

struct IdleNoPings;

#[websocket("/idle-no-pings", idle_timeout = 1, send_pings = false)]
impl IdleNoPings {
    fn message(ws: &mut WebSocket, msg: Message) {
        ws.send(msg);
    }
}

/// `flood KEY`: sends 16 KiB messages until one reports backpressure (at most 10,000), and
/// journals what happened under KEY; `drain` is journaled too.
#[derive(Default)]
struct FloodData {
    key: String,
}

struct Flood;

#[websocket("/flood", data = FloodData, backpressure_limit = 65536)]
impl Flood {
    fn message(ws: &mut WebSocket<FloodData>, msg: Message) {
        flood(ws, msg);
    }
    fn drain(ws: &mut WebSocket<FloodData>) {
        let buffered = ws.buffered_amount();
        journal::push(&ws.data.key, format!("drain {}", buffered < 65536));
    }
}

struct FloodClose;

#[websocket(
    "/flood-close",
    data = FloodData,
    backpressure_limit = 65536,
    close_on_backpressure_limit = true
)]
impl FloodClose {
    fn message(ws: &mut WebSocket<FloodData>, msg: Message) {
        flood(ws, msg);
    }
    fn close(ws: &mut WebSocket<FloodData>, code: u16, _reason: &str) {
        journal::push(&ws.data.key, format!("close {code}"));
    }
}

fn flood(ws: &mut WebSocket<FloodData>, msg: Message) {
    ws.data.key = msg.as_text().unwrap_or("").to_owned();
    let chunk = vec![7u8; 16 * 1024];
    let mut sent = 0;
    for _ in 0..10_000 {
        match ws.send(chunk.as_slice()) {
            SendStatus::Sent(n) => {
                assert_eq!(n, chunk.len());
                sent += 1;
            }
            SendStatus::Backpressure(n) => {
                assert_eq!(n, chunk.len());
                let next = ws.send(chunk.as_slice());
                let buffered = ws.buffered_amount();
                journal::push(
                    &ws.data.key,
                    format!(
                        "backpressure after {sent}; next {next:?}; buffered {}",
                        buffered >= 65536
                    ),
                );
                return;
            }
            _ => {
                journal::push(&ws.data.key, "dropped");
                return;
            }
        }
    }
    journal::push(&ws.data.key, "never pushed back");
}

/// Journals its queue size under `ping-flood` on every message; no ping handler.
struct Buffered;

#[websocket("/buffered")]
impl Buffered {
    fn message(ws: &mut WebSocket, _msg: Message) {
        journal::push("ping-flood", format!("buffered {}", ws.buffered_amount()));
    }
}

static RESUME: Notify = Notify::const_new();

/// An async handler that sends, waits for the test, then sends again.
struct Slow;

#[websocket("/slow")]
impl Slow {
    async fn message(ws: &mut WebSocket, _msg: Message) {
        ws.send("before");
        RESUME.notified().await;
        ws.send("after");
    }
}

fn app() -> Router {
    hyperbun::router![
        Echo,
        Lifecycle,
        life_hook,
        Protocols,
        Pick,
        pick_hook,
        Origins,
        Secure,
        secure_hook,
        manual,
        Small,
        Idle,
        IdleNoPings,
        Flood,
        FloodClose,
        Buffered,
        Slow
    ]
}

async fn start() -> TestServer {
    hyperbun_tests::start(app()).await
}

/// A client builder for `path`, to add headers or subprotocols to.
fn client(app: &TestServer, path: &str) -> ClientBuilder {
    ClientBuilder::new(app.ws_url(path))
}

/// The status of a refused upgrade, and its body.
async fn refused(app: &TestServer, builder: ClientBuilder) -> (StatusCode, Bytes) {
    match app.ws_with(builder).await {
        Err(ConnectError::Refused { status, body, .. }) => (status, body),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// The next event of any kind, pings and pongs included (bounded by [`WAIT`]).
async fn next_event(ws: &mut TestWebSocket) -> ClientEvent {
    within("the next event", ws.client().next_event())
        .await
        .expect("an event")
}

/// Reads past messages until the server's close frame; returns its code.
async fn close_code_after_messages(ws: &mut TestWebSocket) -> u16 {
    loop {
        match next_event(ws).await {
            ClientEvent::Close(close) => return close.map_or(1005, |c| c.code),
            ClientEvent::Message(_) | ClientEvent::Ping(_) | ClientEvent::Pong(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Handshake

#[tokio::test]
async fn echo_text_and_binary_keep_their_opcode() {
    let app = start().await;
    let mut ws = app.ws("/echo").await;
    ws.send("héllo").await;
    ws.expect_text("héllo").await;
    ws.send(vec![0u8, 159, 146, 150]).await;
    ws.expect_binary(&[0, 159, 146, 150]).await;
    ws.send("").await;
    ws.expect_text("").await;
    let big = "x".repeat(200_000);
    ws.send(big.clone()).await;
    ws.expect_text(&big).await;
    drop(ws);
    app.stop().await;
}

#[tokio::test]
async fn handshake_failures_are_clear_4xx() {
    use hyperbun_tests::raw_exchange;
    // The HTTP side of the handshake, the same on every transport: over TCP.
    let app = TestServer::start(app()).await;
    let addr = app.addr();
    // Broken upgrade requests are written by hand: a WebSocket client only sends valid ones.
    let base = |extra: &str| format!("GET /echo HTTP/1.1\r\nHost: {addr}\r\n{extra}\r\n");
    let ok_headers = "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";

    // A plain GET on a socket route.
    let reply = app.get("/echo").await;
    assert_eq!(
        reply.status,
        StatusCode::UPGRADE_REQUIRED,
        "{}",
        reply.text()
    );
    assert_eq!(reply.header_values("upgrade"), ["websocket"]);

    // Wrong version: 426 naming the version we speak.
    let reply = raw_exchange(
        addr,
        base(&format!("{ok_headers}Sec-WebSocket-Version: 8\r\n")),
    )
    .await;
    assert_eq!(reply.status, 426, "{reply:?}");
    assert_eq!(
        reply.header("sec-websocket-version"),
        Some("13"),
        "{reply:?}"
    );

    // Missing version.
    let reply = raw_exchange(addr, base(ok_headers)).await;
    assert_eq!(reply.status, 426, "{reply:?}");

    // Missing and malformed keys.
    let reply = raw_exchange(
        addr,
        base("Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"),
    )
    .await;
    assert_eq!(reply.status, 400, "{reply:?}");
    let reply = raw_exchange(
        addr,
        base("Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: short\r\n"),
    )
    .await;
    assert_eq!(reply.status, 400, "{reply:?}");

    // Not GET: the socket route only has GET.
    let reply = app
        .request(Method::POST, "/echo", HeaderMap::new(), Bytes::new())
        .await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(
        reply.header("allow").is_some_and(|a| a.contains("GET")),
        "{reply:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn subprotocol_is_the_clients_first_offer_we_speak() {
    let app = start().await;
    let offers = client(&app, "/proto").protocols(["chat.v3", "chat.v1", "chat.v2"]);
    let mut ws = app.ws_with(offers).await.expect("connected");
    assert_eq!(
        ws.client().response_headers()["sec-websocket-protocol"],
        "chat.v1"
    );
    assert_eq!(ws.client().protocol(), Some("chat.v1"));
    ws.expect_text("chat.v1").await;

    // No offer: connects without a protocol.
    let mut ws = app.ws("/proto").await;
    assert!(ws
        .client()
        .response_headers()
        .get("sec-websocket-protocol")
        .is_none());
    ws.expect_text("none").await;
    drop(ws);
    app.stop().await;
}

#[tokio::test]
async fn an_upgrade_hook_may_choose_an_offered_protocol_only() {
    let app = start().await;
    let mut ws = app
        .ws_with(client(&app, "/pick").protocols(["a", "b"]))
        .await
        .expect("connected");
    assert_eq!(
        ws.client().response_headers()["sec-websocket-protocol"],
        "b"
    );
    ws.expect_text("b").await;

    // Offered only `a`, the hook still picks `zzz`: the server refuses rather than answer
    // with a protocol that was not offered.
    let (status, _) = refused(&app, client(&app, "/pick").protocol("a")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    drop(ws);
    app.stop().await;
}

#[tokio::test]
async fn origin_allow_list() {
    let app = start().await;
    let good = client(&app, "/origin").header("origin", "https://GOOD.example");
    let mut ws = app.ws_with(good).await.expect("connected");
    ws.send("hi").await;
    ws.expect_text("hi").await;

    let evil = client(&app, "/origin").header("origin", "https://evil.example");
    let (status, _) = refused(&app, evil).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    drop(ws);
    app.stop().await;
}

#[tokio::test]
async fn upgrade_hook_admits_with_data_and_headers_or_rejects() {
    let app = start().await;
    let token = client(&app, "/secure").header("x-token", "let-me-in");
    let mut ws = app.ws_with(token).await.expect("admitted");
    assert_eq!(ws.client().response_headers()["x-user"], "ada");
    ws.expect_text("hello ada").await;

    let (status, body) = refused(&app, client(&app, "/secure")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.ends_with(b"no token"), "{body:?}");
    drop(ws);
    app.stop().await;
}

#[tokio::test]
async fn manual_upgrade_inside_a_route() {
    let app = start().await;
    let mut ws = app.ws("/manual").await;
    assert_eq!(ws.client().response_headers()["x-manual"], "yes");
    ws.send("by hand").await;
    ws.expect_text("by hand").await;

    // Not an upgrade request: the route gets the error and answers for itself.
    let reply = app.get("/manual").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.text().starts_with("manual: "), "{}", reply.text());
    drop(ws);
    app.stop().await;
}

// ---------------------------------------------------------------------------------------
// Life cycle

#[tokio::test]
async fn handlers_run_in_order_and_close_runs_once_for_a_client_close() {
    let app = start().await;
    let mut ws = app.ws("/life?key=client-close").await;
    ws.send("a").await;
    ws.expect_text("a").await;
    ws.send("count").await;
    let count = ws.recv().await;
    assert_eq!(
        count.as_text(),
        Some("2"),
        "typed data persists across messages"
    );
    ws.client().ping("p1").await.expect("ping");
    assert_eq!(
        next_event(&mut ws).await,
        ClientEvent::Pong(Bytes::from_static(b"p1"))
    );
    ws.client().pong("u1").await.expect("pong");
    let answer = ws.client().close(4100, "done").await.expect("close");
    assert_eq!(
        answer.map(|close| close.code),
        Some(4100),
        "the server echoes the client's close code"
    );
    let lines = journal::wait("client-close", 6).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        journal::lines("client-close"),
        [
            "open",
            "message a",
            "message count",
            "ping p1",
            "pong u1",
            "close 4100 done Closed"
        ],
        "{lines:?}"
    );
    drop(ws);
    app.stop().await;
}

#[tokio::test]
async fn server_pings_and_corked_sends() {
    let app = start().await;
    let mut ws = app.ws("/life?key=server-ping").await;
    ws.send("server-ping").await;
    assert_eq!(
        next_event(&mut ws).await,
        ClientEvent::Ping(Bytes::from_static(b"srv"))
    );
    // The client answered the ping as it read it; the pong handler sees the payload.
    ws.send("cork").await;
    ws.expect_text("one").await;
    ws.expect_text("two").await;
    // The pong reaches the server around the `cork` message: somewhere after the ping.
    let lines = journal::wait("server-ping", 6).await;
    let without_pong: Vec<&str> = lines
        .iter()
        .map(String::as_str)
        .filter(|l| *l != "pong srv")
        .collect();
    assert_eq!(
        without_pong,
        [
            "open",
            "message server-ping",
            "ping sent Sent(3), too big Dropped",
            "message cork",
            "corked [Sent(3), Sent(3)]",
        ]
    );
    assert!(lines.contains(&"pong srv".to_owned()), "{lines:?}");
    drop(ws);
    app.stop().await;
}

#[tokio::test]
async fn pings_from_a_peer_that_never_reads_cannot_grow_the_queue_without_bound() {
    use tokio::io::AsyncWriteExt;
    let app = start().await;
    // Raw: a flood of pings written straight to the socket by a peer that reads nothing.
    let mut raw = RawWs::open(&app, "/buffered").await;
    // 60,000 pings of 125 bytes ask for ~7.6 MB of pongs; the client reads none of them.
    let ping = hyperbun::test::masked_frame(0x89, &[b'p'; 125]);
    let burst: Vec<u8> = ping
        .iter()
        .copied()
        .cycle()
        .take(ping.len() * 1000)
        .collect();
    for _ in 0..60 {
        within("ping burst", raw.stream.write_all(&burst))
            .await
            .expect("write pings");
    }
    raw.frame(0x81, b"buffered").await;
    let lines = journal::wait("ping-flood", 1).await;
    let buffered: usize = lines[0]
        .strip_prefix("buffered ")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{lines:?}"));
    // Default limit 1 MiB, plus the control slack and one frame.
    assert!(
        buffered <= 1024 * 1024 + 16 * 1024 + 127,
        "queued {buffered} bytes"
    );
    assert!(
        buffered >= 1024 * 1024,
        "the queue never filled: {buffered}"
    );
    drop(raw);
    app.stop().await;
}

#[tokio::test]
async fn abrupt_disconnect_still_runs_close_once() {
    let app = start().await;
    // Raw: dropping it ends the TCP connection with no close frame at all.
    let mut raw = RawWs::open(&app, "/life?key=abrupt").await;
    raw.frame(0x81, b"x").await;
    assert_eq!(raw.read_frame().await.payload, b"x");
    drop(raw);
    journal::wait("abrupt", 3).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        journal::lines("abrupt"),
        ["open", "message x", "close 1006  Closed"]
    );
    app.stop().await;
}

#[tokio::test]
async fn server_close_sends_the_code_and_reports_it_once() {
    let app = start().await;
    let mut ws = app.ws("/life?key=server-close").await;
    ws.send("close").await;
    assert_eq!(ws.expect_close(4000).await.reason, "bye");
    // The client answers the close; the server then ends and reports its own code.
    let lines = journal::wait("server-close", 3).await;
    assert_eq!(lines, ["open", "message close", "close 4000 bye Closed"]);

    // A second close is ignored; sends after close are dropped.
    let mut ws = app.ws("/life?key=close-twice").await;
    ws.send("twice").await;
    assert_eq!(ws.expect_close(4001).await.reason, "first");
    let lines = journal::wait("close-twice", 4).await;
    assert_eq!(
        lines,
        [
            "open",
            "message twice",
            "send after close: Dropped",
            "close 4001 first Closed"
        ]
    );
    drop(ws);
    app.stop().await;
}

#[tokio::test]
async fn terminate_drops_the_connection_without_a_close_frame() {
    let app = start().await;
    let mut ws = app.ws("/life?key=terminate").await;
    ws.send("terminate").await;
    // The connection ends with no close frame: abruptly, or with a reset.
    let end = within("the server ends the connection", ws.client().next_event()).await;
    assert!(
        matches!(end, Err(ClientError::Abrupt | ClientError::Io(_))),
        "{end:?}"
    );
    let lines = journal::wait("terminate", 3).await;
    assert_eq!(lines, ["open", "message terminate", "close 1006  Closed"]);
    drop(ws);
    app.stop().await;
}

#[tokio::test]
async fn socket_accessors() {
    let app = start().await;
    let mut ws = app.ws("/life?key=state").await;
    ws.send("state").await;
    // The peer's IP over TCP; `unix` on a Unix socket, never a made-up address.
    let peer = if app.unix_path().is_some() {
        "unix"
    } else {
        "127.0.0.1"
    };
    ws.expect_text(&format!("Open None {peer}")).await;
    drop(ws);
    app.stop().await;
}

#[tokio::test]
async fn a_panicking_handler_closes_only_its_own_socket_with_1011() {
    let app = start().await;
    let mut healthy = app.ws("/life?key=healthy").await;
    let mut doomed = app.ws("/life?key=doomed").await;
    doomed.send("panic").await;
    doomed.expect_close(1011).await;
    let lines = journal::wait("doomed", 4).await;
    assert_eq!(lines[..2], ["open", "message panic"]);
    assert!(
        lines[2].starts_with("error the `message` handler panicked: boom"),
        "{lines:?}"
    );
    assert_eq!(lines[3], "close 1011 internal error Closed");

    for i in 0..3 {
        healthy.send(format!("still here {i}")).await;
        healthy.expect_text(&format!("still here {i}")).await;
    }
    // And new connections are still accepted.
    let mut again = app.ws("/echo").await;
    again.send("ok").await;
    again.expect_text("ok").await;
    drop((healthy, doomed, again));
    app.stop().await;
}

#[tokio::test]
async fn async_handlers_flush_while_they_wait() {
    let app = start().await;
    let mut ws = app.ws("/slow").await;
    ws.send("go").await;
    // "before" must arrive while the handler is still waiting for RESUME.
    ws.expect_text("before").await;
    RESUME.notify_one();
    ws.expect_text("after").await;
    drop(ws);
    app.stop().await;
}

#[tokio::test]
async fn oversized_messages_close_with_1009() {
    let app = start().await;
    let mut ws = app.ws("/small").await;
    ws.send(vec![1u8; 1024]).await;
    ws.expect_binary(&[1u8; 1024]).await;
    ws.send(vec![1u8; 1025]).await;
    ws.expect_close(1009).await;
    drop(ws);
    app.stop().await;
}

// ---------------------------------------------------------------------------------------
// Backpressure

#[tokio::test]
async fn backpressure_is_reported_then_drain_runs() {
    let app = start().await;
    let mut ws = app.ws("/flood").await;
    ws.send("flood-drain").await;
    let lines = journal::wait("flood-drain", 1).await;
    assert!(
        lines[0].starts_with("backpressure after ")
            && lines[0].ends_with("; next Dropped; buffered true"),
        "{lines:?}"
    );
    // Reading everything empties the queue: drain runs, below the limit.
    let received = journal::read_binary_until(&mut ws, 16 * 1024, "flood-drain", 2).await;
    assert!(received > 0);
    assert_eq!(journal::lines("flood-drain")[1], "drain true");
    drop(ws);
    app.stop().await;
}

#[tokio::test]
async fn close_on_backpressure_limit_closes_with_1008() {
    let app = start().await;
    let mut ws = app.ws("/flood-close").await;
    ws.send("flood-close").await;
    let lines = journal::wait("flood-close", 1).await;
    assert!(
        lines[0].ends_with("next Dropped; buffered true"),
        "{lines:?}"
    );
    // What was queued before the limit comes first, then the close frame.
    assert_eq!(close_code_after_messages(&mut ws).await, 1008);
    assert_eq!(journal::wait("flood-close", 2).await[1], "close 1008");
    drop(ws);
    app.stop().await;
}

// ---------------------------------------------------------------------------------------
// Idle timeout

#[tokio::test]
async fn idle_peer_that_answers_pings_stays_open() {
    let app = start().await;
    let mut ws = app.ws("/idle").await;
    // The client answers pings by itself as it reads; stay silent otherwise for 2.5 s.
    let mut pings = 0;
    let until = tokio::time::Instant::now() + Duration::from_millis(2500);
    while let Ok(next) = tokio::time::timeout_at(until, ws.client().next_event()).await {
        match next {
            Ok(ClientEvent::Ping(_)) => pings += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(pings >= 2, "pings: {pings}");
    ws.send("alive").await;
    ws.expect_text("alive").await;
    drop(ws);
    app.stop().await;
}

#[tokio::test]
async fn silent_peer_is_closed_at_the_idle_timeout() {
    let app = start().await;
    // A raw client reads the ping but never answers it, which `TestServer::ws` always does.
    let mut raw = RawWs::open(&app, "/idle").await;
    let started = std::time::Instant::now();
    let ping = raw.read_frame().await;
    assert_eq!(ping.opcode, 9, "first a ping: {ping:?}");
    assert_eq!(raw.expect_close().await, 1001);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );

    // Without pings: closed, with no ping before.
    let mut raw = RawWs::open(&app, "/idle-no-pings").await;
    let frame = raw.read_frame().await;
    assert_eq!(frame.close_code(), 1001);
    drop(raw);
    app.stop().await;
}

// ---------------------------------------------------------------------------------------
// Shutdown

#[tokio::test]
async fn stop_closes_sockets_with_1001_and_runs_close() {
    let app = start().await;
    let mut ws = app.ws("/life?key=stop").await;
    ws.send("x").await;
    ws.expect_text("x").await;
    assert_eq!(app.server().pending_websockets(), 1);
    let server = app.server().clone();
    let stopping = tokio::spawn(async move { server.stop().await });
    ws.expect_close(1001).await;
    drop(ws);
    within("stop", stopping).await.expect("stop task");
    assert_eq!(
        journal::wait("stop", 3).await,
        [
            "open",
            "message x",
            "close 1001 server shutting down Closed"
        ]
    );
    assert_eq!(app.server().pending_websockets(), 0);
}
