//! The routing table: built once from the `&'static [RouteDef]` that [`router!`](crate::router)
//! generates, then consulted for every request.
//!
//! The macro has already proven at compile time that no two routes conflict (it inserts
//! every pattern into the same matcher, [`matchit`], with the same rules), so building the
//! table cannot fail at run time.
//!
//! Lookup rules, in order:
//! 1. no route pattern matches the path → `404 Not Found`;
//! 2. a route at that path accepts the method (or accepts any method) → that route;
//! 3. `HEAD` with a `GET` route → the `GET` handler, its body dropped;
//! 4. `OPTIONS` → `204 No Content` with an `Allow` header listing the path's methods;
//! 5. otherwise → `405 Method Not Allowed` with the same `Allow` header.

mod call;
mod context;
mod params;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use http::{HeaderValue, Method};

pub(crate) use call::{handler_service, RouteCall};
pub use context::RequestContext;
pub(crate) use params::{decode, invalid, PathParams};
pub use params::{DescribeDisplay, DescribeOther, ParamError};

use crate::middleware::{Inner, RouteLayer, SharedLayer};
use crate::{Request, Response, ServerConfig};

/// A set of routes, ready to serve: what [`router!`](crate::router) returns.
///
/// Cheap to clone. Serve it with [`serve`](Router::serve) (binds `0.0.0.0:port`),
/// [`bind`](Router::bind) or [`listen`](Router::listen).
///
/// # Examples
///
/// ```
/// use hyperbun::prelude::*;
///
/// #[get("/")]
/// async fn index() -> &'static str {
///     "hi"
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let router = hyperbun::router![index]
///     .config(ServerConfig::default().max_request_body_size(1 << 20));
/// // `router.serve(3000).await` in `main`; here on a free port of 127.0.0.1:
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let server = router.listen(listener)?;
/// assert_ne!(server.local_addr().port(), Some(0));
/// server.stop().await;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Router {
    pub(crate) table: Arc<RouteTable>,
    pub(crate) config: ServerConfig,
    /// The layers of [`Router::layer`], innermost first; applied when the router is served.
    pub(crate) layers: Vec<SharedLayer>,
    /// The service stack that serves this router as a tower service, made on first use (see
    /// `server::dispatch`); made again after the router changes.
    pub(crate) standalone: Arc<std::sync::OnceLock<Inner>>,
}

impl fmt::Debug for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Router")
            .field("routes", &self.table)
            .field("config", &self.config)
            .field("layers", &self.layers.len())
            .finish_non_exhaustive()
    }
}

impl Router {
    #[doc(hidden)]
    #[must_use]
    pub fn __from_table(routes: &'static [RouteDef]) -> Self {
        Router {
            table: Arc::new(RouteTable::new(routes)),
            config: ServerConfig::default(),
            layers: Vec::new(),
            standalone: Arc::default(),
        }
    }

    /// The layer of `group(…)` number `group` in `router![…]`, which wraps that group's
    /// routes. Generated code calls it, with the user's expression as `layer`.
    #[doc(hidden)]
    #[must_use]
    pub fn __group_layer(mut self, group: usize, layer: impl RouteLayer) -> Self {
        let table = self.table_mut();
        if table.groups.len() <= group {
            // A group with no routes.
            table.groups.resize(group + 1, None);
        }
        table.groups[group] = Some(layer.wrap(handler_service()));
        self
    }

