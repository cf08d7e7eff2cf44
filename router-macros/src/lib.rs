//! Procedural macros for [hyperbun](https://docs.rs/hyperbun). Use them through `hyperbun`
//! (`use hyperbun::prelude::*;`), which re-exports them; generated code names only
//! `::hyperbun::__private::…` and `::core::…`.
//!
//! The crate is split the way the work goes: `parse` (attribute grammar, path grammar,
//! signature classification) → `validate` (one function per rule, named like its ui-test)
//! → `expand` (handler adapters, the routing table, and the fallback output on error).

#![warn(missing_docs)]

use proc_macro::TokenStream;

mod ctxt;
mod entry;
mod expand;
mod methods;
mod parse;
mod paths;
mod validate;

use methods::RouteKind;

macro_rules! method_attributes {
    ($($(#[$doc:meta])* $name:ident => $method:literal;)*) => {$(
        $(#[$doc])*
        ///
        /// # Syntax
        ///
        #[doc = concat!("`#[", stringify!($name), "(\"/path\")]`, with options `#[", stringify!($name), "(\"/path\", body_limit = BYTES, layer = LAYER)]`")]
        ///
        /// - `body_limit`: the request body limit of this route, in bytes.
        /// - `layer`: the route's own middleware, a tower layer (a tuple of them, outermost
        ///   first) or `hyperbun::middleware::from_fn(f)`, around this handler only; checked
        ///   where it is written. See [`guide::middleware`](../hyperbun/guide/middleware/index.html).
        ///
        /// See [`macro@route`] for the path grammar, how arguments bind, and what a handler
        /// may return.
        #[proc_macro_attribute]
        pub fn $name(attr: TokenStream, item: TokenStream) -> TokenStream {
            entry::route(RouteKind::Fixed($method), attr.into(), item.into()).into()
        }
    )*};
}

method_attributes! {
    /// A `GET` route. `HEAD` requests to the same path are answered by it too (without the
    /// body) unless a `#[head]` route exists.
    ///
    /// # Examples
    ///
    /// ```
    /// use hyperbun::prelude::*;
    ///
    /// #[get("/users/:id")]
    /// async fn user(id: u64) -> String {
    ///     format!("user {id}")
    /// }
    /// # fn main() { let _ = hyperbun::router![user]; }
    /// ```
    get => "GET";
    /// A `POST` route.
    ///
    /// # Examples
    ///
    /// ```
    /// use hyperbun::prelude::*;
    ///
    /// #[post("/echo")]
    /// async fn echo(Json(body): Json<Value>) -> Json<Value> {
    ///     Json(body)
    /// }
    /// # fn main() { let _ = hyperbun::router![echo]; }
    /// ```
    post => "POST";
    /// A `PUT` route.
    put => "PUT";
    /// A `PATCH` route.
    patch => "PATCH";
    /// A `DELETE` route.
    delete => "DELETE";
    /// A `HEAD` route (replaces the automatic `HEAD` answered by a `GET` route).
    head => "HEAD";
    /// An `OPTIONS` route (replaces the automatic `OPTIONS` answer listing the methods).
    options => "OPTIONS";
}

/// A route for one or more methods.
///
/// # Syntax
///
/// `#[route("/path", method = "GET", method = "POST")]`; also `body_limit = BYTES`.
///
/// # Paths
///
/// A path starts with `/`. `:name` is a segment that binds one parameter; `*name` binds the
/// rest of the path (one or more characters) and must be last. A static segment beats a
/// parameter at the same place (`/users/me` is chosen over `/users/:id`).
///
/// # Arguments
///
/// An argument whose name matches a parameter receives it, percent-decoded and parsed with
/// [`FromStr`](std::str::FromStr) (`400 Bad Request` naming the parameter if it does not
/// parse). Every other argument is an extractor: `FromRequestParts` for any argument,
/// `FromRequest` (which may read the body) only for the last one.
///
/// # Return value
///
/// Anything that implements `IntoResponse`. Handlers may be `async fn` or plain `fn`.
///
/// # Notes
///
/// Rules are checked at compile time; `ui-tests/README.md` lists them all.
///
/// # Examples
///
/// ```
/// use hyperbun::prelude::*;
///
/// #[route("/items/:id", method = "PUT", method = "PATCH")]
/// async fn update(id: u32, Json(item): Json<Value>) -> (StatusCode, Json<Value>) {
///     (StatusCode::OK, Json(json!({ "id": id, "item": item })))
/// }
/// # fn main() { let _ = hyperbun::router![update]; }
/// ```
#[proc_macro_attribute]
pub fn route(attr: TokenStream, item: TokenStream) -> TokenStream {
    entry::route(RouteKind::General, attr.into(), item.into()).into()
}

/// A route for every method.
///
/// # Syntax
///
/// `#[any("/path")]`; also `body_limit = BYTES`.
///
/// # Examples
///
/// ```
/// use hyperbun::prelude::*;
///
/// #[any("/debug")]
/// async fn debug(method: Method) -> String {
///     format!("you sent {method}")
/// }
/// # fn main() { let _ = hyperbun::router![debug]; }
/// ```
#[proc_macro_attribute]
pub fn any(attr: TokenStream, item: TokenStream) -> TokenStream {
    entry::route(RouteKind::Any, attr.into(), item.into()).into()
}

/// A WebSocket route, Bun style: the handlers of one socket type, on its `impl` block.
///
/// # Syntax
///
/// ```text
/// struct Chat;                      // the socket's type: declare it yourself
///
/// #[websocket("/path", data = Type, option = value, …)]
/// impl Chat {
///     fn open(ws: &mut WebSocket<Type>) { … }
///     async fn message(ws: &mut WebSocket<Type>, msg: Message) { … }
///     …
/// }
/// ```
///
/// Every argument is optional: the path defaults to `"/ws"` and uses the grammar of
/// [`macro@route`] (`/rooms/:room` is fine; the `#[upgrade]` hook reads the parameters).
///
/// # Attributes
///
/// | argument | meaning (Bun's name) | default |
/// |---|---|---|
/// | `data = Type` | the type of `ws.data`, Bun's `ws.data` but typed | `()` |
/// | `max_payload_length = BYTES` | largest message; larger closes with `1009` (`maxPayloadLength`) | 16 MiB |
/// | `idle_timeout = SECONDS` | close a silent peer after this long, `0` = never (`idleTimeout`) | `120` |
/// | `backpressure_limit = BYTES` | send queue size past which sends are dropped (`backpressureLimit`) | 1 MiB |
/// | `close_on_backpressure_limit = BOOL` | close instead of dropping (`closeOnBackpressureLimit`) | `false` |
/// | `send_pings = BOOL` | ping silent peers before the idle timeout (`sendPings`) | `true` |
/// | `publish_to_self = BOOL` | a socket's `publish` reaches itself (`publishToSelf`) | `false` |
/// | `max_topics_per_socket = COUNT` | topics one socket may be subscribed to; past it `subscribe` is refused (no Bun equivalent) | `4096` |
/// | `per_message_deflate = BOOL or PerMessageDeflate` | permessage-deflate (`perMessageDeflate`): `true` = shared compressor and decompressor | `false` |
/// | `protocols = ["a", …]` | subprotocols, most preferred first | none |
/// | `allowed_origins = ["https://…", …]` | accept the handshake only from these `Origin`s | any |
/// | `headers = [("name", "value"), …]` | extra headers of the `101` response | none |
/// | `rate_limit = RateLimit::per_second(N)` | messages per second per socket, token bucket; `.burst(M)` for the bucket size (default `N`), `.on_exceed(RateLimitAction::Drop)` to drop and call `rate_limited` instead of closing with `1008` (no Bun equivalent) | no limit |
/// | `options = EXPR` | a `SocketOptions` the other options are applied on top of | `SocketOptions::new()` |
///
/// Values are expressions (`idle_timeout = 2 * 60`, `max_payload_length = LIMIT`), evaluated
/// once, when `router![…]` builds the router; the lists are string literals, checked at
/// compile time. For options from configuration, use `options = my_options()`; options that
/// cannot work (an invalid `SocketOptions::header`, a rate limit of `0`) make `router![…]`
/// panic at start-up, naming the socket (a literal `0` in `rate_limit` is a compile error).
///
/// # Handlers
///
/// Associated functions named like Bun's callbacks; only `message` is required. Each may be
/// `fn` (called directly, no future) or `async fn` (its future must be `Send`); each returns
/// `()` and takes the socket first, as `&mut WebSocket<Type>`:
///
/// | handler | runs |
/// |---|---|
/// | `open(ws)` | once the connection is open |
/// | `message(ws, msg: Message)` | for each text or binary message |
/// | `rate_limited(ws, msg: Message)` | instead of `message`, for a message over `rate_limit` with `RateLimitAction::Drop` |
/// | `close(ws, code: u16, reason: &str)` | once, when the connection is closed |
/// | `drain(ws)` | when the send queue falls back below the backpressure limit |
/// | `error(ws, error: &WebSocketError)` | when a handler panicked or the peer broke the protocol |
/// | `ping(ws, payload: Bytes)` / `pong(ws, payload: Bytes)` | for each ping / pong (the pong reply is automatic) |
///
/// Other functions, constants and types go in another `impl` block of the type.
///
/// # Listing the socket
///
/// List the type in [`router!`](macro@router), with its [`macro@upgrade`] hook if it has one:
/// `router![Chat, admit, index]`. Without a hook, every valid handshake is accepted with
/// `Type::default()` as its data (so `Type` must implement `Default`). The type's name must
/// start with an uppercase letter: that is how `router!` tells it from a function. A socket
/// need not be listed at all to be used by hand with `Server::upgrade::<Chat>(req, headers,
/// data)`, inside any route.
///
/// # Notes
///
/// The attribute declares a hidden macro named like the type (in the macro namespace, beside
/// the struct), which `router!` calls; `use api::Chat;` imports both. The block must be in the
/// module that declares the type, for `router![api::Chat]` to find it there. Rules are checked
/// at compile time; `ui-tests/README.md` lists them (`fail/websocket/…`).
///
/// # Examples
///
/// ```
/// use hyperbun::prelude::*;
///
/// struct ClientData {
///     user: String,
///     room: String,
/// }
///
/// struct Chat;
///
/// #[websocket("/chat", data = ClientData, idle_timeout = 60, protocols = ["chat.v1"])]
/// impl Chat {
///     fn open(ws: &mut WebSocket<ClientData>) {
///         let welcome = format!("welcome to {}, {}", ws.data.room, ws.data.user);
///         ws.send(welcome);
///     }
///
///     async fn message(ws: &mut WebSocket<ClientData>, msg: Message) {
///         if let Some(text) = msg.as_text() {
///             let line = format!("{}: {text}", ws.data.user);
///             ws.send(line);
///         }
///     }
///
///     fn close(ws: &mut WebSocket<ClientData>, code: u16, reason: &str) {
///         let _ = (ws, code, reason);
///     }
/// }
///
/// #[upgrade("/chat")]
/// async fn admit(headers: HeaderMap) -> Result<Upgrade<ClientData>, StatusCode> {
///     let user = headers.get("x-user").and_then(|v| v.to_str().ok());
///     let user = user.ok_or(StatusCode::UNAUTHORIZED)?.to_owned();
///     Ok(Upgrade::new(ClientData { user, room: "lobby".into() }))
/// }
///
/// let router = hyperbun::router![Chat, admit];
/// assert_eq!(router.routes().count(), 1);
/// ```
#[proc_macro_attribute]
pub fn websocket(attr: TokenStream, item: TokenStream) -> TokenStream {
    entry::websocket(attr.into(), item.into()).into()
}

/// The upgrade hook of a WebSocket route: Pulsar's `canUpgrade` + `upgrade` as one function,
/// which accepts a handshake with the connection's data (and `101` headers) or rejects it
/// with a response.
///
/// # Syntax
///
/// `#[upgrade("/path")]` on a `fn` or `async fn` whose path is that of a
/// [`#[websocket]`](macro@websocket) socket listed in the same `router![…]`.
///
/// # Arguments
///
/// As for [`macro@route`] handlers: an argument named like a `:param` of the path receives
/// it, parsed with `FromStr`; the others are extractors that read the request head
/// (`HeaderMap`, `Query<T>`, `Uri`, `RemoteAddr`, `Server`, `Option<T>`, your own
/// `FromRequestParts`). A handshake has no body, so body extractors (`Json<T>`, `Bytes`,
/// `String`, …) are refused. `&Request` borrows the whole request.
///
/// # Return value
///
/// `Upgrade<T>` (always accept) or `Result<Upgrade<T>, E>` where `E: IntoResponse` (accept
/// or reject, e.g. `StatusCode::UNAUTHORIZED`); `T` is the socket's `data` type, which
/// `router!` checks.
///
/// # Examples
///
/// ```
/// use hyperbun::prelude::*;
///
/// struct Player {
///     name: String,
///     room: String,
/// }
///
/// struct Game;
///
/// #[websocket("/rooms/:room", data = Player)]
/// impl Game {
///     fn message(ws: &mut WebSocket<Player>, msg: Message) {
///         let line = format!("{} in {}: {} bytes", ws.data.name, ws.data.room, msg.len());
///         ws.send(line);
///     }
/// }
///
/// #[upgrade("/rooms/:room")]
/// fn join(room: String, headers: HeaderMap) -> Result<Upgrade<Player>, StatusCode> {
///     let Some(name) = headers.get("x-player").and_then(|v| v.to_str().ok()) else {
///         return Err(StatusCode::BAD_REQUEST);
///     };
///     let player = Player { name: name.to_owned(), room };
///     Ok(Upgrade::new(player).header("x-room", "joined"))
/// }
///
/// let router = hyperbun::router![Game, join];
/// assert_eq!(router.routes().count(), 1);
/// ```
#[proc_macro_attribute]
pub fn upgrade(attr: TokenStream, item: TokenStream) -> TokenStream {
    entry::upgrade(attr.into(), item.into()).into()
}

/// The compile-time routing table: `router![handler, module::handler, Socket, …]` → `Router`.
///
/// Lists handlers declared with the route attributes, socket types declared with
/// [`#[websocket]`](macro@websocket) and their [`#[upgrade]`](macro@upgrade) hooks, by path.
/// Checks, at compile time, that no two routes can match the same request (an error at the
/// second route names the first), that each hook has a socket at its path and returns its
/// data type; builds a `Router` with no run-time registration. Entries must be declared in
/// the same crate.
///
/// # Sockets and functions
///
/// `router!` tells a socket type from a function by Rust's naming convention: an entry whose
/// last segment starts with an **uppercase** letter (`Chat`, `api::Chat`) is a socket type,
/// any other (`index`, `api::users::show`, `admit`) a handler or hook function. A socket
/// type is thus named in UpperCamelCase, which `#[websocket]` enforces. (A `#[websocket]`
/// block declares a hidden macro named like its type, which `router!` calls; a function is
/// reached through the hidden module named like it.)
///
/// A socket is a `GET` route at its path; an `#[upgrade]` hook is not a route of its own but
/// runs in the socket's at the same path, which must be listed too.
///
/// # Examples
///
/// ```
/// use hyperbun::prelude::*;
///
/// #[get("/")]
/// async fn index() -> &'static str {
///     "home"
/// }
///
/// mod users {
///     use hyperbun::prelude::*;
///
///     #[get("/users/:id")]
///     pub async fn show(id: u64) -> String {
///         format!("user {id}")
///     }
/// }
///
/// mod live {
///     use hyperbun::prelude::*;
///
///     pub struct Echo;
///
///     #[websocket("/live")]
///     impl Echo {
///         fn message(ws: &mut WebSocket, msg: Message) {
///             ws.send(msg);
///         }
///     }
/// }
///
/// let router = hyperbun::router![index, users::show, live::Echo];
/// assert_eq!(router.routes().count(), 3);
/// ```
///
/// # Groups
///
/// `group("/prefix", layer = LAYER)[a, b, …]` puts routes under a path prefix, a layer, or
/// both. The prefix goes in front of each route's path (`#[get("/")]` under `/admin` answers
/// `/admin`) and the whole paths are checked against every other route; the prefix is static
/// (no `:param`, so the handlers get exactly the parameters of their own paths). The layer (a
/// tower layer, a tuple of them, or `hyperbun::middleware::from_fn(f)`; any expression,
/// locals included, evaluated once) wraps the group's routes, outside each route's own
/// `layer = …`; a socket in a group has its upgrade request pass through it. Groups do not
/// nest. The whole application's layers go on the router:
/// [`Router::layer`](../hyperbun/struct.Router.html#method.layer).
///
/// ```
/// use hyperbun::middleware::{from_fn, Next};
/// use hyperbun::prelude::*;
///
/// async fn admins_only(req: Request, next: Next) -> Response {
///     match req.headers().get("x-role").and_then(|v| v.to_str().ok()) {
///         Some("admin") => next.run(req).await,
///         _ => StatusCode::FORBIDDEN.into_response(),
///     }
/// }
///
/// #[get("/")]
/// async fn index() -> &'static str { "home" }
///
/// #[get("/")]
/// async fn dashboard() -> &'static str { "dashboard" }
///
/// #[get("/users/:id")]
/// async fn user(id: u64) -> String { format!("user {id}") }
///
/// let router = hyperbun::router![
///     index,
///     group("/admin", layer = from_fn(admins_only))[dashboard, user],
/// ];
/// let paths: Vec<&str> = router.routes().map(|(_, path)| path).collect();
/// assert_eq!(paths, ["/", "/admin", "/admin/users/:id"]);
/// ```
#[proc_macro]
pub fn router(input: TokenStream) -> TokenStream {
    entry::router(input.into()).into()
}

#[doc(hidden)]
#[proc_macro]
pub fn __router_step(input: TokenStream) -> TokenStream {
    entry::router_step(input.into()).into()
}
