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
