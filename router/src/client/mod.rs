//! A WebSocket client: Bun's `new WebSocket(url, { headers })`, for tests, tools and
//! services that talk to other WebSocket servers.
//!
//! [`connect`] a `ws://` URL (or `wss://` with the `tls` feature), or configure the
//! connection with a [`ClientBuilder`]: extra request headers (`Authorization`, cookies),
//! subprotocols, permessage-deflate, the largest message accepted. Then
//! [`send`](WebSocketClient::send) and [`recv`](WebSocketClient::recv) messages,
//! [`ping`](WebSocketClient::ping), and [`close`](WebSocketClient::close) with a code and a
//! reason. The client answers pings and the server's close frame by itself, as a browser does.
//!
//! A server that refuses the upgrade is a [`ConnectError::Refused`] carrying its status,
//! headers and body, so `401`, `403` or `426` answers can be checked like any response.
//!
//! ```no_run
//! use hyperbun::client::ClientBuilder;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let mut ws = ClientBuilder::new("ws://127.0.0.1:3000/ws?name=ada")
//!     .header("Authorization", "Bearer secret")
//!     .protocol("chat.v2")
//!     .per_message_deflate(true)
//!     .connect()
//!     .await?;
//! ws.send("hello").await?;
//! while let Some(message) = ws.recv().await? {
//!     if message.as_text() == Some("bye") {
//!         break;
//!     }
//! }
//! ws.close(1000, "done").await?;
//! # Ok(())
//! # }
//! # let _ = run;
//! ```
//!
//! Each call does its own I/O: [`send`](WebSocketClient::send) writes the frame before it
//! returns, [`recv`](WebSocketClient::recv) reads until a message is complete. The client is
//! one task's (`&mut self`); it is not the server's runtime and is not tuned for load.

mod connect;
mod error;

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::HeaderMap;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::ws::deflate::codec;
use crate::ws::frame::{self, CloseReason, Decoder, Event, OpCode};
use crate::ws::Message;

pub use connect::ClientBuilder;
pub use error::{ClientError, ConnectError};

/// How long [`WebSocketClient::close`] waits for the server's close frame.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest message a client accepts unless told otherwise: 64 MiB.
const DEFAULT_MAX_MESSAGE_SIZE: usize = 64 << 20;

/// Connects to a `ws://` (or, with the `tls` feature, `wss://`) URL with default settings:
/// no extra headers, no subprotocol, no compression. [`ClientBuilder`] configures more.
///
/// # Errors
///
/// A [`ConnectError`]: a bad URL, a connection that fails, a server that refuses the upgrade
/// (with its status) or answers it wrongly.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let mut ws = hyperbun::client::connect("ws://127.0.0.1:3000/ws").await?;
/// ws.send_text("hello").await?;
/// # Ok(())
/// # }
/// # let _ = run;
/// ```
pub async fn connect(url: &str) -> Result<WebSocketClient, ConnectError> {
    ClientBuilder::new(url).connect().await
}

/// What the server sent: a message or a control frame. [`WebSocketClient::next_event`]
/// returns them all; [`WebSocketClient::recv`] only messages.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// A text or binary message (inflated if it was compressed).
    Message(Message),
    /// A ping; the client has already answered it with a pong.
    Ping(Bytes),
    /// A pong (the answer to [`WebSocketClient::ping`], or unsolicited).
    Pong(Bytes),
    /// The server's close frame (`None`: it had no code); the client has answered it, and
    /// the connection is closed.
    Close(Option<CloseFrame>),
}

/// A close frame's code and reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFrame {
    /// The close code, e.g. `1000` (normal) or `1008` (policy violation).
    pub code: u16,
    /// The reason, possibly empty.
    pub reason: String,
}

/// The connection: any byte stream (TCP, or TLS over TCP).
trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

