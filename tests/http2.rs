//! HTTP/2 on the server's cleartext port (prior knowledge, as `curl --http2-prior-knowledge`
//! speaks it), next to HTTP/1.1, and WebSockets over HTTP/2 (RFC 8441): routes, limits,
//! graceful stop, sockets with hooks, subprotocols, compression and pub/sub, and per-stream
//! flow control. The clients are hyper's HTTP/2 client and hyperbun's own client with
//! `ClientBuilder::http2`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyperbun::client::{ClientBuilder, ConnectError};
use hyperbun::http;
use hyperbun::prelude::*;
use hyperbun::test::{masked_frame, TestResponse, TestServer};
use hyperbun_tests::{expect_echoes, setup_tool, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;

#[get("/hello")]
async fn hello() -> &'static str {
    "Hello over any HTTP"
}

#[post("/echo", body_limit = 1024)]
async fn echo(body: String) -> String {
    body
}

#[get("/version")]
async fn version(req: Request) -> String {
    format!("{:?}", req.version())
}

#[get("/slow")]
async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_millis(300)).await;
    "finished"
}

struct Echo;

#[websocket("/echo-ws", protocols = ["chat.v2", "chat.v1"], per_message_deflate = true)]
impl Echo {
    fn open(ws: &mut WebSocket) {
        ws.subscribe("room");
    }
    fn message(ws: &mut WebSocket, msg: Message) {
        if let Some(text) = msg.as_text().and_then(|t| t.strip_prefix("publish ")) {
            ws.publish("room", text.to_owned());
        } else {
            ws.send(msg);
        }
    }
}

struct Named;

#[websocket("/named", data = String)]
impl Named {
    fn open(ws: &mut WebSocket<String>) {
        let hello = format!("hello, {}", ws.data);
        ws.send(hello);
    }
    fn message(_ws: &mut WebSocket<String>, _msg: Message) {}
}

#[upgrade("/named")]
async fn admit(headers: HeaderMap) -> Result<Upgrade<String>, StatusCode> {
    let name = headers.get("x-name").and_then(|v| v.to_str().ok());
    let name = name.ok_or(StatusCode::UNAUTHORIZED)?;
    Ok(Upgrade::new(name.to_owned()))
}

static RELEASE_STUCK: Notify = Notify::const_new();
static STUCK_MESSAGES: AtomicUsize = AtomicUsize::new(0);

/// A socket whose handler stops reading: the first message waits until the test releases it.
struct Stuck;

#[websocket("/stuck")]
impl Stuck {
    async fn message(_ws: &mut WebSocket, _msg: Message) {
        if STUCK_MESSAGES.fetch_add(1, Ordering::SeqCst) == 0 {
            RELEASE_STUCK.notified().await;
        }
    }
}

fn app() -> Router {
    hyperbun::router![hello, echo, version, slow, Echo, Named, admit, Stuck]
}

/// An HTTP/2 connection by prior knowledge.
async fn h2(addr: SocketAddr) -> SendRequest<Full<Bytes>> {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let (sender, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .handshake(TokioIo::new(tcp))
        .await
        .expect("HTTP/2 handshake");
    tokio::spawn(conn);
    sender
}

async fn send(
    sender: &mut SendRequest<Full<Bytes>>,
    method: Method,
    path: &str,
    body: &'static str,
) -> TestResponse {
    let req = http::Request::builder()
        .method(method)
        .uri(format!("http://127.0.0.1{path}"))
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap();
    within(path, async {
        let response = sender.send_request(req).await.expect("response");
        let (parts, body) = response.into_parts();
        TestResponse {
            status: parts.status,
            headers: parts.headers,
            body: body.collect().await.expect("body").to_bytes(),
        }
    })
    .await
}

#[tokio::test]
async fn every_route_answers_over_http2_with_prior_knowledge() {
    let app = TestServer::start(app()).await;
    let mut h2 = h2(app.addr()).await;
    let hello = send(&mut h2, Method::GET, "/hello", "").await;
    assert_eq!(hello.status, StatusCode::OK);
    assert_eq!(hello.text(), "Hello over any HTTP");
    assert_eq!(
        send(&mut h2, Method::GET, "/version", "").await.text(),
        "HTTP/2.0"
    );
    let head = send(&mut h2, Method::HEAD, "/hello", "").await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty(), "HEAD has no body");
    assert_eq!(head.header("content-length"), Some("19"));
    let options = send(&mut h2, Method::OPTIONS, "/echo", "").await;
    assert_eq!(options.status, StatusCode::NO_CONTENT);
    assert_eq!(options.header("allow"), Some("POST, OPTIONS"));
    let wrong = send(&mut h2, Method::DELETE, "/hello", "").await;
    assert_eq!(wrong.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        send(&mut h2, Method::GET, "/nowhere", "").await.status,
        StatusCode::NOT_FOUND
    );
    let echoed = send(&mut h2, Method::POST, "/echo", "over h2").await;
    assert_eq!(echoed.text(), "over h2");
    // The same port still speaks HTTP/1.1.
    assert_eq!(app.get("/version").await.text(), "HTTP/1.1");
    app.stop().await;
}

