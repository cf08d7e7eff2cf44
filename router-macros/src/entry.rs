//! Parse → validate → expand, with one way out for errors.

use proc_macro2::TokenStream;
use syn::{ItemFn, ItemImpl, LitStr};

use crate::ctxt::Ctxt;
use crate::expand::{fallback, handler, socket, table, upgrade};
use crate::methods::RouteKind;
use crate::parse::socket::{self as socket_grammar, SocketArgs, DEFAULT_PATH};
use crate::parse::{args, handler as classify, path};
use crate::validate;

/// A route attribute: `#[get("/path")] async fn …`.
pub(crate) fn route(kind: RouteKind, attr: TokenStream, item: TokenStream) -> TokenStream {
    let parsed: Option<ItemFn> = syn::parse2(item.clone()).ok();
    let output = match &parsed {
        None => Err(syn::Error::new_spanned(
            first_tokens(&item),
            format!(
                "#[{}] can only be applied to a function: `async fn handler(…) -> impl IntoResponse`",
                kind.attr_name()
            ),
        )),
        Some(item_fn) => expand_route(kind, attr, item_fn),
    };
    let output = output.unwrap_or_else(|e| fallback::route(&e, &item, parsed.as_ref()));
    debug("route", &output);
    output
}

fn expand_route(kind: RouteKind, attr: TokenStream, item: &ItemFn) -> syn::Result<TokenStream> {
    let args = args::parse(kind, attr, item.sig.ident.span())?;
    let path = path::parse(&args.path.value())
        .map_err(|e| syn::Error::new(args.path.span(), e.message(&args.path.value())))?;
    let cx = Ctxt::default();
    validate::handler(&cx, item, &args.path, &path);
    cx.check()?;
    let model = handler::RouteModel {
        item,
        methods: args.methods.iter().map(|(m, _)| *m).collect(),
        path_lit: &args.path,
        path: &path,
        body_limit: args.body_limit.as_ref(),
        layer: args.layer.as_ref(),
        args: classify::classify(item, &path),
    };
    Ok(handler::expand(&model))
}

/// `#[websocket(…)] impl Type { … }`.
pub(crate) fn websocket(attr: TokenStream, item: TokenStream) -> TokenStream {
    let parsed: Option<ItemImpl> = syn::parse2(item.clone()).ok();
    let args = socket_grammar::parse_args(attr.clone());
    let output = match &parsed {
        None => Err(syn::Error::new_spanned(
            first_tokens(&item),
            "#[websocket] goes on the `impl Type { … }` block that holds the socket's handlers: \
             `struct Chat;` then `#[websocket(\"/ws\")] impl Chat { fn message(ws: &mut WebSocket, \
             msg: Message) { … } }`",
        )),
        Some(item_impl) => expand_websocket(args.as_ref(), item_impl),
    };
    let output = output.unwrap_or_else(|e| {
        let e = match &args {
            Err(args_error) if parsed.is_none() => {
                let mut args_error = args_error.clone();
                args_error.combine(e);
                args_error
            }
            _ => e,
        };
        let recovered = socket_grammar::recover_data(attr);
        let data = match &args {
            Ok(args) => args.data(),
            Err(_) => recovered.as_ref(),
        };
        fallback::socket(&e, &item, parsed.as_ref(), data)
    });
    debug("websocket", &output);
    output
}

fn expand_websocket(
    args: Result<&SocketArgs, &syn::Error>,
    item: &ItemImpl,
) -> syn::Result<TokenStream> {
    let cx = Ctxt::default();
    let args = match args {
        Ok(args) => Some(args),
        Err(e) => {
            cx.push(e.clone());
            None
        }
    };
    let model = socket_grammar::model(item);
    validate::socket::socket(&cx, &model, args);
    let path_lit = args.and_then(|a| a.path.clone()).unwrap_or_else(|| {
        let span = model
            .ident
            .map_or_else(proc_macro2::Span::call_site, syn::Ident::span);
        LitStr::new(DEFAULT_PATH, span)
    });
    let path = path::parse(&path_lit.value())
        .map_err(|e| cx.error_at(path_lit.span(), e.message(&path_lit.value())))
        .ok();
    cx.check()?;
    let (Some(args), Some(path), Some(ident)) = (args, path, model.ident) else {
        unreachable!("bug: every error was reported")
    };
    let model = socket::SocketModel {
        item,
        ident,
        args,
        path_lit,
        path,
        handlers: model.handlers,
    };
    Ok(socket::expand(&model))
}

/// `#[upgrade("/path")] async fn …`.
pub(crate) fn upgrade(attr: TokenStream, item: TokenStream) -> TokenStream {
    let parsed: Option<ItemFn> = syn::parse2(item.clone()).ok();
    let output = match &parsed {
        None => Err(syn::Error::new_spanned(
            first_tokens(&item),
            "#[upgrade] can only be applied to a function: \
             `async fn admit(headers: HeaderMap) -> Result<Upgrade<T>, StatusCode>`",
        )),
        Some(item_fn) => expand_upgrade(attr, item_fn),
    };
    let output = output.unwrap_or_else(|e| fallback::route(&e, &item, parsed.as_ref()));
    debug("upgrade", &output);
    output
}

fn expand_upgrade(attr: TokenStream, item: &ItemFn) -> syn::Result<TokenStream> {
    let args = args::parse(RouteKind::Upgrade, attr, item.sig.ident.span())?;
    let path = path::parse(&args.path.value())
        .map_err(|e| syn::Error::new(args.path.span(), e.message(&args.path.value())))?;
    let cx = Ctxt::default();
    validate::upgrade_hook(&cx, item, &args.path, &path);
    cx.check()?;
    let model = upgrade::HookModel {
        item,
        path_lit: &args.path,
        path: &path,
        args: classify::classify_hook(item, &path),
    };
    Ok(upgrade::expand(&model))
}

/// The item's first few tokens (e.g. `struct Foo`), so the error does not cover its body.
fn first_tokens(item: &TokenStream) -> TokenStream {
    item.clone()
        .into_iter()
        .skip_while(|tt| matches!(tt, proc_macro2::TokenTree::Punct(p) if p.as_char() == '#'))
        .skip_while(|tt| matches!(tt, proc_macro2::TokenTree::Group(_)))
        .take(2)
        .collect()
}

/// `router![a, b, …]`.
pub(crate) fn router(input: TokenStream) -> TokenStream {
    let output = match syn::parse2::<table::RouterInput>(input) {
        Ok(input) => table::router(input),
        Err(e) => e.to_compile_error(),
    };
    debug("router", &output);
    output
}

/// One step of `router!` through the handlers' shims.
pub(crate) fn router_step(input: TokenStream) -> TokenStream {
    let output = match syn::parse2::<table::Step>(input) {
        Ok(step) => table::step(step),
        Err(e) => e.to_compile_error(),
    };
    debug("router_step", &output);
    output
}

/// `HYPERBUN_MACROS_DEBUG=1` prints every expansion to stderr.
fn debug(what: &str, output: &TokenStream) {
    if std::env::var_os("HYPERBUN_MACROS_DEBUG").is_some_and(|v| v != "0") {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("hyperbun-macros: {what} expanded to:\n{output}\n");
        }
    }
}