    /// Wraps the whole application in a tower [`Layer`](tower::Layer): every route and
    /// socket upgrade, every 404, 405 and automatic `OPTIONS` answer, and every [mounted
    /// service](Router::nest_service) — wherever this call sits in the chain. The layer
    /// added last is the outermost (it sees the request first).
    ///
    /// tower-http's layers work as they are: `CorsLayer` answers preflights to any path,
    /// `CompressionLayer` compresses responses, `TraceLayer` traces every request,
    /// `TimeoutLayer` answers `408`, `RequestBodyLimitLayer` answers `413`. Upgrades pass
    /// through layers like any request; the `101` answer keeps its (empty) body whatever a
    /// layer wraps it in. A layer's error becomes a logged `500`.
    ///
    /// # Examples
    ///
    /// ```
    /// use hyperbun::middleware::{from_fn, Next};
    /// use hyperbun::prelude::*;
    /// use hyperbun::test::TestServer;
    ///
    /// #[get("/")]
    /// async fn index() -> &'static str {
    ///     "hello"
    /// }
    ///
    /// async fn server_header(req: Request, next: Next) -> Response {
    ///     let mut response = next.run(req).await;
    ///     response.headers_mut().insert("server", HeaderValue::from_static("hyperbun"));
    ///     response
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let router = hyperbun::router![index].layer(from_fn(server_header));
    /// let app = TestServer::start(router).await;
    /// assert_eq!(app.get("/").await.headers["server"], "hyperbun");
    /// assert_eq!(app.get("/nope").await.headers["server"], "hyperbun"); // the 404 too
    /// app.stop().await;
    /// # }
    /// ```
    #[must_use]
    pub fn layer(mut self, layer: impl RouteLayer) -> Self {
        self.layers.push(Arc::new(layer));
        self.standalone = Arc::default();
        self
    }

    /// Mounts a tower service (an axum `Router`, a `tower-http` `ServeDir`, any
    /// `Service<Request>`) under `prefix`: it answers every request whose path is `prefix` or
    /// below it, with the prefix taken off the path (`/legacy/users` reaches it as `/users`,
    /// `/legacy` as `/`). An axum application can move over route by route this way: mount
    /// it, and add hyperbun routes beside it as they are ported.
    ///
    /// The prefix is static (no `:param` or `*rest`); it owns its whole subtree, so a
    /// `:param` route of the table at the same place does not see those paths.
    /// [`Router::layer`] layers wrap mounted services too.
    ///
    /// # Panics
    ///
    /// At start-up, naming the problem: a prefix that does not start with `/`, ends with
    /// `/`, has a parameter, is mounted twice, or has a route of the table at or below it.
    ///
    /// # Examples
    ///
    /// ```
    /// use hyperbun::prelude::*;
    /// use hyperbun::test::TestServer;
    ///
    /// #[get("/")]
    /// async fn index() -> &'static str {
    ///     "new"
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// // Any tower service: here one that echoes the path it sees.
    /// let legacy = tower::service_fn(|req: Request| async move {
    ///     Ok::<_, std::convert::Infallible>(Response::new(Body::from(req.uri().path().to_owned())))
    /// });
    /// let app = TestServer::start(hyperbun::router![index].nest_service("/legacy", legacy)).await;
    /// assert_eq!(app.get("/legacy/users/7").await.text(), "/users/7");
    /// assert_eq!(app.get("/").await.text(), "new");
    /// app.stop().await;
    /// # }
    /// ```
    #[must_use]
    pub fn nest_service<S, RB>(mut self, prefix: &str, service: S) -> Self
    where
        S: tower::Service<Request, Response = http::Response<RB>> + Clone + Send + Sync + 'static,
        S::Error: Into<crate::middleware::BoxError>,
        S::Future: Send + 'static,
        RB: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        RB::Error: Into<crate::middleware::BoxError>,
    {
        if let Err(why) = self.table.check_prefix(prefix) {
            panic!("cannot mount a service at {prefix:?}: {why}");
        }
        self.table_mut().nested.push(Nested {
            prefix: prefix.into(),
            service: Inner::new(service),
        });
        self
    }

    /// The table, to change while the router is being built (copied if a clone shares it).
    fn table_mut(&mut self) -> &mut RouteTable {
        self.standalone = Arc::default();
        Arc::make_mut(&mut self.table)
    }

