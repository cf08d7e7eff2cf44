//! The socket handle handlers receive, [`WebSocket`], and its send queue.
//!
//! Sends never write inside the call: they encode the frame into the socket's queue and the
//! connection driver writes the queue in one batch (one `writev`) once the handler returns
//! (or, for an `async` handler, whenever it waits). That is uWebSockets' cork, applied to
//! every handler. A queue that grows past [`FLUSH_THRESHOLD`] inside one handler is written
//! early, so a handler that streams megabytes sees real backpressure.
//!
//! The queue is shared (`Arc<SocketShared>`) because other tasks will publish to it; the
//! driver swaps its contents out under the lock and writes them without holding it.

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use atomic_waker::AtomicWaker;
use bytes::{Buf, Bytes, BytesMut};
use tokio::net::TcpStream;

use crate::ws::deflate::{codec, Sender};
use crate::ws::frame::{self, OpCode};
use crate::ws::idle::IdleState;
use crate::ws::pubsub::{self, TopicLog};
use crate::ws::spare;
use crate::ws::{Message, PublishResult, SocketOptions, TopicError};
use crate::Server;

/// Queued bytes past which a send inside a handler writes to the socket at once instead of
/// waiting for the handler to return.
pub(crate) const FLUSH_THRESHOLD: usize = 64 * 1024;

/// Payloads up to this size are copied into the queue's buffer; larger ones are queued as
/// shared [`Bytes`] behind their header, without a copy.
const COPY_LIMIT: usize = 4 * 1024;

/// How far past the backpressure limit control frames may still be queued.
pub(crate) const CONTROL_SLACK: usize = 16 * 1024;

/// Most `IoSlice`s handed to one `writev`.
const MAX_SLICES: usize = 64;

/// What became of a send: Bun's `-1 / 0 / N` as an enum.
///
/// # Examples
///
/// ```
/// use hyperbun::prelude::*;
///
/// struct Feed;
///
/// #[websocket("/feed")]
/// impl Feed {
///     fn message(ws: &mut WebSocket, msg: Message) {
///         match ws.send(msg) {
///             SendStatus::Sent(_) => {}
///             SendStatus::Backpressure(_) => { /* queued; wait for `drain` before sending more */ }
///             SendStatus::Dropped => { /* closed, or the queue was full */ }
///         }
///     }
/// }
/// # let _ = hyperbun::router![Feed];
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SendStatus {
    /// Queued for the next write, with the queue below the
    /// [backpressure limit](SocketOptions::backpressure_limit); the payload's length.
    Sent(usize),
    /// Queued, and the queue has reached the backpressure limit: stop sending until `drain`
    /// runs; the payload's length.
    Backpressure(usize),
    /// Not queued: the socket is closing or closed, or the queue was already at the limit
    /// (then the socket closes with `1008` if
    /// [`close_on_backpressure_limit`](SocketOptions::close_on_backpressure_limit) is set).
    Dropped,
}

impl SendStatus {
    /// True unless [`Dropped`](Self::Dropped).
    #[must_use]
    pub fn is_queued(self) -> bool {
        !matches!(self, SendStatus::Dropped)
    }
}

/// Where a socket is in its life, Bun's `readyState` (0–3).
///
/// ```
/// use hyperbun::prelude::*;
/// use hyperbun::ws::ReadyState;
///
/// struct Chat;
///
/// #[websocket("/chat")]
/// impl Chat {
///     fn message(ws: &mut WebSocket, msg: Message) {
///         assert_eq!(ws.ready_state(), ReadyState::Open);
///         if msg.as_text() == Some("bye") {
///             ws.close(1000, "bye");
///             assert_eq!(ws.ready_state(), ReadyState::Closing); // sends are dropped now
///         }
///     }
///     fn close(ws: &mut WebSocket, _code: u16, _reason: &str) {
///         assert_eq!(ws.ready_state(), ReadyState::Closed);
///     }
/// }
/// # let _ = hyperbun::router![Chat];
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReadyState {
    /// Not yet open (never seen by handlers: `open` runs once the socket is open).
    Connecting = 0,
    /// Open: sends are queued.
    Open = 1,
    /// A close frame has been queued or received; sends are dropped.
    Closing = 2,
    /// The connection is gone (inside the `close` handler).
    Closed = 3,
}

