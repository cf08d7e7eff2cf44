//! Serving a [`Router`]: the accept loop, the per-connection HTTP/1.1 service, and graceful
//! shutdown through the [`Server`] handle.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use http::{header, HeaderValue, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::sync::watch;

use crate::extract::RequestContext;
use crate::rejection::body_error;
use crate::routing::{Lookup, ResponseFuture, RouteDef, RouteTable};
use crate::ws::frame::OpCode;
use crate::ws::idle;
use crate::ws::pubsub::{self, Hub};
use crate::ws::socket::SocketShared;
use crate::ws::upgrade::PeerAddr;
use crate::{Body, BodyError, BodyRejection, IntoResponse, Response, Router, ServerConfig};
use crate::{Message, PublishResult, TopicError};

impl Router {
    /// Binds `0.0.0.0:port` (every IPv4 interface, like Bun's `port` option) and serves until
    /// the server is [stopped](Server::stop), e.g. by a handler through its [`Server`].
    ///
    /// # Errors
    ///
    /// Fails if the port cannot be bound.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use hyperbun::prelude::*;
    ///
    /// #[get("/")]
    /// async fn index() -> &'static str {
    ///     "Hello"
    /// }
    ///
    /// #[tokio::main]
    /// async fn main() -> std::io::Result<()> {
    ///     hyperbun::router![index].serve(3000).await
    /// }
    /// ```
    pub async fn serve(self, port: u16) -> io::Result<()> {
        let server = self.bind(("0.0.0.0", port)).await?;
        server.stopped().await;
        Ok(())
    }

    /// Binds `addr` and starts serving in the background; returns the [`Server`] handle.
    ///
    /// # Errors
    ///
    /// Fails if the address cannot be bound.
    pub async fn bind(self, addr: impl ToSocketAddrs) -> io::Result<Server> {
        let listener = TcpListener::bind(addr).await?;
        self.listen(listener)
    }

    /// Serves on an already bound listener in the background (bind port 0 for tests) and
    /// returns the [`Server`] handle. Must be called inside a tokio runtime.
    ///
    /// # Errors
    ///
    /// Fails if the listener's local address cannot be read.
    ///
    /// # Examples
    ///
    /// ```
    /// use hyperbun::prelude::*;
    ///
    /// #[get("/")]
    /// async fn index() -> &'static str {
    ///     "Hello"
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let server = hyperbun::router![index].listen(listener)?;
    /// println!("listening on {}", server.local_addr());
    /// server.stop().await;
    /// # Ok(())
    /// # }
    /// ```
    pub fn listen(self, listener: TcpListener) -> io::Result<Server> {
        let local_addr = listener.local_addr()?;
        let (stop_tx, stop_rx) = watch::channel(false);
        let server = Server {
            shared: Arc::new(Shared {
                local_addr,
                stop_tx,
                sockets: Mutex::new(Slots::default()),
                hub: Hub::default(),
                clock: AtomicU32::new(0),
                sweeper_started: AtomicBool::new(false),
            }),
        };
        tracing::info!(target: "hyperbun::server", %local_addr, routes = self.table.routes().len(), "listening");
        let accept = AcceptLoop {
            listener,
            table: self.table,
            config: self.config,
            server: server.clone(),
            stop: stop_rx,
        };
        tokio::spawn(accept.run());
        Ok(server)
    }
}

/// A handle to a running server: cheap to clone, usable from any task, and available to
/// handlers as an extractor.
///
/// # Examples
///
/// A background task and a route publish through it; the route reports the counts.
///
/// ```
/// use std::time::Duration;
/// use hyperbun::prelude::*;
/// use hyperbun::test::TestServer;
///
/// struct Ticker;
///
/// #[websocket("/ticks")]
/// impl Ticker {
///     fn open(ws: &mut WebSocket) {
///         ws.subscribe("ticks").expect("a topic");
///     }
///     fn message(_ws: &mut WebSocket, _msg: Message) {}
/// }
///
/// #[get("/stats")]
/// async fn stats(server: Server) -> Json<Value> {
///     Json(json!({
///         "ticks": server.subscriber_count("ticks"),
///         "topics": server.topic_count(),
///         "sockets": server.pending_websockets(),
///     }))
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let app = TestServer::start(hyperbun::router![Ticker, stats]).await;
/// let server = app.server().clone();
/// let mut ws = app.ws("/ticks").await;
/// app.wait_subscribers("ticks", 1).await;
/// tokio::spawn(async move {
///     for n in 1..=3 {
///         server.publish("ticks", format!("tick {n}")).expect("a topic");
///         tokio::time::sleep(Duration::from_millis(10)).await;
///     }
/// });
/// for n in 1..=3 {
///     ws.expect_text(&format!("tick {n}")).await;
/// }
/// let stats = app.get("/stats").await.json::<Value>();
/// assert_eq!(stats, json!({ "ticks": 1, "topics": 1, "sockets": 1 }));
/// assert_eq!(app.server().topics(), ["ticks"]);
/// ws.close().await;
/// app.stop().await;                                // graceful: sockets get 1001 first
/// # }
/// ```
#[derive(Clone)]
pub struct Server {
    shared: Arc<Shared>,
}