#[tokio::test]
async fn the_body_limit_holds_over_http2() {
    let app = TestServer::start(app()).await;
    let mut h2 = h2(app.addr()).await;
    let big: &'static str = "x".repeat(2048).leak();
    let refused = send(&mut h2, Method::POST, "/echo", big).await;
    assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
    // The connection goes on.
    assert_eq!(
        send(&mut h2, Method::POST, "/echo", "small").await.text(),
        "small"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_header_list_over_the_limit_is_refused_over_both_versions() {
    let router = app().config(ServerConfig::default().max_request_header_size(8 * 1024));
    let app = TestServer::start(router).await;
    let big = "v".repeat(10 * 1024);
    let mut headers = HeaderMap::new();
    headers.insert("x-big", big.parse().unwrap());
    let h1 = app
        .request(Method::GET, "/hello", headers, Bytes::new())
        .await;
    assert_eq!(h1.status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    let mut sender = h2(app.addr()).await;
    let req = http::Request::builder()
        .uri("http://127.0.0.1/hello")
        .header("x-big", big.as_str())
        .body(Full::new(Bytes::new()))
        .unwrap();
    let refused = within("oversized h2 request", sender.send_request(req)).await;
    match refused {
        Ok(response) => {
            assert_eq!(
                response.status(),
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
            );
        }
        Err(e) => panic!("the server should answer 431, not reset: {e}"),
    }
    app.stop().await;
}

#[tokio::test]
async fn a_graceful_stop_finishes_the_http2_request_in_flight() {
    let app = TestServer::start(app()).await;
    let mut sender = h2(app.addr()).await;
    let in_flight = tokio::spawn(async move { send(&mut sender, Method::GET, "/slow", "").await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let server = app.server().clone();
    let addr = app.addr();
    within("graceful stop", server.stop()).await;
    let finished = within("request in flight", in_flight).await.unwrap();
    assert_eq!(finished.text(), "finished");
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no longer accepting"
    );
}

fn ws_url(app: &TestServer, path: &str) -> String {
    app.ws_url(path)
}

#[tokio::test]
async fn a_websocket_over_http2_echoes_with_its_subprotocol_and_compression() {
    let app = TestServer::start(app()).await;
    let mut ws = ClientBuilder::new(ws_url(&app, "/echo-ws"))
        .http2(true)
        .protocols(["chat.v1"])
        .per_message_deflate(true)
        .connect()
        .await
        .expect("extended CONNECT");
    assert_eq!(ws.protocol(), Some("chat.v1"));
    assert!(ws.is_compressed(), "permessage-deflate agreed over HTTP/2");
    expect_echoes(&mut ws, &"compressible ".repeat(200)).await;
    ws.close(1000, "done").await.unwrap();
    app.stop().await;
}

#[tokio::test]
async fn an_upgrade_hook_decides_over_http2_as_over_http1() {
    let app = TestServer::start(app()).await;
    let refused = ClientBuilder::new(ws_url(&app, "/named"))
        .http2(true)
        .connect()
        .await
        .expect_err("no name");
    match refused {
        ConnectError::Refused { status, .. } => assert_eq!(status, StatusCode::UNAUTHORIZED),
        other => panic!("expected a refusal, got {other}"),
    }
    let mut ws = ClientBuilder::new(ws_url(&app, "/named"))
        .http2(true)
        .header("x-name", "ada")
        .connect()
        .await
        .expect("admitted");
    let hello = within("hello", ws.recv()).await.unwrap().unwrap();
    assert_eq!(hello.as_text(), Some("hello, ada"));
    ws.close(1000, "done").await.unwrap();
    app.stop().await;
}

#[tokio::test]
async fn an_http2_socket_and_an_http1_socket_share_a_topic() {
    let app = TestServer::start(app()).await;
    let mut over_h2 = ClientBuilder::new(ws_url(&app, "/echo-ws"))
        .http2(true)
        .connect()
        .await
        .expect("h2 socket");
    let mut over_h1 = app.ws("/echo-ws").await;
    app.wait_subscribers("room", 2).await;
    over_h2.send("publish from h2").await.unwrap();
    over_h1.expect_text("from h2").await;
    over_h1.send("publish from h1").await;
    let got = within("publish to the h2 socket", over_h2.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.as_text(), Some("from h1"));
    assert_eq!(app.server().publish("room", "from the server").delivered, 2);
    over_h1.expect_text("from the server").await;
    let got = within("server publish", over_h2.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.as_text(), Some("from the server"));
    over_h2.close(1000, "done").await.unwrap();
    over_h1.close().await;
    app.stop().await;
}

/// An HTTP/2 connection of the `h2` crate, which shows flow control to its user: how much
/// a stream may send is what the server's windows allow, and nothing is buffered beyond it.
async fn h2_client(addr: SocketAddr) -> h2::client::SendRequest<Bytes> {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let (client, conn) = h2::client::handshake(tcp).await.expect("HTTP/2 handshake");
    tokio::spawn(conn);
    within("SETTINGS_ENABLE_CONNECT_PROTOCOL", async move {
        let mut client = client.ready().await.expect("ready");
        while !client.is_extended_connect_protocol_enabled() {
            tokio::time::sleep(Duration::from_millis(5)).await;
            client = client.ready().await.expect("ready");
        }
        client
    })
    .await
}

/// Opens a WebSocket with an extended CONNECT on `client`'s connection.
async fn open_on(
    client: &mut h2::client::SendRequest<Bytes>,
    path: &str,
) -> (h2::SendStream<Bytes>, h2::RecvStream) {
    let mut req = http::Request::builder()
        .method(Method::CONNECT)
        .uri(format!("http://127.0.0.1{path}"))
        .header("sec-websocket-version", "13")
        .body(())
        .unwrap();
    req.extensions_mut()
        .insert(h2::ext::Protocol::from_static("websocket"));
    let (response, send) = client.send_request(req, false).expect("send CONNECT");
    let response = within("extended CONNECT", response).await.expect("answer");
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "RFC 8441 accepts with 200"
    );
    assert!(response.headers().get("sec-websocket-accept").is_none());
    (send, response.into_body())
}

/// Sends `data` as the stream's flow control allows; returns how much went before the
/// window stayed shut for `patience`.
async fn send_while_window_opens(
    send: &mut h2::SendStream<Bytes>,
    mut data: Bytes,
    patience: Duration,
) -> usize {
    let mut sent = 0;
    while !data.is_empty() {
        send.reserve_capacity(data.len());
        let capacity = std::future::poll_fn(|cx| send.poll_capacity(cx));
        match tokio::time::timeout(patience, capacity).await {
            Ok(Some(Ok(n))) if n > 0 => {
                send.send_data(data.split_to(n), false).expect("send data");
                sent += n;
            }
            Ok(Some(Ok(_))) => {}
            Ok(_) => panic!("stream closed"),
            Err(_) => break,
        }
    }
    sent
}

#[tokio::test]
async fn a_socket_that_stops_reading_does_not_stall_the_others_on_its_connection() {
    let app = TestServer::start(app()).await;
    let mut client = h2_client(app.addr()).await;
    let (mut stuck, stuck_recv) = open_on(&mut client, "/stuck").await;
    let (mut echo, mut echo_recv) = open_on(&mut client, "/echo-ws").await;
    // 4 MiB of messages for a handler that reads nothing after the first: its stream's
    // window fills and stays full.
    let frame = masked_frame(0x82, &[7; 16 * 1024]);
    let mut flood = BytesMut::new();
    for _ in 0..256 {
        flood.extend_from_slice(&frame);
    }
    let sent =
        send_while_window_opens(&mut stuck, flood.freeze(), Duration::from_millis(300)).await;
    assert!(
        sent < 4 << 20,
        "the stuck stream's window shut ({sent} bytes went)"
    );
    // A 512 KiB message on the other stream needs the connection's window too: more than
    // the stuck socket read before it stopped.
    let big = masked_frame(0x82, &[9; 512 * 1024]);
    let big_len = big.len();
    let went = send_while_window_opens(&mut echo, Bytes::from(big), Duration::from_secs(2)).await;
    assert_eq!(
        went, big_len,
        "the other stream may send while one is stuck"
    );
    let mut echoed = 0;
    within("echo beside a stuck stream", async {
        while echoed < 512 * 1024 {
            let chunk = echo_recv
                .data()
                .await
                .expect("echo data")
                .expect("no error");
            echo_recv
                .flow_control()
                .release_capacity(chunk.len())
                .unwrap();
            echoed += chunk.len();
        }
    })
    .await;
    RELEASE_STUCK.notify_one();
    drop((stuck, stuck_recv, echo, echo_recv, client));
    app.stop().await;
}

#[tokio::test]
async fn an_http2_get_to_a_socket_route_is_told_how_to_ask() {
    let app = TestServer::start(app()).await;
    let mut h2 = h2(app.addr()).await;
    let plain = send(&mut h2, Method::GET, "/echo-ws", "").await;
    assert_eq!(plain.status, StatusCode::BAD_REQUEST);
    assert!(
        plain.text().contains("extended CONNECT"),
        "{}",
        plain.text()
    );
    app.stop().await;
}

#[tokio::test]
async fn http2_can_be_turned_off() {
    let router = app().config(ServerConfig::default().http2(false));
    let app = TestServer::start(router).await;
    let mut tcp = TcpStream::connect(app.addr()).await.unwrap();
    tcp.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = within("HTTP/1.1's answer", tcp.read_to_end(&mut answer)).await;
    // HTTP/1.1 does not understand it: the connection ends without HTTP/2's SETTINGS.
    assert!(
        answer.is_empty() || answer.starts_with(b"HTTP/1.1 4"),
        "HTTP/1.1 refuses the preface: {:?}",
        String::from_utf8_lossy(&answer)
    );
    assert_eq!(app.get("/hello").await.text(), "Hello over any HTTP");
    app.stop().await;
}

#[tokio::test]
async fn curl_with_prior_knowledge_speaks_http2_to_the_cleartext_port() {
    let curl = tokio::task::spawn_blocking(|| setup_tool("interop/setup-curl.sh"))
        .await
        .expect("interop/setup-curl.sh");
    let app = TestServer::start(app()).await;
    let url = app.url("/version");
    for (flag, body, version) in [
        ("--http2-prior-knowledge", "HTTP/2.0", "2"),
        ("--http1.1", "HTTP/1.1", "1.1"),
    ] {
        let output = within(
            "curl",
            tokio::process::Command::new(&curl)
                .args(["--silent", "--show-error", "--max-time", "5", flag])
                .args(["--write-out", "\n%{http_version}", &url])
                .output(),
        )
        .await
        .expect("run curl");
        assert!(output.status.success(), "curl {flag}: {output:?}");
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert_eq!(stdout, format!("{body}\n{version}"), "curl {flag}");
    }
    app.stop().await;
}

#[tokio::test]
async fn an_idle_http2_connection_is_closed_like_an_idle_http1_one() {
    let config = ServerConfig::default().header_read_timeout(Some(Duration::from_millis(200)));
    let app = TestServer::start(app().config(config)).await;
    let tcp = TcpStream::connect(app.addr()).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .handshake::<_, Full<Bytes>>(TokioIo::new(tcp))
        .await
        .expect("HTTP/2 handshake");
    let conn = tokio::spawn(conn);
    assert_eq!(
        send(&mut sender, Method::GET, "/hello", "").await.status,
        StatusCode::OK
    );
    // Idle from here: closed (GOAWAY) after one to two periods.
    let closed = tokio::time::timeout(Duration::from_secs(2), conn).await;
    assert!(closed.is_ok(), "the idle HTTP/2 connection is still open");
    app.stop().await;
}

#[tokio::test]
async fn an_http2_connection_with_an_open_websocket_is_not_idle() {
    let config = ServerConfig::default().header_read_timeout(Some(Duration::from_millis(100)));
    let app = TestServer::start(app().config(config)).await;
    let mut client = h2_client(app.addr()).await;
    let (mut send, mut recv) = open_on(&mut client, "/echo-ws").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Five idle periods later the connection still takes new streams (no GOAWAY)...
    let req = http::Request::get("http://127.0.0.1/hello")
        .body(())
        .unwrap();
    let mut ready = within("ready", client.clone().ready())
        .await
        .expect("no GOAWAY");
    let (response, _) = ready.send_request(req, true).expect("a new stream");
    let response = within("GET on the same connection", response)
        .await
        .expect("answer");
    assert_eq!(response.status(), StatusCode::OK);
    // ...and the socket works.
    send.send_data(Bytes::from(masked_frame(0x81, b"still open")), false)
        .unwrap();
    let echoed = within("echo", recv.data()).await.unwrap().unwrap();
    assert_eq!(&echoed[2..], b"still open");
    drop((send, recv, client, ready));
    app.stop().await;
}
