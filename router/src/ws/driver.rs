//! The connection driver: one task per socket that reads frames, runs the handlers in order,
//! writes their sends in batches, keeps the idle timeout, and runs the closing handshake.
//!
//! Memory: while a socket is idle the driver holds no buffer (the read buffer is released
//! whenever it is empty, the send queue whenever it is written), so an idle connection
//! costs its task, its `SocketShared` and the client data.
//!
//! Life of a connection: `open` → (`message` | `ping` | `pong` | `drain`)* → `close`, exactly
//! once each for `open` and `close`, whatever ends the connection. A handler that panics
//! closes its own socket with `1011` and `error` runs; other sockets are untouched.
//!
//! A socket with a [`RateLimit`](crate::RateLimit) keeps its token bucket here: the clock is
//! read once per read that holds a message, and each message takes a token before `message`
//! runs (see [`rate_limit`](crate::ws::rate_limit)).

use std::future::{poll_fn, Future};
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::time::Instant;

use crate::panic::panic_message;
use crate::server::ConnectionHold;
use crate::ws::deflate::codec;
use crate::ws::deflate::negotiate::Agreed;
use crate::ws::deflate::{Receiver, Sender};
use crate::ws::frame::{CloseReason, Decoder, Event, OpCode};
use crate::ws::handlers::SocketHandlers;
use crate::ws::idle::{IdleAction, IdleState};
use crate::ws::peers::PeerSlot;
use crate::ws::queue::Payload;
use crate::ws::rate_limit::{RateLimitAction, TokenBucket};
use crate::ws::shared::SocketShared;
use crate::ws::socket::Conn;
use crate::ws::spare;
use crate::ws::transport::{Stream, Transport};
use crate::ws::{Message, ReadyState, WebSocket, WebSocketError};
use crate::{Addr, Server};

/// How long a closing handshake may take: after our close frame is written, the peer has this
/// long to answer before the connection is dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// After failing a connection (protocol error), how long unread input is drained before the
/// socket is closed, so the kernel does not answer it with a reset that destroys our close
/// frame in flight.
const LINGER: Duration = Duration::from_secs(1);

/// Drives one upgraded connection until it is closed: builds the connection's state, then
/// returns the future that runs it. (Built outside the `async` block so the task stores each
/// value once: an `async fn` keeps its arguments alongside the locals made from them.)
///
/// `peer` counts the socket against its IP's
/// [`max_websockets_per_ip`](crate::ServerConfig::max_websockets_per_ip) until the connection
/// ends, like the registration, and `hold` keeps what the socket holds of the connection it
/// came on (its place in `max_connections`, its HTTP/2 stream).
#[allow(clippy::too_many_arguments)]
pub(crate) fn run<S: SocketHandlers>(
    transport: Stream,
    leftover: Bytes,
    data: S::Data,
    server: Server,
    remote_addr: Addr,
    negotiated: Negotiated,
    stop: tokio::sync::watch::Receiver<crate::server::Phase>,
    peer: PeerSlot,
    hold: Option<ConnectionHold>,
) -> impl Future<Output = ()> + Send {
    let Negotiated { protocol, deflate } = negotiated;
    let options = S::options();
    let idle = IdleState::new(options.idle_timeout, options.send_pings, server.clock());
    let settings = &options.per_message_deflate;
    let sender = deflate.and_then(|agreed| Sender::new(settings, &agreed).map(Box::new));
    let receiver = deflate.map(|agreed| Receiver::new(settings, &agreed));
    let shared = Arc::new(SocketShared::new(transport, idle, options, sender));
    let registration = server.register_socket(Arc::clone(&shared), stop);
    let ws = WebSocket {
        data,
        conn: Conn {
            shared: Arc::clone(&shared),
            server,
            remote_addr,
            protocol,
            state: ReadyState::Open,
            closing: None,
            terminated: false,
            subscriptions: None,
            write_error: None,
        },
    };
    let mut read_buf = BytesMut::new();
    if !leftover.is_empty() {
        read_buf.extend_from_slice(&leftover);
    }
    let mut decoder = Decoder::new(options.max_payload_length);
    decoder.set_rsv1_allowed(receiver.is_some());
    let rate = options
        .rate_limit
        .as_ref()
        .map(|limit| Box::new(TokenBucket::new(limit, Instant::now())));
    let driver = Driver {
        shared,
        decoder,
        read_buf,
        receiver,
        rate,
    };
    async move {
        let mut ws = ws;
        let mut driver = driver;
        let (code, reason) = driver.drive::<S>(&mut ws).await;
        ws.conn.state = ReadyState::Closed;
        ws.conn.shared.end();
        // Counts are exact by the time `close` runs: the socket has left its topics.
        ws.conn.leave_all();
        if let Err(panic) = call(&driver.shared, || S::close(&mut ws, code, &reason)).await {
            log_panic::<S>("close", &panic);
        }
        // The peer's slot first: once the socket no longer counts as open, its IP may open
        // another.
        drop(peer);
        drop(hold);
        drop(registration);
    }
}

