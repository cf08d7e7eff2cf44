//! `router![a, b, …]`: the compile-time routing table.
//!
//! `router!` cannot read another item's attributes, so each route attribute leaves a hidden
//! module under the handler's name with a `route!` shim (see `expand::handler`). `router!`
//! calls the first handler's `route!` with the list still to visit; each shim appends its
//! route's method list and path literal (still carrying the user's span) and calls
//! `router_step!`, which calls the next shim, until the list is empty. The last step sees every route at once,
//! checks that no two can match the same request (inserting every pattern into the same
//! matcher the runtime uses), and emits a `const` table of `RouteDef`s.

use proc_macro2::{Span, TokenStream};
use quote::{quote, ToTokens};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{bracketed, Ident, LitStr, Path, Token};

use crate::ctxt::Ctxt;
use crate::parse::path;
use crate::paths::private;

/// `router![a, b]`
pub(crate) struct RouterInput {
    handlers: Punctuated<Path, Token![,]>,
}

impl Parse for RouterInput {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        Ok(RouterInput {
            handlers: Punctuated::parse_terminated(input)?,
        })
    }
}

/// One route as a shim describes it.
#[derive(Clone)]
enum RouteInfo {
    Http {
        methods: Vec<LitStr>,
        path: LitStr,
    },
    /// The attribute had errors, already reported; skip it.
    Invalid,
}

impl Parse for RouteInfo {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let content;
        bracketed!(content in input);
        let kind: Ident = content.parse()?;
        if kind == "invalid" {
            return Ok(RouteInfo::Invalid);
        }
        let methods_content;
        bracketed!(methods_content in content);
        let mut methods = Vec::new();
        while !methods_content.is_empty() {
            methods.push(methods_content.parse()?);
        }
        let path = content.parse()?;
        Ok(RouteInfo::Http { methods, path })
    }
}

