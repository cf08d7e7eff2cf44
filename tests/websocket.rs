//! WebSocket behaviour seen from a real client (tokio-tungstenite) on 127.0.0.1: handshake
//! options, hooks, manual upgrade, handler life cycle, typed data, backpressure, idle
//! timeout, panics and shutdown.

use std::time::Duration;

use hyperbun::prelude::*;
use hyperbun_tests::{
    fetch, journal, spawn, within, ws_closed, ws_connect, ws_connect_with, ws_handshake, ws_next,
    ws_send, ws_text, RawWs, TestServer, WsMessage,
};
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
                    ws.remote_addr().ip().expect("a TCP peer")
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
    spawn(app()).await
}

// ---------------------------------------------------------------------------------------
// Handshake

#[tokio::test]
async fn echo_text_and_binary_keep_their_opcode() {
    let app = start().await;
    let mut ws = ws_connect(app.addr, "/echo").await;
    ws_send(&mut ws, WsMessage::text("héllo")).await;
    assert_eq!(ws_next(&mut ws).await, WsMessage::text("héllo"));
    ws_send(&mut ws, WsMessage::binary(vec![0u8, 159, 146, 150])).await;
    assert_eq!(
        ws_next(&mut ws).await,
        WsMessage::binary(vec![0u8, 159, 146, 150])
    );
    ws_send(&mut ws, WsMessage::text("")).await;
    assert_eq!(ws_next(&mut ws).await, WsMessage::text(""));
    let big = "x".repeat(200_000);
    ws_send(&mut ws, WsMessage::text(big.clone())).await;
    assert_eq!(ws_next(&mut ws).await, WsMessage::text(big));
    drop(ws);
    app.stop().await;
}

#[tokio::test]
async fn handshake_failures_are_clear_4xx() {
    use hyperbun_tests::raw_exchange;
    let app = start().await;
    let addr = app.addr;
    let base = |extra: &str| format!("GET /echo HTTP/1.1\r\nHost: {addr}\r\n{extra}\r\n");
    let ok_headers = "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";

    // A plain GET on a socket route.
    let reply = fetch(addr, Method::GET, "/echo").await;
    assert_eq!(
        reply.status,
        StatusCode::UPGRADE_REQUIRED,
        "{}",
        reply.text()
    );
    assert_eq!(reply.header("upgrade"), "websocket");

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
    let reply = fetch(addr, Method::POST, "/echo").await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(reply.header("allow").contains("GET"));
    app.stop().await;
}

#[tokio::test]
async fn subprotocol_is_the_clients_first_offer_we_speak() {
    let app = start().await;
    let (mut ws, response) = ws_connect_with(
        app.addr,
        "/proto",
        &[("sec-websocket-protocol", "chat.v3, chat.v1, chat.v2")],
    )
    .await;
    assert_eq!(response.headers()["sec-websocket-protocol"], "chat.v1");
    assert_eq!(ws_text(&mut ws).await, "chat.v1");

    // No offer: connects without a protocol.
    let (mut ws, response) = ws_connect_with(app.addr, "/proto", &[]).await;
    assert!(response.headers().get("sec-websocket-protocol").is_none());
    assert_eq!(ws_text(&mut ws).await, "none");
    drop(ws);
    app.stop().await;
}

#[tokio::test]
async fn an_upgrade_hook_may_choose_an_offered_protocol_only() {
    let app = start().await;
    let (mut ws, response) =
        ws_connect_with(app.addr, "/pick", &[("sec-websocket-protocol", "a, b")]).await;
    assert_eq!(response.headers()["sec-websocket-protocol"], "b");
    assert_eq!(ws_text(&mut ws).await, "b");

    let reply = hyperbun_tests::raw_exchange(
        app.addr,
        ws_handshake(app.addr, "/pick", "Sec-WebSocket-Protocol: a\r\n"),
    )
    .await;
    assert_eq!(reply.status, 500, "{reply:?}");
    drop(ws);
    app.stop().await;
}

#[tokio::test]
async fn origin_allow_list() {
    let app = start().await;
    let (mut ws, _) =
        ws_connect_with(app.addr, "/origin", &[("origin", "https://GOOD.example")]).await;
    ws_send(&mut ws, WsMessage::text("hi")).await;
    assert_eq!(ws_text(&mut ws).await, "hi");

    let reply = hyperbun_tests::raw_exchange(
        app.addr,
        ws_handshake(app.addr, "/origin", "Origin: https://evil.example\r\n"),
    )
    .await;
    assert_eq!(reply.status, 403, "{reply:?}");
    drop(ws);
    app.stop().await;
}