/// One connection's WebSocket, as handlers see it: the typed client `data` (Bun's `ws.data`)
/// and the socket's operations.
///
/// The handlers of a socket run one at a time, in order, on the connection's task, and own
/// the handle while they run, so `data` is a plain field: no lock, no `Any`, no downcast.
///
/// # Examples
///
/// ```
/// use hyperbun::prelude::*;
///
/// #[derive(Default)]
/// struct Counter {
///     messages: u64,
/// }
///
/// struct Counting;
///
/// #[websocket("/count", data = Counter)]
/// impl Counting {
///     fn message(ws: &mut WebSocket<Counter>, _msg: Message) {
///         ws.data.messages += 1;
///         let reply = format!("message #{}", ws.data.messages);
///         ws.send(reply);
///     }
/// }
/// # let _ = hyperbun::router![Counting];
/// ```
pub struct WebSocket<T = ()> {
    /// The connection's data, set when the upgrade was accepted.
    pub data: T,
    pub(crate) conn: Conn,
}

/// The socket's state besides `data`.
pub(crate) struct Conn {
    pub(crate) shared: Arc<SocketShared>,
    pub(crate) server: Server,
    pub(crate) remote_addr: SocketAddr,
    pub(crate) protocol: Option<Box<str>>,
    pub(crate) state: ReadyState,
    /// Set by `close`: the code and reason to report to the `close` handler.
    pub(crate) closing: Option<(u16, Box<str>)>,
    /// Set by `terminate`.
    pub(crate) terminated: bool,
    /// The topics this socket is subscribed to.
    pub(crate) subscriptions: Vec<Box<str>>,
    /// An I/O error met while writing early inside a handler, for the driver to act on.
    pub(crate) write_error: Option<io::Error>,
}

/// What other tasks (and the driver, while a handler holds the [`WebSocket`]) may touch: the
/// stream, the send queue and the wake-up of the connection's driver.
pub(crate) struct SocketShared {
    pub(crate) stream: TcpStream,
    /// Frames queued by sends, in order.
    queue: Mutex<Queue>,
    /// Frames taken from `queue` and being written; always ahead of it. Only the
    /// connection's own task writes, so this lock is never contended; it keeps the
    /// `writev` out of `queue`'s lock.
    writing: Mutex<Queue>,
    /// Bytes queued and not yet accepted by the kernel (both queues).
    buffered: AtomicUsize,
    /// No more frames are accepted (a close frame is queued, or the connection is gone).
    closed: AtomicBool,
    /// The server is stopping: the driver closes with `1001`.
    pub(crate) stopping: AtomicBool,
    /// A send or publish met the backpressure limit: run `drain` once the queue falls below
    /// it.
    pub(crate) wants_drain: AtomicBool,
    /// A publish from another task found the queue past the limit with
    /// `close_on_backpressure_limit` set: the driver closes with `1008`.
    pub(crate) close_requested: AtomicBool,
    pub(crate) options: &'static SocketOptions,
    /// How this connection compresses, when permessage-deflate was agreed and the route
    /// compresses.
    pub(crate) deflate: Option<Box<Sender>>,
    /// The driver's waker, for other tasks: frames queued by another task, the server
    /// stopping, or the idle sweeper. Lock-free, unlike a `Notify`, which the driver would
    /// poll (taking its lock) on every turn of its loop.
    waker: AtomicWaker,
    /// Set with each wake-up, so the driver knows to look at the flags.
    woken: AtomicBool,
    pub(crate) idle: IdleState,
}