    /// Replaces the server settings (body limit, header timeout, keep-alive).
    ///
    /// # Examples
    ///
    /// ```
    /// use hyperbun::prelude::*;
    ///
    /// #[post("/upload")]
    /// async fn upload(body: Bytes) -> String {
    ///     format!("{} bytes", body.len())
    /// }
    ///
    /// let router = hyperbun::router![upload]
    ///     .config(ServerConfig::default().max_request_body_size(1 << 20));
    /// # let _ = router;
    /// ```
    #[must_use]
    pub fn config(mut self, config: ServerConfig) -> Self {
        self.config = config;
        // A stack already made as a tower service was made with the old settings.
        self.standalone = Arc::default();
        self
    }

    /// Which route would answer `method` on `path`: the route's path as declared (e.g.
    /// `/users/:id`), or `None` when the answer would be `404`, `405` or the automatic
    /// `OPTIONS`. A `HEAD` request finds the `GET` route when there is no `HEAD` route.
    ///
    /// # Examples
    ///
    /// ```
    /// use hyperbun::prelude::*;
    ///
    /// #[get("/users/me")]
    /// async fn me() -> &'static str { "me" }
    ///
    /// #[get("/users/:id")]
    /// async fn user(id: u64) -> String { format!("user {id}") }
    ///
    /// let router = hyperbun::router![me, user];
    /// assert_eq!(router.find(&Method::GET, "/users/me"), Some("/users/me"));
    /// assert_eq!(router.find(&Method::GET, "/users/7"), Some("/users/:id"));
    /// assert_eq!(router.find(&Method::HEAD, "/users/7"), Some("/users/:id"));
    /// assert_eq!(router.find(&Method::POST, "/users/7"), None);
    /// assert_eq!(router.find(&Method::GET, "/nope"), None);
    /// ```
    #[must_use]
    pub fn find(&self, method: &Method, path: &str) -> Option<&'static str> {
        match self.table.lookup(method, path) {
            Lookup::Found { route, .. } => Some(route.path),
            _ => None,
        }
    }

    /// The routes, in the order they were given to [`router!`](crate::router): method list
    /// (empty for any method) and path as written.
    pub fn routes(&self) -> impl Iterator<Item = (&'static [Method], &'static str)> + '_ {
        self.table.routes().iter().map(|r| (r.methods, r.path))
    }
}

/// A boxed, sendable future of a response.
pub type ResponseFuture = Pin<Box<dyn Future<Output = Response> + Send + 'static>>;

/// A handler as the routing table sees it. `#[get]` and friends implement it on the
/// `Handler` type of the hidden module that shares the handler function's name.
pub trait Route {
    /// The route's description.
    const DEF: RouteDef;
}

/// A route handler as the table stores it: the adapter the route macro generates around the
/// user's function.
pub type HandlerFn = fn(Request, RequestContext) -> ResponseFuture;

