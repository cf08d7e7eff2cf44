//! `SocketHandle`: a socket used from other tasks (Bun's `ws` in a `setTimeout` callback), seen
//! from a real client. Handlers hand `ws.handle()` to spawned tasks, which send, close or
//! terminate after a delay; what the tasks and handlers saw is journaled under the socket's
//! `key` query parameter.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use hyperbun::client::ClientError;
use hyperbun::prelude::*;
use hyperbun::test::TestServer;
use hyperbun::ReadyState;
use hyperbun_tests::{journal, within, RawWs};

/// The journal key, from `?key=`.
#[derive(Debug, Default)]
struct Keyed {
    key: String,
}

/// Commands in text messages, each carried out by a spawned task through a handle.
struct Timers;

#[websocket("/timers", data = Keyed)]
impl Timers {
    fn message(ws: &mut WebSocket<Keyed>, msg: Message) {
        let handle = ws.handle();
        let key = ws.data.key.clone();
        match msg.as_text().unwrap_or("") {
            "send-later" => {
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    let status = handle.send("tick");
                    journal::push(&key, format!("sent {status:?}"));
                });
            }
            "close-later" => {
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    let queued = [handle.send("one"), handle.send("two")];
                    handle.close(4001, "from a timer");
                    let after = handle.send("after close");
                    let state = handle.ready_state();
                    journal::push(
                        &key,
                        format!("queued {queued:?}; after close {after:?} {state:?}"),
                    );
                });
            }
            "close-unsendable" => {
                tokio::spawn(async move { handle.close(1005, "reserved") });
            }
            "terminate-later" => {
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    handle.terminate();
                });
            }
            "after-close" => {
                // Waits until the socket is gone, then uses the handle.
                let peer = ws.remote_addr();
                tokio::spawn(async move {
                    let deadline = Instant::now() + Duration::from_secs(5);
                    while handle.ready_state() != ReadyState::Closed {
                        assert!(Instant::now() < deadline, "the socket never closed");
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    let status = handle.send("too late");
                    handle.close(4000, "too late");
                    handle.terminate();
                    let open = handle.is_open();
                    let same_peer = handle.remote_addr() == peer;
                    journal::push(
                        &key,
                        format!("after close: {status:?}, open {open}, same peer {same_peer}"),
                    );
                });
                ws.send("waiting");
            }
            other => {
                ws.send(other.to_owned());
            }
        }
    }

    fn close(ws: &mut WebSocket<Keyed>, code: u16, reason: &str) {
        let state = ws.ready_state();
        journal::push(&ws.data.key, format!("close {code} {reason} {state:?}"));
    }
}

/// Names the journal from `?key=`, for every route here.
fn keyed(q: &HashMap<String, String>) -> Upgrade<Keyed> {
    Upgrade::new(Keyed {
        key: q.get("key").cloned().unwrap_or_default(),
    })
}

#[upgrade("/timers")]
fn timers_hook(Query(q): Query<HashMap<String, String>>) -> Upgrade<Keyed> {
    keyed(&q)
}

/// Sends compressed itself, then through a handle from a timer, on a route that compresses.
struct Compressed;

#[websocket("/compressed", per_message_deflate = true)]
impl Compressed {
    fn message(ws: &mut WebSocket, _msg: Message) {
        ws.send_compressed("compressible ".repeat(100));
        let handle = ws.handle();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            handle.send("compressible ".repeat(100));
        });
    }
}

/// A handle floods its own socket from a spawned task until the queue pushes back.
struct Flood;

#[websocket("/flood", data = Keyed, backpressure_limit = 65536)]
impl Flood {
    fn message(ws: &mut WebSocket<Keyed>, _msg: Message) {
        let handle = ws.handle();
        let key = ws.data.key.clone();
        tokio::spawn(async move {
            let chunk = vec![7u8; 16 * 1024];
            for sent in 0..10_000 {
                match handle.send(chunk.clone()) {
                    SendStatus::Sent(_) => {}
                    SendStatus::Backpressure(n) => {
                        let next = handle.send(chunk);
                        journal::push(
                            &key,
                            format!("backpressure after {sent} ({n}); next {next:?}"),
                        );
                        return;
                    }
                    other => {
                        journal::push(&key, format!("{other:?} after {sent}"));
                        return;
                    }
                }
            }
            journal::push(&key, "never pushed back");
        });
    }

    fn drain(ws: &mut WebSocket<Keyed>) {
        journal::push(&ws.data.key, "drain");
    }
}

#[upgrade("/flood")]
fn flood_hook(Query(q): Query<HashMap<String, String>>) -> Upgrade<Keyed> {
    keyed(&q)
}

/// An async handler still running when a handle asks for the close.
struct Busy;

#[websocket("/busy", data = Keyed)]
impl Busy {
    async fn message(ws: &mut WebSocket<Keyed>, _msg: Message) {
        let handle = ws.handle();
        tokio::spawn(async move { handle.close(4002, "while busy") });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let state = ws.ready_state();
        ws.send(format!("handler done, {state:?}"));
    }

    fn close(ws: &mut WebSocket<Keyed>, code: u16, reason: &str) {
        journal::push(&ws.data.key, format!("close {code} {reason}"));
    }
}

#[upgrade("/busy")]
fn busy_hook(Query(q): Query<HashMap<String, String>>) -> Upgrade<Keyed> {
    keyed(&q)
}

