//! `hyperbun::client` and `hyperbun::test` against real servers on 127.0.0.1: messages both
//! ways, headers, subprotocols, permessage-deflate, ping/pong, closing from either side, a
//! refused upgrade's status, servers that break the protocol, `wss://` through a TLS proxy,
//! and the test helpers' failure messages.

use std::time::Duration;

use futures_util::FutureExt;
use hyperbun::client::{ClientBuilder, ClientError, ClientEvent, CloseFrame, ConnectError};
use hyperbun::prelude::*;
use hyperbun::test::{TestServer, TestWebSocket};
use hyperbun_tests::TestCert;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// `/echo`: echoes; `ping-me` pings the client, `close-me` closes with 4001; a pong is
/// reported as `pong:PAYLOAD`. On close, publishes `closed CODE REASON` to `log`.
struct Echo;

#[websocket("/echo", per_message_deflate = true, protocols = ["chat.v2", "chat.v1"])]
impl Echo {
    fn message(ws: &mut WebSocket, msg: Message) {
        match msg.as_text() {
            Some("ping-me") => {
                ws.ping(b"are you there");
            }
            Some("close-me") => ws.close(4001, "as asked"),
            _ => {
                ws.send_compressed(msg);
            }
        }
    }
    fn pong(ws: &mut WebSocket, payload: Bytes) {
        ws.send(format!("pong:{}", String::from_utf8_lossy(&payload)));
    }
    fn close(ws: &mut WebSocket, code: u16, reason: &str) {
        let _ = ws
            .server()
            .publish("log", format!("closed {code} {reason}"));
    }
}

/// `/log`: receives what `/echo`'s close handler publishes.
struct Log;

#[websocket("/log")]
impl Log {
    fn open(ws: &mut WebSocket) {
        ws.subscribe("log");
    }
    fn message(_ws: &mut WebSocket, _msg: Message) {}
}

/// `/private`: only with `Authorization: Bearer let-me-in`.
struct Private;

#[websocket("/private", data = String)]
impl Private {
    fn open(ws: &mut WebSocket<String>) {
        let hello = format!("hello {}", ws.data);
        ws.send(hello);
    }
    fn message(_ws: &mut WebSocket<String>, _msg: Message) {}
}

#[upgrade("/private")]
fn private_hook(headers: HeaderMap) -> Result<Upgrade<String>, (StatusCode, &'static str)> {
    match headers.get("authorization").and_then(|v| v.to_str().ok()) {
        Some("Bearer let-me-in") => Ok(Upgrade::new("ada".to_owned())),
        _ => Err((StatusCode::UNAUTHORIZED, "a bearer token is required")),
    }
}

#[get("/plain")]
async fn plain() -> &'static str {
    "not a socket"
}

async fn start() -> TestServer {
    TestServer::start(hyperbun::router![Echo, Log, Private, private_hook, plain]).await
}