/// An open WebSocket connection to a server. See the [module docs](self).
///
/// # Examples
///
/// ```
/// use hyperbun::client::{connect, ClientEvent, CloseFrame};
/// use hyperbun::prelude::*;
/// use hyperbun::test::TestServer;
///
/// struct Shout;
///
/// #[websocket("/shout")]
/// impl Shout {
///     fn message(ws: &mut WebSocket, msg: Message) {
///         match msg.as_text() {
///             Some("bye") => ws.close(4000, "see you"),
///             Some(text) => {
///                 ws.send(text.to_uppercase());
///             }
///             None => {}
///         }
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let app = TestServer::start(hyperbun::router![Shout]).await;
/// # let url = app.ws_url("/shout");
/// let mut ws = connect(&url).await?;           // e.g. "ws://127.0.0.1:3000/shout"
/// ws.send("hello").await?;
/// assert_eq!(ws.recv().await?, Some(Message::text("HELLO")));
/// ws.ping(b"still there?").await?;
/// assert_eq!(ws.next_event().await?, ClientEvent::Pong(Bytes::from_static(b"still there?")));
/// ws.send("bye").await?;
/// assert_eq!(ws.recv().await?, None);            // the server closed; we answered
/// let close = CloseFrame { code: 4000, reason: "see you".into() };
/// assert_eq!(ws.close_frame(), Some(Some(&close)));
/// # app.stop().await;
/// # Ok(())
/// # }
/// ```
pub struct WebSocketClient {
    stream: Box<dyn Stream>,
    read_buf: BytesMut,
    write_buf: BytesMut,
    decoder: Decoder,
    deflate: Option<Deflate>,
    max_message_size: usize,
    masks: MaskSource,
    protocol: Option<String>,
    headers: HeaderMap,
    /// We sent a close frame.
    close_sent: bool,
    /// The connection is over: the closing handshake completed, or it failed.
    closed: bool,
    /// The server's close frame, once received.
    peer_close: Option<Option<CloseFrame>>,
}

impl std::fmt::Debug for WebSocketClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocketClient")
            .field("protocol", &self.protocol)
            .field("deflate", &self.deflate.is_some())
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

/// permessage-deflate in both directions, as agreed with the server.
struct Deflate {
    compressor: codec::Compressor,
    decompressor: codec::Decompressor,
}

impl WebSocketClient {
    /// Sends a text or binary message (`&str`/`String` are text; `Vec<u8>`, `&[u8]`,
    /// [`Bytes`] binary), compressed when permessage-deflate was agreed, as browsers do.
    /// Returns once the frame is written.
    ///
    /// # Errors
    ///
    /// [`ClientError::Closed`] after the connection closed; [`ClientError::Io`] if writing
    /// fails.
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<(), ClientError> {
        let message = message.into();
        let opcode = if message.is_text() {
            OpCode::Text
        } else {
            OpCode::Binary
        };
        self.send_data(opcode, message.as_bytes()).await
    }

