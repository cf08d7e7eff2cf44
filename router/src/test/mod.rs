//! Test utilities: run a router on an ephemeral port, make HTTP requests, open WebSocket
//! clients and await expected messages, with timeouts and failure messages that show what
//! was expected and what arrived.
//!
//! Everything here panics on failure (it is for tests): a request that cannot be sent, a
//! message that does not come within the timeout (5 s unless changed), a message that is not
//! the expected one.
//!
//! ```
//! use hyperbun::prelude::*;
//! use hyperbun::test::TestServer;
//!
//! struct Echo;
//!
//! #[websocket("/echo")]
//! impl Echo {
//!     fn message(ws: &mut WebSocket, msg: Message) {
//!         ws.send(msg);
//!     }
//! }
//!
//! #[get("/health")]
//! async fn health() -> &'static str {
//!     "ok"
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let app = TestServer::start(hyperbun::router![Echo, health]).await;
//! assert_eq!(app.get("/health").await.text(), "ok");
//!
//! let mut ws = app.ws("/echo").await;
//! ws.send("hello").await;
//! ws.expect_text("hello").await;
//! ws.close().await;
//! app.stop().await;
//! # }
//! ```

#[cfg(feature = "auth")]
pub mod oauth;

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::header::{HeaderValue, CONTENT_TYPE, HOST};
use http::{HeaderMap, Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream, UnixStream};

use crate::client::{ClientBuilder, ClientEvent, CloseFrame, ConnectError, WebSocketClient};
use crate::ws::frame::{self, OpCode};
use crate::{Message, Router, Server};

/// How long any one step (a request, a message) may take by default.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// The masking key of [`masked_frame`].
const MASK: [u8; 4] = [0x37, 0xFA, 0x21, 0x3D];

/// A router served on `127.0.0.1` on a free port (or on a Unix socket, with
/// [`start_unix`](Self::start_unix)), for the length of a test.
#[derive(Debug)]
pub struct TestServer {
    server: Server,
    target: Target,
    timeout: Duration,
}

