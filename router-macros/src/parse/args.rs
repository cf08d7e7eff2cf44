//! The route attribute grammar: `#[get("/path", option = value, …)]`.
//!
//! The path literal comes first; options follow as `key = value`:
//! - `body_limit = EXPR` (all route attributes): the request body limit for this route, in
//!   bytes, replacing the server's `max_request_body_size`;
//! - `layer = EXPR` (HTTP route attributes): the route's own middleware, a tower layer (or
//!   `hyperbun::middleware::from_fn(f)`) around its handler;
//! - `method = "NAME"` (`#[route]` only, repeatable): a method the route answers.

use proc_macro2::{Span, TokenStream};
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, LitStr, Token};

use crate::methods::{self, RouteKind};

/// The parsed attribute arguments.
pub(crate) struct RouteArgs {
    pub(crate) path: LitStr,
    /// Methods with the span that named them; empty for `#[any]`.
    pub(crate) methods: Vec<(&'static str, Span)>,
    pub(crate) body_limit: Option<Expr>,
    pub(crate) layer: Option<Expr>,
}

struct RawOption {
    key: Ident,
    value: Expr,
}

impl Parse for RawOption {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let key: Ident = input.call(syn::ext::IdentExt::parse_any)?;
        input.parse::<Token![=]>()?;
        let value: Expr = input.parse()?;
        Ok(RawOption { key, value })
    }
}

fn usage(kind: RouteKind) -> String {
    match kind {
        RouteKind::General => "#[route(\"/path\", method = \"GET\")]".to_owned(),
        kind => format!("#[{}(\"/path\")]", kind.attr_name()),
    }
}

fn options(kind: RouteKind) -> &'static [&'static str] {
    match kind {
        RouteKind::General => &["method", "body_limit", "layer"],
        RouteKind::Upgrade => &[],
        _ => &["body_limit", "layer"],
    }
}

/// RULE attr/missing-path: the attribute starts with the route path.
///
/// Reported at the attribute (the call site), resolved like `anchor`, a token of the user's
/// item, so the compiler does not add a note that the error "originates in a macro".
fn missing_path(kind: RouteKind, anchor: Span) -> syn::Error {
    syn::Error::new(
        Span::call_site().resolved_at(anchor),
        format!(
            "#[{}] needs the route path as its first argument: {}",
            kind.attr_name(),
            usage(kind)
        ),
    )
}

/// RULE attr/path-not-a-literal: the path is a string literal the macro can read.
pub(crate) fn path_not_a_literal(kind: RouteKind, span: Span) -> syn::Error {
    syn::Error::new(
        span,
        format!(
            "the route path must be a string literal, written in the attribute: {}; \
             the macros check it at compile time, so a constant or expression cannot be used",
            usage(kind)
        ),
    )
}

/// RULE attr/unknown-option: only the options of `options(kind)` exist.
fn unknown_option(kind: RouteKind, key: &Ident) -> syn::Error {
    let name = key.to_string();
    let known = options(kind);
    let attr = kind.attr_name();
    if known.is_empty() {
        return syn::Error::new(
            key.span(),
            format!(
                "unknown option `{name}`: #[{attr}] takes no options, only the path: {}; \
                 the socket's options go in its #[websocket(…)]",
                usage(kind)
            ),
        );
    }
    let message = match known.iter().find(|o| is_typo_of(&name, o)) {
        Some(close) => format!("unknown option `{name}` for #[{attr}]; did you mean `{close}`?"),
        None => {
            let list = known
                .iter()
                .map(|o| format!("`{}`", option_usage(o)))
                .collect::<Vec<_>>()
                .join(" and ");
            let what = if known.len() == 1 {
                "its only option is"
            } else {
                "its options are"
            };
            format!("unknown option `{name}` for #[{attr}]; {what} {list}")
        }
    };
    syn::Error::new(key.span(), message)
}

fn option_usage(option: &str) -> &'static str {
    match option {
        "method" => "method = \"GET\"",
        "layer" => "layer = LAYER",
        _ => "body_limit = BYTES",
    }
}