/// What the handshake settled besides the data.
pub(crate) struct Negotiated {
    /// The subprotocol, if any.
    pub(crate) protocol: Option<Box<str>>,
    /// The permessage-deflate parameters, if agreed.
    pub(crate) deflate: Option<Agreed>,
}

/// How the driver left its main loop.
enum Ending {
    /// The connection is gone (EOF, reset, terminate): report `1006`.
    Abrupt,
    /// A close frame is queued (by us, for `code`/`reason`); wait for the peer's, then end.
    Closing,
    /// We answered the peer's close frame: write it and end.
    Answered(u16, Box<str>),
    /// We failed the connection with a close frame: write it, drain input briefly, end.
    Failed,
}

/// Driver state besides the handle.
struct Driver {
    shared: Arc<SocketShared>,
    decoder: Decoder,
    read_buf: BytesMut,
    /// Inflates compressed messages, when permessage-deflate was agreed.
    receiver: Option<Receiver>,
    /// The message rate limit's bucket, when the route has one.
    rate: Option<Box<TokenBucket>>,
}

/// What woke the driver.
enum Wake {
    /// Bytes arrived (or the stream ended, or reading failed).
    Read(io::Result<usize>),
    /// Everything queued has been written (or writing failed).
    Written(io::Result<()>),
    /// Another task raised a flag.
    Notified,
}

impl Driver {
    /// Runs the connection until it ends; returns the code and reason for `close`.
    async fn drive<S: SocketHandlers>(&mut self, ws: &mut WebSocket<S::Data>) -> (u16, Box<str>) {
        let ending = self.main_loop::<S>(ws).await;
        let shared = Arc::clone(&self.shared);
        // Closing is rare next to reading and writing: its futures (timeouts, readiness) live
        // on the heap, so they do not enlarge every idle connection's task.
        let mut finish = Box::pin(self.finish(ws, ending));
        poll_fn(|cx| {
            if let Poll::Ready(closed) = finish.as_mut().poll(cx) {
                return Poll::Ready(closed);
            }
            if shared.poll_aborted(cx) {
                // The server's grace period is over: no more waiting for the peer.
                return Poll::Ready((1006, "".into()));
            }
            Poll::Pending
        })
        .await
    }

    async fn finish<T>(&mut self, ws: &mut WebSocket<T>, ending: Ending) -> (u16, Box<str>) {
        match ending {
            Ending::Abrupt => {
                ws.conn.state = ReadyState::Closed;
                (1006, "".into())
            }
            Ending::Answered(code, reason) => {
                self.finish_writing().await;
                (code, reason)
            }
            Ending::Closing => {
                let (code, reason) = ws.conn.closing.take().unwrap_or((1000, "".into()));
                if self.finish_writing().await {
                    self.await_peer_close().await;
                }
                (code, reason)
            }
            Ending::Failed => {
                let (code, reason) = ws.conn.closing.take().unwrap_or((1002, "".into()));
                if self.finish_writing().await {
                    self.linger().await;
                }
                (code, reason)
            }
        }
    }

