//! The interface between the socket macros and the runtime: [`SocketHandlers`] (what
//! `#[websocket]` implements on the user's type), [`UpgradeHook`] (what `#[upgrade]`
//! implements) and [`SocketRoute`], the route that joins them in the routing table.
//! Everything here is reached through `__private`; none of it is public API.

// A rejection is a whole `Response`, as everywhere in the crate: once per handshake, so its
// size does not matter.
#![allow(clippy::result_large_err)]

use std::future::{ready, Future};
use std::marker::PhantomData;

use bytes::Bytes;

use crate::extract::RequestContext;
use crate::routing::{ResponseFuture, RouteDef};
use crate::ws::{Message, SocketOptions, Upgrade, WebSocket, WebSocketError};
use crate::{IntoResponse, Request, Response};

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

/// An `#[upgrade]` hook. `#[upgrade]` implements it on the `Handler` type of the hidden
/// module named after the hook function.
pub trait UpgradeHook: 'static {
    /// The data the hook gives accepted connections.
    type Data: Send + 'static;

    /// Extracts the hook's arguments, calls it, and hands the request back with the accepted
    /// [`Upgrade`], or returns the rejection response.
    fn call(
        req: Request,
        cx: &RequestContext,
    ) -> impl Future<Output = Result<(Request, Upgrade<Self::Data>), Response>> + Send + '_;
}

/// What an `#[upgrade]` hook may return: an [`Upgrade`], or a `Result` whose error is a
/// response.
#[diagnostic::on_unimplemented(
    message = "an `#[upgrade]` hook must return `Upgrade<T>` or `Result<Upgrade<T>, E>` where `E: IntoResponse`, not `{Self}`",
    label = "not an upgrade decision"
)]
pub trait IntoUpgrade {
    /// The connection data.
    type Data: Send + 'static;

    /// Accept (with data) or reject (with a response).
    fn into_upgrade(self) -> Result<Upgrade<Self::Data>, Response>;
}

impl<T: Send + 'static> IntoUpgrade for Upgrade<T> {
    type Data = T;

    fn into_upgrade(self) -> Result<Upgrade<T>, Response> {
        Ok(self)
    }
}

impl<T: Send + 'static, E: IntoResponse> IntoUpgrade for Result<Upgrade<T>, E> {
    type Data = T;

    fn into_upgrade(self) -> Result<Upgrade<T>, Response> {
        self.map_err(IntoResponse::into_response)
    }
}

/// The hook of a socket route without `#[upgrade]`: accepts every valid handshake with
/// `T::default()`.
#[derive(Debug)]
pub struct DefaultUpgrade<T>(PhantomData<fn() -> T>);

impl<T: Default + Send + 'static> UpgradeHook for DefaultUpgrade<T> {
    type Data = T;

    async fn call(req: Request, _cx: &RequestContext) -> Result<(Request, Upgrade<T>), Response> {
        Ok((req, Upgrade::new(T::default())))
    }
}

/// A socket route: the handlers `S` behind the hook `H` (`DefaultUpgrade` when the route
/// has no `#[upgrade]`). `router!` lists `<SocketRoute<S, H> as Route>::DEF`.
#[derive(Debug)]
pub struct SocketRoute<S, H>(PhantomData<fn() -> (S, H)>);

impl<S, H> crate::private::Route for SocketRoute<S, H>
where
    S: SocketHandlers,
    H: UpgradeHook<Data = S::Data>,
{
    const DEF: RouteDef = RouteDef {
        methods: &[http::Method::GET],
        path: S::PATH,
        pattern: S::PATTERN,
        body_limit: None,
        handler: serve::<S, H>,
        name: S::NAME,
        location: S::LOCATION,
        prepare: Some(prepare::<S>),
    };
}

/// Builds the socket's options when the router is built, and stops the program there if
/// they cannot work, naming the socket (see `RouteDef::prepare`).
fn prepare<S: SocketHandlers>() {
    if let Err(why) = S::options().validate() {
        let (file, line, column) = S::LOCATION;
        panic!(
            "invalid options for socket `{}` at \"{}\" ({file}:{line}:{column}): {why}",
            S::NAME,
            S::PATH
        );
    }
}

/// The route handler: check the handshake, run the hook, switch protocols.
fn serve<S, H>(req: Request, cx: RequestContext) -> ResponseFuture
where
    S: SocketHandlers,
    H: UpgradeHook<Data = S::Data>,
{
    Box::pin(async move {
        let options = S::options();
        let accepted = match crate::ws::handshake::check(
            req.method(),
            req.version(),
            req.headers(),
            options,
        ) {
            Ok(accepted) => accepted,
            Err(e) => return e.into_response(),
        };
        match H::call(req, &cx).await {
            Ok((req, upgrade)) => {
                crate::ws::upgrade::switch::<S>(req, accepted, upgrade, cx.server, cx.remote_addr)
            }
            Err(rejection) => rejection,
        }
    })
}