#[tokio::test]
async fn upgrade_hook_admits_with_data_and_headers_or_rejects() {
    let app = start().await;
    let (mut ws, response) =
        ws_connect_with(app.addr, "/secure", &[("x-token", "let-me-in")]).await;
    assert_eq!(response.headers()["x-user"], "ada");
    assert_eq!(ws_text(&mut ws).await, "hello ada");

    let reply = hyperbun_tests::raw_exchange(app.addr, ws_handshake(app.addr, "/secure", "")).await;
    assert_eq!(reply.status, 401, "{reply:?}");
    assert!(reply.body.ends_with(b"no token"), "{reply:?}");
    drop(ws);
    app.stop().await;
}

#[tokio::test]
async fn manual_upgrade_inside_a_route() {
    let app = start().await;
    let (mut ws, response) = ws_connect_with(app.addr, "/manual", &[]).await;
    assert_eq!(response.headers()["x-manual"], "yes");
    ws_send(&mut ws, WsMessage::text("by hand")).await;
    assert_eq!(ws_text(&mut ws).await, "by hand");

    // Not an upgrade request: the route gets the error and answers for itself.
    let reply = fetch(app.addr, Method::GET, "/manual").await;
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
    let mut ws = ws_connect(app.addr, "/life?key=client-close").await;
    ws_send(&mut ws, WsMessage::text("a")).await;
    assert_eq!(ws_text(&mut ws).await, "a");
    ws_send(&mut ws, WsMessage::text("count")).await;
    assert_eq!(
        ws_text(&mut ws).await,
        "2",
        "typed data persists across messages"
    );
    ws_send(&mut ws, WsMessage::Ping("p1".into())).await;
    assert_eq!(ws_next(&mut ws).await, WsMessage::Pong("p1".into()));
    ws_send(&mut ws, WsMessage::Pong("u1".into())).await;
    within(
        "client close",
        ws.close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
            code: 4100.into(),
            reason: "done".into(),
        })),
    )
    .await
    .expect("close");
    let (code, _) = ws_closed(&mut ws).await;
    assert_eq!(code, 4100, "the server echoes the client's close code");
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
    let mut ws = ws_connect(app.addr, "/life?key=server-ping").await;
    ws_send(&mut ws, WsMessage::text("server-ping")).await;
    assert_eq!(ws_next(&mut ws).await, WsMessage::Ping("srv".into()));
    // tungstenite answers the ping on its next read; the pong handler sees the payload.
    ws_send(&mut ws, WsMessage::text("cork")).await;
    assert_eq!(ws_text(&mut ws).await, "one");
    assert_eq!(ws_text(&mut ws).await, "two");
    // The pong comes back whenever tungstenite next writes: somewhere after the ping.
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
    let mut raw = RawWs::connect(app.addr, "/buffered").await;
    // 60,000 pings of 125 bytes ask for ~7.6 MB of pongs; the client reads none of them.
    let ping = hyperbun_tests::masked_frame(0x89, &[b'p'; 125]);
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
    let mut raw = RawWs::connect(app.addr, "/life?key=abrupt").await;
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
    let mut ws = ws_connect(app.addr, "/life?key=server-close").await;
    ws_send(&mut ws, WsMessage::text("close")).await;
    assert_eq!(ws_closed(&mut ws).await, (4000, "bye".to_owned()));
    // tungstenite answers the close; the server then ends and reports its own code.
    let lines = journal::wait("server-close", 3).await;
    assert_eq!(lines, ["open", "message close", "close 4000 bye Closed"]);

    // A second close is ignored; sends after close are dropped.
    let mut ws = ws_connect(app.addr, "/life?key=close-twice").await;
    ws_send(&mut ws, WsMessage::text("twice")).await;
    assert_eq!(ws_closed(&mut ws).await, (4001, "first".to_owned()));
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
    let mut raw = RawWs::connect(app.addr, "/life?key=terminate").await;
    raw.frame(0x81, b"terminate").await;
    raw.expect_eof().await;
    let lines = journal::wait("terminate", 3).await;
    assert_eq!(lines, ["open", "message terminate", "close 1006  Closed"]);
    drop(raw);
    app.stop().await;
}

#[tokio::test]
async fn socket_accessors() {
    let app = start().await;
    let mut ws = ws_connect(app.addr, "/life?key=state").await;
    ws_send(&mut ws, WsMessage::text("state")).await;
    assert_eq!(ws_text(&mut ws).await, "Open None 127.0.0.1");
    drop(ws);
    app.stop().await;
}

#[tokio::test]
async fn a_panicking_handler_closes_only_its_own_socket_with_1011() {
    let app = start().await;
    let mut healthy = ws_connect(app.addr, "/life?key=healthy").await;
    let mut doomed = ws_connect(app.addr, "/life?key=doomed").await;
    ws_send(&mut doomed, WsMessage::text("panic")).await;
    assert_eq!(ws_closed(&mut doomed).await.0, 1011);
    let lines = journal::wait("doomed", 4).await;
    assert_eq!(lines[..2], ["open", "message panic"]);
    assert!(
        lines[2].starts_with("error the `message` handler panicked: boom"),
        "{lines:?}"
    );
    assert_eq!(lines[3], "close 1011 internal error Closed");

    for i in 0..3 {
        ws_send(&mut healthy, WsMessage::text(format!("still here {i}"))).await;
        assert_eq!(ws_text(&mut healthy).await, format!("still here {i}"));
    }
    // And new connections are still accepted.
    let mut again = ws_connect(app.addr, "/echo").await;
    ws_send(&mut again, WsMessage::text("ok")).await;
    assert_eq!(ws_text(&mut again).await, "ok");
    drop((healthy, doomed, again));
    app.stop().await;
}

