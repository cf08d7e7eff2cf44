//! What every task may touch of one socket: its transport, its send queue with the one
//! backpressure policy, the flags other tasks raise, and the wake-up of its driver.
//!
//! The queue is shared (`Arc<SocketShared>`) because publishers on other tasks queue on it;
//! the driver swaps its contents out under the lock and writes them without holding it. A
//! queue that grows past [`FLUSH_THRESHOLD`] is written early, by whoever grew it: a handler
//! that streams megabytes sees real backpressure, and a flood of publishes does not wait for
//! the driver to be scheduled (on transports that let other tasks write; see
//! [`transport`](crate::ws::transport)).

use std::borrow::Cow;
use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::task::{Context, Poll};

use atomic_waker::AtomicWaker;
use bytes::BytesMut;

use crate::sync::lock;
use crate::ws::deflate::{codec, Sender};
use crate::ws::frame::{self, OpCode};
use crate::ws::idle::IdleState;
use crate::ws::queue::{Payload, Published, Queue};
use crate::ws::transport::{Stream, Transport};
use crate::ws::SocketOptions;

/// Queued bytes past which a send writes to the socket at once instead of waiting for the
/// handler to return (or the driver to be scheduled).
pub(crate) const FLUSH_THRESHOLD: usize = 64 * 1024;

/// How far past the backpressure limit control frames may still be queued.
pub(crate) const CONTROL_SLACK: usize = 16 * 1024;

/// What became of one frame queued on a socket, after the backpressure policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// Queued, below the backpressure limit; the payload's length.
    Sent(usize),
    /// Queued, and the queue is at the limit: `drain` will run.
    Backpressure(usize),
    /// Not queued: closing, or over the limit.
    Dropped,
}

/// The outcome of [`SocketShared::push`], before the policy.
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

/// A close asked of the driver from outside its loop: the server stopping (`1001`), a frame
/// refused at the backpressure limit with `close_on_backpressure_limit` (`1008`, by a
/// publisher or the socket's own send), or a [`SocketHandle`](crate::SocketHandle). The driver
/// starts the closing handshake with it when it next looks: after the handler running, if
/// any, or when woken.
#[derive(Debug)]
pub(crate) struct CloseRequest {
    pub(crate) code: u16,
    pub(crate) reason: Cow<'static, str>,
}