    async fn main_loop<S: SocketHandlers>(&mut self, ws: &mut WebSocket<S::Data>) -> Ending {
        if let Err(panic) = call(&self.shared, || S::open(ws)).await {
            return Box::pin(self.handler_panicked::<S>(ws, "open", panic)).await;
        }
        // Frames that came in with the handshake (hyper read them) are handled first: no read
        // will report them again.
        let mut handshake_bytes = !self.read_buf.is_empty();
        loop {
            let wake = if handshake_bytes {
                handshake_bytes = false;
                Wake::Read(Ok(self.read_buf.len()))
            } else {
                if let Some(ending) = self.after_handlers::<S>(ws).await {
                    return ending;
                }
                self.wait().await
            };
            match wake {
                Wake::Notified => {
                    if self.shared.aborting.load(Ordering::Acquire) {
                        return Ending::Abrupt;
                    }
                    if self.shared.close_request().is_some() {
                        // `after_handlers` starts the close, first thing.
                        continue;
                    }
                    match self.shared.idle.take_action() {
                        IdleAction::Nothing => {}
                        IdleAction::Ping => {
                            ws.conn
                                .shared
                                .push(OpCode::Ping, Payload::Borrowed(&[]), true);
                        }
                        IdleAction::Close => {
                            ws.conn.start_close(1001, "idle timeout");
                            return Ending::Failed;
                        }
                    }
                }
                Wake::Written(Ok(())) => {}
                Wake::Written(Err(e)) => return Box::pin(self.io_failed::<S>(ws, e)).await,
                Wake::Read(Ok(0)) => return Ending::Abrupt,
                Wake::Read(Err(e)) => return Box::pin(self.io_failed::<S>(ws, e)).await,
                Wake::Read(Ok(_)) => {
                    self.shared.idle.touch(ws.conn.server.clock());
                    if let Some(ending) = self.dispatch::<S>(ws).await {
                        return ending;
                    }
                }
            }
        }
    }

