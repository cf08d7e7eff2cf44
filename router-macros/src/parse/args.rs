//! The route attribute grammar: `#[get("/path", option = value, …)]`.
//!
//! The path literal comes first; options follow as `key = value`:
//! - `body_limit = EXPR` (all route attributes): the request body limit for this route, in
//!   bytes, replacing the server's `max_request_body_size`;
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
        RouteKind::General => &["method", "body_limit"],
        _ => &["body_limit"],
    }
}

/// Parses the attribute's tokens. `kind` decides which options exist.
pub(crate) fn parse(kind: RouteKind, tokens: TokenStream) -> syn::Result<RouteArgs> {
    let parser = |input: ParseStream<'_>| -> syn::Result<RouteArgs> {
        let path: LitStr = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                format!(
                    "expected the route path as a string literal: {}",
                    usage(kind)
                ),
            )
        })?;
        let mut methods: Vec<(&'static str, Span)> = match kind {
            RouteKind::Fixed(m) => vec![(m, Span::call_site())],
            RouteKind::General | RouteKind::Any => Vec::new(),
        };
        let mut body_limit: Option<Expr> = None;
        if input.is_empty() {
            return finish(kind, path, methods, body_limit);
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
                        return Err(syn::Error::new_spanned(
                            &option.value,
                            "expected a method name as a string: `method = \"GET\"`",
                        ));
                    };
                    let method = methods::lookup(&name.value())
                        .map_err(|msg| syn::Error::new(name.span(), msg))?;
                    if methods.iter().any(|(m, _)| *m == method) {
                        return Err(syn::Error::new(
                            name.span(),
                            format!("HTTP method `{method}` is listed more than once"),
                        ));
                    }
                    methods.push((method, name.span()));
                }
                "body_limit" => {
                    if body_limit.is_some() {
                        return Err(syn::Error::new(
                            option.key.span(),
                            "`body_limit` is specified more than once",
                        ));
                    }
                    body_limit = Some(option.value);
                }
                _ => {
                    let expected = options(kind)
                        .iter()
                        .map(|o| format!("`{o}`"))
                        .collect::<Vec<_>>()
                        .join(", ");
                    return Err(syn::Error::new(
                        option.key.span(),
                        format!("unknown option `{key}`; expected one of {expected}"),
                    ));
                }
            }
        }
        finish(kind, path, methods, body_limit)
    };
    parser.parse2(tokens)
}

fn finish(
    kind: RouteKind,
    path: LitStr,
    methods: Vec<(&'static str, Span)>,
    body_limit: Option<Expr>,
) -> syn::Result<RouteArgs> {
    if kind == RouteKind::General && methods.is_empty() {
        return Err(syn::Error::new(
            path.span(),
            "#[route] needs at least one method: #[route(\"/path\", method = \"GET\", method = \"POST\")]; \
             use #[any(\"/path\")] for every method",
        ));
    }
    Ok(RouteArgs {
        path,
        methods,
        body_limit,
    })
}