/// One socket's state shared between its driver and every task that publishes to it.
pub(crate) struct SocketShared {
    pub(crate) transport: Stream,
    /// Frames queued by sends, in order.
    queue: Mutex<Queue>,
    /// Frames taken from `queue` and being written; always ahead of it. Only one task writes
    /// at a time (whoever holds this lock), and the `writev` stays out of `queue`'s lock.
    writing: Mutex<Queue>,
    /// Bytes queued and not yet accepted by the transport (both queues).
    buffered: AtomicUsize,
    /// The transport holds written bytes it has not flushed yet (TLS): the driver polls it.
    unflushed: AtomicBool,
    /// No more frames are accepted (a close frame is queued, or the connection is gone).
    closed: AtomicBool,
    /// The driver has left its connection: the `close` handler is running or has run.
    ended: AtomicBool,
    /// The server's grace period is over, or a handle terminated the socket: the driver ends
    /// at once.
    pub(crate) aborting: AtomicBool,
    /// A send or publish met the backpressure limit: run `drain` once the queue falls below
    /// it.
    pub(crate) wants_drain: AtomicBool,
    /// A close asked of the driver, once set never changed: the first one wins. Boxed, so
    /// an open socket pays 16 bytes for it (a pointer and the `OnceLock`'s state), and the
    /// driver tests it with one atomic load, as it tested the two flags this replaces.
    close_request: OnceLock<Box<CloseRequest>>,
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
        transport: Stream,
        idle: IdleState,
        options: &'static SocketOptions,
        deflate: Option<Box<Sender>>,
    ) -> Self {
        SocketShared {
            transport,
            deflate,
            wants_drain: AtomicBool::new(false),
            close_request: OnceLock::new(),
            options,
            queue: Mutex::new(Queue::default()),
            writing: Mutex::new(Queue::default()),
            buffered: AtomicUsize::new(0),
            unflushed: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            ended: AtomicBool::new(false),
            aborting: AtomicBool::new(false),
            waker: AtomicWaker::new(),
            woken: AtomicBool::new(false),
            idle,
        }
    }

    /// Wakes the driver (from any task).
    pub(crate) fn wake(&self) {
        self.woken.store(true, Ordering::Release);
        self.waker.wake();
    }

    /// For the driver's poll while a handler or the closing handshake runs: registers its
    /// waker and reports whether the server's grace period is over (end at once).
    pub(crate) fn poll_aborted(&self, cx: &mut Context<'_>) -> bool {
        self.waker.register(cx.waker());
        self.aborting.load(Ordering::Acquire)
    }

    /// For the driver's poll: registers its waker and reports (and clears) a wake-up.
    pub(crate) fn poll_woken(&self, cx: &mut Context<'_>) -> bool {
        self.waker.register(cx.waker());
        self.woken.load(Ordering::Acquire) && self.woken.swap(false, Ordering::AcqRel)
    }

    /// The driver's write: everything queued, until it is all out (`Ready(Ok)`) or the
    /// transport is full (`Pending`, with a wake-up registered in `cx`).
    pub(crate) fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let transport = &self.transport;
        let all_out = self.write_queue(|bufs| match transport.poll_write_vectored(cx, bufs) {
            Poll::Ready(result) => result,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        })?;
        if !all_out {
            return Poll::Pending;
        }
        if self.unflushed.load(Ordering::Relaxed) {
            std::task::ready!(self.transport.poll_flush(cx))?;
            self.unflushed.store(false, Ordering::Relaxed);
        }
        Poll::Ready(Ok(()))
    }

    /// The driver's write without waiting, right after a handler: what the transport takes
    /// now. `Ok(true)` when everything is out; the driver polls with its waker before it
    /// sleeps, which also flushes a transport that buffers.
    pub(crate) fn flush_now(&self) -> io::Result<bool> {
        let all_out = self.write_queue(|bufs| self.transport.write_now(bufs))?;
        Ok(all_out && !self.unflushed.load(Ordering::Relaxed))
    }

    /// The driver's writes: everything queued, through `write` (one vectored write,
    /// `WouldBlock` when the transport is full); whether it all went out. After an error
    /// nothing more will be written, so the queue is forgotten and the socket closed.
    fn write_queue(
        &self,
        write: impl FnMut(&[IoSlice<'_>]) -> io::Result<usize>,
    ) -> io::Result<bool> {
        let mut writing = lock(&self.writing);
        let written = self.write_all(&mut writing, write);
        if written.is_err() {
            let left = writing.len();
            *writing = Queue::default();
            self.wrote(left);
            self.close();
        }
        written
    }

    /// Writes `writing`, then whatever is queued behind it, until the transport is full
    /// (`Ok(false)`) or everything is out (`Ok(true)`). The caller holds the write lock.
    fn write_all(
        &self,
        writing: &mut Queue,
        mut write: impl FnMut(&[IoSlice<'_>]) -> io::Result<usize>,
    ) -> io::Result<bool> {
        loop {
            if writing.is_empty() && !self.take_into(writing) {
                return Ok(true);
            }
            let n = writing.write_with(&mut write)?;
            self.wrote(n);
            if !writing.is_empty() {
                return Ok(false);
            }
            if n > 0 && self.transport.buffers_writes() {
                self.unflushed.store(true, Ordering::Relaxed);
            }
        }
    }

    /// Writes everything queued, waiting for the transport as long as it takes.
    pub(crate) async fn flush(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_flush(cx)).await
    }

    /// A publisher's early write: skipped when another task is writing, or when the
    /// transport lets only its driver write; an error is left for the driver to meet on its
    /// own next write or read.
    fn try_flush(&self) {
        if let Ok(mut writing) = self.writing.try_lock() {
            let _ = self.write_all(&mut writing, |bufs| self.transport.try_write_vectored(bufs));
        }
    }

    /// True when frames are waiting (queued, partly written, or unflushed).
    pub(crate) fn has_pending(&self) -> bool {
        self.buffered() > 0 || self.unflushed.load(Ordering::Relaxed)
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

    /// The driver has left the connection (refusing every later frame): the socket is
    /// [`Closed`](crate::ReadyState::Closed) for its handles.
    pub(crate) fn end(&self) {
        self.close();
        self.ended.store(true, Ordering::Release);
    }

    /// True once the driver has left the connection.
    pub(crate) fn has_ended(&self) -> bool {
        self.ended.load(Ordering::Acquire)
    }

    /// Asks the driver to close with `code` and `reason`, unless a close was asked already
    /// (the first request wins). The caller wakes the driver if it runs on another task.
    pub(crate) fn request_close(&self, code: u16, reason: impl Into<Cow<'static, str>>) {
        self.close_request.get_or_init(|| {
            Box::new(CloseRequest {
                code,
                reason: reason.into(),
            })
        });
    }

    /// The close another task asked for, if any.
    #[inline]
    pub(crate) fn close_request(&self) -> Option<&CloseRequest> {
        self.close_request.get().map(|request| &**request)
    }

    /// Moves everything queued into `writing` (which must be empty) and returns whether
    /// there was anything.
    fn take_into(&self, writing: &mut Queue) -> bool {
        debug_assert!(writing.is_empty());
        let mut queue = lock(&self.queue);
        if queue.is_empty() {
            return false;
        }
        std::mem::swap(&mut *queue, writing);
        drop(queue);
        // Into this task's reused write buffer, without holding the queue's lock.
        writing.copy_published();
        true
    }

    /// Queues one frame if the socket takes it. `control` frames (ping, pong, close) may go
    /// [`CONTROL_SLACK`] past the limit, since the protocol needs them; past that they are
    /// refused too, so a peer that sends pings and never reads cannot grow the queue without
    /// bound. Data frames go through [`send`](Self::send), which applies the policy.
    pub(crate) fn push(&self, opcode: OpCode, payload: Payload<'_>, control: bool) -> Pushed {
        let options = self.options;
        let len = payload.len();
        let mut queue = lock(&self.queue);
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
        // An add, not a store: the writer subtracts what it wrote without this lock.
        self.buffered
            .fetch_add(frame::header_len(len) + len, Ordering::AcqRel);
        drop(queue);
        Pushed::Queued { len, was_empty }
    }

    /// Queues a data frame sent by the socket's own handler and applies the backpressure
    /// policy; `compress` asks for permessage-deflate where the connection and route allow
    /// it. An early write that failed is returned for the driver to act on.
    #[inline]
    pub(crate) fn send(
        &self,
        opcode: OpCode,
        payload: Payload<'_>,
        compress: bool,
    ) -> (Delivery, Option<io::Error>) {
        let compressed = match payload.message_bytes() {
            Some(bytes) if compress => self.push_compressed(opcode, bytes),
            _ => None,
        };
        let pushed = match compressed {
            Some(pushed) => pushed,
            None => self.push(opcode, payload, false),
        };
        let mut error = None;
        let delivery = self.settle(pushed, false, || error = self.flush_now().err());
        (delivery, error)
    }

    /// Queues a frame published to a topic (encoded once, shared by every subscriber);
    /// `wire_len` is the payload's length on the wire.
    pub(crate) fn deliver(&self, published: &Published, wire_len: usize) -> Delivery {
        // The opcode is already in the encoded frame.
        self.deliver_payload(OpCode::Binary, Payload::Published(published, wire_len))
    }

    /// Queues a message sent from another task (a [`SocketHandle`](crate::SocketHandle)), as
    /// a publish queues its frame: uncompressed, the same policy, the driver woken.
    pub(crate) fn deliver_message(&self, opcode: OpCode, payload: bytes::Bytes) -> Delivery {
        self.deliver_payload(opcode, Payload::Shared(payload))
    }

    /// A publish's half of [`settle`](Self::settle): queued from another task, written
    /// early by it unless the driver is writing this very moment.
    #[inline]
    fn deliver_payload(&self, opcode: OpCode, payload: Payload<'_>) -> Delivery {
        self.settle(self.push(opcode, payload, false), true, || {
            self.try_flush();
        })
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
            Some(pushed) => self.settle(pushed, true, || self.try_flush()),
            None => self.deliver(plain, payload.len()),
        }
    }

    /// The backpressure policy, the same for a send and a publish: a queue at the limit
    /// asks for `drain`; a frame refused at the limit [asks](Self::request_close) the driver
    /// to close with `1008` when the route says so; a queue past [`FLUSH_THRESHOLD`] is
    /// written at once by whoever grew it (`write_early`); a publisher (`from_other_task`)
    /// wakes a driver that had nothing queued, or that must close. Inlined into its two callers, so each keeps
    /// only its own branches.
    #[inline]
    fn settle(
        &self,
        pushed: Pushed,
        from_other_task: bool,
        write_early: impl FnOnce(),
    ) -> Delivery {
        match pushed {
            Pushed::Queued { len, was_empty } => {
                if was_empty && from_other_task {
                    self.wake();
                }
                if self.buffered() >= FLUSH_THRESHOLD {
                    write_early();
                }
                // Measured after any early write: what the transport took no longer counts.
                if self.buffered() >= self.options.backpressure_limit {
                    self.wants_drain.store(true, Ordering::Relaxed);
                    Delivery::Backpressure(len)
                } else {
                    Delivery::Sent(len)
                }
            }
            Pushed::OverLimit => {
                self.wants_drain.store(true, Ordering::Relaxed);
                if self.options.close_on_backpressure_limit {
                    self.request_close(1008, "backpressure limit reached");
                    if from_other_task {
                        self.wake();
                    }
                }
                Delivery::Dropped
            }
            Pushed::Refused => Delivery::Dropped,
        }
    }

    /// Queues `payload` compressed (permessage-deflate) if this connection compresses
    /// messages of its size; `None` if it does not, and the caller queues it as it is.
    fn push_compressed(&self, opcode: OpCode, payload: &[u8]) -> Option<Pushed> {
        let sender = self.deflate.as_deref()?;
        if !sender.wants(payload.len()) {
            return None;
        }
        let mut compressed = BytesMut::new();
        match (sender.dedicated(), sender.shared_window()) {
            (Some(compressor), _) => {
                // Compressed and queued under the compressor's lock: the peer inflates in
                // queue order, which must be the order the context saw.
                let mut compressor = lock(compressor);
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

    /// Records that `n` queued bytes reached the transport.
    fn wrote(&self, n: usize) {
        self.buffered.fetch_sub(n, Ordering::AcqRel);
    }
}