#[tokio::test]
async fn async_handlers_flush_while_they_wait() {
    let app = start().await;
    let mut ws = ws_connect(app.addr, "/slow").await;
    ws_send(&mut ws, WsMessage::text("go")).await;
    // "before" must arrive while the handler is still waiting for RESUME.
    assert_eq!(ws_text(&mut ws).await, "before");
    RESUME.notify_one();
    assert_eq!(ws_text(&mut ws).await, "after");
    drop(ws);
    app.stop().await;
}

#[tokio::test]
async fn oversized_messages_close_with_1009() {
    let app = start().await;
    let mut ws = ws_connect(app.addr, "/small").await;
    ws_send(&mut ws, WsMessage::binary(vec![1u8; 1024])).await;
    assert_eq!(ws_next(&mut ws).await, WsMessage::binary(vec![1u8; 1024]));
    ws_send(&mut ws, WsMessage::binary(vec![1u8; 1025])).await;
    assert_eq!(ws_closed(&mut ws).await.0, 1009);
    drop(ws);
    app.stop().await;
}

// ---------------------------------------------------------------------------------------
// Backpressure

#[tokio::test]
async fn backpressure_is_reported_then_drain_runs() {
    let app = start().await;
    let mut ws = ws_connect(app.addr, "/flood").await;
    ws_send(&mut ws, WsMessage::text("flood-drain")).await;
    let lines = journal::wait("flood-drain", 1).await;
    assert!(
        lines[0].starts_with("backpressure after ")
            && lines[0].ends_with("; next Dropped; buffered true"),
        "{lines:?}"
    );
    // Reading everything empties the queue: drain runs, below the limit.
    let mut received = 0;
    while journal::lines("flood-drain").len() < 2 {
        match within("flooded messages", futures_util::StreamExt::next(&mut ws)).await {
            Some(Ok(WsMessage::Binary(b))) => {
                assert_eq!(b.len(), 16 * 1024);
                received += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(received > 0);
    assert_eq!(journal::lines("flood-drain")[1], "drain true");
    drop(ws);
    app.stop().await;
}

#[tokio::test]
async fn close_on_backpressure_limit_closes_with_1008() {
    let app = start().await;
    let mut ws = ws_connect(app.addr, "/flood-close").await;
    ws_send(&mut ws, WsMessage::text("flood-close")).await;
    let lines = journal::wait("flood-close", 1).await;
    assert!(
        lines[0].ends_with("next Dropped; buffered true"),
        "{lines:?}"
    );
    assert_eq!(ws_closed(&mut ws).await.0, 1008);
    assert_eq!(journal::wait("flood-close", 2).await[1], "close 1008");
    drop(ws);
    app.stop().await;
}

// ---------------------------------------------------------------------------------------
// Idle timeout

#[tokio::test]
async fn idle_peer_that_answers_pings_stays_open() {
    let app = start().await;
    let mut ws = ws_connect(app.addr, "/idle").await;
    // tungstenite answers pings by itself while we read; stay silent otherwise for 2.5 s.
    let mut pings = 0;
    let until = tokio::time::Instant::now() + Duration::from_millis(2500);
    while let Ok(next) =
        tokio::time::timeout_at(until, futures_util::StreamExt::next(&mut ws)).await
    {
        match next {
            Some(Ok(WsMessage::Ping(_))) => pings += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(pings >= 2, "pings: {pings}");
    ws_send(&mut ws, WsMessage::text("alive")).await;
    assert_eq!(ws_text(&mut ws).await, "alive");
    drop(ws);
    app.stop().await;
}

#[tokio::test]
async fn silent_peer_is_closed_at_the_idle_timeout() {
    let app = start().await;
    // A raw client never answers the ping.
    let mut raw = RawWs::connect(app.addr, "/idle").await;
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
    let mut raw = RawWs::connect(app.addr, "/idle-no-pings").await;
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
    let mut ws = ws_connect(app.addr, "/life?key=stop").await;
    ws_send(&mut ws, WsMessage::text("x")).await;
    assert_eq!(ws_text(&mut ws).await, "x");
    assert_eq!(app.server.pending_websockets(), 1);
    let server = app.server.clone();
    let stopping = tokio::spawn(async move { server.stop().await });
    assert_eq!(ws_closed(&mut ws).await.0, 1001);
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
    assert_eq!(app.server.pending_websockets(), 0);
}