/// `name` is one edit (insertion, deletion, substitution or swap) away from `option`.
pub(crate) fn is_typo_of(name: &str, option: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (name.chars().collect(), option.chars().collect());
    if a == b {
        return false;
    }
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let (a, b) = (&a[prefix..], &b[prefix..]);
    match a.len() as isize - b.len() as isize {
        0 => a[1..] == b[1..] || (a.len() >= 2 && a[0] == b[1] && a[1] == b[0] && a[2..] == b[2..]),
        1 => a[1..] == *b,
        -1 => *a == b[1..],
        _ => false,
    }
}

/// RULE attr/method-option-outside-route: `method = "…"` belongs to #[route].
fn method_option_outside_route(kind: RouteKind, key: &Ident) -> syn::Error {
    let what = match kind {
        RouteKind::Fixed(m) => format!("#[{}] always answers `{m}`", kind.attr_name()),
        RouteKind::Upgrade => {
            "#[upgrade] answers the `GET` request of a WebSocket handshake".to_owned()
        }
        _ => "#[any] answers every method".to_owned(),
    };
    syn::Error::new(
        key.span(),
        format!(
            "`method` is an option of #[route] only; {what}; to list the methods, write \
             #[route(\"/path\", method = \"GET\", method = \"POST\")]"
        ),
    )
}

/// RULE attr/method-not-a-string: `method = "GET"`, with the name as a string literal.
fn method_not_a_string(value: &Expr) -> syn::Error {
    let name = match value {
        Expr::Path(p) => p
            .path
            .get_ident()
            .map(|i| i.to_string().to_ascii_uppercase()),
        _ => None,
    };
    syn::Error::new_spanned(
        value,
        format!(
            "the method name must be a string literal: write `method = \"{}\"`",
            name.as_deref().unwrap_or("GET")
        ),
    )
}

/// RULE attr/duplicate-option: an option is given once.
pub(crate) fn duplicate_option(key: &Ident) -> syn::Error {
    syn::Error::new(
        key.span(),
        format!("`{key}` is given more than once; keep one"),
    )
}

/// RULE attr/body-limit-not-usize: `body_limit` is a number of bytes. A string such as
/// `"1MB"` is caught here with the number to write; other expressions must be `usize`, which
/// the compiler checks at the expression.
fn body_limit_not_usize(value: &Expr) -> syn::Result<()> {
    let Expr::Lit(syn::ExprLit {
        lit: syn::Lit::Str(text),
        ..
    }) = value
    else {
        return Ok(());
    };
    let hint = match bytes_of(&text.value()) {
        Some(bytes) => format!("write `body_limit = {bytes}`"),
        None => "write e.g. `body_limit = 1024 * 1024` for 1 MiB".to_owned(),
    };
    Err(syn::Error::new(
        text.span(),
        format!("`body_limit` is a number of bytes (a `usize`), not a string; {hint}"),
    ))
}

/// `"1MB"` → `"1_000_000"`, `"64 KiB"` → `"64 * 1024"`; `None` if it is not a size.
fn bytes_of(text: &str) -> Option<String> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let number: u64 = text[..digits].parse().ok()?;
    let unit = text[digits..].trim().to_ascii_lowercase();
    let (factor, binary) = match unit.as_str() {
        "" | "b" => (1, None),
        "k" | "kb" => (1_000, None),
        "m" | "mb" => (1_000_000, None),
        "g" | "gb" => (1_000_000_000, None),
        "kib" => (1 << 10, Some("1024")),
        "mib" => (1 << 20, Some("1024 * 1024")),
        "gib" => (1 << 30, Some("1024 * 1024 * 1024")),
        _ => return None,
    };
    let total = number.checked_mul(factor)?;
    Some(match binary {
        Some(expr) if number == 1 => expr.to_owned(),
        Some(expr) => format!("{number} * {expr}"),
        None => group_digits(total),
    })
}

fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    if digits.len() <= 4 {
        return digits;
    }
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('_');
        }
        out.push(c);
    }
    out
}

