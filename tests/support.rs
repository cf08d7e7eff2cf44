//! Shared helpers for the integration tests. Servers are started with the public
//! [`hyperbun::test::TestServer`], and most tests talk to them through it (`app.get`,
//! `app.post`, `app.ws`, …), as an application's tests would. What is here is what it
//! deliberately does not do:
//!
//! - [`connect`] and [`send`]: several requests on one HTTP/1.1 connection (keep-alive, a
//!   panicking handler that must not end the connection); `TestServer` opens a connection
//!   per request.
//! - [`fetch`] and [`post`]: requests to a server `TestServer` did not start
//!   (`Router::bind`, `Router::serve`, chromedriver).
//! - [`RawConn`] and [`RawWs`]: raw sockets, for tests whose point is the bytes on the wire
//!   (partial or malformed requests and frames, pipelining, a peer that never answers).
//! - [`within`] and [`journal`]: bounded waits, and what handlers did (and
//!   [`journal::read_binary_until`], reading a flood until the journal says it drained).
//! - [`captured_logs`]: every log line of the test binary, for tests about what is logged.
//! - [`TestCert`]: a throwaway CA and a certificate it signed for `localhost`, for HTTPS,
//!   `wss://` and TLS proxies; [`start_tls`] serves a router with it (`TestServer` speaks
//!   cleartext only), and [`HttpsConn`] is a client that can tell which HTTP version and
//!   which certificate the server's TLS handshake gave it.
//! - [`setup_tool`]: the other implementations the interop tests drive (Python `websockets`,
//!   curl, Chromium), installed on first use by the scripts under `tests/`.
//! - [`redis`]: real `redis-server` processes (a server with a password or TLS that a test
//!   can kill, restart or pause, and a Redis Cluster) for the Redis backplane's tests.
//!
//! Every wait is bounded by [`WAIT`], so a bug fails a test instead of hanging it.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{CONTENT_TYPE, HOST};
use hyper::{Method, Request, Version};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyperbun::test::{TestResponse, TestServer, TestStream};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

#[path = "support/redis.rs"]
pub mod redis;

/// The longest any single step of a test may take before it counts as hung.
pub const WAIT: Duration = Duration::from_secs(10);

/// Starts `router` on the transport `HYPERBUN_TEST_TRANSPORT` names: `tcp` (the default) or
/// `unix` (a Unix domain socket). `tests/run.sh` runs the pub/sub and WebSocket suites once
/// with each, so they prove the runtime on both of its transports.
pub async fn start(router: hyperbun::Router) -> TestServer {
    match std::env::var("HYPERBUN_TEST_TRANSPORT").as_deref() {
        Err(_) | Ok("tcp" | "") => TestServer::start(router).await,
        Ok("unix") => TestServer::start_unix(router).await,
        Ok(other) => panic!("HYPERBUN_TEST_TRANSPORT={other:?}: expected `tcp` or `unix`"),
    }
}

/// Awaits `future`, failing the test with `what` if it takes longer than [`WAIT`].
pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(WAIT, future)
        .await
        .unwrap_or_else(|_| panic!("timed out after {WAIT:?}: {what}"))
}

/// A request body for the hyper client.
pub type ClientBody = Full<Bytes>;

/// One HTTP/1.1 client connection; send several requests on it to exercise keep-alive.
pub type Conn = SendRequest<ClientBody>;

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
pub async fn send(conn: &mut Conn, req: Request<ClientBody>) -> TestResponse {
    let what = format!("{} {}", req.method(), req.uri());
    within(&what, async {
        conn.ready().await.expect("connection ready");
        let response = conn.send_request(req).await.expect("send request");
        let (parts, body) = response.into_parts();
        let body = body.collect().await.expect("read response body").to_bytes();
        TestResponse {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    })
    .await
}

/// `method path` without a body, on a new connection to `addr`.
pub async fn fetch(addr: SocketAddr, method: Method, path: &str) -> TestResponse {
    let req = request(method, path).body(ClientBody::default()).unwrap();
    send(&mut connect(addr).await, req).await
}

/// `POST path` with a `Content-Type` and a body, on a new connection to `addr`.
pub async fn post(
    addr: SocketAddr,
    path: &str,
    content_type: &str,
    body: impl Into<Bytes>,
) -> TestResponse {
    let req = request(Method::POST, path)
        .header(CONTENT_TYPE, content_type)
        .body(Full::new(body.into()))
        .unwrap();
    send(&mut connect(addr).await, req).await
}

/// A raw TCP connection, for requests written byte by byte: partial heads, pipelined
/// requests, chunked bodies and `Expect: 100-continue` as they go on the wire, which an HTTP
/// client (and so `TestServer`) does not let a test control.
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

/// A directory of its own for one test (`name` must be unique among the tests of the
/// process), emptied first; the caller removes it when done.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hyperbun-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a scratch directory");
    dir
}

