//! Shared helpers for the integration tests: start a real server on `127.0.0.1:0`, talk to it
//! with hyper's HTTP/1 client connection API, or with a raw `TcpStream` for byte-level control.
//!
//! Every wait is bounded by [`WAIT`], so a bug fails a test instead of hanging it.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderMap, HeaderValue, CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use hyperbun::{Router, Server};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// The longest any single step of a test may take before it counts as hung.
pub const WAIT: Duration = Duration::from_secs(10);

/// Awaits `future`, failing the test with `what` if it takes longer than [`WAIT`].
pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(WAIT, future)
        .await
        .unwrap_or_else(|_| panic!("timed out after {WAIT:?}: {what}"))
}

/// A server running on `127.0.0.1` with a free port.
#[derive(Debug)]
pub struct TestServer {
    /// The server handle returned by `Router::listen`.
    pub server: Server,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl TestServer {
    /// Stops the server gracefully and waits (bounded) until it has stopped.
    pub async fn stop(self) {
        within("server.stop()", self.server.stop()).await;
    }
}

/// Starts serving `router` on `127.0.0.1:0`.
pub async fn spawn(router: Router) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let server = router.listen(listener).expect("listen");
    let addr = server.local_addr();
    TestServer { server, addr }
}

/// A request body for the hyper client.
pub type ClientBody = Full<Bytes>;

/// One HTTP/1.1 client connection; send several requests on it to exercise keep-alive.
pub type Conn = SendRequest<ClientBody>;

/// A response, fully read.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    /// The body as UTF-8 text.
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("response body is UTF-8")
    }

    /// The value of header `name`, which must be present exactly once.
    pub fn header(&self, name: &str) -> &str {
        let values: Vec<&HeaderValue> = self.headers.get_all(name).iter().collect();
        assert_eq!(values.len(), 1, "expected one `{name}` header in {self:?}");
        values[0].to_str().expect("header value is text")
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("response body is JSON")
    }
}

/// Opens a client connection (the connection task runs in the background).
pub async fn connect(addr: SocketAddr) -> Conn {
    let stream = within("TCP connect", TcpStream::connect(addr))
        .await
        .expect("connect");
    let (conn, connection) = within(
        "HTTP handshake",
        hyper::client::conn::http1::handshake(TokioIo::new(stream)),
    )
    .await
    .expect("handshake");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    conn
}

/// A request builder for `method path` with the `Host` header set.
pub fn request(method: Method, path: &str) -> hyper::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(path)
        .header(HOST, "127.0.0.1")
}

/// Sends `req` on `conn` and reads the whole response.
pub async fn send(conn: &mut Conn, req: Request<ClientBody>) -> Reply {
    let what = format!("{} {}", req.method(), req.uri());
    within(&what, async {
        conn.ready().await.expect("connection ready");
        let response = conn.send_request(req).await.expect("send request");
        let (parts, body) = response.into_parts();
        let body = body.collect().await.expect("read response body").to_bytes();
        Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    })
    .await
}

/// Sends `req` on a new connection.
pub async fn call(addr: SocketAddr, req: Request<ClientBody>) -> Reply {
    send(&mut connect(addr).await, req).await
}

/// `method path` without a body, on a new connection.
pub async fn fetch(addr: SocketAddr, method: Method, path: &str) -> Reply {
    call(addr, request(method, path).body(empty()).unwrap()).await
}

/// `GET path` on a new connection.
pub async fn get(addr: SocketAddr, path: &str) -> Reply {
    fetch(addr, Method::GET, path).await
}

/// `POST path` with a `Content-Type` and a body, on a new connection.
pub async fn post(
    addr: SocketAddr,
    path: &str,
    content_type: &str,
    body: impl Into<Bytes>,
) -> Reply {
    let req = request(Method::POST, path)
        .header(CONTENT_TYPE, content_type)
        .body(Full::new(body.into()))
        .unwrap();
    call(addr, req).await
}

/// An empty request body.
pub fn empty() -> ClientBody {
    Full::new(Bytes::new())
}

/// A raw TCP connection, for requests written byte by byte.
#[derive(Debug)]
pub struct RawConn {
    stream: BufReader<TcpStream>,
}

