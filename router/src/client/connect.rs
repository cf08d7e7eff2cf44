//! Opening a connection: the URL, TCP (and TLS for `wss://`), the HTTP/1.1 upgrade or the
//! HTTP/2 extended `CONNECT`.

use std::time::Duration;

use base64::Engine;
use bytes::{Bytes, BytesMut};
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, StatusCode, Uri};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{ConnectError, Deflate, MaskSource, Stream, WebSocketClient, DEFAULT_MAX_MESSAGE_SIZE};
use crate::ws::deflate::codec;
use crate::ws::deflate::negotiate::parse_answer;
use crate::ws::frame::{Decoder, Role};
use crate::ws::handshake::accept_key;

/// The longest upgrade answer head read: 16 KiB.
const MAX_HEAD: usize = 16 * 1024;

/// The most of a refusal's body kept in [`ConnectError::Refused`]: 64 KiB.
const MAX_REFUSAL_BODY: usize = 64 * 1024;

/// What a browser offers: permessage-deflate, and the client's window may be limited.
const DEFLATE_OFFER: &str = "permessage-deflate; client_max_window_bits";

/// Configures a [`WebSocketClient`] before [`connect`](Self::connect)ing it.
///
/// ```no_run
/// use std::time::Duration;
/// use hyperbun::client::ClientBuilder;
///
/// # async fn run() -> Result<(), hyperbun::client::ConnectError> {
/// let ws = ClientBuilder::new("ws://127.0.0.1:3000/ws")
///     .header("Authorization", "Bearer secret")
///     .protocols(["chat.v2", "chat.v1"])
///     .per_message_deflate(true)
///     .max_message_size(1 << 20)
///     .timeout(Duration::from_secs(5))
///     .connect()
///     .await?;
/// assert_eq!(ws.protocol(), Some("chat.v2"));
/// # Ok(())
/// # }
/// # let _ = run;
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until .connect().await"]
pub struct ClientBuilder {
    url: String,
    headers: Vec<(String, String)>,
    protocols: Vec<String>,
    per_message_deflate: bool,
    max_message_size: usize,
    timeout: Duration,
    http2: bool,
    #[cfg(feature = "tls")]
    tls: Option<std::sync::Arc<rustls::ClientConfig>>,
}