// ---------------------------------------------------------------------------------------
// HTTPS

/// Serves `router` over TLS with `tls` on `127.0.0.1` on a free port
/// ([`Router::listen_tls`](hyperbun::Router::listen_tls)); returns the server and its address.
pub async fn start_tls(
    router: hyperbun::Router,
    tls: hyperbun::TlsConfig,
) -> (hyperbun::Server, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let server = router.listen_tls(listener, tls).expect("serve over TLS");
    let addr = server.local_addr().tcp().expect("a TCP address");
    (server, addr)
}

/// A TLS connection to `addr` (which must be on this machine) for the name `localhost`,
/// with `config`'s roots and ALPN list.
pub async fn tls_connect(
    addr: SocketAddr,
    config: Arc<rustls::ClientConfig>,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let tcp = within("TCP connect", TcpStream::connect(addr)).await?;
    let name = ServerName::try_from("localhost").expect("a DNS name");
    within(
        "TLS handshake",
        tokio_rustls::TlsConnector::from(config).connect(name, tcp),
    )
    .await
}

/// One HTTPS connection, speaking the HTTP version its TLS handshake agreed on (ALPN `h2`:
/// HTTP/2; anything else: HTTP/1.1), with what the handshake showed of the server.
#[derive(Debug)]
pub struct HttpsConn {
    sender: HttpsSender,
    /// The protocol ALPN agreed on, if any.
    pub alpn: Option<Vec<u8>>,
    /// The certificate the server presented.
    pub peer_cert: CertificateDer<'static>,
}

#[derive(Debug)]
enum HttpsSender {
    Http1(Conn),
    Http2(hyper::client::conn::http2::SendRequest<ClientBody>),
}

impl HttpsConn {
    /// Connects to `addr` with `config` (see [`TestCert::client_config_alpn`]); the
    /// connection task runs in the background.
    pub async fn connect(addr: SocketAddr, config: Arc<rustls::ClientConfig>) -> HttpsConn {
        let tls = tls_connect(addr, config).await.expect("TLS handshake");
        let session = tls.get_ref().1;
        let alpn = session.alpn_protocol().map(<[u8]>::to_vec);
        let peer_cert = session
            .peer_certificates()
            .and_then(|chain| chain.first())
            .expect("the server presented a certificate")
            .clone()
            .into_owned();
        let io = TokioIo::new(tls);
        let sender = if alpn.as_deref() == Some(b"h2") {
            let (sender, connection) =
                hyper::client::conn::http2::Builder::new(TokioExecutor::new())
                    .handshake(io)
                    .await
                    .expect("HTTP/2 handshake");
            tokio::spawn(connection);
            HttpsSender::Http2(sender)
        } else {
            let (sender, connection) = hyper::client::conn::http1::handshake(io)
                .await
                .expect("HTTP/1.1 handshake");
            tokio::spawn(connection);
            HttpsSender::Http1(sender)
        };
        HttpsConn {
            sender,
            alpn,
            peer_cert,
        }
    }

    /// `GET path` on this connection; returns the response's HTTP version and the response.
    pub async fn get(&mut self, path: &str) -> (Version, TestResponse) {
        let uri = format!("https://localhost{path}");
        let req = Request::get(uri)
            .body(ClientBody::default())
            .expect("a request");
        within(&format!("GET {path} over TLS"), async {
            let response = match &mut self.sender {
                HttpsSender::Http1(sender) => {
                    let (mut parts, body) = req.into_parts();
                    // HTTP/1.1 sends the path and a Host header, not the absolute URI.
                    parts.uri = path.parse().expect("a path");
                    parts
                        .headers
                        .insert(HOST, hyper::header::HeaderValue::from_static("localhost"));
                    sender.ready().await.expect("connection ready");
                    sender.send_request(Request::from_parts(parts, body)).await
                }
                HttpsSender::Http2(sender) => {
                    sender.ready().await.expect("connection ready");
                    sender.send_request(req).await
                }
            }
            .expect("a response");
            let version = response.version();
            let (parts, body) = response.into_parts();
            let body = body.collect().await.expect("read the body").to_bytes();
            let response = TestResponse {
                status: parts.status,
                headers: parts.headers,
                body,
            };
            (version, response)
        })
        .await
    }
}