/// Parses the attribute's tokens. `kind` decides which options exist; `anchor` is a span of
/// the item the attribute is on.
pub(crate) fn parse(kind: RouteKind, tokens: TokenStream, anchor: Span) -> syn::Result<RouteArgs> {
    let parser = |input: ParseStream<'_>| -> syn::Result<RouteArgs> {
        if input.is_empty() {
            return Err(missing_path(kind, anchor));
        }
        let path: LitStr = input
            .parse()
            .map_err(|e| path_not_a_literal(kind, e.span()))?;
        let mut methods: Vec<(&'static str, Span)> = match kind {
            RouteKind::Fixed(m) => vec![(m, Span::call_site())],
            RouteKind::General | RouteKind::Any | RouteKind::Upgrade => Vec::new(),
        };
        let mut body_limit: Option<Expr> = None;
        let mut layer: Option<Expr> = None;
        if input.is_empty() {
            return finish(kind, path, methods, body_limit, layer);
        }
        input.parse::<Token![,]>()?;
        let raw = Punctuated::<RawOption, Token![,]>::parse_terminated(input)?;
        for option in raw {
            let key = option.key.to_string();
            match key.as_str() {
                "method" if kind == RouteKind::General => {
                    let Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(name),
                        ..
                    }) = &option.value
                    else {
                        return Err(method_not_a_string(&option.value));
                    };
                    let method = methods::lookup(&name.value())
                        .map_err(|msg| syn::Error::new(name.span(), msg))?;
                    if methods.iter().any(|(m, _)| *m == method) {
                        return Err(syn::Error::new(
                            name.span(),
                            format!(
                                "HTTP method `{method}` is listed more than once; \
                                 remove this `method = \"{method}\"`, or name the method you meant"
                            ),
                        ));
                    }
                    methods.push((method, name.span()));
                }
                "body_limit" if kind != RouteKind::Upgrade => {
                    if body_limit.is_some() {
                        return Err(duplicate_option(&option.key));
                    }
                    body_limit_not_usize(&option.value)?;
                    body_limit = Some(option.value);
                }
                "layer" if kind != RouteKind::Upgrade => {
                    if layer.is_some() {
                        return Err(duplicate_layer(&option.key));
                    }
                    layer = Some(option.value);
                }
                "method" => return Err(method_option_outside_route(kind, &option.key)),
                _ => return Err(unknown_option(kind, &option.key)),
            }
        }
        finish(kind, path, methods, body_limit, layer)
    };
    parser.parse2(tokens)
}

/// RULE attr/route-without-method: #[route] lists its methods.
fn route_without_method(path: &LitStr) -> syn::Error {
    let path_text = path.value();
    syn::Error::new(
        path.span(),
        format!(
            "#[route] needs at least one method: #[route({path_text:?}, method = \"GET\")] \
             (repeat `method = \"…\"` for more); for every method, use #[any({path_text:?})]"
        ),
    )
}

fn finish(
    kind: RouteKind,
    path: LitStr,
    methods: Vec<(&'static str, Span)>,
    body_limit: Option<Expr>,
    layer: Option<Expr>,
) -> syn::Result<RouteArgs> {
    if kind == RouteKind::General && methods.is_empty() {
        return Err(route_without_method(&path));
    }
    Ok(RouteArgs {
        path,
        methods,
        body_limit,
        layer,
    })
}

/// RULE attr/layer-twice: a route has one `layer = …`; several layers go in a tuple, the
/// outermost first.
fn duplicate_layer(key: &Ident) -> syn::Error {
    syn::Error::new(
        key.span(),
        "`layer` is given more than once; give several layers as one tuple, outermost first: \
         `layer = (first, second)`",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos() {
        assert!(is_typo_of("body_limt", "body_limit"));
        assert!(is_typo_of("body_limits", "body_limit"));
        assert!(is_typo_of("bdoy_limit", "body_limit"));
        assert!(is_typo_of("methods", "method"));
        assert!(is_typo_of("metod", "method"));
        assert!(!is_typo_of("method", "method"));
        assert!(!is_typo_of("timout", "body_limit"));
        assert!(!is_typo_of("limit", "body_limit"));
    }

    #[test]
    fn sizes() {
        assert_eq!(bytes_of("1MB").as_deref(), Some("1_000_000"));
        assert_eq!(bytes_of("512").as_deref(), Some("512"));
        assert_eq!(bytes_of("64 KiB").as_deref(), Some("64 * 1024"));
        assert_eq!(bytes_of("1MiB").as_deref(), Some("1024 * 1024"));
        assert_eq!(bytes_of("10kb").as_deref(), Some("10_000"));
        assert_eq!(bytes_of("lots"), None);
        assert_eq!(bytes_of("5 parsecs"), None);
    }
}
