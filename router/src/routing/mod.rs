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

mod context;
mod params;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use http::{HeaderValue, Method};

pub use context::RequestContext;
pub(crate) use params::{decode, invalid, PathParams};
pub use params::{DescribeDisplay, DescribeOther, ParamError};

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
#[derive(Debug, Clone)]
pub struct Router {
    pub(crate) table: Arc<RouteTable>,
    pub(crate) config: ServerConfig,
}

impl Router {
    #[doc(hidden)]
    #[must_use]
    pub fn __from_table(routes: &'static [RouteDef]) -> Self {
        Router {
            table: Arc::new(RouteTable::new(routes)),
            config: ServerConfig::default(),
        }
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
#[derive(Debug)]
struct Endpoint {
    routes: Vec<&'static RouteDef>,
    /// The `Allow` header for 405 and OPTIONS answers.
    allow: HeaderValue,
}

impl Endpoint {
    fn route_for(&self, method: &Method) -> Option<&'static RouteDef> {
        self.routes
            .iter()
            .copied()
            .find(|r| r.methods.is_empty() || r.methods.contains(method))
    }
}

/// The outcome of looking a request up in the table.
#[derive(Debug)]
pub(crate) enum Lookup<'t> {
    /// Call `route`; if `head` is set, this is a `HEAD` answered by a `GET` route.
    Found {
        route: &'static RouteDef,
        params: PathParams,
        head: bool,
    },
    /// Answer `OPTIONS` with the allowed methods.
    Options(&'t HeaderValue),
    /// The path exists but not with this method.
    MethodNotAllowed(&'t HeaderValue),
    NotFound,
}

/// The compiled routing table.
pub(crate) struct RouteTable {
    matcher: matchit::Router<usize>,
    endpoints: Vec<Endpoint>,
    routes: &'static [RouteDef],
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
        let mut grouped: Vec<Vec<&'static RouteDef>> = Vec::new();
        for route in routes {
            if let Some(prepare) = route.prepare {
                prepare();
            }
            if let Some(i) = patterns.iter().position(|p| *p == route.pattern) {
                grouped[i].push(route);
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
                grouped.push(vec![route]);
            }
        }
        let endpoints = grouped
            .into_iter()
            .map(|routes| Endpoint {
                allow: allow_header(&routes),
                routes,
            })
            .collect();
        RouteTable {
            matcher,
            endpoints,
            routes,
        }
    }

    pub(crate) fn routes(&self) -> &'static [RouteDef] {
        self.routes
    }

    pub(crate) fn lookup(&self, method: &Method, path: &str) -> Lookup<'_> {
        let Ok(found) = self.matcher.at(path) else {
            return Lookup::NotFound;
        };
        let endpoint = &self.endpoints[*found.value];
        let params = || PathParams::from_match(path, &found.params);
        if let Some(route) = endpoint.route_for(method) {
            return Lookup::Found {
                route,
                params: params(),
                head: false,
            };
        }
        if method == Method::HEAD {
            if let Some(route) = endpoint.route_for(&Method::GET) {
                return Lookup::Found {
                    route,
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