/// `GET path` on a new HTTPS connection to `addr` with `config`.
pub async fn https_get(
    addr: SocketAddr,
    config: Arc<rustls::ClientConfig>,
    path: &str,
) -> (Version, TestResponse) {
    HttpsConn::connect(addr, config).await.get(path).await
}

// ---------------------------------------------------------------------------------------
// Other implementations

/// Runs the installer script `script` (a path under `tests/`, e.g. `interop/setup.sh`),
/// which installs a tool when it is missing (with apt-get or pip, once per machine) and
/// prints where it is; returns that output, trimmed. Blocking: call it from
/// `spawn_blocking` in async tests. Panics, pointing at the script's own message, if it
/// fails.
pub fn setup_tool(script: &str) -> String {
    let setup = Path::new(env!("CARGO_MANIFEST_DIR")).join(script);
    let output = std::process::Command::new("bash")
        .arg(&setup)
        .stderr(std::process::Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", setup.display()));
    assert!(
        output.status.success(),
        "{} failed ({}): see its message above",
        setup.display(),
        output.status
    );
    String::from_utf8(output.stdout)
        .expect("setup scripts print paths")
        .trim()
        .to_owned()
}

/// The Python of the interop tests, with `websockets` installed (`interop/setup.sh`).
pub async fn interop_python() -> String {
    tokio::task::spawn_blocking(|| setup_tool("interop/setup.sh"))
        .await
        .expect("interop/setup.sh")
}

/// Runs the interop script `tests/interop/SCRIPT` with `args` under the interop Python,
/// within 60 s, and returns the one JSON line it prints, after checking it succeeded and
/// reported `"ok": true` (its output is in the failure message otherwise).
pub async fn run_python_client(script: &str, args: &[&std::ffi::OsStr]) -> serde_json::Value {
    let python = interop_python().await;
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("interop")
        .join(script);
    let client = tokio::process::Command::new(&python)
        .arg(&path)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(60), client)
        .await
        .expect("the Python client finished within 60 s")
        .expect("the Python client's output");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{script} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    let report: serde_json::Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("not one JSON line ({e}):\n{stdout}\n{stderr}"));
    assert_eq!(report["ok"], true, "{report}");
    report
}

/// Sends `text` and then four binary bytes on `ws`, expecting each echoed back (an echo
/// socket), within [`WAIT`] each.
pub async fn expect_echoes(ws: &mut hyperbun::client::WebSocketClient, text: &str) {
    ws.send(text).await.expect("send text");
    let echoed = within("text echo", ws.recv())
        .await
        .expect("recv")
        .expect("a message");
    assert_eq!(echoed.as_text(), Some(text));
    ws.send_binary(&[0, 1, 2, 255]).await.expect("send binary");
    let echoed = within("binary echo", ws.recv())
        .await
        .expect("recv")
        .expect("a message");
    assert_eq!(echoed.as_bytes(), &[0, 1, 2, 255][..]);
}

// ---------------------------------------------------------------------------------------
// WebSocket over a raw socket

/// A complete, valid WebSocket handshake request for `path` (RFC 6455's sample key), with
/// `extra` header lines (each ending in `\r\n`) before the blank line.
fn ws_handshake(host: &str, path: &str, extra: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{extra}\r\n"
    )
}

/// A WebSocket over a raw socket: the handshake by hand, then frames written byte by byte
/// ([`hyperbun::test::masked_frame`]) and read as they arrive. For what a well-behaved
/// client such as `TestServer::ws` cannot do: broken frames, a peer that never answers pings
/// or never reads, a connection dropped without a close frame, and checking the frames the
/// server sends bit by bit (RSV1, byte-identical compressed publishes).
#[derive(Debug)]
pub struct RawWs {
    /// The connection: TCP, or a Unix socket for a server from `TestServer::start_unix`.
    pub stream: TestStream,
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

