//! The output of `#[websocket(…)] impl Chat { … }`: the block unchanged, plus
//! - `impl SocketHandlers for Chat`: the path, the options (built once), and one method per
//!   handler the block defines, which calls it (a plain `fn` inside the call, returning a ready
//!   future; an `async fn`'s own future, checked to be `Send` at the handler's name);
//! - a `macro_rules!` shim, `__hyperbun_socket_Chat_<hash>`, that hands the socket's path and
//!   data type to `router!`, re-exported as `Chat` with `pub(crate) use`.
//!
//! A type and a module share the type namespace, so the hidden-module trick of handler
//! functions (a module named like the function) cannot name a socket. A macro lives in the
//! macro namespace instead: `Chat` the struct and `Chat!` the shim coexist, `use api::Chat;`
//! imports both, and `router![api::Chat]` calls `api::Chat!{…}`. `router!` calls an entry
//! whose name starts with an uppercase letter as such a macro (see `expand::table`).

use proc_macro2::{Literal, Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{FnArg, Ident, ImplItemFn, ItemImpl, LitStr, Type};

use crate::expand::handler::shim_ident;
use crate::parse::path::RoutePath;
use crate::parse::socket::{OptionKind, OptionValue, SocketArgs};
use crate::paths::private;

pub(crate) struct SocketModel<'a> {
    pub(crate) item: &'a ItemImpl,
    /// The type's name.
    pub(crate) ident: &'a Ident,
    pub(crate) args: &'a SocketArgs,
    /// The path as written, or the default spanned at the type's name.
    pub(crate) path_lit: LitStr,
    pub(crate) path: RoutePath,
    pub(crate) handlers: Vec<&'a ImplItemFn>,
}

pub(crate) fn expand(model: &SocketModel<'_>) -> TokenStream {
    let item = &with_handler_lints(model.item);
    let private = private();
    let self_ty = &item.self_ty;
    let data = data_type(model.args);
    let data_span = model.args.data();
    let shim = shim(model.ident, &socket_info(&model.path_lit, data_span));
    let name = model.ident.to_string();
    let name = name.trim_start_matches("r#");
    let path_lit = &model.path_lit;
    let pattern = &model.path.pattern;
    let location = quote_spanned! {model.ident.span()=>
        (::core::file!(), ::core::line!(), ::core::column!())
    };
    let options = options(model.args);
    let methods = model.handlers.iter().map(|f| method(self_ty, f));
    quote! {
        #item

        #shim

        const _: () = {
            #[automatically_derived]
            impl #private::SocketHandlers for #self_ty {
                type Data = #data;
                const NAME: &'static str = #name;
                const LOCATION: (&'static str, u32, u32) = #location;
                const PATH: &'static str = #path_lit;
                const PATTERN: &'static str = #pattern;

                fn options() -> &'static #private::SocketOptions {
                    static OPTIONS: #private::OnceLock<#private::SocketOptions> =
                        #private::OnceLock::new();
                    OPTIONS.get_or_init(|| #options)
                }

                #(#methods)*
            }
        };
    }
}