struct Shared {
    local_addr: SocketAddr,
    /// `true` once stopping. Every live connection (and the accept loop) holds a receiver,
    /// so `closed()` on this sender resolves exactly when the last one has finished.
    stop_tx: watch::Sender<bool>,
    /// Every open WebSocket, so `stop` can close them and `pending_websockets` count them.
    sockets: Mutex<Slots<Arc<SocketShared>>>,
    /// Topics and their subscribers.
    pub(crate) hub: Hub,
    /// The idle sweeper's clock, in ticks since it started (see `ws::idle`).
    clock: AtomicU32,
    sweeper_started: AtomicBool,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.shared.local_addr)
            .field("stopping", &self.is_stopping())
            .finish()
    }
}

impl Server {
    /// The address the server is bound to (with the real port when bound to port 0).
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// Stops the server gracefully: stops accepting connections, lets every request in
    /// flight finish and its response go out, closes idle keep-alive connections, closes
    /// every WebSocket with `1001` (after what was queued for it has been written; each
    /// socket's `close` handler runs), and then returns. Calling it again (or from several tasks) waits for the same shutdown.
    ///
    /// A connection whose client has sent part of a request's headers counts as in flight
    /// until the [header read timeout](crate::ServerConfig::header_read_timeout) (10 s by
    /// default) closes it; with the timeout turned off, such a client can delay `stop`
    /// indefinitely.
    ///
    /// A handler that wants to stop its own server must not await this inline (it would
    /// wait for itself); spawn it: `tokio::spawn(async move { server.stop().await })`.
    pub async fn stop(&self) {
        let first = !self.shared.stop_tx.send_replace(true);
        if first {
            for socket in self.sockets().iter() {
                socket.stopping.store(true, Ordering::Release);
                socket.wake();
            }
        }
        self.stopped().await;
        if first {
            tracing::info!(target: "hyperbun::server", local_addr = %self.shared.local_addr, "stopped");
        }
    }

    /// Waits until the server has stopped, without asking it to.
    pub async fn stopped(&self) {
        self.shared.stop_tx.closed().await;
    }

    /// True once [`stop`](Self::stop) has been called.
    #[must_use]
    pub fn is_stopping(&self) -> bool {
        *self.shared.stop_tx.borrow()
    }

    /// Publishes `message` to every socket subscribed to `topic` (Bun's `server.publish`),
    /// from any task or HTTP route. The frame is encoded once and its bytes shared by every
    /// subscriber.
    ///
    /// # Errors
    ///
    /// [`TopicError::Empty`] for the empty topic.
    pub fn publish(
        &self,
        topic: &str,
        message: impl Into<Message>,
    ) -> Result<PublishResult, TopicError> {
        self.publish_compressed(topic, message, false)
    }

    /// Like [`publish`](Self::publish), and with `compress` subscribers that negotiated
    /// permessage-deflate get the message compressed (Bun's `server.publish(topic, data,
    /// compress)`; see [`WebSocket::publish_text`](crate::WebSocket::publish_text)).
    ///
    /// # Errors
    ///
    /// [`TopicError::Empty`] for the empty topic.
    pub fn publish_compressed(
        &self,
        topic: &str,
        message: impl Into<Message>,
        compress: bool,
    ) -> Result<PublishResult, TopicError> {
        pubsub::check(topic)?;
        let (opcode, payload) = match message.into() {
            Message::Text(text) => (OpCode::Text, text.into_bytes()),
            Message::Binary(bytes) => (OpCode::Binary, bytes),
        };
        Ok(self
            .shared
            .hub
            .publish(topic, opcode, &payload, None, compress))
    }

    /// How many sockets are subscribed to `topic` (O(1)).
    #[must_use]
    pub fn subscriber_count(&self, topic: &str) -> usize {
        self.shared.hub.subscriber_count(topic)
    }

    /// How many topics have at least one subscriber.
    #[must_use]
    pub fn topic_count(&self) -> usize {
        self.shared.hub.topic_count()
    }

    /// The topics that have at least one subscriber, in no particular order.
    #[must_use]
    pub fn topics(&self) -> Vec<String> {
        self.shared.hub.topics()
    }