    /// Connects to `app` over its transport (TCP or Unix socket) and completes the
    /// handshake for `path`.
    pub async fn open(app: &TestServer, path: &str) -> RawWs {
        Self::open_sending(app, path, &[]).await
    }

    /// Like [`open`](Self::open), with `extra` request header lines (each ending in
    /// `\r\n`); returns the socket and the `101` response head.
    pub async fn open_with(app: &TestServer, path: &str, extra: &str) -> (RawWs, String) {
        let stream = within("connect", app.connect()).await;
        Self::handshake(stream, "localhost", path, extra, &[]).await
    }

    /// Like [`open`](Self::open), with `bytes` (frames) written in the same write as the
    /// handshake request, before the server has answered.
    pub async fn open_sending(app: &TestServer, path: &str, bytes: &[u8]) -> RawWs {
        let stream = within("connect", app.connect()).await;
        Self::handshake(stream, "localhost", path, "", bytes)
            .await
            .0
    }

    /// Connects with `extra` request header lines (each ending in `\r\n`); returns the
    /// socket and the `101` response head.
    pub async fn connect_with(addr: SocketAddr, path: &str, extra: &str) -> (RawWs, String) {
        let stream = within("tcp connect", TcpStream::connect(addr))
            .await
            .expect("connect");
        Self::handshake(Box::pin(stream), &addr.to_string(), path, extra, &[]).await
    }

    async fn handshake(
        mut stream: TestStream,
        host: &str,
        path: &str,
        extra: &str,
        then: &[u8],
    ) -> (RawWs, String) {
        let mut request = ws_handshake(host, path, extra).into_bytes();
        request.extend_from_slice(then);
        stream.write_all(&request).await.expect("write");
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

/// A certificate authority made for one test, and a certificate it signed for `localhost` and
/// `127.0.0.1` (ECDSA P-256). Clients trust the CA alone ([`client_config`](Self::client_config)),
/// so a server proves it presents the chain it was given.
#[derive(Debug, Clone)]
pub struct TestCert {
    /// The CA's certificate, PEM.
    pub ca_pem: String,
    /// The server's certificate, PEM.
    pub cert_pem: String,
    /// The server's private key, PEM (PKCS#8).
    pub key_pem: String,
    /// The CA's certificate, DER: what a client adds to its roots.
    pub ca_der: CertificateDer<'static>,
}

impl Default for TestCert {
    fn default() -> Self {
        Self::new()
    }
}

impl TestCert {
    /// A new CA and a `localhost` certificate signed by it.
    pub fn new() -> Self {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
            PKCS_ECDSA_P256_SHA256,
        };
        let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("CA key");
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "hyperbun test CA");
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");
        let issuer = Issuer::new(ca, ca_key);

        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("key");
        let mut leaf = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("params");
        leaf.distinguished_name
            .push(DnType::CommonName, "localhost");
        let cert = leaf.signed_by(&key, &issuer).expect("certificate");
        TestCert {
            ca_pem: ca_cert.pem(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            ca_der: ca_cert.der().clone(),
        }
    }

    /// The server's side, as hyperbun takes it.
    pub fn tls_config(&self) -> hyperbun::TlsConfig {
        hyperbun::TlsConfig::from_pem(self.cert_pem.as_bytes(), self.key_pem.as_bytes())
            .expect("TlsConfig from the test certificate")
    }

    /// The server's side as a plain rustls config (no ALPN), for a TLS endpoint that is not
    /// hyperbun, such as a terminating proxy.
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::PrivateKeyDer;
        let chain = vec![CertificateDer::from_pem_slice(self.cert_pem.as_bytes()).expect("cert")];
        let key = PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes()).expect("key");
        let config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("server config");
        Arc::new(config)
    }

    /// A client that trusts the CA alone and offers ALPN `http/1.1`.
    pub fn client_config(&self) -> Arc<rustls::ClientConfig> {
        self.client_config_alpn(&[b"http/1.1"])
    }

    /// A client that trusts the CA alone and offers `alpn` (none if empty).
    pub fn client_config_alpn(&self, alpn: &[&[u8]]) -> Arc<rustls::ClientConfig> {
        client_config_trusting(self.ca_der.as_ref(), alpn)
    }

    /// The server's certificate, DER: what a client sees as the peer certificate.
    pub fn cert_der(&self) -> CertificateDer<'static> {
        use rustls::pki_types::pem::PemObject;
        CertificateDer::from_pem_slice(self.cert_pem.as_bytes()).expect("the certificate's PEM")
    }

    /// The base64 SHA-256 of the server's public key (its SubjectPublicKeyInfo): what
    /// Chromium's `--ignore-certificate-errors-spki-list` takes to trust this certificate
    /// alone, without installing the CA in a certificate store.
    pub fn spki_sha256(&self) -> String {
        use base64::Engine;
        use rcgen::PublicKeyData;
        let key = rcgen::KeyPair::from_pem(&self.key_pem).expect("the key's PEM");
        let spki = key.subject_public_key_info();
        let digest = ring::digest::digest(&ring::digest::SHA256, &spki);
        base64::engine::general_purpose::STANDARD.encode(digest)
    }

    /// Writes the CA's certificate as `ca.pem` into `dir` (created if needed), for clients
    /// that take a file (curl's `--cacert`, Python's `ssl` context); returns its path.
    pub fn write_ca(&self, dir: &Path) -> PathBuf {
        std::fs::create_dir_all(dir).expect("create the certificate directory");
        let ca = dir.join("ca.pem");
        std::fs::write(&ca, &self.ca_pem).expect("write the CA certificate");
        ca
    }

    /// Writes `cert.pem` (the server's certificate) and `key.pem` into `dir` (created if
    /// needed); returns their paths.
    pub fn write_files(&self, dir: &Path) -> (PathBuf, PathBuf) {
        std::fs::create_dir_all(dir).expect("create the certificate directory");
        let cert = dir.join("cert.pem");
        let key = dir.join("key.pem");
        std::fs::write(&cert, &self.cert_pem).expect("write cert");
        std::fs::write(&key, &self.key_pem).expect("write key");
        (cert, key)
    }
}