/// Where a [`TestServer`] listens.
#[derive(Debug, Clone)]
enum Target {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

/// A connection to a [`TestServer`], whichever transport it serves on: for tests that write
/// raw bytes (a hand-made handshake, [`masked_frame`]s).
pub type TestStream = Pin<Box<dyn AsyncStream>>;

/// A byte stream: what [`TestServer::connect`] returns.
pub trait AsyncStream: AsyncRead + AsyncWrite + Send + fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Send + fmt::Debug> AsyncStream for T {}

impl TestServer {
    /// Serves `router` on `127.0.0.1:0` (a free port) in the current tokio runtime.
    ///
    /// # Panics
    ///
    /// If no port can be bound or the router cannot be served.
    pub async fn start(router: Router) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("TestServer: cannot bind 127.0.0.1:0: {e}"));
        let server = router
            .listen(listener)
            .unwrap_or_else(|e| panic!("TestServer: cannot serve the router: {e}"));
        let addr = server
            .local_addr()
            .tcp()
            .expect("a TCP listener has a socket address");
        TestServer {
            server,
            target: Target::Tcp(addr),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Serves `router` on a Unix domain socket in the system's temporary directory
    /// ([`Router::listen_unix`]); everything else works as with [`start`](Self::start), so
    /// one test body can run over both transports. The socket file is removed when the
    /// server stops.
    ///
    /// # Panics
    ///
    /// If the socket cannot be bound.
    ///
    /// # Examples
    ///
    /// ```
    /// use hyperbun::prelude::*;
    /// use hyperbun::test::TestServer;
    ///
    /// struct Echo;
    ///
    /// #[websocket("/echo")]
    /// impl Echo {
    ///     fn message(ws: &mut WebSocket, msg: Message) {
    ///         ws.send(msg);
    ///     }
    /// }
    ///
    /// #[get("/peer")]
    /// async fn peer(RemoteAddr(peer): RemoteAddr) -> String {
    ///     peer.to_string()
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let app = TestServer::start_unix(hyperbun::router![Echo, peer]).await;
    /// assert_eq!(app.get("/peer").await.text(), "unix");
    /// let mut ws = app.ws("/echo").await;
    /// ws.send("over a Unix socket").await;
    /// ws.expect_text("over a Unix socket").await;
    /// ws.close().await;
    /// app.stop().await;
    /// # }
    /// ```
    pub async fn start_unix(router: Router) -> TestServer {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "hyperbun-test-{}-{}.sock",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        // A file left by an earlier run of a test process with the same id.
        let _ = std::fs::remove_file(&path);
        let server = router
            .listen_unix(&path)
            .unwrap_or_else(|e| panic!("TestServer: {e}"));
        TestServer {
            server,
            target: Target::Unix(path),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Opens a raw connection to the server, over its transport (TCP or Unix socket).
    ///
    /// # Panics
    ///
    /// If the connection cannot be opened.
    pub async fn connect(&self) -> TestStream {
        let stream = match &self.target {
            Target::Tcp(addr) => TcpStream::connect(addr)
                .await
                .map(|s| Box::pin(s) as TestStream),
            Target::Unix(path) => UnixStream::connect(path)
                .await
                .map(|s| Box::pin(s) as TestStream),
        };
        stream.unwrap_or_else(|e| panic!("TestServer: cannot connect: {e}"))
    }

    /// The `Host` header requests carry: `127.0.0.1:PORT`, or `localhost` on a Unix socket.
    fn host(&self) -> String {
        match &self.target {
            Target::Tcp(addr) => addr.to_string(),
            Target::Unix(_) => "localhost".to_owned(),
        }
    }

    /// Changes how long each request and [`wait_subscribers`](Self::wait_subscribers) may
    /// take, and the timeout of the [`TestWebSocket`]s it opens (5 s by default): for a route
    /// that takes long, such as one that publishes megabytes.
    ///
    /// ```
    /// use std::time::Duration;
    /// use hyperbun::prelude::*;
    /// use hyperbun::test::TestServer;
    ///
    /// #[get("/slow")]
    /// async fn slow() -> &'static str {
    ///     tokio::time::sleep(Duration::from_millis(100)).await;
    ///     "done"
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let app = TestServer::start(hyperbun::router![slow])
    ///     .await
    ///     .with_timeout(Duration::from_secs(30));
    /// assert_eq!(app.get("/slow").await.text(), "done");
    /// app.stop().await;
    /// # }
    /// ```
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Where it listens, on TCP.
    ///
    /// # Panics
    ///
    /// On a server started with [`start_unix`](Self::start_unix): use
    /// [`unix_path`](Self::unix_path), or [`connect`](Self::connect) for either.
    pub fn addr(&self) -> SocketAddr {
        match &self.target {
            Target::Tcp(addr) => *addr,
            Target::Unix(path) => panic!(
                "TestServer::addr: this server listens on the Unix socket {}",
                path.display()
            ),
        }
    }

    /// The Unix socket's path, for a server started with [`start_unix`](Self::start_unix).
    pub fn unix_path(&self) -> Option<&Path> {
        match &self.target {
            Target::Unix(path) => Some(path),
            Target::Tcp(_) => None,
        }
    }

    /// The server handle: publish to topics, count subscribers, stop it.
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// Waits until `topic` has exactly `count` subscribers: sockets subscribe in `open` and
    /// leave when they close, both after the client has moved on.
    ///
    /// # Panics
    ///
    /// If the count is still different after the timeout (5 s by default); the message says
    /// what it was.
    pub async fn wait_subscribers(&self, topic: &str, count: usize) {
        let timeout = self.timeout;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let now = self.server.subscriber_count(topic);
            if now == count {
                return;
            }
            if tokio::time::Instant::now() >= deadline {
                panic!(
                    "expected {count} subscribers to {topic:?}, \
                     still {now} after {timeout:?}"
                );
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// `http://127.0.0.1:PORT` followed by `path` (`http://localhost` on a Unix socket).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.host())
    }

    /// `ws://127.0.0.1:PORT` followed by `path` (`ws://localhost` on a Unix socket: pass it to
    /// [`ws_with`](Self::ws_with), which connects over the socket).
    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.host())
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> TestResponse {
        self.request(Method::GET, path, HeaderMap::new(), Bytes::new())
            .await
    }

    /// `POST path` with `value` as a JSON body.
    pub async fn post_json(&self, path: &str, value: &impl serde::Serialize) -> TestResponse {
        let body = serde_json::to_vec(value).expect("TestServer::post_json: value is JSON");
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, "application/json".parse().expect("valid"));
        self.request(Method::POST, path, headers, body.into()).await
    }

    /// `POST path` with `body` sent as it is, labelled `content_type`: a form, text, bytes,
    /// or JSON that is not valid (to see how a route rejects it).
    ///
    /// ```
    /// use hyperbun::prelude::*;
    /// use hyperbun::test::TestServer;
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Login {
    ///     user: String,
    /// }
    ///
    /// #[post("/login")]
    /// async fn login(Form(form): Form<Login>) -> String {
    ///     format!("hello {}", form.user)
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let app = TestServer::start(hyperbun::router![login]).await;
    /// let form = "application/x-www-form-urlencoded";
    /// assert_eq!(app.post("/login", form, "user=Ada").await.text(), "hello Ada");
    /// let wrong = app.post("/login", "text/plain", "user=Ada").await;
    /// assert_eq!(wrong.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    /// app.stop().await;
    /// # }
    /// ```
    ///
    /// # Panics
    ///
    /// If `content_type` is not a valid header value, and as [`request`](Self::request).
    pub async fn post(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<Bytes>,
    ) -> TestResponse {
        let content_type = HeaderValue::from_str(content_type).unwrap_or_else(|e| {
            panic!("TestServer::post: {content_type:?} is not a header value: {e}")
        });
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, content_type);
        self.request(Method::POST, path, headers, body.into()).await
    }

    /// Any request, on a new connection; the whole response is read.
    ///
    /// # Panics
    ///
    /// If the request cannot be sent or the response does not come within the timeout (5 s
    /// by default).
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        headers: HeaderMap,
        body: Bytes,
    ) -> TestResponse {
        let what = format!("{method} {path}");
        let exchange = async {
            let stream = self.connect().await;
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(connection);
            let mut request = http::Request::builder()
                .method(method)
                .uri(path)
                .header(HOST, self.host())
                .body(Full::new(body))?;
            request.headers_mut().extend(headers);
            let (parts, body) = sender.send_request(request).await?.into_parts();
            let body = body.collect().await?.to_bytes();
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(TestResponse {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(Ok(response)) => response,
            Ok(Err(e)) => panic!("{what}: {e}"),
            Err(_) => panic!("{what}: no response within {:?}", self.timeout),
        }
    }

    /// Opens a WebSocket to `path`.
    ///
    /// # Panics
    ///
    /// If the upgrade fails (the panic message has the server's status and body).
    pub async fn ws(&self, path: &str) -> TestWebSocket {
        match self.ws_with(ClientBuilder::new(self.ws_url(path))).await {
            Ok(ws) => ws,
            Err(e) => panic!("WebSocket to {path}: {e}"),
        }
    }

    /// Opens a WebSocket configured by `builder` (headers, subprotocols, compression; make
    /// it with [`ws_url`](Self::ws_url)). A refusal is returned, to be checked.
    ///
    /// # Errors
    ///
    /// The [`ConnectError`], e.g. [`ConnectError::Refused`] with the server's status.
    pub async fn ws_with(&self, builder: ClientBuilder) -> Result<TestWebSocket, ConnectError> {
        let client = match &self.target {
            Target::Tcp(_) => builder.connect().await?,
            Target::Unix(_) => builder.connect_on(self.connect().await).await?,
        };
        Ok(TestWebSocket {
            client,
            timeout: self.timeout,
        })
    }

    /// Stops the server gracefully (every socket gets `1001`) and waits until it has.
    /// Close or drop your [`TestWebSocket`]s first: the server waits up to 5 s for each open
    /// socket's closing handshake, and a client that is not being read cannot answer.
    ///
    /// # Panics
    ///
    /// If it takes longer than 10 s.
    pub async fn stop(self) {
        let limit = Duration::from_secs(10);
        if tokio::time::timeout(limit, self.server.stop())
            .await
            .is_err()
        {
            panic!("TestServer::stop: the server did not stop within {limit:?}");
        }
    }
}

/// A response, fully read.
#[derive(Debug, Clone)]
pub struct TestResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl TestResponse {
    /// The body as text.
    ///
    /// # Panics
    ///
    /// If it is not UTF-8.
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body)
            .unwrap_or_else(|e| panic!("{} response body is not UTF-8: {e}", self.status))
    }

    /// The body parsed as JSON (into a [`serde_json::Value`] or any `Deserialize` type).
    ///
    /// # Panics
    ///
    /// If it is not that JSON; the message shows the body.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} response body is not the expected JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The value of header `name`, if present (the first, if several).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Every value of header `name`, in the order received (none if it is absent), to check
    /// that a header came exactly once:
    ///
    /// ```
    /// use hyperbun::prelude::*;
    /// use hyperbun::test::TestServer;
    ///
    /// #[get("/user")]
    /// async fn user() -> Json<Value> {
    ///     Json(json!({ "id": 7 }))
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let app = TestServer::start(hyperbun::router![user]).await;
    /// let response = app.get("/user").await;
    /// assert_eq!(response.header_values("content-type"), ["application/json"]);
    /// assert!(response.header_values("location").is_empty());
    /// app.stop().await;
    /// # }
    /// ```
    ///
    /// # Panics
    ///
    /// If a value is not visible ASCII text.
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .get_all(name)
            .iter()
            .map(|v| {
                v.to_str()
                    .unwrap_or_else(|e| panic!("header {name}: {v:?} is not text: {e}"))
            })
            .collect()
    }
}