/// One route, as the route macros describe it. Generated code builds these; they are not
/// meant to be written by hand.
#[derive(Clone, Copy)]
pub struct RouteDef {
    /// Methods this route answers; empty means every method.
    pub methods: &'static [Method],
    /// The path as written in the attribute, e.g. `/users/:id`.
    pub path: &'static str,
    /// The matcher pattern with positional parameter names, e.g. `/users/{p0}`.
    pub pattern: &'static str,
    /// The request body limit for this route, replacing the server's.
    pub body_limit: Option<usize>,
    /// The handler adapter.
    pub handler: HandlerFn,
    /// The handler function's name, for logs.
    pub name: &'static str,
    /// Where the handler was declared: file, line, column.
    pub location: (&'static str, u32, u32),
    /// Run once when the router is built. A socket route builds its options here, so
    /// options that cannot work (an invalid `101` header) stop the program at start-up with
    /// the socket's name, instead of failing every upgrade; `None` for HTTP routes.
    pub prepare: Option<fn()>,
    /// The route's own middleware (`layer = …` in its attribute), applied to its handler
    /// when the router is built.
    pub layer: Option<fn(Inner) -> Inner>,
    /// The `group(…)` of `router![…]` the route is in, whose layer wraps it.
    pub group: Option<usize>,
}

impl fmt::Debug for RouteDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouteDef")
            .field("methods", &self.methods)
            .field("path", &self.path)
            .field("name", &self.name)
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

/// Every route that shares one path pattern.
#[derive(Debug, Clone)]
struct Endpoint {
    /// Indexes into the table's routes.
    routes: Vec<usize>,
    /// The `Allow` header for 405 and OPTIONS answers.
    allow: HeaderValue,
}

impl Endpoint {
    fn route_for(&self, all: &'static [RouteDef], method: &Method) -> Option<usize> {
        self.routes.iter().copied().find(|&i| {
            let r = &all[i];
            r.methods.is_empty() || r.methods.contains(method)
        })
    }
}

/// The outcome of looking a request up in the table.
#[derive(Debug)]
pub(crate) enum Lookup<'t> {
    /// Call `route` (the table's `index`-th); if `head` is set, this is a `HEAD` answered by
    /// a `GET` route.
    Found {
        route: &'static RouteDef,
        index: usize,
        params: PathParams,
        head: bool,
    },
    /// A path under a mounted service's prefix: that service answers.
    Nested(&'t Nested),
    /// Answer `OPTIONS` with the allowed methods.
    Options(&'t HeaderValue),
    /// The path exists but not with this method.
    MethodNotAllowed(&'t HeaderValue),
    NotFound,
}

/// The compiled routing table, with the middleware of its routes and groups and the
/// services mounted in it.
#[derive(Clone)]
pub(crate) struct RouteTable {
    matcher: matchit::Router<usize>,
    endpoints: Vec<Endpoint>,
    routes: &'static [RouteDef],
    /// Per route: its handler wrapped in its own `layer = …`, if it has one.
    layered: Vec<Option<Inner>>,
    /// Per `group(…)` of `router![…]`: its layer around the group's routes.
    groups: Vec<Option<Inner>>,
    /// Services mounted with [`Router::nest_service`], by path prefix.
    nested: Vec<Nested>,
    /// The largest `body_limit` of a route, if any route sets one.
    widest_body_limit: Option<usize>,
}

impl fmt::Debug for Nested {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Nested")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl Nested {
    /// True for the prefix itself and every path below it (`/legacy`, `/legacy/`,
    /// `/legacy/users`, not `/legacyx`).
    fn holds(&self, path: &str) -> bool {
        path.strip_prefix(&*self.prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }
}

/// A service mounted under a path prefix.
#[derive(Clone)]
pub(crate) struct Nested {
    /// `/legacy`: no trailing slash, no parameters.
    pub(crate) prefix: Box<str>,
    pub(crate) service: Inner,
}

impl fmt::Debug for RouteTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.routes.iter()).finish()
    }
}

impl RouteTable {
    pub(crate) fn new(routes: &'static [RouteDef]) -> Self {
        let mut matcher = matchit::Router::new();
        let mut patterns: Vec<&'static str> = Vec::new();
        let mut grouped: Vec<Vec<usize>> = Vec::new();
        for (index, route) in routes.iter().enumerate() {
            if let Some(prepare) = route.prepare {
                prepare();
            }
            if let Some(i) = patterns.iter().position(|p| *p == route.pattern) {
                grouped[i].push(index);
            } else {
                matcher
                    .insert(route.pattern, patterns.len())
                    .unwrap_or_else(|e| {
                        panic!(
                            "bug: the router! macro accepted conflicting routes ({}): {e}",
                            route.path
                        )
                    });
                patterns.push(route.pattern);
                grouped.push(vec![index]);
            }
        }
        let endpoints = grouped
            .into_iter()
            .map(|indexes: Vec<usize>| Endpoint {
                allow: allow_header(&indexes.iter().map(|&i| &routes[i]).collect::<Vec<_>>()),
                routes: indexes,
            })
            .collect();
        let layered = routes
            .iter()
            .map(|route| route.layer.map(|layer| layer(handler_service())))
            .collect();
        let groups = vec![
            None;
            routes
                .iter()
                .filter_map(|r| r.group)
                .max()
                .map_or(0, |g| g + 1)
        ];
        RouteTable {
            matcher,
            endpoints,
            routes,
            layered,
            groups,
            nested: Vec::new(),
            widest_body_limit: routes.iter().filter_map(|r| r.body_limit).max(),
        }
    }

