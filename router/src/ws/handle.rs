//! [`SocketHandle`]: one socket, reachable from any task (Bun's `ws` used from a `setTimeout`
//! callback). It reaches the socket through its [shared state](crate::ws::shared), the way a
//! publish from another task does, and holds it weakly, so it never keeps a closed
//! connection alive.

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use serde::Serialize;

use crate::ws::frame;
use crate::ws::shared::{Delivery, SocketShared};
use crate::ws::{Message, ReadyState, SendStatus, WebSocket};
use crate::Addr;

/// A socket reachable from other tasks: send to it, close it, ask whether it is still open,
/// from a timer, a background job or another socket's handler. Bun's `ws` kept and used from
/// a `setTimeout` callback. Made by [`WebSocket::handle`]; `Clone`, `Send` and `Sync`, and
/// cheap to clone.
///
/// - [`send`](Self::send) queues the message on the socket's send queue, under the same
///   backpressure policy as [`WebSocket::send`], and wakes the socket's task to write it, as
///   a [`Server::publish`](crate::Server::publish) from another task does. Like an
///   uncompressed publish, it is sent uncompressed even where permessage-deflate was agreed.
/// - [`close`](Self::close) asks the socket's task to close: it queues the close frame
///   behind everything already queued, waits for the peer's answer and runs the `close`
///   handler with the code and reason, as [`WebSocket::close`] does.
/// - [`terminate`](Self::terminate) cuts the connection at once, like
///   [`WebSocket::terminate`].
///
/// A handle does not keep the socket: once the connection is over, its transport, its
/// buffers and its data are freed while handles live on, and every call is a harmless no-op:
/// sends are [`Dropped`](SendStatus::Dropped), [`ready_state`](Self::ready_state) is
/// [`Closed`](ReadyState::Closed). (A handle holds the socket's shared record weakly: what
/// stays until the last handle goes is that record's few hundred bytes, emptied.)
///
/// # Examples
///
/// Bun's `setTimeout(() => ws.send("tick"), 10)`, then a close from the timer:
///
/// ```
/// use std::time::Duration;
///
/// use hyperbun::prelude::*;
/// use hyperbun::test::TestServer;
///
/// struct Timer;
///
/// #[websocket("/timer")]
/// impl Timer {
///     fn open(ws: &mut WebSocket) {
///         let handle = ws.handle();
///         tokio::spawn(async move {
///             tokio::time::sleep(Duration::from_millis(10)).await;
///             handle.send("tick");
///             handle.close(4000, "time is up");
///             assert_eq!(handle.send("too late"), SendStatus::Dropped);
///         });
///     }
///     fn message(_ws: &mut WebSocket, _msg: Message) {}
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let app = TestServer::start(hyperbun::router![Timer]).await;
/// let mut ws = app.ws("/timer").await;
/// ws.expect_text("tick").await;
/// assert_eq!(ws.expect_close(4000).await.reason, "time is up");
/// app.stop().await;
/// # }
/// ```
#[derive(Clone)]
pub struct SocketHandle {
    /// Weak: the driver, the registry and the socket's topics hold it strongly while the
    /// connection lasts, and nobody once it is over.
    pub(super) shared: Weak<SocketShared>,
    remote_addr: Addr,
}

impl<T> WebSocket<T> {
    /// A handle to this socket for other tasks: a timer, a background job, another socket's
    /// handler. See [`SocketHandle`].
    ///
    /// Making one costs a reference count and a copy of the peer's address; sockets that
    /// never make one pay nothing for the feature.
    #[must_use]
    pub fn handle(&self) -> SocketHandle {
        SocketHandle {
            shared: Arc::downgrade(&self.conn.shared),
            remote_addr: self.conn.remote_addr.clone(),
        }
    }
}

impl SocketHandle {
    /// Sends a text or binary message (anything that converts into a [`Message`]),
    /// uncompressed: queued behind what the socket has queued, and written by the socket's
    /// task, which this wakes. [`SendStatus`] as for [`WebSocket::send`]: `Sent`,
    /// `Backpressure` (queued, the queue is at the limit: the socket's `drain` handler runs
    /// once it falls below), or `Dropped` (the socket is closing or closed, a close was asked
    /// for, or the queue was at the limit; then the socket closes with `1008` if
    /// [`close_on_backpressure_limit`](crate::SocketOptions::close_on_backpressure_limit) is
    /// set).
    pub fn send(&self, message: impl Into<Message>) -> SendStatus {
        let Some(shared) = self.shared.upgrade() else {
            return SendStatus::Dropped;
        };
        // Whoever asked for the close (this handle or another, the server stopping) meant
        // it to be the last frame.
        if shared.close_request().is_some() {
            return SendStatus::Dropped;
        }
        let (opcode, payload) = frame::split(message.into());
        match shared.deliver_message(opcode, payload) {
            Delivery::Sent(len) => SendStatus::Sent(len),
            Delivery::Backpressure(len) => SendStatus::Backpressure(len),
            Delivery::Dropped => SendStatus::Dropped,
        }
    }