/// A client-to-server WebSocket frame, masked, for tests that write frames byte by byte (on
/// a raw `TcpStream` after a handshake, or into a decoder). `first_byte` is the frame's
/// first byte exactly as given: FIN `0x80`, RSV1 `0x40`, RSV2 `0x20`, RSV3 `0x10`, and the
/// opcode in the low four bits, so reserved bits and opcodes can be sent on purpose. The
/// length takes the shortest form (in the second byte up to 125 bytes, then 16 bits after
/// `126`, then 64 bits after `127`), and the payload is masked with a fixed key,
/// `37 FA 21 3D`.
///
/// [`write_masked_frame`] appends a frame to a buffer with a key of your choice.
///
/// ```
/// use hyperbun::test::masked_frame;
///
/// // FIN and the text opcode; the mask bit and a length of 2; the key; "Hi" masked.
/// let frame = masked_frame(0x81, b"Hi");
/// assert_eq!(frame, [0x81, 0x82, 0x37, 0xFA, 0x21, 0x3D, b'H' ^ 0x37, b'i' ^ 0xFA]);
///
/// // A ping with RSV1 set, which no extension allows: a server must close with 1002.
/// assert_eq!(masked_frame(0xC9, b"")[..2], [0xC9, 0x80]);
///
/// // 126 bytes and more: a 16-bit length.
/// assert_eq!(masked_frame(0x82, &[0; 300])[..4], [0x82, 0xFE, 0x01, 0x2C]);
/// ```
pub fn masked_frame(first_byte: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    write_masked_frame(&mut out, first_byte, payload, MASK);
    out.into()
}

