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

/// `router![a, b, group("/admin", layer = L)[c, d]]`
pub(crate) struct RouterInput {
    /// Every entry, in order, with the index of its group.
    handlers: Punctuated<Path, Token![,]>,
    membership: Vec<Option<usize>>,
    groups: Vec<Group>,
}

/// `group("/prefix", layer = EXPR)[…]`: routes under a path prefix and/or a layer.
#[derive(Clone)]
struct Group {
    /// `"/admin"`, or `_` tokens-wise when absent.
    prefix: Option<LitStr>,
    /// The layer expression, as written.
    layer: Option<TokenStream>,
}

mod group_kw {
    syn::custom_keyword!(group);
    syn::custom_keyword!(layer);
}

impl Parse for RouterInput {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut handlers = Punctuated::new();
        let mut membership = Vec::new();
        let mut groups = Vec::new();
        while !input.is_empty() {
            if input.peek(group_kw::group) && input.peek2(syn::token::Paren) {
                let (group, members) = parse_group(input)?;
                for member in members {
                    handlers.push(member);
                    membership.push(Some(groups.len()));
                }
                groups.push(group);
            } else {
                handlers.push(input.parse()?);
                membership.push(None);
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(RouterInput {
            handlers,
            membership,
            groups,
        })
    }
}

/// `group("/prefix", layer = EXPR)[a, b]`, either part optional but not both.
fn parse_group(input: ParseStream<'_>) -> syn::Result<(Group, Vec<Path>)> {
    let keyword: group_kw::group = input.parse()?;
    let args;
    syn::parenthesized!(args in input);
    let prefix: Option<LitStr> = if args.peek(LitStr) {
        let prefix: LitStr = args.parse()?;
        check_prefix(&prefix)?;
        if !args.is_empty() {
            args.parse::<Token![,]>()?;
        }
        Some(prefix)
    } else {
        None
    };
    let mut layer = None;
    if !args.is_empty() {
        let key: Ident = args.parse()?;
        if key != "layer" {
            return Err(syn::Error::new(
                key.span(),
                format!(
                    "unknown group option `{key}`: a group is `group(\"/prefix\", layer = LAYER)[…]`, \
                     with the prefix, the layer or both"
                ),
            ));
        }
        args.parse::<Token![=]>()?;
        let expr: syn::Expr = args.parse()?;
        layer = Some(expr.to_token_stream());
        if !args.is_empty() {
            args.parse::<Token![,]>()?;
        }
        if !args.is_empty() {
            return Err(args.error(
                "a group takes a prefix and one `layer = …`; give several layers as one tuple, \
                 outermost first: `layer = (first, second)`",
            ));
        }
    }
    // RULE router/empty-group: a group has a prefix or a layer (else it is not a group).
    if prefix.is_none() && layer.is_none() {
        return Err(syn::Error::new(
            keyword.span,
            "a group needs a path prefix, a layer or both: `group(\"/admin\", layer = LAYER)[…]`",
        ));
    }
    let members;
    bracketed!(members in input);
    let mut entries = Vec::new();
    while !members.is_empty() {
        // RULE router/nested-group: groups do not nest.
        if members.peek(group_kw::group) && members.peek2(syn::token::Paren) {
            return Err(members.error(
                "groups do not nest: list this group's routes in the outer group, or give it a \
                 place of its own in `router![…]` with the whole prefix",
            ));
        }
        entries.push(members.parse()?);
        if members.is_empty() {
            break;
        }
        members.parse::<Token![,]>()?;
    }
    Ok((Group { prefix, layer }, entries))
}

/// RULE router/group-prefix: a group's prefix is static, starts with `/` and does not end with
/// one.
fn check_prefix(prefix: &LitStr) -> syn::Result<()> {
    let text = prefix.value();
    let why = if !text.starts_with('/') {
        "starts with `/`"
    } else if text.ends_with('/') {
        "does not end with `/` (the routes' paths start with one)"
    } else if text.contains([':', '*', '{', '}']) {
        "is static: no `:param` or `*rest` (the routes' handlers would not receive them)"
    } else {
        return Ok(());
    };
    Err(syn::Error::new(
        prefix.span(),
        format!("a group's prefix {why}: e.g. `group(\"/admin\")[…]`"),
    ))
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
/// `@current PATH @in G @next [G PATH, …] @routes [(PATH G INFO) …] @groups [GROUP …] INFO`,
/// where `G` is the entry's group (`_` for none, else its index) and `GROUP` is
/// `(PREFIX (LAYER))` with `_` for a missing part.
pub(crate) struct Step {
    next: Vec<(Option<usize>, Path)>,
    routes: Vec<(Path, RouteInfo)>,
    membership: Vec<Option<usize>>,
    groups: Vec<Group>,
}

mod kw {
    syn::custom_keyword!(current);
    syn::custom_keyword!(next);
    syn::custom_keyword!(routes);
    syn::custom_keyword!(groups);
}

/// `_` or a group index.
fn parse_membership(input: ParseStream<'_>) -> syn::Result<Option<usize>> {
    if input.peek(Token![_]) {
        input.parse::<Token![_]>()?;
        return Ok(None);
    }
    Ok(Some(input.parse::<syn::LitInt>()?.base10_parse()?))
}

fn membership_tokens(group: Option<usize>) -> TokenStream {
    match group {
        None => quote!(_),
        Some(g) => {
            let lit = proc_macro2::Literal::usize_unsuffixed(g);
            quote!(#lit)
        }
    }
}

impl Parse for Group {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let content;
        syn::parenthesized!(content in input);
        let prefix = if content.peek(Token![_]) {
            content.parse::<Token![_]>()?;
            None
        } else {
            Some(content.parse()?)
        };
        let layer_content;
        syn::parenthesized!(layer_content in content);
        let layer: TokenStream = layer_content.parse()?;
        Ok(Group {
            prefix,
            layer: (!layer.is_empty()).then_some(layer),
        })
    }
}

impl ToTokens for Group {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        let prefix = match &self.prefix {
            Some(prefix) => quote!(#prefix),
            None => quote!(_),
        };
        let layer = self.layer.clone().unwrap_or_default();
        tokens.extend(quote!((#prefix (#layer))));
    }
}

impl Parse for Step {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        input.parse::<Token![@]>()?;
        input.parse::<kw::current>()?;
        let current: Path = input.parse()?;
        input.parse::<Token![@]>()?;
        input.parse::<Token![in]>()?;
        let current_group = parse_membership(input)?;
        input.parse::<Token![@]>()?;
        input.parse::<kw::next>()?;
        let next_content;
        bracketed!(next_content in input);
        let mut next = Vec::new();
        while !next_content.is_empty() {
            let group = parse_membership(&next_content)?;
            next.push((group, next_content.parse()?));
            if !next_content.is_empty() {
                next_content.parse::<Token![,]>()?;
            }
        }
        input.parse::<Token![@]>()?;
        input.parse::<kw::routes>()?;
        let routes_content;
        bracketed!(routes_content in input);
        let mut routes = Vec::new();
        let mut membership = Vec::new();
        while !routes_content.is_empty() {
            let triple;
            syn::parenthesized!(triple in routes_content);
            let path = triple.parse()?;
            membership.push(parse_membership(&triple)?);
            routes.push((path, triple.parse()?));
        }
        input.parse::<Token![@]>()?;
        input.parse::<kw::groups>()?;
        let groups_content;
        bracketed!(groups_content in input);
        let mut groups = Vec::new();
        while !groups_content.is_empty() {
            groups.push(groups_content.parse()?);
        }
        let info: RouteInfo = input.parse()?;
        routes.push((current, info));
        membership.push(current_group);
        Ok(Step {
            next,
            routes,
            membership,
            groups,
        })
    }
}

/// Expands `router![…]`: starts the chain at the first handler's shim.
pub(crate) fn router(input: RouterInput) -> TokenStream {
    if let Err(e) = handler_listed_twice(&input.handlers) {
        return e.to_compile_error();
    }
    let mut entries = input.membership.into_iter().zip(input.handlers);
    let groups = input.groups;
    match entries.next() {
        None => finish(&[], &[], &groups),
        Some(first) => call_shim(first, &entries.collect::<Vec<_>>(), &[], &[], &groups),
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
        None => finish(&step.routes, &step.membership, &step.groups),
        Some(first) => call_shim(
            first,
            &next.collect::<Vec<_>>(),
            &step.routes,
            &step.membership,
            &step.groups,
        ),
    }
}

/// Calls the shim of `entry`: the macro `entry!` for a socket type (an entry whose last
/// segment starts with an uppercase letter), `entry::route!` for a function.
fn call_shim(
    (group, entry): (Option<usize>, Path),
    next: &[(Option<usize>, Path)],
    routes: &[(Path, RouteInfo)],
    membership: &[Option<usize>],
    groups: &[Group],
) -> TokenStream {
    let routes = routes.iter().zip(membership).map(|((path, info), group)| {
        let group = membership_tokens(*group);
        quote!((#path #group #info))
    });
    let next = next.iter().map(|(group, path)| {
        let group = membership_tokens(*group);
        quote!(#group #path)
    });
    let group = membership_tokens(group);
    let entry = &entry;
    let state = quote!(
        @current #entry @in #group @next [#(#next),*] @routes [#(#routes)*] @groups [#(#groups)*]
    );
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

/// A route's path under its group's prefix, still spanned at the route's literal: `/` under
/// `/admin` is `/admin`, `/users` is `/admin/users`.
fn prefixed(info: &RouteInfo, prefix: Option<&LitStr>) -> RouteInfo {
    let Some(prefix) = prefix else {
        return info.clone();
    };
    let join = |lit: &LitStr| {
        let path = lit.value();
        let full = if path == "/" {
            prefix.value()
        } else {
            format!("{}{path}", prefix.value())
        };
        LitStr::new(&full, lit.span())
    };
    match info {
        RouteInfo::Http { methods, path } => RouteInfo::Http {
            methods: methods.clone(),
            path: join(path),
        },
        RouteInfo::Socket { path, data } => RouteInfo::Socket {
            path: join(path),
            data: data.clone(),
        },
        RouteInfo::Upgrade { path, data } => RouteInfo::Upgrade {
            path: join(path),
            data: data.clone(),
        },
        RouteInfo::Invalid => RouteInfo::Invalid,
    }
}

/// Checks the whole table and emits it.
fn finish(
    routes: &[(Path, RouteInfo)],
    membership: &[Option<usize>],
    groups: &[Group],
) -> TokenStream {
    let private = private();
    let cx = Ctxt::default();
    let routes: Vec<(Path, RouteInfo)> = routes
        .iter()
        .zip(membership)
        .map(|((path, info), group)| {
            let prefix = group.and_then(|g| groups[g].prefix.as_ref());
            (path.clone(), prefixed(info, prefix))
        })
        .collect();
    let routes = &routes[..];
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
    let defs = routes.iter().enumerate().filter_map(|(i, (path, info))| {
        let def = match info {
            RouteInfo::Http { .. } => quote!(<#path::Handler as #private::Route>::DEF),
            RouteInfo::Socket { data, .. } => match hooks[i] {
                Some(hook) => socket_with_hook(path, &routes[hook]),
                None => socket_without_hook(path, data),
            },
            RouteInfo::Upgrade { .. } | RouteInfo::Invalid => return None,
        };
        Some(match membership[i] {
            None => def,
            Some(g) => in_group(def, info, patterns[i].as_deref(), g, &groups[g]),
        })
    });
    let group_layers = groups.iter().enumerate().filter_map(|(g, group)| {
        let layer = group.layer.as_ref()?;
        // Resolved here, reported at the expression (see `expand::handler`).
        let at = layer
            .clone()
            .into_iter()
            .next()
            .map_or_else(Span::call_site, |t| Span::call_site().located_at(t.span()));
        let private = crate::paths::private_at(at);
        let call = quote_spanned!(at=> #private::Router::__group_layer(__router, #g, #layer));
        Some(quote!(let __router = #call;))
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
        let __router = #private::Router::__from_table(__HYPERBUN_ROUTES);
        #(#group_layers)*
        __router
    }}
}

/// A route's definition as its group changes it: the path under the group's prefix, and the
/// group whose layer wraps it.
fn in_group(
    def: TokenStream,
    info: &RouteInfo,
    pattern: Option<&str>,
    g: usize,
    group: &Group,
) -> TokenStream {
    let private = private();
    let path = match (&group.prefix, path_of(info), pattern) {
        (Some(_), Some(full), Some(pattern)) => quote!(path: #full, pattern: #pattern,),
        _ => TokenStream::new(),
    };
    let group = if group.layer.is_some() {
        quote!(group: ::core::option::Option::Some(#g),)
    } else {
        TokenStream::new()
    };
    quote!(#private::RouteDef { #path #group ..#def })
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