/// A response read off a [`RawConn`].
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    /// Header names lowercased, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The value of header `name` (lowercase), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as UTF-8 text.
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("response body is UTF-8")
    }
}

impl RawConn {
    /// Opens a TCP connection to `addr`.
    pub async fn connect(addr: SocketAddr) -> RawConn {
        let stream = within("TCP connect", TcpStream::connect(addr))
            .await
            .expect("connect");
        RawConn {
            stream: BufReader::new(stream),
        }
    }

    /// The client side's address of the connection.
    pub fn local_addr(&self) -> SocketAddr {
        self.stream.get_ref().local_addr().expect("local address")
    }

    /// Writes `bytes` as they are.
    pub async fn write(&mut self, bytes: impl AsRef<[u8]>) {
        within("write", self.stream.get_mut().write_all(bytes.as_ref()))
            .await
            .expect("write");
    }

    /// Reads one response; its body must be delimited by `Content-Length` (or be absent).
    pub async fn read_response(&mut self) -> RawResponse {
        within("read a response", async {
            let mut line = String::new();
            self.stream.read_line(&mut line).await.expect("read");
            let status = line
                .strip_prefix("HTTP/1.1 ")
                .and_then(|rest| rest.get(..3))
                .and_then(|code| code.parse().ok())
                .unwrap_or_else(|| panic!("not an HTTP/1.1 status line: {line:?}"));
            let mut headers = Vec::new();
            // Bounded: hyper's client-facing limit is 100 headers.
            for _ in 0..=100 {
                line.clear();
                self.stream.read_line(&mut line).await.expect("read");
                let header = line.trim_end_matches(['\r', '\n']);
                if header.is_empty() {
                    break;
                }
                let (name, value) = header.split_once(':').expect("header line has a colon");
                headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
            }
            let mut response = RawResponse {
                status,
                headers,
                body: Vec::new(),
            };
            assert_eq!(
                response.header("transfer-encoding"),
                None,
                "chunked responses are not supported here"
            );
            let length: usize = response
                .header("content-length")
                .map_or(0, |v| v.parse().expect("content-length is a number"));
            response.body = vec![0; length];
            self.stream
                .read_exact(&mut response.body)
                .await
                .expect("read body");
            response
        })
        .await
    }

    /// Reads until the server closes the connection (bounded by [`WAIT`]) and returns every
    /// byte received before that. A reset counts as closed.
    pub async fn read_until_closed(&mut self) -> Vec<u8> {
        within("the server to close the connection", async {
            let mut received = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                match self.stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return received,
                    Ok(n) => received.extend_from_slice(&buf[..n]),
                }
            }
        })
        .await
    }
}

/// Writes a whole request on a new raw connection and reads one response.
pub async fn raw_exchange(addr: SocketAddr, request: impl AsRef<[u8]>) -> RawResponse {
    let mut conn = RawConn::connect(addr).await;
    conn.write(request).await;
    conn.read_response().await
}

