//! Parse → validate → expand, with one way out for errors.

use proc_macro2::TokenStream;
use syn::ItemFn;

use crate::ctxt::Ctxt;
use crate::expand::{fallback, handler, table};
use crate::methods::RouteKind;
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
        args: classify::classify(item, &path),
    };
    Ok(handler::expand(&model))
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