impl ToTokens for RouteInfo {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        tokens.extend(match self {
            RouteInfo::Http { methods, path } => quote!([http [#(#methods)*] #path]),
            RouteInfo::Invalid => quote!([invalid]),
        });
    }
}

/// The state threaded through the shims:
/// `@current PATH @next [PATH, …] @routes [(PATH INFO) …] INFO`
pub(crate) struct Step {
    next: Punctuated<Path, Token![,]>,
    routes: Vec<(Path, RouteInfo)>,
}

mod kw {
    syn::custom_keyword!(current);
    syn::custom_keyword!(next);
    syn::custom_keyword!(routes);
}

impl Parse for Step {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        input.parse::<Token![@]>()?;
        input.parse::<kw::current>()?;
        let current: Path = input.parse()?;
        input.parse::<Token![@]>()?;
        input.parse::<kw::next>()?;
        let next_content;
        bracketed!(next_content in input);
        let next = Punctuated::parse_terminated(&next_content)?;
        input.parse::<Token![@]>()?;
        input.parse::<kw::routes>()?;
        let routes_content;
        bracketed!(routes_content in input);
        let mut routes = Vec::new();
        while !routes_content.is_empty() {
            let pair;
            syn::parenthesized!(pair in routes_content);
            routes.push((pair.parse()?, pair.parse()?));
        }
        let info: RouteInfo = input.parse()?;
        routes.push((current, info));
        Ok(Step { next, routes })
    }
}

/// Expands `router![…]`: starts the chain at the first handler's shim.
pub(crate) fn router(input: RouterInput) -> TokenStream {
    if let Err(e) = handler_listed_twice(&input.handlers) {
        return e.to_compile_error();
    }
    let mut handlers = input.handlers.into_iter();
    match handlers.next() {
        None => finish(&[]),
        Some(first) => call_shim(&first, &handlers.collect::<Vec<_>>(), &[]),
    }
}

/// RULE router/handler-listed-twice: each handler appears once in `router![…]`.
fn handler_listed_twice(handlers: &Punctuated<Path, Token![,]>) -> syn::Result<()> {
    let text = |p: &Path| p.to_token_stream().to_string().replace(' ', "");
    for (i, handler) in handlers.iter().enumerate() {
        if handlers
            .iter()
            .take(i)
            .any(|earlier| text(earlier) == text(handler))
        {
            return Err(syn::Error::new_spanned(
                handler,
                format!(
                    "handler `{}` is listed more than once; remove this one",
                    text(handler)
                ),
            ));
        }
    }
    Ok(())
}

/// Expands `router_step!{…}`: continues with the next shim, or finishes.
pub(crate) fn step(step: Step) -> TokenStream {
    let mut next = step.next.into_iter();
    match next.next() {
        None => finish(&step.routes),
        Some(first) => call_shim(&first, &next.collect::<Vec<_>>(), &step.routes),
    }
}

fn call_shim(handler: &Path, next: &[Path], routes: &[(Path, RouteInfo)]) -> TokenStream {
    let routes = routes.iter().map(|(path, info)| quote!((#path #info)));
    quote! {
        #handler::route! { @current #handler @next [#(#next),*] @routes [#(#routes)*] }
    }
}

/// Checks the whole table and emits it.
fn finish(routes: &[(Path, RouteInfo)]) -> TokenStream {
    let private = private();
    let cx = Ctxt::default();
    let mut matcher: matchit::Router<usize> = matchit::Router::new();
    // Per distinct pattern: the routes that share it.
    let mut seen: Vec<(String, Vec<usize>)> = Vec::new();
    let mut valid = true;
    for (i, (handler, info)) in routes.iter().enumerate() {
        let RouteInfo::Http { methods, path: lit } = info else {
            valid = false;
            continue;
        };
        let at = user_span(lit, handler);
        let Ok(parsed) = path::parse(&lit.value()) else {
            valid = false;
            continue;
        };
        if let Some((_, group)) = seen.iter_mut().find(|(p, _)| *p == parsed.pattern) {
            if let Some(&first) = group
                .iter()
                .find(|&&j| methods_overlap(methods, &routes[j].1))
            {
                cx.error_at(at, overlap_message(routes, first, i));
            }
            group.push(i);
            continue;
        }
        match matcher.insert(parsed.pattern.clone(), seen.len()) {
            Ok(()) => seen.push((parsed.pattern, vec![i])),
            Err(matchit::InsertError::Conflict { with }) => {
                let first = seen.iter().find(|(p, _)| *p == with).map(|(_, g)| g[0]);
                cx.error_at(at, conflict_message(routes, first, i));
            }
            Err(e) => cx.error_at(at, format!("invalid route path: {e}")),
        }
    }
    if let Err(e) = cx.check() {
        return e.to_compile_error();
    }
    if !valid {
        // An attribute already reported its error; emit an expression of the right type so
        // that is the only error.
        return quote!(#private::Router::__from_table(&[]));
    }
    let defs = routes
        .iter()
        .map(|(path, _)| quote!(<#path::Handler as #private::Route>::DEF));
    let handlers = routes.iter().map(|(path, _)| path);
    quote! {{
        // Names each handler function at the user's path: one the router cannot see is
        // reported as rustc's "function `…` is private" (the hidden items are `pub(crate)`).
        const _: () = { #(let _ = #handlers;)* };
        const __HYPERBUN_ROUTES: &[#private::RouteDef] = &[#(#defs),*];
        #private::Router::__from_table(__HYPERBUN_ROUTES)
    }}
}

/// Where to report a route: at its path literal, but resolved like the handler's name in
/// `router![…]`. The literal reaches this macro through the handler's `macro_rules!` shim,
/// which marks it as macro-generated, and the compiler would then add "in this macro
/// invocation" and a note about macros the user never wrote; the handler's name in the
/// user's own `router![…]` carries no such mark.
fn user_span(lit: &LitStr, handler: &Path) -> Span {
    let anchor = handler
        .segments
        .first()
        .map_or_else(Span::call_site, |s| s.ident.span());
    lit.span().resolved_at(anchor)
}

fn methods_of(info: &RouteInfo) -> &[LitStr] {
    match info {
        RouteInfo::Http { methods, .. } => methods,
        RouteInfo::Invalid => &[],
    }
}

/// Two routes with the same pattern clash if a method is in both, or either takes any method.
fn methods_overlap(methods: &[LitStr], other: &RouteInfo) -> bool {
    let others = methods_of(other);
    methods.is_empty()
        || others.is_empty()
        || methods
            .iter()
            .any(|m| others.iter().any(|o| o.value() == m.value()))
}

fn describe(routes: &[(Path, RouteInfo)], i: usize) -> String {
    let (handler, info) = &routes[i];
    let RouteInfo::Http { methods, path } = info else {
        return String::new();
    };
    let methods = if methods.is_empty() {
        "ANY".to_owned()
    } else {
        methods
            .iter()
            .map(LitStr::value)
            .collect::<Vec<_>>()
            .join("|")
    };
    let handler = handler.to_token_stream().to_string().replace(' ', "");
    format!("`{methods} {}` (handler `{handler}`)", path.value())
}

fn location(routes: &[(Path, RouteInfo)], i: usize) -> String {
    let span = match &routes[i].1 {
        RouteInfo::Http { path, .. } => path.span(),
        RouteInfo::Invalid => Span::call_site(),
    };
    let span = span.unwrap();
    format!("{}:{}:{}", span.file(), span.line(), span.column())
}

fn overlap_message(routes: &[(Path, RouteInfo)], first: usize, second: usize) -> String {
    let same_text = matches!(
        (&routes[first].1, &routes[second].1),
        (RouteInfo::Http { path: a, .. }, RouteInfo::Http { path: b, .. }) if a.value() == b.value()
    );
    let what = if same_text {
        "duplicate route"
    } else {
        "conflicting routes"
    };
    let any = methods_of(&routes[first].1).is_empty() || methods_of(&routes[second].1).is_empty();
    let fix = if any {
        "#[any] answers every method, so it must be the only route at its path; list the methods \
         it should answer with #[route(\"…\", method = \"…\")], or remove one"
    } else {
        "remove one, or give them different methods or paths"
    };
    format!(
        "{what}: {} matches the same requests as {}, first defined at {}; {fix}",
        describe(routes, second),
        describe(routes, first),
        location(routes, first),
    )
}

fn conflict_message(routes: &[(Path, RouteInfo)], first: Option<usize>, second: usize) -> String {
    match first {
        Some(first) => format!(
            "conflicting routes: {} and {} (first defined at {}) can match the same path, and neither \
             is more specific; a static segment beats a `:param`, but two `:param`s, or a `:param` and \
             a `*catch_all`, at the same place are ambiguous",
            describe(routes, second),
            describe(routes, first),
            location(routes, first),
        ),
        None => format!("conflicting routes: {} overlaps another route", describe(routes, second)),
    }
}