    pub(crate) fn hub(&self) -> &Hub {
        &self.shared.hub
    }

    /// How many WebSockets are open (Bun's `pendingWebSockets`).
    #[must_use]
    pub fn pending_websockets(&self) -> usize {
        self.sockets().len()
    }

    fn sockets(&self) -> MutexGuard<'_, Slots<Arc<SocketShared>>> {
        self.shared
            .sockets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A receiver that keeps [`stopped`](Self::stopped) waiting while it lives.
    pub(crate) fn stop_receiver(&self) -> watch::Receiver<bool> {
        self.shared.stop_tx.subscribe()
    }

    /// Registers an open socket until the returned guard drops. `stop` (the receiver) keeps
    /// the server's shutdown waiting for it.
    pub(crate) fn register_socket(
        &self,
        socket: Arc<SocketShared>,
        stop: watch::Receiver<bool>,
    ) -> SocketRegistration {
        if socket.idle.is_timed() {
            self.start_sweeper();
        }
        let key = self.sockets().insert(Arc::clone(&socket));
        // Registered after `stop` went through the list: close at once.
        if self.is_stopping() {
            socket.stopping.store(true, Ordering::Release);
            socket.wake();
        }
        SocketRegistration {
            server: self.clone(),
            key,
            _stop: stop,
        }
    }
}

impl Server {
    /// The idle sweeper's clock.
    pub(crate) fn clock(&self) -> u32 {
        self.shared.clock.load(Ordering::Relaxed)
    }

    /// Starts the idle sweeper, once per server: every tick it advances the clock and wakes
    /// the sockets that have been silent too long. It holds the server weakly and ends once
    /// the server is stopping and no socket is left.
    fn start_sweeper(&self) {
        if self.shared.sweeper_started.swap(true, Ordering::AcqRel) {
            return;
        }
        let weak = Arc::downgrade(&self.shared);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(idle::TICK);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let Some(shared) = weak.upgrade() else { return };
                let server = Server { shared };
                let now = server
                    .shared
                    .clock
                    .fetch_add(1, Ordering::Relaxed)
                    .wrapping_add(1);
                let sockets = server.sockets();
                for socket in sockets.iter() {
                    if socket.idle.sweep(now) {
                        socket.wake();
                    }
                }
                if sockets.len() == 0 && server.is_stopping() {
                    return;
                }
            }
        });
    }
}

/// Keeps a socket in the server's list; removes it when dropped.
pub(crate) struct SocketRegistration {
    server: Server,
    key: usize,
    _stop: watch::Receiver<bool>,
}

impl Drop for SocketRegistration {
    fn drop(&mut self) {
        self.server.sockets().remove(self.key);
    }
}