    /// Waits for the next thing to do: a flag raised by another task, the end of a write
    /// that had to wait, or bytes to read.
    fn wait(&mut self) -> impl Future<Output = Wake> + '_ {
        poll_fn(|cx| {
            if self.shared.poll_woken(cx) {
                return Poll::Ready(Wake::Notified);
            }
            if self.shared.has_pending() {
                if let Poll::Ready(written) = self.shared.poll_flush(cx) {
                    return Poll::Ready(Wake::Written(written));
                }
            }
            self.shared
                .transport
                .poll_read(cx, &mut self.read_buf)
                .map(Wake::Read)
        })
    }

    /// After any handler ran: act on `terminate`/`close`, write, run `drain` when due.
    async fn after_handlers<S: SocketHandlers>(
        &mut self,
        ws: &mut WebSocket<S::Data>,
    ) -> Option<Ending> {
        loop {
            if ws.conn.terminated || self.shared.aborting.load(Ordering::Acquire) {
                return Some(Ending::Abrupt);
            }
            if let Some(e) = ws.conn.write_error.take() {
                return Some(Box::pin(self.io_failed::<S>(ws, e)).await);
            }
            if ws.conn.closing.is_some() {
                return Some(Ending::Closing);
            }
            // Asked from outside the loop: the server stopping, a frame refused at the limit
            // with `close_on_backpressure_limit`, a `SocketHandle`.
            if let Some(request) = self.shared.close_request() {
                ws.conn.start_close(request.code, &request.reason);
                return Some(Ending::Closing);
            }
            if let Err(e) = self.shared.flush_now() {
                return Some(Box::pin(self.io_failed::<S>(ws, e)).await);
            }
            let limit = self.shared.options.backpressure_limit;
            if self.shared.wants_drain.load(Ordering::Relaxed) && self.shared.buffered() < limit {
                self.shared.wants_drain.store(false, Ordering::Relaxed);
                if let Err(panic) = call(&self.shared, || S::drain(ws)).await {
                    return Some(Box::pin(self.handler_panicked::<S>(ws, "drain", panic)).await);
                }
                continue;
            }
            return None;
        }
    }

    /// After a read: runs a handler per complete frame in the read buffer.
    async fn dispatch<S: SocketHandlers>(&mut self, ws: &mut WebSocket<S::Data>) -> Option<Ending> {
        // The rate limit's bucket is refilled once per read, at its first message.
        let mut refilled = false;
        loop {
            let event = match self.next_event() {
                Ok(Some(event)) => event,
                Ok(None) => break,
                Err(reason) => return Some(Box::pin(self.protocol_failed::<S>(ws, reason)).await),
            };
            let (handler, result) = match event {
                Event::Message(message) if self.rate.is_none() || self.admit(&mut refilled) => (
                    "message",
                    call(&self.shared, || S::message(ws, message)).await,
                ),
                // Out of line: the hot path's state stays as small as without a limit.
                Event::Message(message) => {
                    match Box::pin(self.over_limit::<S>(ws, message)).await {
                        Some(result) => ("rate_limited", result),
                        None => break,
                    }
                }
                Event::Ping(payload) => {
                    ws.conn
                        .shared
                        .push(OpCode::Pong, Payload::Borrowed(&payload), true);
                    ("ping", call(&self.shared, || S::ping(ws, payload)).await)
                }
                Event::Pong(payload) => ("pong", call(&self.shared, || S::pong(ws, payload)).await),
                Event::Close(close) => return Some(self.peer_closed(ws, close)),
                Event::Compressed { .. } => unreachable!("next_event inflates messages"),
            };
            if let Err(panic) = result {
                return Some(Box::pin(self.handler_panicked::<S>(ws, handler, panic)).await);
            }
            if ws.conn.terminated || ws.conn.closing.is_some() || ws.conn.write_error.is_some() {
                break;
            }
        }
        if self.read_buf.is_empty() {
            // Idle sockets hold no read buffer.
            spare::give_back(spare::Kind::Read, std::mem::take(&mut self.read_buf));
        }
        None
    }

    /// Takes a token for one message from the rate limit's bucket, refilling it first if
    /// this read has not yet; true when the message may be handled (always, without a limit).
    /// Out of line: sockets without a limit only test `rate` for `None`.
    #[inline(never)]
    fn admit(&mut self, refilled: &mut bool) -> bool {
        let Some(bucket) = self.rate.as_mut() else {
            return true;
        };
        if !*refilled {
            *refilled = true;
            bucket.refill(Instant::now());
        }
        bucket.take()
    }

    /// A message over the rate limit: dropped with `rate_limited` run (its result), or the
    /// socket closing with `1008` (`None`), as the route's limit says.
    async fn over_limit<S: SocketHandlers>(
        &mut self,
        ws: &mut WebSocket<S::Data>,
        message: Message,
    ) -> Option<Result<(), String>> {
        let action = self
            .shared
            .options
            .rate_limit
            .map(|limit| limit.get_on_exceed());
        match action.unwrap_or(RateLimitAction::Close) {
            RateLimitAction::Drop => {
                tracing::trace!(target: "hyperbun::ws", socket = S::NAME, peer = %ws.conn.remote_addr, "message over the rate limit dropped");
                Some(call(&self.shared, || S::rate_limited(ws, message)).await)
            }
            RateLimitAction::Close => {
                tracing::debug!(target: "hyperbun::ws", socket = S::NAME, peer = %ws.conn.remote_addr, "rate limit exceeded; closing with 1008");
                ws.conn.start_close(1008, "rate limit exceeded");
                None
            }
        }
    }

    /// The peer sent a close frame while we were open: answer it (echoing its code) and end.
    fn peer_closed<T>(
        &mut self,
        ws: &mut WebSocket<T>,
        close: Option<(u16, crate::ws::Utf8Bytes)>,
    ) -> Ending {
        let (code, reason): (u16, Box<str>) = match &close {
            Some((code, reason)) => (*code, reason.as_str().into()),
            None => (1005, "".into()),
        };
        let mut payload = BytesMut::new();
        if close.is_some() {
            crate::ws::frame::encode_close_payload(&mut payload, code, "");
        }
        ws.conn
            .shared
            .push(OpCode::Close, Payload::Borrowed(&payload), true);
        ws.conn.shared.close();
        ws.conn.state = ReadyState::Closing;
        Ending::Answered(code, reason)
    }

    async fn handler_panicked<S: SocketHandlers>(
        &mut self,
        ws: &mut WebSocket<S::Data>,
        handler: &'static str,
        panic: String,
    ) -> Ending {
        log_panic::<S>(handler, &panic);
        if ws.conn.state == ReadyState::Open {
            ws.conn.start_close(1011, "internal error");
        }
        let error = WebSocketError::HandlerPanicked {
            handler,
            message: panic,
        };
        self.report::<S>(ws, &error).await;
        Ending::Failed
    }

    /// The next complete frame in the read buffer, a compressed message inflated; the close
    /// reason if the peer broke the protocol.
    fn next_event(&mut self) -> Result<Option<Event>, CloseReason> {
        match self.decoder.decode(&mut self.read_buf)? {
            Some(Event::Compressed { text, payload }) => self
                .inflate(text, &payload)
                .map(|m| Some(Event::Message(m))),
            event => Ok(event),
        }
    }

    /// Inflates a compressed message (permessage-deflate): `1009` past the route's
    /// `max_payload_length`, checked while inflating; `1007` for bad deflate data or text
    /// that is not UTF-8.
    #[inline(never)]
    fn inflate(&mut self, text: bool, payload: &[u8]) -> Result<Message, CloseReason> {
        let Some(receiver) = &mut self.receiver else {
            // The decoder only yields compressed messages once RSV1 is allowed.
            return Err(CloseReason {
                code: 1002,
                reason: "compressed frame without permessage-deflate",
            });
        };
        let limit = self.shared.options.max_payload_length;
        codec::inflate_message(text, |out| receiver.inflate(payload, limit, out))
    }

    async fn protocol_failed<S: SocketHandlers>(
        &mut self,
        ws: &mut WebSocket<S::Data>,
        reason: CloseReason,
    ) -> Ending {
        tracing::debug!(target: "hyperbun::ws", socket = S::NAME, peer = %ws.conn.remote_addr, code = reason.code, "failing the connection: {}", reason.reason);
        if ws.conn.state == ReadyState::Open {
            ws.conn.start_close(reason.code, reason.reason);
        }
        let error = WebSocketError::Protocol {
            code: reason.code,
            reason: reason.reason,
        };
        self.report::<S>(ws, &error).await;
        Ending::Failed
    }

    async fn io_failed<S: SocketHandlers>(
        &mut self,
        ws: &mut WebSocket<S::Data>,
        e: io::Error,
    ) -> Ending {
        ws.conn.shared.close();
        if matches!(
            e.kind(),
            io::ErrorKind::ConnectionReset
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::ConnectionAborted
        ) {
            return Ending::Abrupt;
        }
        tracing::debug!(target: "hyperbun::ws", socket = S::NAME, peer = %ws.conn.remote_addr, "I/O error: {e}");
        self.report::<S>(ws, &WebSocketError::Io(e)).await;
        Ending::Abrupt
    }

    /// Runs the `error` handler (its own panic is only logged).
    async fn report<S: SocketHandlers>(
        &mut self,
        ws: &mut WebSocket<S::Data>,
        error: &WebSocketError,
    ) {
        if let Err(panic) = call(&self.shared, || S::error(ws, error)).await {
            log_panic::<S>("error", &panic);
        }
    }

    /// Writes everything queued (the close frame last), waiting for the transport at most
    /// [`CLOSE_TIMEOUT`]; returns whether it all went out.
    async fn finish_writing(&mut self) -> bool {
        let deadline = Instant::now() + CLOSE_TIMEOUT;
        matches!(
            tokio::time::timeout_at(deadline, self.shared.flush()).await,
            Ok(Ok(()))
        )
    }

    /// After our close frame: read until the peer's close frame (or EOF), at most
    /// [`CLOSE_TIMEOUT`]. Data frames that arrive meanwhile are discarded.
    async fn await_peer_close(&mut self) {
        let deadline = Instant::now() + CLOSE_TIMEOUT;
        loop {
            loop {
                match self.decoder.decode(&mut self.read_buf) {
                    Ok(Some(Event::Close(_))) | Err(_) => return,
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                }
            }
            let transport = &self.shared.transport;
            let read = poll_fn(|cx| transport.poll_read(cx, &mut self.read_buf));
            match tokio::time::timeout_at(deadline, read).await {
                Ok(Ok(n)) if n > 0 => {}
                _ => return,
            }
        }
    }

    /// After failing the connection: stop writing, then discard input until EOF (at most
    /// [`LINGER`]), so unread bytes do not turn our close into a reset.
    async fn linger(&mut self) {
        let transport = &self.shared.transport;
        let deadline = Instant::now() + LINGER;
        let shutdown = poll_fn(|cx| transport.poll_shutdown(cx));
        if !matches!(
            tokio::time::timeout_at(deadline, shutdown).await,
            Ok(Ok(()))
        ) {
            return;
        }
        self.read_buf = BytesMut::new();
        loop {
            self.read_buf.clear();
            let read = poll_fn(|cx| transport.poll_read(cx, &mut self.read_buf));
            match tokio::time::timeout_at(deadline, read).await {
                Ok(Ok(n)) if n > 0 => {}
                _ => return,
            }
        }
    }
}