#[tokio::test]
async fn messages_both_ways() {
    let app = start().await;
    let mut ws = app.ws("/echo").await;
    assert!(!ws.client().is_compressed(), "not offered, not agreed");
    assert_eq!(ws.client().protocol(), None);
    ws.send("héllo").await;
    ws.expect_text("héllo").await;
    ws.send(vec![0u8, 1, 2, 255]).await;
    ws.expect_binary(&[0, 1, 2, 255]).await;
    let big: Vec<u8> = (0..=255).cycle().take(3 << 20).collect();
    ws.send(big.clone()).await;
    assert_eq!(ws.recv().await.as_bytes(), &big[..]);
    ws.send(r#"{"a": [1, 2]}"#).await;
    ws.expect_json(&json!({"a": [1, 2]})).await;
    ws.send("").await;
    ws.expect_text("").await;
    ws.close().await;
    app.stop().await;
}

#[tokio::test]
async fn headers_subprotocols_and_a_refusal() {
    let app = start().await;
    // A header the upgrade hook checks.
    let builder =
        ClientBuilder::new(app.ws_url("/private")).header("Authorization", "Bearer let-me-in");
    let mut ws = app.ws_with(builder).await.expect("authorized");
    ws.expect_text("hello ada").await;

    // Without it: the hook's 401, with its body, as an error.
    match app
        .ws_with(ClientBuilder::new(app.ws_url("/private")))
        .await
    {
        Err(ConnectError::Refused { status, body, .. }) => {
            assert_eq!(status, StatusCode::UNAUTHORIZED);
            assert_eq!(&body[..], b"a bearer token is required");
        }
        other => panic!("expected a 401 refusal, got {other:?}"),
    }
    // A plain route answers as it always does: not a 101.
    let refused = hyperbun::client::connect(&app.ws_url("/plain"))
        .await
        .unwrap_err();
    assert_eq!(
        refused.to_string(),
        "the server refused the WebSocket upgrade: 200 OK (not a socket)"
    );
    let missing = hyperbun::client::connect(&app.ws_url("/nowhere"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            missing,
            ConnectError::Refused {
                status: StatusCode::NOT_FOUND,
                ..
            }
        ),
        "{missing}"
    );

    // The server takes the client's first offer that it speaks.
    let builder =
        ClientBuilder::new(app.ws_url("/echo")).protocols(["chat.v3", "chat.v1", "chat.v2"]);
    let mut ws = app.ws_with(builder).await.expect("protocols");
    assert_eq!(ws.client().protocol(), Some("chat.v1"));
    assert_eq!(
        ws.client().response_headers()["sec-websocket-protocol"],
        "chat.v1"
    );
    ws.close().await;

    // Bad input is an error before anything is sent.
    let bad = ClientBuilder::new(app.ws_url("/echo")).header("bad header", "x");
    assert!(matches!(
        bad.connect().await,
        Err(ConnectError::InvalidHeader { .. })
    ));
    assert!(matches!(
        hyperbun::client::connect("http://127.0.0.1/").await,
        Err(ConnectError::InvalidUrl { .. })
    ));
    app.stop().await;
}

#[tokio::test]
async fn permessage_deflate_is_negotiated_and_used_both_ways() {
    let app = start().await;
    let builder = ClientBuilder::new(app.ws_url("/echo")).per_message_deflate(true);
    let mut ws = app.ws_with(builder).await.expect("deflate");
    assert!(ws.client().is_compressed());
    assert_eq!(
        ws.client().response_headers()["sec-websocket-extensions"],
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
         client_max_window_bits=15"
    );
    let text = "the quick brown fox jumps over the lazy dog ".repeat(1000);
    for _ in 0..3 {
        ws.send(text.as_str()).await;
        ws.expect_text(&text).await;
        ws.send("").await;
        ws.expect_text("").await;
    }
    let binary = vec![7u8; 1 << 20];
    ws.send(binary.clone()).await;
    ws.expect_binary(&binary).await;
    ws.close().await;
    app.stop().await;
}

#[tokio::test]
async fn ping_pong_both_ways() {
    let app = start().await;
    let mut ws = app.ws("/echo").await;
    // Our ping: the server answers with a pong.
    ws.client().ping(b"ours").await.expect("ping");
    let event = ws.client().next_event().await.expect("an event");
    assert_eq!(event, ClientEvent::Pong(Bytes::from_static(b"ours")));
    // The server's ping: answered by the client by itself (the server reports the pong).
    ws.send("ping-me").await;
    let event = ws.client().next_event().await.expect("an event");
    assert_eq!(
        event,
        ClientEvent::Ping(Bytes::from_static(b"are you there"))
    );
    ws.expect_text("pong:are you there").await;
    assert!(matches!(
        ws.client().ping([0u8; 126]).await,
        Err(ClientError::ControlTooLong(126))
    ));
    ws.close().await;
    app.stop().await;
}

#[tokio::test]
async fn closing_from_either_side() {
    let app = start().await;
    let mut log = app.ws("/log").await;
    app.wait_subscribers("log", 1).await;

    // Ours: the server's close handler sees our code and reason, and answers.
    let mut ws = app.ws("/echo").await;
    let answer = ws.client().close(4000, "bye now").await.expect("close");
    assert_eq!(
        answer,
        Some(CloseFrame {
            code: 4000,
            reason: String::new()
        })
    );
    log.expect_text("closed 4000 bye now").await;
    assert!(ws.client().is_closed());
    assert!(matches!(
        ws.client().send_text("late").await,
        Err(ClientError::Closed)
    ));
    assert!(matches!(ws.client().recv().await, Err(ClientError::Closed)));
    assert!(matches!(
        ws.client().close(1000, "").await,
        Err(ClientError::Closed)
    ));

    // Theirs: recv ends with None and the close frame is kept.
    let mut ws = app.ws("/echo").await;
    ws.send("close-me").await;
    let close = ws.expect_close(4001).await;
    assert_eq!(close.reason, "as asked");
    log.expect_text("closed 4001 as asked").await;
    log.close().await;

    let mut ws = app.ws("/echo").await;
    ws.send("close-me").await;
    assert_eq!(ws.client().recv().await.expect("clean close"), None);
    assert_eq!(
        ws.client().close_frame().flatten().map(|c| c.code),
        Some(4001)
    );

    // A code an endpoint may not send is refused locally.
    let mut ws = app.ws("/echo").await;
    assert!(matches!(
        ws.client().close(1005, "").await,
        Err(ClientError::InvalidCloseCode(1005))
    ));
    ws.close().await;
    app.stop().await;
}

/// A fake server: accepts one connection, reads the upgrade request, writes `answer(key)`
/// and then `after`, and returns what the client sent afterwards (until it closes, ≤ 5 s).
async fn fake_server(
    answer: fn(&str) -> String,
    after: Vec<u8>,
) -> (String, tokio::task::JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("ws://{}/", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accept");
        let mut request = Vec::new();
        while !request.ends_with(b"\r\n\r\n") {
            let mut byte = [0];
            stream.read_exact(&mut byte).await.expect("request");
            request.push(byte[0]);
        }
        let request = String::from_utf8(request).expect("text");
        let key = request
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .expect("a key")
            .trim()
            .to_owned();
        stream
            .write_all(answer(&key).as_bytes())
            .await
            .expect("answer");
        stream.write_all(&after).await.expect("after");
        let mut rest = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest)).await;
        rest
    });
    (url, task)
}