impl SocketShared {
    pub(crate) fn new(
        stream: TcpStream,
        idle: IdleState,
        options: &'static SocketOptions,
        deflate: Option<Box<Sender>>,
    ) -> Self {
        SocketShared {
            stream,
            deflate,
            wants_drain: AtomicBool::new(false),
            close_requested: AtomicBool::new(false),
            options,
            queue: Mutex::new(Queue::default()),
            writing: Mutex::new(Queue::default()),
            buffered: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            waker: AtomicWaker::new(),
            woken: AtomicBool::new(false),
            idle,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        lock(&self.queue)
    }

    /// Wakes the driver (from any task).
    pub(crate) fn wake(&self) {
        self.woken.store(true, Ordering::Release);
        self.waker.wake();
    }

    /// For the driver's poll: registers its waker and reports (and clears) a wake-up.
    pub(crate) fn poll_woken(&self, cx: &mut std::task::Context<'_>) -> bool {
        self.waker.register(cx.waker());
        self.woken.load(Ordering::Acquire) && self.woken.swap(false, Ordering::AcqRel)
    }

    /// Writes queued frames until everything is written or the socket is full; returns
    /// whether everything was written.
    pub(crate) fn flush(&self) -> io::Result<bool> {
        let mut writing = lock(&self.writing);
        loop {
            if writing.is_empty() && !self.take_into(&mut writing) {
                return Ok(true);
            }
            let result = writing.write_to(&self.stream);
            let n = match result {
                Ok(n) => n,
                Err(e) => {
                    // Nothing more will be written: forget the queue.
                    let left = writing.len;
                    *writing = Queue::default();
                    self.wrote(left);
                    self.close();
                    return Err(e);
                }
            };
            self.wrote(n);
            if !writing.is_empty() {
                return Ok(false);
            }
        }
    }

    /// Like [`flush`](Self::flush), from a task other than the driver: skipped when the driver
    /// is writing; an error is left for the driver to meet on its own next write or read.
    fn try_flush(&self) {
        if let Ok(mut writing) = self.writing.try_lock() {
            loop {
                if writing.is_empty() && !self.take_into(&mut writing) {
                    return;
                }
                match writing.write_to(&self.stream) {
                    Ok(n) => self.wrote(n),
                    Err(_) => return,
                }
                if !writing.is_empty() {
                    return;
                }
            }
        }
    }

    /// True when frames are waiting (queued or partly written).
    pub(crate) fn has_pending(&self) -> bool {
        self.buffered() > 0
    }

    pub(crate) fn buffered(&self) -> usize {
        self.buffered.load(Ordering::Acquire)
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Refuses every later frame.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    /// Moves everything queued into `writing` (which must be empty) and returns whether
    /// there was anything.
    fn take_into(&self, writing: &mut Queue) -> bool {
        debug_assert!(writing.is_empty());
        let mut queue = self.lock();
        if queue.is_empty() {
            return false;
        }
        std::mem::swap(&mut *queue, writing);
        drop(queue);
        // Into this task's reused write buffer, without holding the queue's lock.
        writing.copy_published();
        true
    }

    /// Queues one frame, applying the backpressure rules. `control` frames (ping, pong,
    /// close) may go [`CONTROL_SLACK`] past the limit, since the protocol needs them; past
    /// that they are refused too, so a peer that sends pings and never reads cannot grow the
    /// queue without bound.
    pub(crate) fn push(&self, opcode: OpCode, payload: Payload<'_>, control: bool) -> Pushed {
        let options = self.options;
        let len = payload.len();
        let mut queue = self.lock();
        if self.is_closed() {
            return Pushed::Refused;
        }
        let was_empty = queue.is_empty();
        let limit = if control {
            options.backpressure_limit.saturating_add(CONTROL_SLACK)
        } else {
            options.backpressure_limit
        };
        if self.buffered() >= limit {
            return Pushed::OverLimit;
        }
        queue.push_frame(opcode, payload);
        // An add, not a store: the driver subtracts what it wrote without this lock.
        self.buffered
            .fetch_add(frame::header_len(len) + len, Ordering::AcqRel);
        drop(queue);
        Pushed::Queued { len, was_empty }
    }

    /// Queues `payload` compressed (permessage-deflate) if this connection compresses
    /// messages of its size; `None` if it does not, and the caller queues it as it is.
    pub(crate) fn push_compressed(&self, opcode: OpCode, payload: &[u8]) -> Option<Pushed> {
        let sender = self.deflate.as_deref()?;
        if !sender.wants(payload.len()) {
            return None;
        }
        let mut compressed = BytesMut::new();
        match (sender.dedicated(), sender.shared_window()) {
            (Some(compressor), _) => {
                // Compressed and queued under the compressor's lock: the peer inflates in
                // queue order, which must be the order the context saw.
                let mut compressor = compressor
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if !compressor.compress(payload, &mut compressed) {
                    return None;
                }
                let pushed = self.push(opcode, Payload::Deflated(&compressed), false);
                if !matches!(pushed, Pushed::Queued { .. }) {
                    // The peer never sees this message: stop referring to it.
                    compressor.reset();
                }
                Some(pushed)
            }
            (None, Some(window)) => {
                let ok =
                    codec::with_shared_compressor(window, |c| c.compress(payload, &mut compressed));
                ok.then(|| self.push(opcode, Payload::Deflated(&compressed), false))
            }
            (None, None) => None,
        }
    }

    /// Queues a frame published by any task (encoded once, shared by every subscriber) and
    /// wakes the driver if it may be asleep, applying the same backpressure rules as a send.
    /// `wire_len` is the payload's length on the wire.
    pub(crate) fn deliver(&self, published: &Published, wire_len: usize) -> Delivery {
        // The opcode is already in the encoded frame.
        let payload = Payload::Published(published, wire_len);
        self.delivered(self.push(OpCode::Binary, payload, false))
    }

    /// Compresses a published message with this connection's own compressor and queues it
    /// (like [`deliver`](Self::deliver)); plain if it does not compress after all.
    pub(crate) fn deliver_compressed(
        &self,
        opcode: OpCode,
        payload: &[u8],
        plain: &Published,
    ) -> Delivery {
        match self.push_compressed(opcode, payload) {
            Some(pushed) => self.delivered(pushed),
            None => self.deliver(plain, payload.len()),
        }
    }

    /// Applies the backpressure rules to a published frame's push and wakes the driver.
    fn delivered(&self, pushed: Pushed) -> Delivery {
        let options = self.options;
        match pushed {
            Pushed::Queued { was_empty, .. } => {
                let full = self.buffered() >= options.backpressure_limit;
                if full {
                    self.wants_drain.store(true, Ordering::Relaxed);
                }
                if was_empty {
                    self.wake();
                }
                if self.buffered() >= FLUSH_THRESHOLD {
                    // A flood of publishes: write now rather than wait for the driver, unless
                    // the driver is writing this very moment.
                    self.try_flush();
                }
                if full {
                    Delivery::Backpressure
                } else {
                    Delivery::Sent
                }
            }
            Pushed::OverLimit => {
                self.wants_drain.store(true, Ordering::Relaxed);
                if options.close_on_backpressure_limit {
                    self.close_requested.store(true, Ordering::Release);
                    self.wake();
                }
                Delivery::Dropped
            }
            Pushed::Refused => Delivery::Dropped,
        }
    }

    /// Records that `n` queued bytes reached the kernel.
    pub(crate) fn wrote(&self, n: usize) {
        self.buffered.fetch_sub(n, Ordering::AcqRel);
    }
}

/// Locks a queue. A panic while holding the lock cannot leave a queue half-written (every
/// change is a sequence of infallible appends or a whole write), so a poisoned lock is still
/// usable.
fn lock(queue: &Mutex<Queue>) -> MutexGuard<'_, Queue> {
    queue
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A payload to queue: borrowed (copied into the queue) or shared, or a frame published to a
/// topic.
pub(crate) enum Payload<'a> {
    Borrowed(&'a [u8]),
    Shared(Bytes),
    /// A published frame, header included, and its payload's length.
    Published(&'a Published, usize),
    /// A message compressed with permessage-deflate, sent with RSV1.
    Deflated(&'a [u8]),
}

impl Payload<'_> {
    /// The payload's length (without any header).
    fn len(&self) -> usize {
        match self {
            Payload::Borrowed(b) => b.len(),
            Payload::Shared(b) => b.len(),
            Payload::Published(_, len) => *len,
            Payload::Deflated(b) => b.len(),
        }
    }

    /// The payload's bytes, when it is a message still to encode.
    fn message_bytes(&self) -> Option<&[u8]> {
        match self {
            Payload::Borrowed(b) => Some(b),
            Payload::Shared(b) => Some(b),
            Payload::Published(..) | Payload::Deflated(_) => None,
        }
    }
}

/// A frame published to a topic, encoded once for every subscriber.
pub(crate) enum Published {
    /// A small frame, in the topic's log.
    Logged(Arc<TopicLog>, Range<usize>),
    /// A large frame in its own buffer.
    Frame(Bytes),
}

/// Consecutive frames of a topic log queued on one socket.
struct LogRange {
    log: Arc<TopicLog>,
    range: Range<usize>,
}

/// What became of one delivery of a published frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    Sent,
    Backpressure,
    Dropped,
}

/// The outcome of [`SocketShared::push`].
pub(crate) enum Pushed {
    Queued {
        len: usize,
        /// Nothing was queued before (the driver may be asleep: wake it).
        was_empty: bool,
    },
    /// The queue was at the backpressure limit.
    OverLimit,
    /// The socket no longer takes frames.
    Refused,
}

/// Encoded frames in order: `chunks`, then `tail`, then `published`. Small frames are
/// encoded straight into `tail`; a large payload is queued as its own chunk behind its header,
/// without a copy. Frames published to a topic are a range of the topic's log, widened while
/// they follow one another there, and copied into `tail` when something else is queued after
/// them or the queue is about to be written.
#[derive(Default)]
pub(crate) struct Queue {
    chunks: VecDeque<Bytes>,
    tail: BytesMut,
    published: Option<LogRange>,
    len: usize,
}

impl Queue {
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn push_frame(&mut self, opcode: OpCode, payload: Payload<'_>) {
        let len = payload.len();
        self.len += frame::header_len(len) + len;
        match payload {
            Payload::Published(Published::Logged(log, range), _) => self.push_logged(log, range),
            // A large published frame is shared, not copied.
            Payload::Published(Published::Frame(frame), _) => {
                self.copy_published();
                if !self.tail.is_empty() {
                    self.chunks.push_back(self.tail.split().freeze());
                }
                self.chunks.push_back(frame.clone());
            }
            Payload::Shared(bytes) if len > COPY_LIMIT => {
                frame::encode_header(self.tail(), opcode, true, false, len);
                self.chunks.push_back(self.tail.split().freeze());
                self.chunks.push_back(bytes);
            }
            Payload::Shared(bytes) => frame::encode_frame(self.tail(), opcode, &bytes),
            Payload::Borrowed(bytes) => frame::encode_frame(self.tail(), opcode, bytes),
            Payload::Deflated(bytes) => {
                let tail = self.tail();
                frame::encode_header(tail, opcode, true, true, bytes.len());
                tail.extend_from_slice(bytes);
            }
        }
    }

    /// `tail`, ready to append to: with a buffer, and with any queued log range copied in
    /// first (it was queued before what comes now).
    fn tail(&mut self) -> &mut BytesMut {
        self.copy_published();
        if self.tail.capacity() == 0 {
            self.tail = spare::take(spare::Kind::Write);
        }
        &mut self.tail
    }

    /// Queues frames of a topic log: widens the queued range if they follow it in the same
    /// log, else starts a new range (copying the old one out).
    fn push_logged(&mut self, log: &Arc<TopicLog>, range: &Range<usize>) {
        match &mut self.published {
            Some(queued) if Arc::ptr_eq(&queued.log, log) && queued.range.end == range.start => {
                queued.range.end = range.end;
            }
            _ => {
                self.copy_published();
                self.published = Some(LogRange {
                    log: Arc::clone(log),
                    range: range.clone(),
                });
            }
        }
    }

    /// Copies the queued range of a topic log into `tail`, behind everything queued before
    /// it: before something else is queued after it, and before the queue is written.
    fn copy_published(&mut self) {
        if let Some(LogRange { log, range }) = self.published.take() {
            if self.tail.capacity() == 0 {
                self.tail = spare::take(spare::Kind::Write);
            }
            log.copy_to(range, &mut self.tail);
        }
    }

    /// Writes as much as the socket takes without blocking; returns the bytes written.
    /// `Ok` with the queue not empty means the socket is full (wait for writability).
    fn write_to(&mut self, stream: &TcpStream) -> io::Result<usize> {
        let mut total = 0;
        while !self.is_empty() {
            let n = if self.chunks.is_empty() {
                stream.try_write(&self.tail)
            } else {
                let mut slices = [IoSlice::new(&[]); MAX_SLICES];
                let mut count = 0;
                for chunk in self.chunks.iter().take(MAX_SLICES - 1) {
                    slices[count] = IoSlice::new(chunk);
                    count += 1;
                }
                if count < MAX_SLICES && !self.tail.is_empty() {
                    slices[count] = IoSlice::new(&self.tail);
                    count += 1;
                }
                stream.try_write_vectored(&slices[..count])
            };
            match n {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.advance(n);
                    total += n;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if self.is_empty() {
            self.release();
        }
        Ok(total)
    }

    fn advance(&mut self, mut n: usize) {
        self.len -= n;
        while n > 0 {
            let Some(front) = self.chunks.front_mut() else {
                self.tail.advance(n);
                return;
            };
            if n < front.len() {
                front.advance(n);
                return;
            }
            n -= front.len();
            self.chunks.pop_front();
        }
    }

    /// Gives back the memory of an empty queue, so an idle socket holds no buffers.
    fn release(&mut self) {
        spare::give_back(spare::Kind::Write, std::mem::take(&mut self.tail));
        if self.chunks.capacity() > 16 {
            self.chunks = VecDeque::new();
        }
    }
}

impl<T> WebSocket<T> {
    /// Sends a text or binary message (anything that converts into a [`Message`]: `&str` and
    /// `String` are text, `Vec<u8>`, `&[u8]` and [`Bytes`] are binary), uncompressed.
    pub fn send(&mut self, message: impl Into<Message>) -> SendStatus {
        self.send_message(message.into(), false)
    }

    /// Sends a message compressed with permessage-deflate when the connection negotiated it
    /// (and the route compresses messages of its size); otherwise as [`send`](Self::send)
    /// would. Bun's `ws.send(data, true)`.
    pub fn send_compressed(&mut self, message: impl Into<Message>) -> SendStatus {
        self.send_message(message.into(), true)
    }

    fn send_message(&mut self, message: Message, compress: bool) -> SendStatus {
        match message {
            Message::Text(text) => {
                self.send_frame(OpCode::Text, Payload::Shared(text.into()), compress)
            }
            Message::Binary(bytes) => {
                self.send_frame(OpCode::Binary, Payload::Shared(bytes), compress)
            }
        }
    }

    /// Sends a text message. `compress` asks for permessage-deflate on this message: it is
    /// compressed if the connection negotiated the extension, the route compresses, and the
    /// message is at least the route's minimum size; otherwise it goes as it is.
    pub fn send_text(&mut self, text: &str, compress: bool) -> SendStatus {
        self.send_frame(OpCode::Text, Payload::Borrowed(text.as_bytes()), compress)
    }

    /// Sends a binary message; `compress` as for [`send_text`](Self::send_text).
    pub fn send_binary(&mut self, bytes: &[u8], compress: bool) -> SendStatus {
        self.send_frame(OpCode::Binary, Payload::Borrowed(bytes), compress)
    }

    /// Sends a ping with `payload` (at most 125 bytes, else [`Dropped`](SendStatus::Dropped)).
    pub fn ping(&mut self, payload: impl AsRef<[u8]>) -> SendStatus {
        self.send_control(OpCode::Ping, payload.as_ref())
    }

    /// Sends an unsolicited pong with `payload` (at most 125 bytes, else
    /// [`Dropped`](SendStatus::Dropped)). Pings are answered automatically.
    pub fn pong(&mut self, payload: impl AsRef<[u8]>) -> SendStatus {
        self.send_control(OpCode::Pong, payload.as_ref())
    }

    /// Starts the closing handshake: queues a close frame with `code` and `reason` (cut to
    /// 123 bytes at a character boundary) behind everything already queued. Later sends are
    /// dropped; the `close` handler runs once, with this code and reason, when the peer has
    /// answered (or after 5 s). A code that may not be sent (below 1000, 1004–1006, 1015, or
    /// 5000 and up) is replaced with `1000`. Calling it again does nothing.
    pub fn close(&mut self, code: u16, reason: &str) {
        if self.conn.closing.is_some() || self.conn.state != ReadyState::Open {
            return;
        }
        let code = if frame::is_sendable_close_code(code) {
            code
        } else {
            tracing::debug!(target: "hyperbun::ws", code, "close code may not be sent; using 1000");
            1000
        };
        self.conn.start_close(code, reason);
    }

    /// Closes the connection at once, without a closing handshake; queued frames are
    /// discarded. The `close` handler runs with `1006`.
    pub fn terminate(&mut self) {
        self.conn.terminated = true;
        self.conn.shared.close();
    }

    /// Runs `f` with every send it makes written in one batch. Handlers are already corked
    /// (their sends are written together when they return, or when an `async` handler waits),
    /// so this only groups sends in code that runs between awaits of a long `async` handler.
    pub fn cork<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> R {
        f(self)
    }

    /// Subscribes to `topic`: every [`publish`](Self::publish) to it (from any socket or the
    /// [`Server`]) is queued on this socket too. Returns `Ok(false)` if already subscribed,
    /// or if the socket is no longer open.
    ///
    /// # Errors
    ///
    /// [`TopicError::Empty`] for the empty topic.
    pub fn subscribe(&mut self, topic: &str) -> Result<bool, TopicError> {
        pubsub::check(topic)?;
        if self.conn.state != ReadyState::Open {
            return Ok(false);
        }
        let added = self.conn.server.hub().subscribe(topic, &self.conn.shared);
        if added {
            self.conn.subscriptions.push(topic.into());
        }
        Ok(added)
    }

    /// Unsubscribes from `topic`; `Ok(true)` if it was subscribed.
    ///
    /// # Errors
    ///
    /// [`TopicError::Empty`] for the empty topic.
    pub fn unsubscribe(&mut self, topic: &str) -> Result<bool, TopicError> {
        pubsub::check(topic)?;
        let Some(i) = self.conn.subscriptions.iter().position(|t| &**t == topic) else {
            return Ok(false);
        };
        self.conn.subscriptions.swap_remove(i);
        Ok(self.conn.server.hub().unsubscribe(topic, &self.conn.shared))
    }

    /// True if subscribed to `topic`.
    #[must_use]
    pub fn is_subscribed(&self, topic: &str) -> bool {
        self.conn.subscriptions.iter().any(|t| &**t == topic)
    }

    /// The topics this socket is subscribed to, in no particular order.
    pub fn subscriptions(&self) -> impl Iterator<Item = &str> + '_ {
        self.conn.subscriptions.iter().map(|t| &**t)
    }

    /// Publishes `message` to every socket subscribed to `topic` except this one (unless
    /// [`publish_to_self`](SocketOptions::publish_to_self) is set). The socket need not be
    /// subscribed itself. The frame is encoded once and shared by every subscriber.
    ///
    /// # Errors
    ///
    /// [`TopicError::Empty`] for the empty topic.
    pub fn publish(
        &mut self,
        topic: &str,
        message: impl Into<Message>,
    ) -> Result<PublishResult, TopicError> {
        match message.into() {
            Message::Text(text) => self.publish_frame(topic, OpCode::Text, text.as_bytes(), false),
            Message::Binary(bytes) => self.publish_frame(topic, OpCode::Binary, &bytes, false),
        }
    }

    /// Publishes a text message. With `compress`, subscribers that negotiated
    /// permessage-deflate (on routes that compress, for messages of at least the minimum
    /// size) get it compressed: once for all subscribers with a shared compressor and the
    /// same window, per subscriber with a dedicated one.
    ///
    /// # Errors
    ///
    /// [`TopicError::Empty`] for the empty topic.
    pub fn publish_text(
        &mut self,
        topic: &str,
        text: &str,
        compress: bool,
    ) -> Result<PublishResult, TopicError> {
        self.publish_frame(topic, OpCode::Text, text.as_bytes(), compress)
    }

    /// Publishes a binary message; `compress` as for [`publish_text`](Self::publish_text).
    ///
    /// # Errors
    ///
    /// [`TopicError::Empty`] for the empty topic.
    pub fn publish_binary(
        &mut self,
        topic: &str,
        bytes: &[u8],
        compress: bool,
    ) -> Result<PublishResult, TopicError> {
        self.publish_frame(topic, OpCode::Binary, bytes, compress)
    }

    fn publish_frame(
        &mut self,
        topic: &str,
        opcode: OpCode,
        payload: &[u8],
        compress: bool,
    ) -> Result<PublishResult, TopicError> {
        pubsub::check(topic)?;
        let except = (!self.conn.shared.options.publish_to_self).then_some(&self.conn.shared);
        Ok(self
            .conn
            .server
            .hub()
            .publish(topic, opcode, payload, except, compress))
    }

    /// Bytes queued and not yet taken by the operating system.
    #[must_use]
    pub fn buffered_amount(&self) -> usize {
        self.conn.shared.buffered()
    }

    /// The peer's address.
    #[must_use]
    pub fn remote_addr(&self) -> SocketAddr {
        self.conn.remote_addr
    }

    /// Where the socket is in its life.
    #[must_use]
    pub fn ready_state(&self) -> ReadyState {
        self.conn.state
    }

    /// The subprotocol chosen in the handshake, if any.
    #[must_use]
    pub fn protocol(&self) -> Option<&str> {
        self.conn.protocol.as_deref()
    }

    /// The server this socket belongs to.
    #[must_use]
    pub fn server(&self) -> &Server {
        &self.conn.server
    }

    fn send_frame(&mut self, opcode: OpCode, payload: Payload<'_>, compress: bool) -> SendStatus {
        if self.conn.state != ReadyState::Open {
            return SendStatus::Dropped;
        }
        let options = self.conn.shared.options;
        let compressed = match payload.message_bytes() {
            Some(bytes) if compress => self.conn.shared.push_compressed(opcode, bytes),
            _ => None,
        };
        let pushed = match compressed {
            Some(pushed) => pushed,
            None => self.conn.shared.push(opcode, payload, false),
        };
        match pushed {
            Pushed::Queued { len, .. } => {
                if self.conn.shared.buffered() >= FLUSH_THRESHOLD {
                    self.conn.flush_now();
                }
                // Measured after any early write: what the kernel took no longer counts.
                if self.conn.shared.buffered() >= options.backpressure_limit {
                    self.conn.shared.wants_drain.store(true, Ordering::Relaxed);
                    SendStatus::Backpressure(len)
                } else {
                    SendStatus::Sent(len)
                }
            }
            Pushed::OverLimit => {
                self.conn.shared.wants_drain.store(true, Ordering::Relaxed);
                if options.close_on_backpressure_limit {
                    self.conn.start_close(1008, "backpressure limit reached");
                }
                SendStatus::Dropped
            }
            Pushed::Refused => SendStatus::Dropped,
        }
    }

    fn send_control(&mut self, opcode: OpCode, payload: &[u8]) -> SendStatus {
        if self.conn.state != ReadyState::Open || payload.len() > 125 {
            return SendStatus::Dropped;
        }
        match self
            .conn
            .shared
            .push(opcode, Payload::Borrowed(payload), true)
        {
            Pushed::Queued { len, .. } => SendStatus::Sent(len),
            Pushed::OverLimit | Pushed::Refused => SendStatus::Dropped,
        }
    }
}

impl Conn {
    /// Leaves every topic (the socket is closing).
    pub(crate) fn leave_all(&mut self) {
        let hub = self.server.hub();
        for topic in self.subscriptions.drain(..) {
            hub.unsubscribe(&topic, &self.shared);
        }
    }

    /// Queues the close frame and refuses every later frame.
    pub(crate) fn start_close(&mut self, code: u16, reason: &str) {
        let mut payload = BytesMut::new();
        frame::encode_close_payload(&mut payload, code, reason);
        let reason = String::from_utf8_lossy(&payload[2..]).into_owned();
        self.shared
            .push(OpCode::Close, Payload::Borrowed(&payload), true);
        self.shared.close();
        self.closing = Some((code, reason.into_boxed_str()));
        self.state = ReadyState::Closing;
    }

    /// Writes what the socket takes now, without waiting.
    pub(crate) fn flush_now(&mut self) {
        if self.write_error.is_some() {
            return;
        }
        if let Err(e) = self.shared.flush() {
            self.write_error = Some(e);
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for WebSocket<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocket")
            .field("data", &self.data)
            .field("remote_addr", &self.conn.remote_addr)
            .field("ready_state", &self.conn.state)
            .field("protocol", &self.conn.protocol)
            .field("buffered_amount", &self.conn.shared.buffered())
            .finish_non_exhaustive()
    }
}