/// Appends a [`masked_frame`] to `out`, masked with `mask`: for a client that writes many
/// frames into one buffer, such as a load generator. A real client picks a new,
/// unpredictable key for every frame (RFC 6455 §5.3).
///
/// ```
/// use bytes::BytesMut;
/// use hyperbun::test::{masked_frame, write_masked_frame};
///
/// let mut out = BytesMut::new();
/// write_masked_frame(&mut out, 0x81, b"one", [0x37, 0xFA, 0x21, 0x3D]);
/// write_masked_frame(&mut out, 0x88, &1000u16.to_be_bytes(), [0; 4]);
/// assert_eq!(out[..9], masked_frame(0x81, b"one"));
/// // A zero key leaves the payload as it is: a close frame with 1000.
/// assert_eq!(out[9..], [0x88, 0x82, 0, 0, 0, 0, 0x03, 0xE8]);
/// ```
pub fn write_masked_frame(out: &mut BytesMut, first_byte: u8, payload: &[u8], mask: [u8; 4]) {
    let start = out.len();
    // The server's encoder with the client's mask; only the first byte depends on the
    // opcode and flags, so it is written over with the one given.
    frame::encode_masked_frame(out, OpCode::Continuation, false, false, payload, mask);
    out[start] = first_byte;
}

/// A WebSocket client for tests: every call panics with a readable message when the server
/// does not do what the test expects, and waits at most the timeout (5 s by default).
#[derive(Debug)]
pub struct TestWebSocket {
    client: WebSocketClient,
    timeout: Duration,
}

impl TestWebSocket {
    /// Changes how long each `expect_*` and [`recv`](Self::recv) waits.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The client underneath, for anything not covered here.
    pub fn client(&mut self) -> &mut WebSocketClient {
        &mut self.client
    }

    /// Sends a text or binary message.
    ///
    /// # Panics
    ///
    /// If the connection is closed or writing fails.
    pub async fn send(&mut self, message: impl Into<Message>) {
        let message = message.into();
        if let Err(e) = self.client.send(message.clone()).await {
            panic!("sending {}: {e}", Shown(&ClientEvent::Message(message)));
        }
    }

    /// The next message (pings and pongs are skipped).
    ///
    /// # Panics
    ///
    /// If none comes within the timeout, or the connection closes instead.
    pub async fn recv(&mut self) -> Message {
        match self.next_event("a message").await {
            ClientEvent::Message(message) => message,
            other => panic!("expected a message, received {}", Shown(&other)),
        }
    }

    /// Waits for the next message and checks that it is the text `expected`.
    ///
    /// # Panics
    ///
    /// Otherwise, showing what came instead.
    pub async fn expect_text(&mut self, expected: &str) {
        let event = self.next_event(&format!("text {expected:?}")).await;
        if !matches!(&event, ClientEvent::Message(Message::Text(t)) if t.as_str() == expected) {
            panic!("expected text {expected:?}, received {}", Shown(&event));
        }
    }

