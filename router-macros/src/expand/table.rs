//! `router![a, b, …]`: the compile-time routing table.
//!
//! `router!` cannot read another item's attributes, so each route attribute leaves a hidden
//! module under the handler's name with a `route!` shim (see `expand::handler`), and each
//! `#[websocket]` block a shim named like the socket type in the macro namespace (see
//! `expand::socket`). `router!` calls the first entry's shim with the list still to visit:
//! `Chat!{…}` for an entry whose last segment starts with an uppercase letter (a socket type,
//! by Rust's naming convention), `index::route!{…}` for any other (a function). Each shim
//! appends its route's description (methods or kind, and the path literal, still carrying the
//! user's span) and calls `router_step!`, which calls the next shim, until the list is empty.
//! The last step sees every route at once, checks that no two can match the same request
//! (inserting every pattern into the same matcher the runtime uses), pairs each `#[upgrade]`
//! hook with the socket at its path, and emits a `const` table of `RouteDef`s.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
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
    /// A `#[websocket]` type: a `GET` route. `data` is the user's `data = T` tokens, kept
    /// for their spans only (empty without `data`).
    Socket {
        path: LitStr,
        data: TokenStream,
    },
    /// An `#[upgrade]` hook of the socket at `path`. `data` is the hook's data type as
    /// written (or its return type), kept for its spans only.
    Upgrade {
        path: LitStr,
        data: TokenStream,
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
        if kind == "socket" || kind == "upgrade" {
            let path = content.parse()?;
            let data_content;
            syn::parenthesized!(data_content in content);
            let data: TokenStream = data_content.parse()?;
            return Ok(if kind == "socket" {
                RouteInfo::Socket { path, data }
            } else {
                RouteInfo::Upgrade { path, data }
            });
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
            RouteInfo::Socket { path, data } => quote!([socket #path (#data)]),
            RouteInfo::Upgrade { path, data } => quote!([upgrade #path (#data)]),
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

/// Calls the shim of `entry`: the macro `entry!` for a socket type (an entry whose last
/// segment starts with an uppercase letter), `entry::route!` for a function.
fn call_shim(entry: &Path, next: &[Path], routes: &[(Path, RouteInfo)]) -> TokenStream {
    let routes = routes.iter().map(|(path, info)| quote!((#path #info)));
    let state = quote!(@current #entry @next [#(#next),*] @routes [#(#routes)*]);
    if names_a_type(entry) {
        quote!(#entry! { #state })
    } else {
        quote!(#entry::route! { #state })
    }
}

/// The naming rule `router!` relies on: `Chat`, `api::Chat` name socket types; `index`,
/// `api::index` name functions.
fn names_a_type(entry: &Path) -> bool {
    entry
        .segments
        .last()
        .is_some_and(|s| crate::expand::handler::named_like_a_type(&s.ident))
}

/// Checks the whole table and emits it.
fn finish(routes: &[(Path, RouteInfo)]) -> TokenStream {
    let private = private();
    let cx = Ctxt::default();
    let mut matcher: matchit::Router<usize> = matchit::Router::new();
    // Per distinct pattern: the routes that share it.
    let mut seen: Vec<(String, Vec<usize>)> = Vec::new();
    // Each route's matcher pattern, once parsed.
    let mut patterns: Vec<Option<String>> = vec![None; routes.len()];
    let mut valid = true;
    for (i, (handler, info)) in routes.iter().enumerate() {
        let lit = match info {
            RouteInfo::Http { path, .. }
            | RouteInfo::Socket { path, .. }
            | RouteInfo::Upgrade { path, .. } => path,
            RouteInfo::Invalid => {
                valid = false;
                continue;
            }
        };
        let at = user_span(lit, handler);
        let Ok(parsed) = path::parse(&lit.value()) else {
            valid = false;
            continue;
        };
        patterns[i] = Some(parsed.pattern.clone());
        if matches!(info, RouteInfo::Upgrade { .. }) {
            // A hook is not a route of its own: it runs inside its socket's.
            continue;
        }
        if let Some((_, group)) = seen.iter_mut().find(|(p, _)| *p == parsed.pattern) {
            if let Some(&first) = group.iter().find(|&&j| methods_overlap(info, &routes[j].1)) {
                if let (RouteInfo::Socket { .. }, RouteInfo::Socket { .. }) =
                    (info, &routes[first].1)
                {
                    cx.error_at(at, two_sockets_same_path(routes, first, i));
                } else {
                    cx.error_at(at, overlap_message(routes, first, i));
                }
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
    // With an entry already in error, a hook's socket may be the one missing: skip pairing.
    let hooks = if valid {
        pair_hooks(&cx, routes, &patterns)
    } else {
        Vec::new()
    };
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
        .enumerate()
        .filter_map(|(i, (path, info))| match info {
            RouteInfo::Http { .. } => Some(quote!(<#path::Handler as #private::Route>::DEF)),
            RouteInfo::Socket { data, .. } => Some(match hooks[i] {
                Some(hook) => socket_with_hook(path, &routes[hook]),
                None => socket_without_hook(path, data),
            }),
            RouteInfo::Upgrade { .. } | RouteInfo::Invalid => None,
        });
    // Functions only: a socket type is named by its route's definition.
    let functions = routes
        .iter()
        .filter(|(_, info)| !matches!(info, RouteInfo::Socket { .. }))
        .map(|(path, _)| path);
    quote! {{
        // Names each handler function at the user's path: one the router cannot see is
        // reported as rustc's "function `…` is private" (the hidden items are `pub(crate)`).
        const _: () = { #(let _ = #functions;)* };
        const __HYPERBUN_ROUTES: &[#private::RouteDef] = &[#(#defs),*];
        #private::Router::__from_table(__HYPERBUN_ROUTES)
    }}
}

/// Pairs each `#[upgrade]` hook with the socket at its pattern; per route, the index of its
/// hook (sockets only).
fn pair_hooks(
    cx: &Ctxt,
    routes: &[(Path, RouteInfo)],
    patterns: &[Option<String>],
) -> Vec<Option<usize>> {
    let mut hooks: Vec<Option<usize>> = vec![None; routes.len()];
    for (i, (handler, info)) in routes.iter().enumerate() {
        let (RouteInfo::Upgrade { path: lit, .. }, Some(pattern)) = (info, &patterns[i]) else {
            continue;
        };
        let at = user_span(lit, handler);
        let socket = routes.iter().enumerate().position(|(j, (_, other))| {
            matches!(other, RouteInfo::Socket { .. }) && patterns[j].as_ref() == Some(pattern)
        });
        match socket {
            None => cx.error_at(at, upgrade_without_websocket(routes, i)),
            Some(j) => match hooks[j] {
                Some(first) => cx.error_at(at, two_hooks_same_socket(routes, j, first, i)),
                None => hooks[j] = Some(i),
            },
        }
    }
    hooks
}

/// `<SocketRoute<S, H> as Route>::DEF` for socket `S` admitted by hook `H`, where `H` is named
/// through `SameData` at the hook's data type: if it is not the socket's, the compiler
/// reports it there, once (see `__private::SameData`).
fn socket_with_hook(socket: &Path, (hook, info): &(Path, RouteInfo)) -> TokenStream {
    let private = private();
    let RouteInfo::Upgrade { data, .. } = info else {
        unreachable!("bug: a hook is an upgrade route")
    };
    let (first, last) = first_last(data, hook);
    let open = quote_spanned!(first=> <);
    let close = quote_spanned!(last=> >::);
    let assoc = Ident::new("Data", last);
    let hook_data = quote!(#open #hook::Handler as #private::UpgradeHook #close #assoc);
    quote! {
        <#private::SocketRoute<
            #socket,
            <#hook_data as #private::SameData<
                <#socket as #private::SocketHandlers>::Data,
                #hook::Handler,
            >>::Hook,
        > as #private::Route>::DEF
    }
}

/// The definition of socket `S` without a hook, through `default_socket`, whose
/// `Data: DefaultData` bound is checked at the `_` spanned at the user's `data = T`.
fn socket_without_hook(socket: &Path, data: &TokenStream) -> TokenStream {
    let private = private();
    let at = main_token(data, socket);
    let infer = quote_spanned!(at=> _);
    quote! {
        #private::default_socket::<#socket, #infer>(
            ::core::marker::PhantomData::<<#socket as #private::SocketHandlers>::Data>
        )
    }
}

/// The spans of the first and last of `tokens`, resolved like `entry` (see `user_span`).
fn first_last(tokens: &TokenStream, entry: &Path) -> (Span, Span) {
    let anchor = anchor(entry);
    let mut iter = tokens.clone().into_iter();
    let first = iter.next().map_or(anchor, |t| t.span().resolved_at(anchor));
    let last = iter.last().map_or(first, |t| t.span().resolved_at(anchor));
    (first, last)
}

/// The token that names a type: the last identifier before any `<` (`ClientData` in
/// `my::ClientData`, `Vec` in `Vec<u8>`), else the first token; resolved like `entry`.
fn main_token(tokens: &TokenStream, entry: &Path) -> Span {
    let anchor = anchor(entry);
    let mut main = None;
    for tt in tokens.clone() {
        match &tt {
            proc_macro2::TokenTree::Ident(ident) => main = Some(ident.span()),
            proc_macro2::TokenTree::Punct(p) if p.as_char() == '<' => break,
            proc_macro2::TokenTree::Punct(_) => {}
            other => {
                main = main.or(Some(other.span()));
                break;
            }
        }
    }
    main.map_or(anchor, |span| span.resolved_at(anchor))
}

fn anchor(entry: &Path) -> Span {
    entry
        .segments
        .first()
        .map_or_else(Span::call_site, |s| s.ident.span())
}

/// Where to report a route: at its path literal, but resolved like the handler's name in
/// `router![…]`. The literal reaches this macro through the handler's `macro_rules!` shim,
/// which marks it as macro-generated, and the compiler would then add "in this macro
/// invocation" and a note about macros the user never wrote; the handler's name in the
/// user's own `router![…]` carries no such mark.
fn user_span(lit: &LitStr, handler: &Path) -> Span {
    lit.span().resolved_at(anchor(handler))
}

/// The methods a route answers: `None` for every method (#[any]).
fn methods_of(info: &RouteInfo) -> Option<Vec<String>> {
    match info {
        RouteInfo::Http { methods, .. } if methods.is_empty() => None,
        RouteInfo::Http { methods, .. } => Some(methods.iter().map(LitStr::value).collect()),
        RouteInfo::Socket { .. } => Some(vec!["GET".to_owned()]),
        RouteInfo::Upgrade { .. } | RouteInfo::Invalid => Some(Vec::new()),
    }
}

/// Two routes with the same pattern clash if a method is in both, or either takes any method.
fn methods_overlap(info: &RouteInfo, other: &RouteInfo) -> bool {
    match (methods_of(info), methods_of(other)) {
        (None, _) | (_, None) => true,
        (Some(a), Some(b)) => a.iter().any(|m| b.contains(m)),
    }
}

fn path_of(info: &RouteInfo) -> Option<&LitStr> {
    match info {
        RouteInfo::Http { path, .. }
        | RouteInfo::Socket { path, .. }
        | RouteInfo::Upgrade { path, .. } => Some(path),
        RouteInfo::Invalid => None,
    }
}

fn entry_text(path: &Path) -> String {
    path.to_token_stream().to_string().replace(' ', "")
}

fn describe(routes: &[(Path, RouteInfo)], i: usize) -> String {
    let (handler, info) = &routes[i];
    let Some(path) = path_of(info) else {
        return String::new();
    };
    let methods = methods_of(info).map_or_else(|| "ANY".to_owned(), |m| m.join("|"));
    let (what, name) = match info {
        RouteInfo::Socket { .. } => ("socket", entry_text(handler)),
        _ => ("handler", entry_text(handler)),
    };
    format!("`{methods} {}` ({what} `{name}`)", path.value())
}

fn location(routes: &[(Path, RouteInfo)], i: usize) -> String {
    let span = path_of(&routes[i].1).map_or_else(Span::call_site, LitStr::span);
    let span = span.unwrap();
    format!("{}:{}:{}", span.file(), span.line(), span.column())
}

/// RULE websocket/two-sockets-same-path: a path has at most one socket.
fn two_sockets_same_path(routes: &[(Path, RouteInfo)], first: usize, second: usize) -> String {
    let path = path_of(&routes[second].1)
        .map(LitStr::value)
        .unwrap_or_default();
    format!(
        "socket `{}` is at `{path}`, where socket `{}` already is (first defined at {}); a path \
         has one socket: move one of them to another path",
        entry_text(&routes[second].0),
        entry_text(&routes[first].0),
        location(routes, first),
    )
}

/// RULE websocket/upgrade-without-websocket: a hook's path is that of a socket in the router.
fn upgrade_without_websocket(routes: &[(Path, RouteInfo)], hook: usize) -> String {
    let path = path_of(&routes[hook].1)
        .map(LitStr::value)
        .unwrap_or_default();
    let sockets: Vec<String> = routes
        .iter()
        .filter(|(_, info)| matches!(info, RouteInfo::Socket { .. }))
        .map(|(entry, info)| {
            let at = path_of(info).map(LitStr::value).unwrap_or_default();
            format!("`{at}` (`{}`)", entry_text(entry))
        })
        .collect();
    let present = match sockets.as_slice() {
        [] => "this router lists no socket; list the #[websocket] type whose connections it \
               admits in `router![…]` too"
            .to_owned(),
        [one] => format!("the router's socket is at {one}"),
        many => format!("the router's sockets are at {}", many.join(", ")),
    };
    format!(
        "#[upgrade] hook `{}` is at `{path}`, but no socket in this router is: a hook admits \
         connections to the socket at its path, so this one would never run; {present}",
        entry_text(&routes[hook].0),
    )
}

/// RULE websocket/two-hooks-same-socket: a socket has at most one hook.
fn two_hooks_same_socket(
    routes: &[(Path, RouteInfo)],
    socket: usize,
    first: usize,
    second: usize,
) -> String {
    let path = path_of(&routes[socket].1)
        .map(LitStr::value)
        .unwrap_or_default();
    format!(
        "socket `{}` at `{path}` already has the #[upgrade] hook `{}` (first defined at {}); a \
         socket has one hook: remove `{}` from `router![…]`, or merge the two",
        entry_text(&routes[socket].0),
        entry_text(&routes[first].0),
        location(routes, first),
        entry_text(&routes[second].0),
    )
}

fn overlap_message(routes: &[(Path, RouteInfo)], first: usize, second: usize) -> String {
    let same_text = matches!(
        (path_of(&routes[first].1), path_of(&routes[second].1)),
        (Some(a), Some(b)) if a.value() == b.value()
    );
    let what = if same_text {
        "duplicate route"
    } else {
        "conflicting routes"
    };
    let any = methods_of(&routes[first].1).is_none() || methods_of(&routes[second].1).is_none();
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