/// A raw `Transfer-Encoding: chunked` request: `head` is the request line and headers
/// (without the blank line); the body is sent as the given chunks and a last chunk.
pub fn chunked_request(head: &str, chunks: &[&[u8]]) -> Vec<u8> {
    let mut request = format!("{head}\r\nTransfer-Encoding: chunked\r\n\r\n").into_bytes();
    for chunk in chunks {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    request
}

// ---------------------------------------------------------------------------------------
// WebSocket clients: tokio-tungstenite for ordinary use, `RawWs` for byte-level frames.

/// A WebSocket client connection (tokio-tungstenite).
pub type WsClient = tokio_tungstenite::WebSocketStream<TcpStream>;

/// A client message (tungstenite's).
pub use tokio_tungstenite::tungstenite::Message as WsMessage;

/// Opens a WebSocket to `path` on `addr`, failing the test if the upgrade is refused.
pub async fn ws_connect(addr: SocketAddr, path: &str) -> WsClient {
    ws_connect_with(addr, path, &[]).await.0
}

/// Opens a WebSocket with extra request headers; returns the client and the `101` response.
pub async fn ws_connect_with(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> (
    WsClient,
    tokio_tungstenite::tungstenite::handshake::client::Response,
) {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = format!("ws://{addr}{path}")
        .into_client_request()
        .expect("valid ws url");
    for (name, value) in headers {
        req.headers_mut().insert(
            hyper::header::HeaderName::from_bytes(name.as_bytes()).expect("header name"),
            HeaderValue::from_str(value).expect("header value"),
        );
    }
    let stream = within("tcp connect", TcpStream::connect(addr))
        .await
        .expect("connect");
    within("ws handshake", tokio_tungstenite::client_async(req, stream))
        .await
        .unwrap_or_else(|e| panic!("ws handshake to {path} failed: {e}"))
}

/// The next message from the server (pings and pongs included), failing the test if the
/// connection ends or nothing arrives within [`WAIT`].
pub async fn ws_next(ws: &mut WsClient) -> WsMessage {
    use futures_util::StreamExt;
    within("next ws message", ws.next())
        .await
        .expect("the connection ended")
        .expect("ws error")
}

/// The next data message as text.
pub async fn ws_text(ws: &mut WsClient) -> String {
    loop {
        match ws_next(ws).await {
            WsMessage::Text(text) => return text.to_string(),
            WsMessage::Ping(_) | WsMessage::Pong(_) => {}
            other => panic!("expected a text message, got {other:?}"),
        }
    }
}

/// Sends a message.
pub async fn ws_send(ws: &mut WsClient, message: impl Into<WsMessage>) {
    use futures_util::SinkExt;
    within("ws send", ws.send(message.into()))
        .await
        .expect("ws send");
}

/// Reads until the server's close frame; returns its code and reason. Then keeps reading
/// until the connection ends, which sends tungstenite's answering close frame (it goes out
/// on the next read), so the server completes the closing handshake at once.
pub async fn ws_closed(ws: &mut WsClient) -> (u16, String) {
    use futures_util::StreamExt;
    let closed = loop {
        match ws_next(ws).await {
            WsMessage::Close(Some(frame)) => break (frame.code.into(), frame.reason.to_string()),
            WsMessage::Close(None) => break (1005, String::new()),
            _ => {}
        }
    };
    while let Some(Ok(_)) = within("the server ends the connection", ws.next()).await {}
    closed
}

/// A complete, valid WebSocket handshake request for `path` (RFC 6455's sample key), with
/// `extra` header lines (each ending in `\r\n`) before the blank line.
pub fn ws_handshake(addr: SocketAddr, path: &str, extra: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{extra}\r\n"
    )
}

/// A WebSocket over a raw socket: the handshake by hand, then frames written byte by byte,
/// for testing how the server treats broken input.
#[derive(Debug)]
pub struct RawWs {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

/// A frame read by [`RawWs`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFrame {
    pub fin: bool,
    /// RSV1: compressed (permessage-deflate).
    pub rsv1: bool,
    pub opcode: u8,
    pub payload: Vec<u8>,
}

impl RawFrame {
    /// The close code of a close frame (1005 when it has none).
    pub fn close_code(&self) -> u16 {
        assert_eq!(self.opcode, 8, "not a close frame: {self:?}");
        if self.payload.len() >= 2 {
            u16::from_be_bytes([self.payload[0], self.payload[1]])
        } else {
            1005
        }
    }
}

impl RawWs {
    /// Connects and completes the handshake for `path`.
    pub async fn connect(addr: SocketAddr, path: &str) -> RawWs {
        Self::connect_with(addr, path, "").await.0
    }

    /// Connects with `extra` request header lines (each ending in `\r\n`); returns the
    /// socket and the `101` response head.
    pub async fn connect_with(addr: SocketAddr, path: &str, extra: &str) -> (RawWs, String) {
        let mut stream = within("tcp connect", TcpStream::connect(addr))
            .await
            .expect("connect");
        let request = ws_handshake(addr, path, extra);
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut buf = Vec::new();
        let head_end = loop {
            let mut chunk = [0u8; 1024];
            let n = within("101 response", stream.read(&mut chunk))
                .await
                .expect("read");
            assert!(n > 0, "connection closed during the handshake");
            buf.extend_from_slice(&chunk[..n]);
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        assert!(head.starts_with("HTTP/1.1 101"), "not switched: {head}");
        assert!(
            head.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
            "wrong accept key: {head}"
        );
        buf.drain(..head_end);
        (RawWs { stream, buf }, head)
    }

    /// Writes raw bytes.
    pub async fn write(&mut self, bytes: &[u8]) {
        within("raw write", self.stream.write_all(bytes))
            .await
            .expect("write");
    }

    /// Writes one masked client frame. `first` is the first header byte (FIN, RSV, opcode).
    pub async fn frame(&mut self, first: u8, payload: &[u8]) {
        self.write(&hyperbun::test::masked_frame(first, payload))
            .await;
    }

    /// Reads the next frame from the server.
    pub async fn read_frame(&mut self) -> RawFrame {
        loop {
            if let Some((frame, used)) = parse_server_frame(&self.buf) {
                self.buf.drain(..used);
                return frame;
            }
            let mut chunk = [0u8; 64 * 1024];
            let n = within("raw frame", self.stream.read(&mut chunk))
                .await
                .expect("read");
            assert!(n > 0, "connection closed before a whole frame arrived");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Reads frames until a close frame; returns its code. Data frames before it are skipped.
    pub async fn expect_close(&mut self) -> u16 {
        loop {
            let frame = self.read_frame().await;
            if frame.opcode == 8 {
                return frame.close_code();
            }
        }
    }

    /// Waits until the server closes the TCP connection (EOF or reset).
    pub async fn expect_eof(&mut self) {
        let mut chunk = [0u8; 1024];
        loop {
            match within("server closes the connection", self.stream.read(&mut chunk)).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    }
}

fn parse_server_frame(buf: &[u8]) -> Option<(RawFrame, usize)> {
    if buf.len() < 2 {
        return None;
    }
    assert_eq!(buf[1] & 0x80, 0, "server frames must not be masked");
    let (len, mut at) = match buf[1] & 0x7f {
        126 => (u16::from_be_bytes([*buf.get(2)?, *buf.get(3)?]) as usize, 4),
        127 => {
            let bytes: [u8; 8] = buf.get(2..10)?.try_into().ok()?;
            (u64::from_be_bytes(bytes) as usize, 10)
        }
        n => (n as usize, 2),
    };
    let payload = buf.get(at..at + len)?.to_vec();
    at += len;
    Some((
        RawFrame {
            fin: buf[0] & 0x80 != 0,
            rsv1: buf[0] & 0x40 != 0,
            opcode: buf[0] & 0x0f,
            payload,
        },
        at,
    ))
}

/// Waits (at most [`WAIT`]) until `topic` has exactly `n` subscribers.
pub async fn wait_subscribers(server: &Server, topic: &str, n: usize) {
    within(&format!("{n} subscribers on {topic:?}"), async {
        while server.subscriber_count(topic) != n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

/// A log that handlers append to and tests wait on, keyed so parallel tests do not mix.
pub mod journal {
    use std::collections::HashMap;
    use std::sync::{LazyLock, Mutex};

    use tokio::sync::Notify;

    static LINES: LazyLock<Mutex<HashMap<String, Vec<String>>>> = LazyLock::new(Default::default);
    static CHANGED: Notify = Notify::const_new();

    /// Appends `line` under `key`.
    pub fn push(key: &str, line: impl Into<String>) {
        LINES
            .lock()
            .unwrap()
            .entry(key.to_owned())
            .or_default()
            .push(line.into());
        CHANGED.notify_waiters();
    }

    /// Everything logged under `key` so far.
    pub fn lines(key: &str) -> Vec<String> {
        LINES.lock().unwrap().get(key).cloned().unwrap_or_default()
    }

    /// Waits (at most [`WAIT`](crate::WAIT)) until `key` has at least `count` lines; returns
    /// them all.
    pub async fn wait(key: &str, count: usize) -> Vec<String> {
        crate::within(&format!("{count} journal lines under {key:?}"), async {
            loop {
                let notified = CHANGED.notified();
                let lines = lines(key);
                if lines.len() >= count {
                    return lines;
                }
                notified.await;
            }
        })
        .await
    }
}