    /// Sends a text message; [`send`](Self::send) with a `&str`, without a copy.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub async fn send_text(&mut self, text: &str) -> Result<(), ClientError> {
        self.send_data(OpCode::Text, text.as_bytes()).await
    }

    /// Sends a binary message; [`send`](Self::send) with a `&[u8]`, without a copy.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub async fn send_binary(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        self.send_data(OpCode::Binary, bytes).await
    }

    /// Sends a ping; the server's pong comes back as [`ClientEvent::Pong`] from
    /// [`next_event`](Self::next_event).
    ///
    /// # Errors
    ///
    /// [`ClientError::ControlTooLong`] for a payload over 125 bytes, and as
    /// [`send`](Self::send).
    pub async fn ping(&mut self, payload: impl AsRef<[u8]>) -> Result<(), ClientError> {
        self.send_control(OpCode::Ping, payload.as_ref()).await
    }

    /// Sends a pong (one is sent for every ping by itself; this is for unsolicited pongs).
    ///
    /// # Errors
    ///
    /// As [`ping`](Self::ping).
    pub async fn pong(&mut self, payload: impl AsRef<[u8]>) -> Result<(), ClientError> {
        self.send_control(OpCode::Pong, payload.as_ref()).await
    }

    /// The next message. Pings are answered and skipped, pongs skipped. `Ok(None)` once the
    /// server closed the connection with a close frame (see [`close_frame`](Self::close_frame)).
    ///
    /// # Errors
    ///
    /// [`ClientError::Protocol`] if the server broke the protocol (the client closes with the
    /// matching code first), [`ClientError::Abrupt`] if the connection ended without a close
    /// frame, [`ClientError::Io`], or [`ClientError::Closed`] if it was already closed.
    pub async fn recv(&mut self) -> Result<Option<Message>, ClientError> {
        loop {
            match self.next_event().await? {
                ClientEvent::Message(message) => return Ok(Some(message)),
                ClientEvent::Close(_) => return Ok(None),
                ClientEvent::Ping(_) | ClientEvent::Pong(_) => {}
            }
        }
    }

    /// The next thing the server sent, control frames included. A ping is answered before it
    /// is returned; a close frame is answered (with the same code) and ends the connection.
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    pub async fn next_event(&mut self) -> Result<ClientEvent, ClientError> {
        if self.closed {
            return Err(ClientError::Closed);
        }
        loop {
            let event = match self.decoder.decode(&mut self.read_buf) {
                Ok(Some(event)) => event,
                Ok(None) => {
                    self.read_more().await?;
                    continue;
                }
                Err(reason) => return Err(self.fail(reason).await),
            };
            return match event {
                Event::Message(message) => Ok(ClientEvent::Message(message)),
                Event::Compressed { text, payload } => match self.inflate(text, &payload) {
                    Ok(message) => Ok(ClientEvent::Message(message)),
                    Err(reason) => Err(self.fail(reason).await),
                },
                Event::Ping(payload) => {
                    if !self.close_sent {
                        self.send_control(OpCode::Pong, &payload).await?;
                    }
                    Ok(ClientEvent::Ping(payload))
                }
                Event::Pong(payload) => Ok(ClientEvent::Pong(payload)),
                Event::Close(close) => {
                    let close = close.map(|(code, reason)| CloseFrame {
                        code,
                        reason: reason.as_str().to_owned(),
                    });
                    if !self.close_sent {
                        // Echo the code (RFC 6455 §5.5.1); ignore a failure: we are done.
                        let mut payload = BytesMut::new();
                        if let Some(close) = &close {
                            frame::encode_close_payload(&mut payload, close.code, "");
                        }
                        let _ = self.write_frame(OpCode::Close, false, &payload).await;
                        self.close_sent = true;
                    }
                    self.closed = true;
                    self.peer_close = Some(close.clone());
                    let _ = self.stream.shutdown().await;
                    Ok(ClientEvent::Close(close))
                }
            };
        }
    }

    /// Closes the connection: sends a close frame with `code` (1000 normal, 1001 going away,
    /// 3000–4999 your own) and `reason` (cut to fit 123 bytes), then waits up to 5 s for the
    /// server's close frame, discarding messages that arrive meanwhile. Returns the server's
    /// close frame (`None`: it had no code).
    ///
    /// # Errors
    ///
    /// [`ClientError::InvalidCloseCode`] for a code an endpoint may not send (1005, 1006,
    /// 1015, below 1000, …); [`ClientError::Closed`] if it was already closed;
    /// [`ClientError::Timeout`] if the server did not answer in time; and as
    /// [`recv`](Self::recv).
    pub async fn close(
        &mut self,
        code: u16,
        reason: &str,
    ) -> Result<Option<CloseFrame>, ClientError> {
        if !frame::is_sendable_close_code(code) {
            return Err(ClientError::InvalidCloseCode(code));
        }
        if self.closed || self.close_sent {
            return Err(ClientError::Closed);
        }
        let mut payload = BytesMut::new();
        frame::encode_close_payload(&mut payload, code, reason);
        self.write_frame(OpCode::Close, false, &payload).await?;
        self.close_sent = true;
        let answer = async {
            loop {
                if let ClientEvent::Close(close) = self.next_event().await? {
                    return Ok(close);
                }
            }
        };
        match tokio::time::timeout(CLOSE_TIMEOUT, answer).await {
            Ok(result) => result,
            Err(_) => {
                self.closed = true;
                Err(ClientError::Timeout(CLOSE_TIMEOUT))
            }
        }
    }

    /// The subprotocol the server chose among those offered, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// True when permessage-deflate was agreed: messages go out compressed and compressed
    /// messages from the server are inflated.
    pub fn is_compressed(&self) -> bool {
        self.deflate.is_some()
    }

    /// The headers of the server's `101 Switching Protocols` answer.
    pub fn response_headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The server's close frame, once it was received: `Some(None)` if it had no code.
    pub fn close_frame(&self) -> Option<Option<&CloseFrame>> {
        self.peer_close.as_ref().map(Option::as_ref)
    }

    /// True once the connection is closed (either side's close, or a failure).
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    async fn send_data(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), ClientError> {
        if let Some(deflate) = &mut self.deflate {
            let mut compressed = BytesMut::new();
            if deflate.compressor.compress(payload, &mut compressed) {
                return self.write_frame(opcode, true, &compressed).await;
            }
        }
        self.write_frame(opcode, false, payload).await
    }

    async fn send_control(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), ClientError> {
        if payload.len() > 125 {
            return Err(ClientError::ControlTooLong(payload.len()));
        }
        self.write_frame(opcode, false, payload).await
    }

    /// Writes one whole frame, masked, and flushes it.
    async fn write_frame(
        &mut self,
        opcode: OpCode,
        compressed: bool,
        payload: &[u8],
    ) -> Result<(), ClientError> {
        if self.closed || self.close_sent {
            return Err(ClientError::Closed);
        }
        self.write_buf.clear();
        let mask = self.masks.next();
        frame::encode_masked_frame(&mut self.write_buf, opcode, true, compressed, payload, mask);
        let written = async {
            self.stream.write_all(&self.write_buf).await?;
            self.stream.flush().await
        };
        if let Err(error) = written.await {
            self.closed = true;
            return Err(ClientError::Io(error));
        }
        Ok(())
    }

    /// Reads what the server sent into the read buffer.
    async fn read_more(&mut self) -> Result<(), ClientError> {
        self.read_buf.reserve(16 * 1024);
        match self.stream.read_buf(&mut self.read_buf).await {
            Ok(0) => {
                self.closed = true;
                Err(ClientError::Abrupt)
            }
            Ok(_) => Ok(()),
            Err(error) => {
                self.closed = true;
                Err(ClientError::Io(error))
            }
        }
    }

    /// Fails the connection: a close frame with the reason's code, then the error.
    async fn fail(&mut self, reason: CloseReason) -> ClientError {
        if !self.close_sent {
            let mut payload = BytesMut::new();
            frame::encode_close_payload(&mut payload, reason.code, reason.reason);
            let _ = self.write_frame(OpCode::Close, false, &payload).await;
            self.close_sent = true;
        }
        self.closed = true;
        let _ = self.stream.shutdown().await;
        ClientError::Protocol {
            code: reason.code,
            reason: reason.reason,
        }
    }

    /// Inflates a compressed message: past the size limit is 1009, bad data or text 1007.
    fn inflate(&mut self, text: bool, payload: &[u8]) -> Result<Message, CloseReason> {
        let Some(deflate) = &mut self.deflate else {
            return Err(CloseReason {
                code: 1002,
                reason: "compressed message without permessage-deflate",
            });
        };
        let limit = self.max_message_size;
        codec::inflate_message(text, |out| {
            deflate.decompressor.decompress(payload, limit, out)
        })
    }
}

/// Masking keys for the frames a client sends (RFC 6455 §5.3): a SplitMix64 sequence seeded
/// from the standard library's per-process random hash keys, so keys cannot be predicted
/// from outside the process.
struct MaskSource(u64);

impl MaskSource {
    fn new() -> Self {
        use std::hash::{BuildHasher, Hasher};
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        MaskSource(hasher.finish())
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn next(&mut self) -> [u8; 4] {
        let [a, b, c, d, ..] = self.next_u64().to_le_bytes();
        [a, b, c, d]
    }
}

#[cfg(feature = "tls")]
pub(crate) mod tls {
    //! The default TLS settings of `wss://` connections (and of `auth`'s HTTPS requests).

    use std::sync::{Arc, OnceLock};

    /// Mozilla's root certificates (`webpki-roots`), ring's crypto, built once.
    pub(crate) fn default_config() -> Arc<rustls::ClientConfig> {
        static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
        Arc::clone(CONFIG.get_or_init(|| {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("ring supports TLS 1.2 and 1.3")
                .with_root_certificates(roots)
                .with_no_client_auth();
            Arc::new(config)
        }))
    }
}