/// The block, with `#[allow(clippy::needless_pass_by_value)]` on each handler: their
/// signatures are fixed (`msg: Message` is passed by value whether the handler consumes it
/// or not), so the lint could only be silenced, never followed.
fn with_handler_lints(item: &ItemImpl) -> ItemImpl {
    let mut item = item.clone();
    for member in &mut item.items {
        if let syn::ImplItem::Fn(f) = member {
            if crate::parse::socket::HANDLERS
                .iter()
                .any(|(name, _)| f.sig.ident == name)
            {
                f.attrs
                    .push(syn::parse_quote!(#[allow(clippy::needless_pass_by_value)]));
            }
        }
    }
    item
}

/// `data = T`, spanned at `T` so that a type that is not `Send + 'static` is reported there;
/// `()` when not given.
fn data_type(args: &SocketArgs) -> TokenStream {
    match args.data() {
        Some(ty) => quote_spanned!(ty.span()=> #ty),
        None => quote!(()),
    }
}

/// What the shim tells `router!`: `[socket PATH (DATA)]`. `DATA` is the user's `data = T`
/// tokens, used by `router!` only for their spans (to report a data type that does not
/// implement `Default` there); empty without `data`.
pub(crate) fn socket_info(path_lit: &LitStr, data: Option<&Type>) -> TokenStream {
    quote!([socket #path_lit (#data)])
}

/// The shim, and its re-export under the type's name in the macro namespace.
pub(crate) fn shim(ident: &Ident, info: &TokenStream) -> TokenStream {
    let shim = shim_ident("socket", ident);
    let private = private();
    let alias = quote_spanned! {ident.span()=>
        #[doc(hidden)]
        #[allow(unused_imports)]
        pub(crate) use #shim as #ident;
    };
    quote! {
        #[doc(hidden)]
        #[allow(unused_macros)]
        macro_rules! #shim {
            (@current $($state:tt)*) => {
                #private::router_step! { @current $($state)* #info }
            };
        }
        #alias
    }
}

/// The `SocketOptions` expression: `options = …` (or the defaults), then every other option
/// as a builder call. Each value goes through a typed `let` spanned at it, so a value of the
/// wrong type is reported at the value.
fn options(args: &SocketArgs) -> TokenStream {
    let private = private();
    let base = match args.base() {
        Some(expr) => quote_spanned! {expr.span()=>
            let __options: #private::SocketOptions = #expr;
        },
        None => quote!(let __options = #private::SocketOptions::new();),
    };
    let calls = args.options.iter().map(|option| {
        let key = Ident::new(&option.key.to_string(), Span::call_site());
        match (&option.value, option.kind) {
            (OptionValue::Expr(expr), OptionKind::Bytes | OptionKind::Count) => {
                quote_spanned! {expr.span()=>
                    let __options = __options.#key({ let __value: usize = #expr; __value });
                }
            }
            (OptionValue::Expr(expr), OptionKind::Seconds) => quote_spanned! {expr.span()=>
                let __options = __options.#key(::core::time::Duration::from_secs({
                    let __value: u64 = #expr;
                    __value
                }));
            },
            (OptionValue::Expr(expr), OptionKind::Bool) => quote_spanned! {expr.span()=>
                let __options = __options.#key({ let __value: bool = #expr; __value });
            },
            (OptionValue::Expr(expr), OptionKind::RateLimit) => quote_spanned! {expr.span()=>
                let __options = __options.#key({ let __value: #private::RateLimit = #expr; __value });
            },
            // Anything `Into<PerMessageDeflate>` (a `bool` or a value), as the builder takes.
            (OptionValue::Expr(expr), OptionKind::Deflate) => quote_spanned! {expr.span()=>
                let __options = __options.#key(#expr);
            },
            (OptionValue::List(list), _) => {
                let n = list.len();
                quote! {
                    let __options = __options.#key({
                        let __list: [&'static str; #n] = [#(#list),*];
                        __list
                    });
                }
            }
            (OptionValue::Headers(headers), _) => {
                let calls = headers
                    .iter()
                    .map(|(name, value)| quote!(let __options = __options.header(#name, #value);));
                quote!(#(#calls)*)
            }
            _ => quote!(),
        }
    });
    quote! {{
        #base
        #(#calls)*
        __options
    }}
}

/// The trait method for one handler: the trait's signature (with `'a` where the trait names
/// the lifetime), calling the user's function.
fn method(self_ty: &Type, f: &ImplItemFn) -> TokenStream {
    let private = private();
    let name = &f.sig.ident;
    let named = matches!(name.to_string().as_str(), "close" | "error");
    let (generics, lifetime) = if named {
        (quote!(<'a>), quote!('a))
    } else {
        (quote!(), quote!('_))
    };
    let ws = quote!(__ws: &#lifetime mut #private::WebSocket<Self::Data>);
    let (params, args): (TokenStream, Vec<TokenStream>) = match name.to_string().as_str() {
        "message" | "rate_limited" => (
            quote!(#ws, __message: #private::Message),
            vec![quote!(__ws), quote!(__message)],
        ),
        "close" => (
            quote!(#ws, __code: u16, __reason: &'a str),
            vec![quote!(__ws), quote!(__code), quote!(__reason)],
        ),
        "error" => (
            quote!(#ws, __error: &'a #private::WebSocketError),
            vec![quote!(__ws), quote!(__error)],
        ),
        "ping" | "pong" => (
            quote!(#ws, __payload: #private::Bytes),
            vec![quote!(__ws), quote!(__payload)],
        ),
        _ => (quote!(#ws), vec![quote!(__ws)]),
    };
    // Each value passes as `(value,).0` spanned over the user's parameter type, so a type
    // that does not match (`WebSocket<Other>`, `msg: String`) is one error, under it.
    let args = args
        .iter()
        .zip(&f.sig.inputs)
        .map(|(arg, input)| match input {
            FnArg::Typed(typed) => spanned_over(arg, &typed.ty),
            FnArg::Receiver(_) => arg.clone(),
        });
    let call = quote!(<#self_ty>::#name(#(#args),*));
    let (body, at) = if f.sig.asyncness.is_some() {
        // The future is returned as the method's `impl Future + Send`, spanned at the
        // handler's name: a future that is not `Send` is one error, "future returned by
        // `name` is not `Send`", there.
        (call, name.span())
    } else {
        (quote!(#call; #private::ready(())), Span::call_site())
    };
    let output = if named {
        quote_spanned!(at=> impl ::core::future::Future<Output = ()> + ::core::marker::Send + 'a)
    } else {
        quote_spanned!(at=> impl ::core::future::Future<Output = ()> + ::core::marker::Send + '_)
    };
    let cfgs = f.attrs.iter().filter(|a| a.path().is_ident("cfg"));
    quote! {
        #(#cfgs)*
        #[allow(clippy::all)]
        fn #name #generics(#params) -> #output {
            #body
        }
    }
}

/// `(value,).0`, with `(` at the first token of `over` and `.0` at its last: the compiler
/// spans the expression from one to the other, i.e. over the user's type.
fn spanned_over(value: &TokenStream, over: &Type) -> TokenStream {
    let mut tokens = over.to_token_stream().into_iter();
    let first = tokens.next().map_or_else(Span::call_site, |t| t.span());
    let last = tokens.last().map_or(first, |t| t.span());
    let mut group = proc_macro2::Group::new(proc_macro2::Delimiter::Parenthesis, quote!(#value,));
    group.set_span(first);
    let dot = quote_spanned!(last=> .);
    let mut zero = Literal::usize_unsuffixed(0);
    zero.set_span(last);
    let mut out = TokenStream::new();
    out.extend([TokenTree::Group(group)]);
    out.extend(dot);
    out.extend([TokenTree::Literal(zero)]);
    out
}