    /// Waits for the next message and checks that it is the binary `expected`.
    ///
    /// # Panics
    ///
    /// Otherwise, showing what came instead.
    pub async fn expect_binary(&mut self, expected: &[u8]) {
        let event = self.next_event(&format!("binary {expected:?}")).await;
        if !matches!(&event, ClientEvent::Message(Message::Binary(b)) if b[..] == *expected) {
            panic!("expected binary {expected:?}, received {}", Shown(&event));
        }
    }

    /// Waits for the next message and checks that it is text holding the JSON `expected`
    /// (compared as values: key order and spacing do not matter).
    ///
    /// # Panics
    ///
    /// Otherwise, showing what came instead.
    pub async fn expect_json(&mut self, expected: &serde_json::Value) {
        let event = self.next_event(&format!("JSON {expected}")).await;
        let received = match &event {
            ClientEvent::Message(Message::Text(text)) => {
                serde_json::from_str::<serde_json::Value>(text.as_str()).ok()
            }
            _ => None,
        };
        if received.as_ref() != Some(expected) {
            panic!("expected JSON {expected}, received {}", Shown(&event));
        }
    }

    /// Waits for the server's close frame and checks its code; returns it.
    ///
    /// # Panics
    ///
    /// If a message comes first, the close has another code, or nothing comes in time.
    pub async fn expect_close(&mut self, code: u16) -> CloseFrame {
        let event = self.next_event(&format!("a close frame with {code}")).await;
        match event {
            ClientEvent::Close(Some(close)) if close.code == code => close,
            other => panic!(
                "expected a close frame with {code}, received {}",
                Shown(&other)
            ),
        }
    }

    /// Checks that no message arrives for `duration` (pings and pongs are ignored).
    ///
    /// # Panics
    ///
    /// If one does, or the connection closes.
    pub async fn expect_silence(&mut self, duration: Duration) {
        let next = async {
            loop {
                match self.client.next_event().await {
                    Ok(ClientEvent::Ping(_) | ClientEvent::Pong(_)) => {}
                    other => return other,
                }
            }
        };
        if let Ok(event) = tokio::time::timeout(duration, next).await {
            match event {
                Ok(event) => panic!(
                    "expected nothing for {duration:?}, received {}",
                    Shown(&event)
                ),
                Err(e) => panic!("expected nothing for {duration:?}, but {e}"),
            }
        }
    }

    /// Closes with `1000` and waits for the server's close frame.
    ///
    /// # Panics
    ///
    /// If the closing handshake fails or times out.
    pub async fn close(&mut self) {
        if let Err(e) = self.client.close(1000, "").await {
            panic!("closing the WebSocket: {e}");
        }
    }

    /// The next event of any kind but pings and pongs, within the timeout.
    async fn next_event(&mut self, expected: &str) -> ClientEvent {
        let timeout = self.timeout;
        let next = async {
            loop {
                match self.client.next_event().await {
                    Ok(ClientEvent::Ping(_) | ClientEvent::Pong(_)) => {}
                    other => return other,
                }
            }
        };
        match tokio::time::timeout(timeout, next).await {
            Ok(Ok(event)) => event,
            Ok(Err(e)) => panic!("expected {expected}, but {e}"),
            Err(_) => panic!("expected {expected}, received nothing within {timeout:?}"),
        }
    }
}

/// An event, shown for a failure message: text quoted, binary as bytes (cut after 64).
struct Shown<'a>(&'a ClientEvent);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            ClientEvent::Message(Message::Text(text)) => {
                let text = text.as_str();
                match text.char_indices().nth(200) {
                    Some((cut, _)) => write!(f, "text {:?}… ({} bytes)", &text[..cut], text.len()),
                    None => write!(f, "text {text:?}"),
                }
            }
            ClientEvent::Message(Message::Binary(bytes)) if bytes.len() > 64 => {
                write!(f, "binary {:?}… ({} bytes)", &bytes[..64], bytes.len())
            }
            ClientEvent::Message(Message::Binary(bytes)) => write!(f, "binary {:?}", &bytes[..]),
            ClientEvent::Ping(payload) => write!(f, "ping {:?}", &payload[..]),
            ClientEvent::Pong(payload) => write!(f, "pong {:?}", &payload[..]),
            ClientEvent::Close(Some(close)) => {
                write!(f, "a close frame with {} {:?}", close.code, close.reason)
            }
            ClientEvent::Close(None) => write!(f, "a close frame without a code"),
        }
    }
}