impl ClientBuilder {
    /// A client for `url` (`ws://host[:port]/path?query`, or `wss://…` with the `tls`
    /// feature) with the defaults: no extra headers, no subprotocol, no compression,
    /// messages up to 64 MiB, 10 s to connect.
    pub fn new(url: impl Into<String>) -> Self {
        ClientBuilder {
            url: url.into(),
            headers: Vec::new(),
            protocols: Vec::new(),
            per_message_deflate: false,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            timeout: Duration::from_secs(10),
            http2: false,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// Adds a request header, e.g. `Authorization` or `Cookie`. An invalid name or value
    /// is reported by [`connect`](Self::connect). The WebSocket headers themselves
    /// (`Sec-WebSocket-*`, `Upgrade`, `Connection`, `Host`) are the client's.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Offers a subprotocol (`Sec-WebSocket-Protocol`); call again to offer more, in order
    /// of preference.
    pub fn protocol(mut self, protocol: impl Into<String>) -> Self {
        self.protocols.push(protocol.into());
        self
    }

    /// Offers several subprotocols, in order of preference.
    pub fn protocols<I>(mut self, protocols: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.protocols.extend(protocols.into_iter().map(Into::into));
        self
    }

    /// Offers permessage-deflate as browsers do (`permessage-deflate;
    /// client_max_window_bits`). If the server accepts, every message is sent compressed
    /// and compressed messages are inflated. Default: off.
    pub fn per_message_deflate(mut self, enabled: bool) -> Self {
        self.per_message_deflate = enabled;
        self
    }

    /// The largest message accepted from the server, after inflating; a larger one closes
    /// the connection with `1009`. Default: 64 MiB.
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// How long connecting and the upgrade may take. Default: 10 s.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Opens the WebSocket over HTTP/2 (RFC 8441): an extended `CONNECT` with
    /// `:protocol = websocket` on an HTTP/2 connection of its own, by prior knowledge on
    /// `ws://` and with ALPN `h2` on `wss://`, instead of an HTTP/1.1 upgrade. The server
    /// must announce `SETTINGS_ENABLE_CONNECT_PROTOCOL`, as hyperbun's does. Messages,
    /// subprotocols and compression work as over HTTP/1.1. Default: off.
    pub fn http2(mut self, enabled: bool) -> Self {
        self.http2 = enabled;
        self
    }

    /// The TLS settings for `wss://` URLs (e.g. a private root certificate). Default: the
    /// Mozilla root certificates of the `webpki-roots` crate.
    #[cfg(feature = "tls")]
    pub fn tls_config(mut self, config: std::sync::Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// Connects and performs the upgrade.
    ///
    /// # Errors
    ///
    /// See [`ConnectError`]; a refused upgrade is [`ConnectError::Refused`] with the
    /// server's status, headers and body.
    pub async fn connect(self) -> Result<WebSocketClient, ConnectError> {
        let timeout = self.timeout;
        tokio::time::timeout(timeout, self.connect_now())
            .await
            .unwrap_or(Err(ConnectError::Timeout(timeout)))
    }

    /// Performs the upgrade on a stream that is already connected to the server, such as a
    /// Unix domain socket ([`Router::listen_unix`](crate::Router::listen_unix)) or an
    /// in-memory stream: the URL gives the `Host` header and the path; its scheme must be
    /// `ws://` (for TLS, pass a stream that already speaks it).
    ///
    /// # Errors
    ///
    /// As for [`connect`](Self::connect).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use hyperbun::client::ClientBuilder;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let stream = tokio::net::UnixStream::connect("/run/app.sock").await?;
    /// let mut ws = ClientBuilder::new("ws://localhost/chat").connect_on(stream).await?;
    /// ws.send("hello").await?;
    /// # Ok(())
    /// # }
    /// # let _ = run;
    /// ```
    pub async fn connect_on<S>(self, stream: S) -> Result<WebSocketClient, ConnectError>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
    {
        let timeout = self.timeout;
        let target = Target::parse(&self.url)?;
        if target.secure {
            return Err(ConnectError::Handshake(
                "connect_on takes a ws:// URL: pass a stream that already speaks TLS".into(),
            ));
        }
        let address = self.url.clone();
        tokio::time::timeout(timeout, self.handshake(Box::new(stream), &target, &address))
            .await
            .unwrap_or(Err(ConnectError::Timeout(timeout)))
    }

    async fn connect_now(self) -> Result<WebSocketClient, ConnectError> {
        let target = Target::parse(&self.url)?;
        let address = format!("{}:{}", target.host, target.port);
        let io_error = |source| ConnectError::Io {
            address: address.clone(),
            source,
        };
        let tcp = TcpStream::connect((target.host.as_str(), target.port))
            .await
            .map_err(io_error)?;
        tcp.set_nodelay(true).map_err(io_error)?;
        let stream: Box<dyn Stream> = if target.secure {
            self.tls_connect(&target, tcp).await.map_err(io_error)?
        } else {
            Box::new(tcp)
        };
        self.handshake(stream, &target, &address).await
    }

    /// The HTTP/1.1 upgrade on a connected stream.
    async fn handshake(
        self,
        mut stream: Box<dyn Stream>,
        target: &Target,
        address: &str,
    ) -> Result<WebSocketClient, ConnectError> {
        if self.http2 {
            return self.handshake_h2(stream, target).await;
        }
        let extra = self.request_headers()?;
        let io_error = |source| ConnectError::Io {
            address: address.to_owned(),
            source,
        };

        let key = base64::engine::general_purpose::STANDARD.encode(random_key());
        let request = self.request(target, &key, &extra);
        stream.write_all(&request).await.map_err(io_error)?;
        stream.flush().await.map_err(io_error)?;

        let mut buf = BytesMut::with_capacity(4096);
        let head = loop {
            if let Some(head) = parse_head(&buf)? {
                break head;
            }
            if buf.len() > MAX_HEAD {
                return Err(ConnectError::Handshake(format!(
                    "answer head longer than {MAX_HEAD} bytes"
                )));
            }
            if stream.read_buf(&mut buf).await.map_err(io_error)? == 0 {
                return Err(ConnectError::Handshake(
                    "the server closed the connection before answering".into(),
                ));
            }
        };
        let _ = buf.split_to(head.len);
        if head.status != StatusCode::SWITCHING_PROTOCOLS {
            let body = read_refusal_body(&mut stream, &head.headers, buf).await;
            return Err(ConnectError::Refused {
                status: head.status,
                headers: Box::new(head.headers),
                body,
            });
        }
        let agreed = self.check_answer(&head.headers, &key)?;
        Ok(self.client(stream, buf, agreed, head.headers))
    }

    /// The open client, once the handshake agreed: `read_buf` holds what arrived after it.
    fn client(
        &self,
        stream: Box<dyn Stream>,
        read_buf: BytesMut,
        agreed: Agreed,
        headers: HeaderMap,
    ) -> WebSocketClient {
        let mut decoder = Decoder::of(Role::Server, self.max_message_size);
        decoder.set_rsv1_allowed(agreed.deflate.is_some());
        WebSocketClient {
            stream,
            read_buf,
            write_buf: BytesMut::new(),
            decoder,
            deflate: agreed.deflate,
            max_message_size: self.max_message_size,
            masks: MaskSource::new(),
            protocol: agreed.protocol,
            headers,
            close_sent: false,
            closed: false,
            peer_close: None,
        }
    }

    /// The builder's headers, checked.
    fn request_headers(&self) -> Result<Vec<(HeaderName, HeaderValue)>, ConnectError> {
        self.headers
            .iter()
            .map(|(name, value)| {
                let invalid = |reason: String| ConnectError::InvalidHeader {
                    name: name.clone(),
                    reason,
                };
                let name =
                    HeaderName::try_from(name.as_str()).map_err(|e| invalid(e.to_string()))?;
                let value =
                    HeaderValue::try_from(value.as_str()).map_err(|e| invalid(e.to_string()))?;
                Ok((name, value))
            })
            .collect()
    }

    /// The upgrade request (RFC 6455 §4.1).
    fn request(&self, target: &Target, key: &str, extra: &[(HeaderName, HeaderValue)]) -> Vec<u8> {
        let mut request = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n",
            target.path, target.host_header
        )
        .into_bytes();
        if !self.protocols.is_empty() {
            request.extend_from_slice(b"Sec-WebSocket-Protocol: ");
            request.extend_from_slice(self.protocols.join(", ").as_bytes());
            request.extend_from_slice(b"\r\n");
        }
        if self.per_message_deflate {
            request.extend_from_slice(b"Sec-WebSocket-Extensions: ");
            request.extend_from_slice(DEFLATE_OFFER.as_bytes());
            request.extend_from_slice(b"\r\n");
        }
        for (name, value) in extra {
            request.extend_from_slice(name.as_str().as_bytes());
            request.extend_from_slice(b": ");
            request.extend_from_slice(value.as_bytes());
            request.extend_from_slice(b"\r\n");
        }
        request.extend_from_slice(b"\r\n");
        request
    }

    /// Checks a `101` answer (RFC 6455 §4.2.2): the upgrade headers, the accept key, a
    /// subprotocol and extensions among those offered.
    fn check_answer(&self, headers: &HeaderMap, key: &str) -> Result<Agreed, ConnectError> {
        let fail = |what: &str| Err(ConnectError::Handshake(what.to_owned()));
        let has_token = |name: http::header::HeaderName, token: &str| {
            headers.get_all(name).iter().any(|value| {
                value
                    .to_str()
                    .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
            })
        };
        if !has_token(http::header::UPGRADE, "websocket") {
            return fail("no `Upgrade: websocket`");
        }
        if !has_token(http::header::CONNECTION, "upgrade") {
            return fail("no `Connection: upgrade`");
        }
        if headers.get(http::header::SEC_WEBSOCKET_ACCEPT) != Some(&accept_key(key.as_bytes())) {
            return fail("wrong Sec-WebSocket-Accept");
        }
        self.agree(headers)
    }

    /// The subprotocol and extensions of an accepting answer, each among those offered.
    fn agree(&self, headers: &HeaderMap) -> Result<Agreed, ConnectError> {
        let fail = |what: &str| Err(ConnectError::Handshake(what.to_owned()));
        let protocol = match headers.get(http::header::SEC_WEBSOCKET_PROTOCOL) {
            None => None,
            Some(value) => match value.to_str() {
                Ok(chosen) if self.protocols.iter().any(|p| p == chosen) => Some(chosen.to_owned()),
                _ => return fail("a subprotocol that was not offered"),
            },
        };
        let mut extensions = headers
            .get_all(http::header::SEC_WEBSOCKET_EXTENSIONS)
            .iter();
        let deflate = match (extensions.next(), extensions.next()) {
            (None, _) => None,
            (Some(answer), None) if self.per_message_deflate => {
                let Some(answer) = parse_answer(answer) else {
                    return fail("an extension answer other than one valid permessage-deflate");
                };
                Some(Deflate {
                    compressor: codec::Compressor::new(
                        answer.client_max_window_bits,
                        8,
                        !answer.client_no_context_takeover,
                    ),
                    decompressor: codec::Decompressor::new(
                        answer.server_max_window_bits,
                        !answer.server_no_context_takeover,
                    ),
                })
            }
            _ => return fail("an extension that was not offered"),
        };
        Ok(Agreed { protocol, deflate })
    }

    /// The extended `CONNECT` (RFC 8441 §4) on a new HTTP/2 connection over `stream`.
    async fn handshake_h2(
        self,
        stream: Box<dyn Stream>,
        target: &Target,
    ) -> Result<WebSocketClient, ConnectError> {
        use http_body_util::{BodyExt, Empty, Limited};
        use hyper_util::rt::{TokioExecutor, TokioIo};

        let h2_error = |e: hyper::Error| ConnectError::Handshake(format!("HTTP/2: {e}"));
        let extra = self.request_headers()?;
        let (mut sender, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
            .handshake(TokioIo::new(stream))
            .await
            .map_err(h2_error)?;
        // Runs until the socket's stream and this sender are gone.
        tokio::spawn(conn);
        let scheme = if target.secure { "https" } else { "http" };
        let mut request = http::Request::builder()
            .method(http::Method::CONNECT)
            .version(http::Version::HTTP_2)
            .uri(format!("{scheme}://{}{}", target.host_header, target.path))
            .header(http::header::SEC_WEBSOCKET_VERSION, "13");
        if !self.protocols.is_empty() {
            request = request.header(
                http::header::SEC_WEBSOCKET_PROTOCOL,
                self.protocols.join(", "),
            );
        }
        if self.per_message_deflate {
            request = request.header(http::header::SEC_WEBSOCKET_EXTENSIONS, DEFLATE_OFFER);
        }
        for (name, value) in extra {
            request = request.header(name, value);
        }
        let mut request = request
            .body(Empty::<Bytes>::new())
            .map_err(|e| ConnectError::Handshake(format!("invalid request: {e}")))?;
        request
            .extensions_mut()
            .insert(hyper::ext::Protocol::from_static("websocket"));
        let mut response = sender.send_request(request).await.map_err(h2_error)?;
        drop(sender);
        if !response.status().is_success() {
            let (head, body) = response.into_parts();
            let body = match Limited::new(body, MAX_REFUSAL_BODY).collect().await {
                Ok(body) => body.to_bytes(),
                Err(_) => Bytes::new(),
            };
            return Err(ConnectError::Refused {
                status: head.status,
                headers: Box::new(head.headers),
                body,
            });
        }
        let agreed = self.agree(response.headers())?;
        let headers = std::mem::take(response.headers_mut());
        let upgraded = hyper::upgrade::on(response).await.map_err(h2_error)?;
        Ok(self.client(
            Box::new(TokioIo::new(upgraded)),
            BytesMut::new(),
            agreed,
            headers,
        ))
    }

    #[cfg(feature = "tls")]
    async fn tls_connect(
        &self,
        target: &Target,
        tcp: TcpStream,
    ) -> std::io::Result<Box<dyn Stream>> {
        let mut config = self.tls.clone().unwrap_or_else(super::tls::default_config);
        if self.http2 {
            let mut h2 = (*config).clone();
            h2.alpn_protocols = vec![b"h2".to_vec()];
            config = std::sync::Arc::new(h2);
        }
        let name = rustls::pki_types::ServerName::try_from(target.host.clone())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let stream = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await?;
        Ok(Box::new(stream))
    }

    #[cfg(not(feature = "tls"))]
    #[allow(clippy::unused_async)]
    async fn tls_connect(
        &self,
        _target: &Target,
        _tcp: TcpStream,
    ) -> std::io::Result<Box<dyn Stream>> {
        unreachable!("Target::parse refuses wss:// without the tls feature")
    }
}

/// What the handshake agreed to.
struct Agreed {
    protocol: Option<String>,
    deflate: Option<Deflate>,
}

/// Where to connect, from the URL.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    secure: bool,
    /// The host name or IP address (without brackets).
    host: String,
    port: u16,
    /// The `Host` header: the host (IPv6 in brackets) and the port unless it is the default.
    host_header: String,
    /// Path and query, at least `/`.
    path: String,
}

impl Target {
    fn parse(url: &str) -> Result<Target, ConnectError> {
        let invalid = |reason| ConnectError::InvalidUrl {
            url: url.to_owned(),
            reason,
        };
        let uri: Uri = url.parse().map_err(|_| invalid("not a URL"))?;
        let secure = match uri.scheme_str() {
            Some(s) if s.eq_ignore_ascii_case("ws") => false,
            Some(s) if s.eq_ignore_ascii_case("wss") => true,
            Some(_) => return Err(invalid("the scheme must be ws:// or wss://")),
            None => return Err(invalid("no scheme (ws:// or wss://)")),
        };
        if secure && !cfg!(feature = "tls") {
            return Err(ConnectError::TlsNotEnabled);
        }
        let authority = uri.authority().ok_or_else(|| invalid("no host"))?;
        if authority.as_str().contains('@') {
            return Err(invalid("user information in the URL is not supported"));
        }
        let host = authority.host();
        if host.is_empty() {
            return Err(invalid("no host"));
        }
        let default_port = if secure { 443 } else { 80 };
        let port = authority.port_u16().unwrap_or(default_port);
        let host_header = if port == default_port {
            host.to_owned()
        } else {
            format!("{host}:{port}")
        };
        let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
        let path = if path.is_empty() {
            "/".to_owned()
        } else {
            path
        };
        Ok(Target {
            secure,
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port,
            host_header,
            path,
        })
    }
}

/// A parsed answer head.
struct Head {
    status: StatusCode,
    headers: HeaderMap,
    /// Its length in bytes, blank line included.
    len: usize,
}

/// Parses the answer head at the front of `buf`; `None` if it is not complete yet.
fn parse_head(buf: &[u8]) -> Result<Option<Head>, ConnectError> {
    let mut slots = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut slots);
    let len = match response.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(ConnectError::Handshake(format!("not an HTTP answer: {e}"))),
    };
    let status = response
        .code
        .and_then(|code| StatusCode::from_u16(code).ok())
        .ok_or_else(|| ConnectError::Handshake("invalid status code".into()))?;
    let mut headers = HeaderMap::new();
    for header in response.headers.iter() {
        let name = HeaderName::try_from(header.name);
        let value = HeaderValue::from_bytes(header.value);
        if let (Ok(name), Ok(value)) = (name, value) {
            headers.append(name, value);
        }
    }
    Ok(Some(Head {
        status,
        headers,
        len,
    }))
}