/// A slab: values in reusable slots, addressed by the key `insert` returned.
struct Slots<T> {
    slots: Vec<Option<T>>,
    free: Vec<usize>,
    len: usize,
}

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Slots {
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Slots<T> {
    fn insert(&mut self, value: T) -> usize {
        self.len += 1;
        if let Some(key) = self.free.pop() {
            self.slots[key] = Some(value);
            key
        } else {
            self.slots.push(Some(value));
            self.slots.len() - 1
        }
    }

    fn remove(&mut self, key: usize) -> Option<T> {
        let value = self.slots.get_mut(key)?.take()?;
        self.len -= 1;
        self.free.push(key);
        Some(value)
    }

    fn len(&self) -> usize {
        self.len
    }

    fn iter(&self) -> impl Iterator<Item = &T> {
        self.slots.iter().flatten()
    }
}

struct AcceptLoop {
    listener: TcpListener,
    table: Arc<RouteTable>,
    config: ServerConfig,
    server: Server,
    stop: watch::Receiver<bool>,
}

impl AcceptLoop {
    async fn run(mut self) {
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(self.config.header_read_timeout)
            .keep_alive(self.config.keep_alive);
        let http = Arc::new(http);
        loop {
            let accepted = tokio::select! {
                biased;
                _ = self.stop.wait_for(|stopping| *stopping) => break,
                accepted = self.listener.accept() => accepted,
            };
            match accepted {
                Ok((stream, peer)) => self.spawn_connection(&http, stream, peer),
                Err(e) => {
                    // Out of file descriptors and similar: back off instead of spinning.
                    tracing::warn!(target: "hyperbun::server", "accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
        drop(self.listener);
        tracing::info!(target: "hyperbun::server", local_addr = %self.server.local_addr(), "stopped accepting; finishing in-flight requests");
    }

    fn spawn_connection(
        &self,
        http: &Arc<hyper::server::conn::http1::Builder>,
        stream: TcpStream,
        peer: SocketAddr,
    ) {
        let _ = stream.set_nodelay(true);
        let service = ConnService {
            table: Arc::clone(&self.table),
            server: self.server.clone(),
            remote_addr: peer,
            body_limit: self.config.max_request_body_size,
        };
        let http = Arc::clone(http);
        let mut stop = self.stop.clone();
        tokio::spawn(async move {
            let conn = http
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            tokio::pin!(conn);
            let finished = tokio::select! {
                result = conn.as_mut() => Some(result),
                _ = stop.wait_for(|stopping| *stopping) => None,
            };
            let result = match finished {
                Some(result) => result,
                None => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                tracing::debug!(target: "hyperbun::server", %peer, "connection ended with an error: {e}");
            }
            drop(stop);
        });
    }
}

/// The hyper service for one connection.
struct ConnService {
    table: Arc<RouteTable>,
    server: Server,
    remote_addr: SocketAddr,
    body_limit: usize,
}

impl hyper::service::Service<http::Request<Incoming>> for ConnService {
    type Response = Response;
    type Error = Infallible;
    type Future = Dispatch;

    fn call(&self, req: http::Request<Incoming>) -> Dispatch {
        let (route, params, head) = match self.table.lookup(req.method(), req.uri().path()) {
            Lookup::Found {
                route,
                params,
                head,
            } => (route, params, head),
            Lookup::NotFound => {
                return Dispatch::ready((StatusCode::NOT_FOUND, "Not Found").into_response());
            }
            Lookup::Options(allow) => {
                let mut response = StatusCode::NO_CONTENT.into_response();
                response.headers_mut().insert(header::ALLOW, allow.clone());
                return Dispatch::ready(response);
            }
            Lookup::MethodNotAllowed(allow) => {
                let mut response =
                    (StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed").into_response();
                response.headers_mut().insert(header::ALLOW, allow.clone());
                return Dispatch::ready(response);
            }
        };
        let limit = route.body_limit.unwrap_or(self.body_limit);
        if declared_length(&req).is_some_and(|len| len > limit as u64) {
            let (status, message) = body_error(&BodyError::too_large(limit));
            return Dispatch::ready(BodyRejection::new(status, message).into_response());
        }
        let mut req = req.map(|body| Body::incoming(body, limit));
        if req.headers().contains_key(header::UPGRADE) {
            // For `Server::upgrade`, which sees only the request.
            req.extensions_mut().insert(PeerAddr(self.remote_addr));
        }
        let cx = RequestContext {
            params,
            server: self.server.clone(),
            remote_addr: self.remote_addr,
        };
        tracing::trace!(target: "hyperbun::server", route = route.name, method = %req.method(), path = req.uri().path(), "dispatch");
        Dispatch::Handler {
            future: (route.handler)(req, cx),
            route,
            head,
        }
    }
}

fn declared_length<B>(req: &http::Request<B>) -> Option<u64> {
    req.headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// The response future of one request: an immediate answer, or a handler's future (with
/// panics caught and turned into `500`).
enum Dispatch {
    Ready(Option<Response>),
    Handler {
        future: ResponseFuture,
        route: &'static RouteDef,
        head: bool,
    },
}

impl Dispatch {
    fn ready(response: Response) -> Self {
        Dispatch::Ready(Some(response))
    }
}

impl Future for Dispatch {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            Dispatch::Ready(response) => Poll::Ready(Ok(response
                .take()
                .expect("bug: Dispatch polled after completion"))),
            Dispatch::Handler {
                future,
                route,
                head,
            } => {
                let polled =
                    std::panic::catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx)));
                let response = match polled {
                    Ok(Poll::Pending) => return Poll::Pending,
                    Ok(Poll::Ready(response)) => response,
                    Err(panic) => {
                        let why = panic_message(&*panic);
                        tracing::error!(
                            target: "hyperbun::server",
                            route = route.name,
                            path = route.path,
                            file = route.location.0,
                            line = route.location.1,
                            "handler panicked: {why}"
                        );
                        (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response()
                    }
                };
                Poll::Ready(Ok(if *head {
                    strip_body(response)
                } else {
                    response
                }))
            }
        }
    }
}

/// A `HEAD` answered by a `GET` handler: same status and headers, no body; the length the
/// body would have had is kept when it is known.
fn strip_body(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    if let Some(len) = http_body::Body::size_hint(&body).exact() {
        parts
            .headers
            .entry(header::CONTENT_LENGTH)
            .or_insert(HeaderValue::from(len));
    }
    Response::from_parts(parts, Body::empty())
}

/// The message of a caught panic (`panic!` with a string or a format), for logs.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(not a string)")
}