    /// Sends `value` serialized as JSON, as a text message, uncompressed; what
    /// [`send`](Self::send) does with the text. A value `serde_json` cannot serialize is not
    /// sent: [`Dropped`](SendStatus::Dropped), and the error is logged, as
    /// [`WebSocket::send_json`] does.
    ///
    /// # Examples
    ///
    /// A background job reports its progress:
    ///
    /// ```
    /// use hyperbun::prelude::*;
    /// use hyperbun::test::TestServer;
    ///
    /// struct Job;
    ///
    /// #[websocket("/job")]
    /// impl Job {
    ///     fn open(ws: &mut WebSocket) {
    ///         let handle = ws.handle();
    ///         tokio::spawn(async move {
    ///             for done in [50, 100] {
    ///                 handle.send_json(&json!({ "done": done }));
    ///             }
    ///         });
    ///     }
    ///     fn message(_ws: &mut WebSocket, _msg: Message) {}
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let app = TestServer::start(hyperbun::router![Job]).await;
    /// let mut ws = app.ws("/job").await;
    /// ws.expect_json(&json!({ "done": 50 })).await;
    /// ws.expect_json(&json!({ "done": 100 })).await;
    /// # ws.close().await;
    /// # app.stop().await;
    /// # }
    /// ```
    pub fn send_json<T: Serialize + ?Sized>(&self, value: &T) -> SendStatus {
        match crate::ws::json::to_text(value) {
            Some(text) => self.send(text),
            None => SendStatus::Dropped,
        }
    }

    /// Closes the socket cleanly: its task queues a close frame with `code` and `reason`
    /// (cut to 123 bytes at a character boundary) behind everything already queued, waits
    /// for the peer's answer (at most 5 s) and runs the `close` handler once, with this code
    /// and reason. It happens on the socket's task, after the handler running there (if
    /// any) returns; from this call on, the handle's sends are dropped and
    /// [`is_open`](Self::is_open) is false. A code that may not be sent (below 1000,
    /// 1004–1006, 1015, or 5000 and up) is replaced with `1000`.
    ///
    /// Only the first close asked for counts (from any handle, or the server stopping); a
    /// socket already closing (its handler called [`WebSocket::close`], the peer closed) or
    /// closed is left as it is.
    pub fn close(&self, code: u16, reason: &str) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        if shared.is_closed() {
            return;
        }
        shared.request_close(frame::sendable_close_code(code), reason.to_owned());
        shared.wake();
    }

    /// Closes the connection at once, without a closing handshake: queued frames are
    /// discarded, a handler waiting at an `.await` on the socket's task is cancelled, and the
    /// `close` handler runs with `1006`. Like [`WebSocket::terminate`].
    pub fn terminate(&self) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        shared.close();
        shared.aborting.store(true, Ordering::Release);
        shared.wake();
    }

    /// True while the socket is [`Open`](ReadyState::Open): no close has been started or
    /// asked for, and the connection is up.
    #[must_use]
    pub fn is_open(&self) -> bool {
        self.ready_state() == ReadyState::Open
    }

    /// Where the socket is in its life: [`Open`](ReadyState::Open);
    /// [`Closing`](ReadyState::Closing) once a close was started or asked for (sends are
    /// dropped from then on); [`Closed`](ReadyState::Closed) once the connection is over
    /// (from the moment its `close` handler runs).
    #[must_use]
    pub fn ready_state(&self) -> ReadyState {
        match self.shared.upgrade() {
            None => ReadyState::Closed,
            Some(shared) if shared.has_ended() => ReadyState::Closed,
            Some(shared) if shared.is_closed() || shared.close_request().is_some() => {
                ReadyState::Closing
            }
            Some(_) => ReadyState::Open,
        }
    }

    /// The peer's address (still known after the socket has closed).
    #[must_use]
    pub fn remote_addr(&self) -> Addr {
        self.remote_addr.clone()
    }
}

impl fmt::Debug for SocketHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketHandle")
            .field("remote_addr", &self.remote_addr)
            .field("ready_state", &self.ready_state())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::SocketHandle;

    #[test]
    fn a_handle_goes_anywhere_a_task_does() {
        fn for_any_task<T: Clone + Send + Sync + 'static>() {}
        for_any_task::<SocketHandle>();
    }
}