    pub(crate) fn routes(&self) -> &'static [RouteDef] {
        self.routes
    }

    /// The route's handler inside its own middleware, if it has some.
    pub(crate) fn layered(&self, index: usize) -> Option<&Inner> {
        self.layered[index].as_ref()
    }

    /// The middleware of the group `route` is in, if it is in one.
    pub(crate) fn group_of(&self, route: &RouteDef) -> Option<&Inner> {
        route.group.and_then(|g| self.groups[g].as_ref())
    }

    /// The most a request body may need: the server's limit, or a route's if larger. The
    /// layered path reads bodies under it until the route (and its limit) is known.
    pub(crate) fn widest_body_limit(&self, server: usize) -> usize {
        self.widest_body_limit
            .map_or(server, |route| route.max(server))
    }

    /// Why `prefix` cannot be mounted, if it cannot.
    fn check_prefix(&self, prefix: &str) -> Result<(), String> {
        if !prefix.starts_with('/') {
            return Err("a prefix starts with `/`".into());
        }
        if prefix.len() > 1 && prefix.ends_with('/') || prefix == "/" {
            return Err("a prefix is not `/` and does not end with `/`".into());
        }
        if prefix.contains([':', '*', '{', '}']) {
            return Err("a prefix is static: no `:param`, `*rest` or braces".into());
        }
        if self.nested.iter().any(|n| &*n.prefix == prefix) {
            return Err("a service is mounted there already".into());
        }
        let probe = Nested {
            prefix: prefix.into(),
            service: handler_service(),
        };
        if let Some(route) = self.routes.iter().find(|r| probe.holds(r.path)) {
            let (file, line, _) = route.location;
            return Err(format!(
                "route `{}` ({file}:{line}) is at `{}`, under it; move one of them",
                route.name, route.path
            ));
        }
        Ok(())
    }

    pub(crate) fn lookup(&self, method: &Method, path: &str) -> Lookup<'_> {
        if let Some(nested) = self.nested.iter().find(|n| n.holds(path)) {
            return Lookup::Nested(nested);
        }
        let Ok(found) = self.matcher.at(path) else {
            return Lookup::NotFound;
        };
        let endpoint = &self.endpoints[*found.value];
        let params = || PathParams::from_match(path, &found.params);
        if let Some(index) = endpoint.route_for(self.routes, method) {
            return Lookup::Found {
                route: &self.routes[index],
                index,
                params: params(),
                head: false,
            };
        }
        if method == Method::HEAD {
            if let Some(index) = endpoint.route_for(self.routes, &Method::GET) {
                return Lookup::Found {
                    route: &self.routes[index],
                    index,
                    params: params(),
                    head: true,
                };
            }
        }
        if method == Method::OPTIONS {
            return Lookup::Options(&endpoint.allow);
        }
        Lookup::MethodNotAllowed(&endpoint.allow)
    }
}

/// `GET, HEAD, POST, OPTIONS`-style list: declared methods, plus `HEAD` where `GET` exists
/// and `OPTIONS` (answered automatically), in a stable order.
fn allow_header(routes: &[&RouteDef]) -> HeaderValue {
    const ORDER: [Method; 9] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    let declared = |m: &Method| {
        routes
            .iter()
            .any(|r| r.methods.is_empty() || r.methods.contains(m))
    };
    let allowed: Vec<&str> = ORDER
        .iter()
        .filter(|m| {
            declared(m) || (**m == Method::HEAD && declared(&Method::GET)) || **m == Method::OPTIONS
        })
        .map(Method::as_str)
        .collect();
    HeaderValue::from_str(&allowed.join(", ")).expect("bug: method names are valid header values")
}