/// The body of a refusal: `Content-Length` bytes (at most 64 KiB), or what arrives before
/// the server closes or pauses for a second.
async fn read_refusal_body(
    stream: &mut Box<dyn Stream>,
    headers: &HeaderMap,
    mut body: BytesMut,
) -> Bytes {
    let length = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    let want = length.unwrap_or(MAX_REFUSAL_BODY).min(MAX_REFUSAL_BODY);
    while body.len() < want {
        let read = tokio::time::timeout(Duration::from_secs(1), stream.read_buf(&mut body));
        match read.await {
            Ok(Ok(n)) if n > 0 => {}
            _ => break,
        }
    }
    body.truncate(want);
    body.freeze()
}

/// 16 random bytes for `Sec-WebSocket-Key`.
fn random_key() -> [u8; 16] {
    let mut source = MaskSource::new();
    let mut key = [0; 16];
    for chunk in key.chunks_mut(4) {
        chunk.copy_from_slice(&source.next());
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> Result<Target, ConnectError> {
        Target::parse(url)
    }

    #[test]
    fn urls() {
        let t = target("ws://127.0.0.1:3000/ws?name=ada").unwrap();
        assert_eq!(
            t,
            Target {
                secure: false,
                host: "127.0.0.1".into(),
                port: 3000,
                host_header: "127.0.0.1:3000".into(),
                path: "/ws?name=ada".into(),
            }
        );
        let t = target("ws://example.com").unwrap();
        assert_eq!(
            (t.port, t.host_header.as_str(), t.path.as_str()),
            (80, "example.com", "/")
        );
        let t = target("ws://[::1]:9001/x").unwrap();
        assert_eq!(
            (t.host.as_str(), t.host_header.as_str()),
            ("::1", "[::1]:9001")
        );
        for (bad, reason) in [
            ("http://example.com/", "the scheme must be ws:// or wss://"),
            ("/ws", "no scheme (ws:// or wss://)"),
            (
                "ws://user:pw@example.com/",
                "user information in the URL is not supported",
            ),
            ("not a url", "not a URL"),
        ] {
            match target(bad) {
                Err(ConnectError::InvalidUrl { reason: r, .. }) => assert_eq!(r, reason, "{bad}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_refusal_keeps_its_status_and_headers() {
        let head =
            parse_head(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 5\r\nX-A: b\r\n\r\nno!!!")
                .unwrap()
                .unwrap();
        assert_eq!(head.status, StatusCode::UNAUTHORIZED);
        assert_eq!(head.headers["x-a"], "b");
        assert_eq!(head.len, 56);
        assert!(parse_head(b"HTTP/1.1 101 Switching").unwrap().is_none());
        assert!(parse_head(b"SSH-2.0\r\n\r\n").is_err());
    }

    #[test]
    fn masks_differ() {
        let mut source = MaskSource::new();
        let masks: std::collections::HashSet<[u8; 4]> = (0..1000).map(|_| source.next()).collect();
        assert!(masks.len() > 990);
        assert_ne!(random_key(), random_key());
    }
}