/// Runs one handler call: `make` calls the handler (a plain `fn` runs right there), then the
/// returned future is polled to completion. Whenever it waits, what it sent so far is
/// written. A panic anywhere in it is caught and returned as its message. A handler still
/// waiting when the server's grace period ends is cancelled (dropped); the driver then sees
/// the abort and ends the connection.
async fn call<F, M>(shared: &SocketShared, make: M) -> Result<(), String>
where
    M: FnOnce() -> F,
    F: Future<Output = ()>,
{
    let future = catch_unwind(AssertUnwindSafe(make)).map_err(|p| panic_message(&*p).to_owned())?;
    let mut future = pin!(future);
    let mut write_failed = false;
    poll_fn(|cx| {
        match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(Poll::Ready(())) => return Poll::Ready(Ok(())),
            Err(panic) => return Poll::Ready(Err(panic_message(&*panic).to_owned())),
            Ok(Poll::Pending) => {}
        }
        if shared.poll_aborted(cx) {
            return Poll::Ready(Ok(()));
        }
        // The handler waits: write what it has sent so far (a wake-up is registered when
        // the transport is full).
        if !write_failed && shared.has_pending() {
            if let Poll::Ready(Err(_)) = shared.poll_flush(cx) {
                // The driver sees the closed socket after the handler returns.
                write_failed = true;
            }
        }
        Poll::Pending
    })
    .await
}

