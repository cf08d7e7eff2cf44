//! The interface between `#[websocket]` and the runtime: [`SocketHandlers`], what the macro
//! implements on the user's type, and the driver calls. (What `#[upgrade]` implements, and the
//! route that joins a socket to its hook, are in [`upgrade`](crate::ws::upgrade).) Reached
//! through `__private`; not public API.

use std::future::{ready, Future};

use bytes::Bytes;

use crate::ws::{Message, SocketOptions, WebSocket, WebSocketError};

/// The handlers of one socket route. `#[websocket]` implements it on the type of the
/// `impl` block it decorates; handlers it does not define keep these no-op defaults.
///
/// Each method calls the user's handler: a plain `fn` runs inside the call and returns a
/// ready future; an `async fn` returns its own future, which the driver polls.
pub trait SocketHandlers: Sized + Send + Sync + 'static {
    /// The per-connection data (`data = T`; `()` when not given).
    type Data: Send + 'static;

    /// The type's name, for logs.
    const NAME: &'static str;
    /// Where the `impl` block is: file, line, column.
    const LOCATION: (&'static str, u32, u32);
    /// The path as written (default `/ws`).
    const PATH: &'static str;
    /// The matcher pattern with positional parameter names (see `RouteDef::pattern`).
    const PATTERN: &'static str;

    /// The route's options, built once.
    fn options() -> &'static SocketOptions;

    /// `open(ws)`.
    fn open(ws: &mut WebSocket<Self::Data>) -> impl Future<Output = ()> + Send + '_ {
        let _ = ws;
        ready(())
    }

    /// `message(ws, message)`.
    fn message(
        ws: &mut WebSocket<Self::Data>,
        message: Message,
    ) -> impl Future<Output = ()> + Send + '_;

    /// `rate_limited(ws, message)`: a message over the socket's
    /// [`RateLimit`](crate::RateLimit), dropped (with
    /// [`RateLimitAction::Drop`](crate::RateLimitAction::Drop)).
    fn rate_limited(
        ws: &mut WebSocket<Self::Data>,
        message: Message,
    ) -> impl Future<Output = ()> + Send + '_ {
        let _ = (ws, message);
        ready(())
    }

    /// `close(ws, code, reason)`.
    fn close<'a>(
        ws: &'a mut WebSocket<Self::Data>,
        code: u16,
        reason: &'a str,
    ) -> impl Future<Output = ()> + Send + 'a {
        let _ = (ws, code, reason);
        ready(())
    }

    /// `drain(ws)`.
    fn drain(ws: &mut WebSocket<Self::Data>) -> impl Future<Output = ()> + Send + '_ {
        let _ = ws;
        ready(())
    }

    /// `error(ws, error)`.
    fn error<'a>(
        ws: &'a mut WebSocket<Self::Data>,
        error: &'a WebSocketError,
    ) -> impl Future<Output = ()> + Send + 'a {
        let _ = (ws, error);
        ready(())
    }

    /// `ping(ws, payload)`; the pong is sent automatically either way.
    fn ping(
        ws: &mut WebSocket<Self::Data>,
        payload: Bytes,
    ) -> impl Future<Output = ()> + Send + '_ {
        let _ = (ws, payload);
        ready(())
    }

    /// `pong(ws, payload)`.
    fn pong(
        ws: &mut WebSocket<Self::Data>,
        payload: Bytes,
    ) -> impl Future<Output = ()> + Send + '_ {
        let _ = (ws, payload);
        ready(())
    }
}
