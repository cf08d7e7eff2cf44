//! The one table of HTTP methods the route attributes know.

/// Method names, in the order error messages list them.
pub(crate) const METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE",
];

/// Which methods a route attribute serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RouteKind {
    /// `#[get]`, `#[post]`, …: one fixed method.
    Fixed(&'static str),
    /// `#[route(path, method = "…", …)]`: methods from the options.
    General,
    /// `#[any(path)]`: every method.
    Any,
    /// `#[upgrade(path)]`: the hook of a WebSocket route (its `GET` handshake).
    Upgrade,
}

impl RouteKind {
    /// The attribute's name, for messages: `get`, `route`, `any`.
    pub(crate) fn attr_name(self) -> String {
        match self {
            RouteKind::Fixed(m) => m.to_ascii_lowercase(),
            RouteKind::General => "route".to_owned(),
            RouteKind::Any => "any".to_owned(),
            RouteKind::Upgrade => "upgrade".to_owned(),
        }
    }
}

/// Looks up a method name given in `method = "…"`.
pub(crate) fn lookup(name: &str) -> Result<&'static str, String> {
    if let Some(m) = METHODS.iter().find(|m| **m == name) {
        return Ok(m);
    }
    let list = METHODS.join(", ");
    match METHODS.iter().find(|m| m.eq_ignore_ascii_case(name)) {
        Some(upper) => Err(format!(
            "unknown HTTP method {name:?}; method names are uppercase: did you mean \"{upper}\"?"
        )),
        None => Err(format!(
            "unknown HTTP method {name:?}; expected one of {list}"
        )),
    }
}