/// The RFC 6455 accept key for `key`.
fn accept(key: &str) -> String {
    use base64::Engine;
    let mut sha1 = sha1_smol::Sha1::new();
    sha1.update(key.as_bytes());
    sha1.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    base64::engine::general_purpose::STANDARD.encode(sha1.digest().bytes())
}

fn switching(key: &str) -> String {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        accept(key)
    )
}

#[tokio::test]
async fn servers_that_break_the_protocol() {
    // A wrong accept key.
    let (url, _server) = fake_server(
        |_| "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: nope\r\n\r\n".into(),
        Vec::new(),
    )
    .await;
    let error = hyperbun::client::connect(&url).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid upgrade answer: wrong Sec-WebSocket-Accept"
    );

    // An extension that was not offered.
    let (url, _server) = fake_server(
        |key| {
            switching(key).replace(
                "\r\n\r\n",
                "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
            )
        },
        Vec::new(),
    )
    .await;
    let error = hyperbun::client::connect(&url).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid upgrade answer: an extension that was not offered"
    );

    // A masked frame from the server: the client closes with 1002.
    let masked_text = vec![0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2];
    let (url, server) = fake_server(switching, masked_text).await;
    let mut ws = hyperbun::client::connect(&url).await.expect("connects");
    match ws.recv().await {
        Err(ClientError::Protocol { code: 1002, .. }) => {}
        other => panic!("expected a 1002 protocol error, got {other:?}"),
    }
    let sent = server.await.expect("fake server");
    // The client's close frame: FIN + close opcode, masked, code 1002 after unmasking.
    assert_eq!(sent[0], 0x88);
    assert!(sent[1] & 0x80 != 0, "masked");
    let mask = &sent[2..6];
    assert_eq!(
        [sent[6] ^ mask[0], sent[7] ^ mask[1]],
        1002u16.to_be_bytes()
    );

    // A server that goes away without a close frame.
    let (url, server) = fake_server(switching, Vec::new()).await;
    let mut ws = hyperbun::client::connect(&url).await.expect("connects");
    server.abort(); // drops its end of the connection
    let result = tokio::time::timeout(Duration::from_secs(10), ws.recv()).await;
    assert!(
        matches!(result, Ok(Err(ClientError::Abrupt))),
        "expected Abrupt, got {result:?}"
    );

    // A server that never answers: the builder's timeout.
    let silent = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("ws://{}/", silent.local_addr().expect("addr"));
    let started = std::time::Instant::now();
    let error = ClientBuilder::new(url)
        .timeout(Duration::from_millis(300))
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(error, ConnectError::Timeout(_)), "{error}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn wss_through_a_tls_proxy() {
    let app = start().await;
    // A certificate for `localhost` from a throwaway CA that only this client trusts.
    let cert = TestCert::new();

    // The proxy: TLS in, plain TCP to the app.
    let proxy = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = proxy.local_addr().expect("addr").port();
    let acceptor = tokio_rustls::TlsAcceptor::from(cert.server_config());
    let backend = app.addr();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = proxy.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut plain = tokio::net::TcpStream::connect(backend)
                    .await
                    .expect("backend");
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });

    let builder = ClientBuilder::new(format!("wss://localhost:{port}/echo"))
        .tls_config(cert.client_config())
        .per_message_deflate(true);
    let mut ws = app.ws_with(builder).await.expect("wss connects");
    ws.send("over TLS").await;
    ws.expect_text("over TLS").await;
    ws.close().await;

    // Without the certificate among the roots: a TLS error, not a hang.
    let error = hyperbun::client::connect(&format!("wss://localhost:{port}/echo"))
        .await
        .unwrap_err();
    assert!(matches!(error, ConnectError::Io { .. }), "{error}");
    assert!(error.to_string().contains("certificate"), "{error}");
    app.stop().await;
}