fn log_panic<S: SocketHandlers>(handler: &str, panic: &str) {
    tracing::error!(
        target: "hyperbun::ws",
        socket = S::NAME,
        file = S::LOCATION.0,
        line = S::LOCATION.1,
        "the `{handler}` handler panicked: {panic}"
    );
}

/// The driver on an in-memory duplex stream: no socket, no HTTP, just the transport seam.
#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::BytesMut;
    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
    use tokio::sync::oneshot;

    use super::*;
    use crate::ws::frame::{encode_masked_frame, Decoder, Role};
    use crate::ws::{Message, SendStatus, SocketHandle};

    struct Echo;

    #[crate::websocket("/echo")]
    impl Echo {
        fn open(ws: &mut WebSocket) {
            ws.subscribe("news");
        }
        fn message(ws: &mut WebSocket, msg: Message) {
            ws.send(msg);
        }
    }

    /// What [`Handed`] sockets carry: where to hand their handle, and a token whose count
    /// tells whether the data is still alive.
    type HandedData = (Option<oneshot::Sender<SocketHandle>>, Arc<()>);

    /// Hands a handle to itself out when it opens; echoes.
    struct Handed;

    #[crate::websocket("/handed", data = HandedData)]
    impl Handed {
        fn open(ws: &mut WebSocket<HandedData>) {
            if let Some(to) = ws.data.0.take() {
                let _ = to.send(ws.handle());
            }
        }
        fn message(ws: &mut WebSocket<HandedData>, msg: Message) {
            ws.send(msg);
        }
    }

    /// Starts an [`Echo`] socket on one end of a duplex stream; returns the server and the
    /// client's end.
    fn start(leftover: &[u8]) -> (Server, DuplexStream) {
        start_with::<Echo>((), leftover)
    }

    /// Starts a socket of `S` with `data` on one end of a duplex stream; returns the server
    /// and the client's end.
    fn start_with<S: SocketHandlers>(data: S::Data, leftover: &[u8]) -> (Server, DuplexStream) {
        let (near, far) = tokio::io::duplex(64 * 1024);
        let server = Server::new(Addr::Unix(None), &crate::ServerConfig::default());
        tokio::spawn(run::<S>(
            Stream::other(near),
            Bytes::copy_from_slice(leftover),
            data,
            server.clone(),
            Addr::Unix(None),
            Negotiated {
                protocol: None,
                deflate: None,
            },
            server.stop_receiver(),
            PeerSlot::default(),
            None,
        ));
        (server, far)
    }

    fn client_frame(opcode: OpCode, payload: &[u8]) -> BytesMut {
        let mut out = BytesMut::new();
        encode_masked_frame(&mut out, opcode, true, false, payload, [1, 2, 3, 4]);
        out
    }

    /// The next frame the server sent.
    async fn next(far: &mut DuplexStream, buf: &mut BytesMut) -> Event {
        let mut decoder = Decoder::of(Role::Server, 1 << 20);
        let read = async {
            loop {
                if let Some(event) = decoder.decode(buf).expect("a valid server frame") {
                    return event;
                }
                assert_ne!(far.read_buf(buf).await.expect("read"), 0, "EOF");
            }
        };
        tokio::time::timeout(Duration::from_secs(5), read)
            .await
            .expect("a frame within 5 s")
    }

    fn text(event: Event) -> String {
        match event {
            Event::Message(Message::Text(text)) => text.as_str().to_owned(),
            _ => panic!("expected a text message"),
        }
    }

    #[tokio::test]
    async fn echoes_over_an_in_memory_stream_including_bytes_read_with_the_handshake() {
        let (server, mut far) = start(&client_frame(OpCode::Text, b"early"));
        let mut buf = BytesMut::new();
        assert_eq!(text(next(&mut far, &mut buf).await), "early");
        far.write_all(&client_frame(OpCode::Text, b"hello"))
            .await
            .unwrap();
        assert_eq!(text(next(&mut far, &mut buf).await), "hello");
        // A ping is answered by the driver itself.
        far.write_all(&client_frame(OpCode::Ping, b"p"))
            .await
            .unwrap();
        assert!(matches!(next(&mut far, &mut buf).await, Event::Pong(p) if &p[..] == b"p"));
        assert_eq!(server.pending_websockets(), 1);
        let stopping = tokio::spawn({
            let server = server.clone();
            async move { server.stop().await }
        });
        assert!(matches!(
            next(&mut far, &mut buf).await,
            Event::Close(Some((1001, _)))
        ));
        far.write_all(&client_frame(OpCode::Close, &[0x03, 0xe9]))
            .await
            .unwrap();
        tokio::time::timeout(Duration::from_secs(2), stopping)
            .await
            .expect("stopped once the peer answered the close")
            .unwrap();
        assert_eq!(server.pending_websockets(), 0);
    }

    #[tokio::test]
    async fn a_publish_from_another_task_reaches_a_socket_only_its_driver_writes() {
        let (server, mut far) = start(&[]);
        let mut buf = BytesMut::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while server.subscriber_count("news") == 0 {
            assert!(tokio::time::Instant::now() < deadline, "never subscribed");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        // Enough to pass the early-write threshold: the publisher may not write to this
        // transport, so every byte must come through the driver.
        let publisher = server.clone();
        let big = "x".repeat(1000);
        tokio::spawn(async move {
            for _ in 0..200 {
                publisher.publish("news", big.as_str());
            }
        })
        .await
        .unwrap();
        for _ in 0..200 {
            assert_eq!(text(next(&mut far, &mut buf).await).len(), 1000);
        }
        drop(far);
        server.stop().await;
    }

    #[tokio::test]
    async fn a_broken_frame_closes_with_1002_on_any_transport() {
        let (server, mut far) = start(&[]);
        let mut buf = BytesMut::new();
        // RSV2 set: nothing negotiated it.
        let mut frame = client_frame(OpCode::Text, b"x");
        frame[0] |= 0x20;
        far.write_all(&frame).await.unwrap();
        assert!(matches!(
            next(&mut far, &mut buf).await,
            Event::Close(Some((1002, _)))
        ));
        drop(far);
        server.stop().await;
    }

    #[tokio::test]
    async fn a_live_handle_keeps_neither_the_closed_connection_nor_its_data() {
        let (to, handed) = oneshot::channel();
        let token = Arc::new(());
        let (server, mut far) = start_with::<Handed>((Some(to), Arc::clone(&token)), &[]);
        let handle = tokio::time::timeout(Duration::from_secs(5), handed)
            .await
            .expect("the handle within 5 s")
            .expect("a handle");
        let mut buf = BytesMut::new();
        assert_eq!(handle.send("from afar"), SendStatus::Sent(9));
        assert_eq!(text(next(&mut far, &mut buf).await), "from afar");
        assert_eq!(Arc::strong_count(&token), 2, "the socket's data is alive");

        far.write_all(&client_frame(OpCode::Close, &[0x03, 0xe8]))
            .await
            .unwrap();
        assert!(matches!(
            next(&mut far, &mut buf).await,
            Event::Close(Some((1000, _)))
        ));
        // The transport lives in the socket's shared state, which the handle points to:
        // the stream ends only if the handle does not keep that state alive.
        let eof = async { while far.read_buf(&mut buf).await.expect("read") > 0 {} };
        tokio::time::timeout(Duration::from_secs(5), eof)
            .await
            .expect("the connection dropped while the handle lives");
        assert_eq!(
            Arc::strong_count(&token),
            1,
            "the socket's data was dropped"
        );
        assert_eq!(handle.shared.strong_count(), 0, "nothing but weak handles");
        assert_eq!(server.pending_websockets(), 0);

        // Every call on the handle is a harmless no-op now.
        assert_eq!(handle.ready_state(), ReadyState::Closed);
        assert!(!handle.is_open());
        assert_eq!(handle.send("too late"), SendStatus::Dropped);
        handle.close(4000, "too late");
        handle.terminate();
        assert_eq!(handle.remote_addr(), Addr::Unix(None));
        let clone = handle.clone();
        drop(handle);
        assert_eq!(clone.send("still too late"), SendStatus::Dropped);
        server.stop().await;
    }
}
