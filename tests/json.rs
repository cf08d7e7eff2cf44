//! JSON without ceremony, seen from a real client: `msg.json::<T>()` reads text and binary
//! messages and says what was wrong with a bad one; `send_json` (from a handler and from a
//! `SocketHandle`) and `publish_json` (from a socket and from the `Server`) send the exact
//! JSON text; a value that cannot be serialized reaches nobody, is logged, and leaves the
//! connection usable.

use std::collections::HashMap;

use hyperbun::prelude::*;
use hyperbun::test::TestServer;
use hyperbun::PublishResult;
use serde::{Deserialize, Serialize, Serializer};

// ---------------------------------------------------------------------------------------
// Sockets under test

/// What a client asks `/api` for.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
enum Request {
    Add { a: i64, b: i64 },
    Join { room: String },
    Say { room: String, text: String },
    SendUnserializable,
    PublishUnserializable { room: String },
}

/// What `/api` answers.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
enum Reply<'a> {
    Sum {
        sum: i64,
    },
    Joined {
        room: &'a str,
    },
    Published {
        delivered: usize,
    },
    Status {
        status: String,
        nobody: bool,
    },
    Invalid {
        error: String,
        syntax: bool,
        data: bool,
        line: usize,
        column: usize,
    },
}

/// What `/api` publishes to a room.
#[derive(Debug, Serialize)]
struct Said<'a> {
    text: &'a str,
    from: &'static str,
}

/// A value whose `Serialize` impl fails.
struct Unserializable;

impl Serialize for Unserializable {
    fn serialize<S: Serializer>(&self, _serializer: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("Unserializable refuses"))
    }
}

fn answer(ws: &mut WebSocket, msg: &Message) {
    let request = match msg.json::<Request>() {
        Ok(request) => request,
        Err(e) => {
            ws.send_json(&Reply::Invalid {
                error: e.to_string(),
                syntax: e.is_syntax(),
                data: e.is_data(),
                line: e.line(),
                column: e.column(),
            });
            return;
        }
    };
    match request {
        Request::Add { a, b } => ws.send_json(&Reply::Sum { sum: a + b }),
        Request::Join { room } => {
            ws.subscribe(&room);
            ws.send_json(&Reply::Joined { room: &room })
        }
        Request::Say { room, text } => {
            let result = ws.publish_json(
                &room,
                &Said {
                    text: &text,
                    from: "socket",
                },
            );
            ws.send_json(&Reply::Published {
                delivered: result.delivered,
            })
        }
        Request::SendUnserializable => {
            let keys_not_strings: HashMap<Vec<u8>, u8> = HashMap::from([(vec![1, 2], 3)]);
            let status = ws.send_json(&keys_not_strings);
            ws.send_json(&Reply::Status {
                status: format!("{status:?}"),
                nobody: false,
            })
        }
        Request::PublishUnserializable { room } => {
            let result = ws.publish_json(&room, &Unserializable);
            ws.send_json(&Reply::Status {
                status: format!("{result:?}"),
                nobody: result == PublishResult::default(),
            })
        }
    };
}

struct Api;

#[websocket("/api")]
impl Api {
    fn message(ws: &mut WebSocket, msg: Message) {
        answer(ws, &msg);
    }
}

/// `/api` with `publish_to_self`.
struct ApiToSelf;

#[websocket("/api-self", publish_to_self = true)]
impl ApiToSelf {
    fn message(ws: &mut WebSocket, msg: Message) {
        answer(ws, &msg);
    }
}

/// On open, a spawned task sends JSON through a `SocketHandle`: a value, one that cannot
/// be serialized (its status reported), then another value.
struct Background;

#[websocket("/background")]
impl Background {
    fn open(ws: &mut WebSocket) {
        let handle = ws.handle();
        tokio::spawn(async move {
            handle.send_json(&json!({ "step": 1 }));
            let status = handle.send_json(&Unserializable);
            handle.send_json(&json!({ "step": 2, "unserializable": format!("{status:?}") }));
        });
    }
    fn message(_ws: &mut WebSocket, _msg: Message) {}
}

async fn start() -> TestServer {
    TestServer::start(hyperbun::router![Api, ApiToSelf, Background]).await
}

/// The client's next message, which must be text holding JSON.
async fn recv_json(ws: &mut hyperbun::test::TestWebSocket) -> Value {
    let msg = ws.recv().await;
    assert!(msg.is_text(), "JSON goes as text: {msg:?}");
    serde_json::from_str(msg.as_text().unwrap()).expect("JSON")
}

