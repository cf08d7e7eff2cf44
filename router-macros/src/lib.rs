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
        #[doc = concat!("`#[", stringify!($name), "(\"/path\")]` or `#[", stringify!($name), "(\"/path\", body_limit = BYTES)]`")]
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

/// The compile-time routing table: `router![handler, module::handler, …]` → `Router`.
///
/// Lists handlers declared with the route attributes, by path. Checks, at compile time,
/// that no two routes can match the same request (an error at the second route names the
/// first); builds a `Router` with no run-time registration. Handlers must be declared in the
/// same crate.
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
/// let router = hyperbun::router![index, users::show];
/// assert_eq!(router.routes().count(), 2);
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