/// Runs `future`, which must panic; returns the panic message.
async fn panic_message(future: impl std::future::Future<Output = ()>) -> String {
    let panic = std::panic::AssertUnwindSafe(future)
        .catch_unwind()
        .await
        .expect_err("expected a panic");
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

#[tokio::test]
async fn test_helpers_say_what_was_expected_and_what_came() {
    let app = start().await;
    let mut ws: TestWebSocket = app
        .ws("/echo")
        .await
        .with_timeout(Duration::from_millis(300));
    ws.send("actual").await;
    let message = panic_message(ws.expect_text("wanted")).await;
    assert_eq!(message, r#"expected text "wanted", received text "actual""#);

    ws.send(vec![1u8, 2]).await;
    let message = panic_message(ws.expect_text("wanted")).await;
    assert_eq!(message, r#"expected text "wanted", received binary [1, 2]"#);

    let message = panic_message(ws.expect_text("wanted")).await;
    assert_eq!(
        message,
        r#"expected text "wanted", received nothing within 300ms"#
    );

    ws.send("close-me").await;
    let message = panic_message(async {
        ws.recv().await;
    })
    .await;
    assert_eq!(
        message,
        r#"expected a message, received a close frame with 4001 "as asked""#
    );

    let message = panic_message(async {
        app.ws("/private").await;
    })
    .await;
    assert_eq!(
        message,
        "WebSocket to /private: the server refused the WebSocket upgrade: 401 Unauthorized \
         (a bearer token is required)"
    );
    let mut ws = app.ws("/echo").await;
    ws.expect_silence(Duration::from_millis(100)).await;
    ws.send("x").await;
    let message = panic_message(ws.expect_silence(Duration::from_millis(300))).await;
    assert_eq!(message, r#"expected nothing for 300ms, received text "x""#);
    assert_eq!(app.get("/plain").await.text(), "not a socket");
    drop(ws); // a client that is not read cannot answer the server's 1001 (see TestServer::stop)
    app.stop().await;
}