// ---------------------------------------------------------------------------------------
// Reading: msg.json::<T>()

#[tokio::test]
async fn a_tagged_enum_request_is_read_and_answered_with_send_json() {
    let app = start().await;
    let mut ws = app.ws("/api").await;
    ws.send(r#"{"type": "add", "a": 40, "b": 2}"#).await;
    // The exact text serde_json writes: no spaces, fields in declaration order.
    ws.expect_text(r#"{"type":"sum","sum":42}"#).await;
    ws.close().await;
    app.stop().await;
}

#[tokio::test]
async fn a_binary_message_holding_json_is_read_too() {
    let app = start().await;
    let mut ws = app.ws("/api").await;
    ws.send(Message::binary(&br#"{"type":"add","a":1,"b":2}"#[..]))
        .await;
    ws.expect_json(&json!({ "type": "sum", "sum": 3 })).await;
    ws.close().await;
    app.stop().await;
}

#[tokio::test]
async fn invalid_json_is_a_syntax_error_that_says_so() {
    let app = start().await;
    let mut ws = app.ws("/api").await;
    ws.send(r#"{"type": "add", "a": 1,"#).await;
    let reply = recv_json(&mut ws).await;
    let error = reply["error"].as_str().unwrap();
    assert!(
        error.starts_with("the message is not valid JSON: "),
        "{error}"
    );
    assert_eq!(
        (&reply["syntax"], &reply["data"]),
        (&json!(true), &json!(false))
    );
    assert_eq!((&reply["line"], &reply["column"]), (&json!(1), &json!(23)));
    // Not JSON at all, in a binary message.
    ws.send(Message::binary(&b"\x00\x01"[..])).await;
    let reply = recv_json(&mut ws).await;
    assert_eq!(reply["syntax"], json!(true));
    ws.close().await;
    app.stop().await;
}

#[tokio::test]
async fn json_of_the_wrong_shape_is_a_data_error_naming_the_missing_field() {
    let app = start().await;
    let mut ws = app.ws("/api").await;
    ws.send(r#"{"type": "add", "a": 1}"#).await;
    let reply = recv_json(&mut ws).await;
    let error = reply["error"].as_str().unwrap();
    assert!(
        error.starts_with("the message's JSON does not have the expected shape: "),
        "{error}"
    );
    assert!(error.contains("missing field `b`"), "{error}");
    assert_eq!(
        (&reply["syntax"], &reply["data"]),
        (&json!(false), &json!(true))
    );
    // An unknown tag is a data error too.
    ws.send(r#"{"type": "divide"}"#).await;
    let reply = recv_json(&mut ws).await;
    assert_eq!(reply["data"], json!(true));
    assert!(reply["error"]
        .as_str()
        .unwrap()
        .contains("unknown variant `divide`"));
    ws.close().await;
    app.stop().await;
}

// ---------------------------------------------------------------------------------------
// Publishing: publish_json

#[tokio::test]
async fn publish_json_from_a_socket_reaches_the_subscribers_and_not_the_sender() {
    let app = start().await;
    let mut alice = app.ws("/api").await;
    let mut bob = app.ws("/api").await;
    for ws in [&mut alice, &mut bob] {
        ws.send(r#"{"type": "join", "room": "r1"}"#).await;
        ws.expect_json(&json!({ "type": "joined", "room": "r1" }))
            .await;
    }
    alice
        .send(r#"{"type": "say", "room": "r1", "text": "hi"}"#)
        .await;
    bob.expect_text(r#"{"text":"hi","from":"socket"}"#).await;
    // Alice's next message is her own answer, not the publish: it was queued first, had
    // she got it.
    alice
        .expect_json(&json!({ "type": "published", "delivered": 1 }))
        .await;
    alice.close().await;
    bob.close().await;
    app.stop().await;
}

#[tokio::test]
async fn publish_json_with_publish_to_self_reaches_the_sender_too() {
    let app = start().await;
    let mut ws = app.ws("/api-self").await;
    ws.send(r#"{"type": "join", "room": "r2"}"#).await;
    ws.expect_json(&json!({ "type": "joined", "room": "r2" }))
        .await;
    ws.send(r#"{"type": "say", "room": "r2", "text": "me"}"#)
        .await;
    ws.expect_json(&json!({ "text": "me", "from": "socket" }))
        .await;
    ws.expect_json(&json!({ "type": "published", "delivered": 1 }))
        .await;
    ws.close().await;
    app.stop().await;
}

#[tokio::test]
async fn publish_json_from_the_server_reaches_every_subscriber() {
    let app = start().await;
    let mut alice = app.ws("/api").await;
    let mut bob = app.ws("/api").await;
    for ws in [&mut alice, &mut bob] {
        ws.send(r#"{"type": "join", "room": "r3"}"#).await;
        ws.expect_json(&json!({ "type": "joined", "room": "r3" }))
            .await;
    }
    let result = app.server().publish_json(
        "r3",
        &Said {
            text: "news",
            from: "server",
        },
    );
    assert_eq!(result.delivered, 2);
    assert_eq!(result.refused, None);
    for ws in [&mut alice, &mut bob] {
        ws.expect_text(r#"{"text":"news","from":"server"}"#).await;
    }
    // The topic check still applies.
    let refused = app.server().publish_json("", &json!(1));
    assert!(refused.refused.is_some());
    alice.close().await;
    bob.close().await;
    app.stop().await;
}

// ---------------------------------------------------------------------------------------
// Values that cannot be serialized

#[tokio::test]
async fn a_value_that_cannot_be_serialized_is_dropped_and_the_socket_stays_usable() {
    let app = start().await;
    let mut ws = app.ws("/api").await;
    ws.send(r#"{"type": "sendUnserializable"}"#).await;
    // Nothing was sent for the map: the next message is the status.
    ws.expect_json(&json!({ "type": "status", "status": "Dropped", "nobody": false }))
        .await;
    ws.send(r#"{"type": "add", "a": 2, "b": 2}"#).await;
    ws.expect_json(&json!({ "type": "sum", "sum": 4 })).await;
    ws.close().await;
    app.stop().await;
}

#[tokio::test]
async fn a_publish_that_cannot_be_serialized_reaches_nobody() {
    let app = start().await;
    let mut sender = app.ws("/api-self").await;
    let mut listener = app.ws("/api").await;
    for ws in [&mut sender, &mut listener] {
        ws.send(r#"{"type": "join", "room": "r4"}"#).await;
        ws.expect_json(&json!({ "type": "joined", "room": "r4" }))
            .await;
    }
    sender
        .send(r#"{"type": "publishUnserializable", "room": "r4"}"#)
        .await;
    let reply = recv_json(&mut sender).await;
    assert_eq!(reply["nobody"], json!(true), "{reply}");
    // From the server too.
    assert_eq!(
        app.server().publish_json("r4", &Unserializable),
        PublishResult::default()
    );
    // The next publish is the first thing either of them gets.
    let result = app.server().publish_json("r4", &json!({ "after": true }));
    assert_eq!(result.delivered, 2);
    for ws in [&mut sender, &mut listener] {
        ws.expect_json(&json!({ "after": true })).await;
    }
    sender.close().await;
    listener.close().await;
    app.stop().await;
}

#[tokio::test]
async fn a_value_that_cannot_be_serialized_is_logged_with_its_type() {
    let logs = hyperbun_tests::captured_logs();
    let app = start().await;
    let mut ws = app.ws("/api-self").await;
    ws.send(r#"{"type": "join", "room": "r5"}"#).await;
    ws.expect_json(&json!({ "type": "joined", "room": "r5" }))
        .await;
    ws.send(r#"{"type": "publishUnserializable", "room": "r5"}"#)
        .await;
    let reply = recv_json(&mut ws).await;
    assert_eq!(reply["nobody"], json!(true));
    let logged = logs.lines();
    let line = logged
        .iter()
        .find(|line| line.contains("Unserializable refuses"))
        .unwrap_or_else(|| panic!("no log line for the failure in {logged:#?}"));
    assert!(line.contains("ERROR"), "{line}");
    assert!(line.contains("hyperbun::ws"), "{line}");
    assert!(line.contains("json::Unserializable"), "{line}");
    ws.close().await;
    app.stop().await;
}

// ---------------------------------------------------------------------------------------
// From another task: SocketHandle::send_json

#[tokio::test]
async fn a_socket_handle_sends_json_from_a_spawned_task() {
    let app = start().await;
    let mut ws = app.ws("/background").await;
    ws.expect_text(r#"{"step":1}"#).await;
    ws.expect_json(&json!({ "step": 2, "unserializable": "Dropped" }))
        .await;
    ws.close().await;
    app.stop().await;
}