/// A client that trusts the one certificate `root_der` (a CA, or a self-signed server
/// certificate) and offers `alpn` (none if empty).
pub fn client_config_trusting(root_der: &[u8], alpn: &[&[u8]]) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(root_der.to_vec()))
        .expect("the certificate among the roots");
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

#[cfg(test)]
mod tests {
    use super::TestCert;

    #[test]
    fn test_cert_loads_from_memory_and_from_the_files_it_writes() {
        let cert = TestCert::new();
        cert.tls_config();
        let dir = std::env::temp_dir().join(format!("hyperbun-test-cert-{}", std::process::id()));
        let (chain, key) = cert.write_files(&dir);
        hyperbun::TlsConfig::from_pem_files(&chain, &key).expect("loads from files");
        std::fs::remove_dir_all(dir).ok();
    }
}

/// A log that handlers append to and tests wait on, keyed so parallel tests do not mix.
pub mod journal {
    use std::collections::HashMap;
    use std::sync::{LazyLock, Mutex};

    use hyperbun::test::TestWebSocket;
    use hyperbun::Message;
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

    /// Reads the binary messages of `len` bytes a flooding socket sent until `key` has
    /// `count` lines (its `drain` handler journals once reading has emptied its queue), at
    /// most [`WAIT`](crate::WAIT); returns how many it read.
    ///
    /// # Panics
    ///
    /// On any other message or another length, or if it takes longer.
    pub async fn read_binary_until(
        ws: &mut TestWebSocket,
        len: usize,
        key: &str,
        count: usize,
    ) -> usize {
        crate::within(&format!("{count} journal lines under {key:?}"), async {
            let mut received = 0;
            while lines(key).len() < count {
                match ws.recv().await {
                    Message::Binary(b) => {
                        assert_eq!(b.len(), len);
                        received += 1;
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
            received
        })
        .await
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

// ---------------------------------------------------------------------------------------
// Log capture

/// Every log line of a test binary, from every thread, as [`captured_logs`] collects them.
#[derive(Debug, Clone, Default)]
pub struct CapturedLogs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// Everything logged so far, line by line.
    pub fn lines(&self) -> Vec<String> {
        self.text().lines().map(str::to_owned).collect()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs, on first use, a `tracing` subscriber for the whole test binary that keeps every
/// line (all levels, no colours), and returns what it has kept. A test binary that calls it
/// must not install a subscriber of its own.
pub fn captured_logs() -> &'static CapturedLogs {
    static LOGS: std::sync::OnceLock<CapturedLogs> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = CapturedLogs::default();
        let writer = logs.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .init();
        logs
    })
}