async fn start() -> TestServer {
    hyperbun_tests::start(hyperbun::router![
        Timers,
        timers_hook,
        Compressed,
        Flood,
        flood_hook,
        Busy,
        busy_hook
    ])
    .await
}

#[tokio::test]
async fn a_handle_sends_from_a_spawned_task_after_a_delay() {
    let app = start().await;
    let mut ws = app.ws("/timers?key=send-later").await;
    let asked = Instant::now();
    ws.send("send-later").await;
    ws.expect_text("tick").await;
    assert!(
        asked.elapsed() >= Duration::from_millis(100),
        "after the delay"
    );
    assert_eq!(journal::wait("send-later", 1).await, ["sent Sent(4)"]);
    // The socket goes on as before.
    ws.send("echo").await;
    ws.expect_text("echo").await;
    ws.close().await;
    app.stop().await;
}

#[tokio::test]
async fn a_handle_sends_uncompressed_where_deflate_was_agreed_as_a_publish_does() {
    let app = start().await;
    let offer = "Sec-WebSocket-Extensions: permessage-deflate\r\n";
    let (mut raw, head) = RawWs::open_with(&app, "/compressed", offer).await;
    assert!(head.contains("permessage-deflate"), "agreed: {head}");
    raw.frame(0x81, b"go").await;
    let own = raw.read_frame().await;
    assert!(own.rsv1, "the handler's own send_compressed is compressed");
    let from_handle = raw.read_frame().await;
    assert!(!from_handle.rsv1, "the handle's send is not");
    assert_eq!(from_handle.opcode, 1);
    assert_eq!(from_handle.payload, "compressible ".repeat(100).as_bytes());
    drop(raw);
    app.stop().await;
}

#[tokio::test]
async fn close_from_a_handle_runs_the_close_handler_and_the_client_sees_code_and_reason() {
    let app = start().await;
    let mut ws = app.ws("/timers?key=close-later").await;
    ws.send("close-later").await;
    // What the handle queued before the close comes first.
    ws.expect_text("one").await;
    ws.expect_text("two").await;
    assert_eq!(ws.expect_close(4001).await.reason, "from a timer");
    let lines = journal::wait("close-later", 2).await;
    assert_eq!(
        lines,
        [
            "queued [Sent(3), Sent(3)]; after close Dropped Closing",
            "close 4001 from a timer Closed",
        ]
    );

    // A code that may not be sent becomes 1000, as for `WebSocket::close`.
    let mut ws = app.ws("/timers?key=close-unsendable").await;
    ws.send("close-unsendable").await;
    assert_eq!(ws.expect_close(1000).await.reason, "reserved");
    assert_eq!(
        journal::wait("close-unsendable", 1).await,
        ["close 1000 reserved Closed"]
    );
    app.stop().await;
}

#[tokio::test]
async fn a_close_from_a_handle_waits_for_the_running_handler() {
    let app = start().await;
    let mut ws = app.ws("/busy?key=busy").await;
    ws.send("work").await;
    // The handler finishes (and is still open while it runs), then the close goes out.
    ws.expect_text("handler done, Open").await;
    assert_eq!(ws.expect_close(4002).await.reason, "while busy");
    assert_eq!(journal::wait("busy", 1).await, ["close 4002 while busy"]);
    app.stop().await;
}

#[tokio::test]
async fn terminate_from_a_handle_cuts_the_connection_and_close_gets_1006() {
    let app = start().await;
    let mut ws = app.ws("/timers?key=terminate-later").await;
    ws.send("terminate-later").await;
    let end = within("the server ends the connection", ws.client().next_event()).await;
    assert!(
        matches!(end, Err(ClientError::Abrupt | ClientError::Io(_))),
        "{end:?}"
    );
    assert_eq!(
        journal::wait("terminate-later", 1).await,
        ["close 1006  Closed"]
    );
    app.stop().await;
}

#[tokio::test]
async fn a_handle_used_after_the_socket_closed_returns_dropped_and_does_not_panic() {
    let app = start().await;
    let mut ws = app.ws("/timers?key=after-close").await;
    ws.send("after-close").await;
    ws.expect_text("waiting").await;
    ws.close().await;
    // The task sees `Closed` as the close handler starts: either may journal first.
    let mut lines = journal::wait("after-close", 2).await;
    lines.sort();
    assert_eq!(
        lines,
        [
            "after close: Dropped, open false, same peer true",
            "close 1000  Closed",
        ]
    );
    assert_eq!(app.server().pending_websockets(), 0);
    app.stop().await;
}

#[tokio::test]
async fn a_handle_meets_the_same_backpressure_policy_and_drain_follows() {
    let app = start().await;
    let mut ws = app.ws("/flood?key=flood").await;
    ws.send("flood").await;
    let lines = journal::wait("flood", 1).await;
    assert!(
        lines[0].starts_with("backpressure after ") && lines[0].ends_with("(16384); next Dropped"),
        "{lines:?}"
    );
    // Reading empties the queue: the socket's drain handler runs.
    let received = journal::read_binary_until(&mut ws, 16 * 1024, "flood", 2).await;
    assert!(received > 0);
    assert_eq!(journal::lines("flood")[1], "drain");
    drop(ws);
    app.stop().await;
}
