//! The output of a route attribute: the user's function unchanged, plus a hidden module of
//! the same name holding
//! - `Handler`, an uninhabited type that implements `Route` (the route's description and the
//!   adapter that extracts arguments and calls the function), and
//! - `route!`, a re-export of a `macro_rules!` shim that hands the route's methods and path
//!   literal to `router!`, so it can check the whole table.
//!
//! A fn (value namespace) and a module (type namespace) can share one name, so
//! `use handlers::index;` brings both, and `router![handlers::index]` reaches
//! `handlers::index::route!` and `handlers::index::Handler` through the path the user wrote.
//! Nothing is added to the macro namespace, so a handler may be called `vec`, `json` or
//! `info` without shadowing the macros of that name. The shim itself is named
//! `__hyperbun_route_<name>_<hash>`: it lives in the textual scope of the handler's module
//! (reaching the hidden module inside it, even in a fn body) and never collides.

use std::hash::{Hash, Hasher};

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, Ident, ItemFn, LitStr, ReturnType, Type, Visibility};

use crate::parse::handler::{Arg, ArgKind};
use crate::parse::path::RoutePath;
use crate::paths::private;

pub(crate) struct RouteModel<'a> {
    pub(crate) item: &'a ItemFn,
    pub(crate) methods: Vec<&'static str>,
    pub(crate) path_lit: &'a LitStr,
    pub(crate) path: &'a RoutePath,
    pub(crate) body_limit: Option<&'a Expr>,
    /// `layer = EXPR`: the route's own middleware.
    pub(crate) layer: Option<&'a Expr>,
    pub(crate) args: Vec<Arg<'a>>,
}

/// A shim's name: `__hyperbun_<kind>_<name>_<hash>`, unique per item, so shims of
/// same-named items in nested modules never shadow each other.
pub(crate) fn shim_ident(kind: &str, name: &Ident) -> Ident {
    let span = name.span().unwrap();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (span.file(), span.line(), span.column(), name.to_string()).hash(&mut hasher);
    format_ident!("__hyperbun_{}_{}_{:x}", kind, name, hasher.finish())
}

/// Whether `router![…]` takes an entry named `name` for a socket type: its first letter is
/// uppercase (see `expand::table`).
pub(crate) fn named_like_a_type(name: &Ident) -> bool {
    name.to_string()
        .trim_start_matches("r#")
        .starts_with(char::is_uppercase)
}

/// The visibility of the hidden module: the function's if it is `pub`, otherwise
/// `pub(crate)`. `route!` inside it is always `pub(crate)` (`macro_rules!` cannot be
/// re-exported beyond the crate: routers are assembled in the crate that declares their
/// handlers). Neither is ever more private than the crate, so when `router![api::index]`
/// names a function it cannot see, the one error is rustc's "function `index` is private"
/// (`router!` names the function too), not one about a hidden item.
fn hidden_visibility(vis: &Visibility) -> TokenStream {
    match vis {
        Visibility::Public(_) => quote!(#vis),
        Visibility::Inherited | Visibility::Restricted(_) => quote!(pub(crate)),
    }
}

/// The shim and the hidden module that re-exports it as `route!`; `handler_type` adds the
/// `Handler` type (absent in fallback output, where `router!` skips the route).
pub(crate) fn hidden_module(
    item: &ItemFn,
    route_info: &TokenStream,
    handler_type: Option<TokenStream>,
) -> TokenStream {
    let name = &item.sig.ident;
    let shim = shim_ident("route", name);
    let vis = hidden_visibility(&item.vis);
    let private = private();
    let shim_def = quote! {
        #[doc(hidden)]
        #[allow(unused_macros)]
        macro_rules! #shim {
            (@current $($state:tt)*) => {
                #private::router_step! { @current $($state)* #route_info }
            };
        }
    };
    // Spanned at the handler's name, so a clash with a module or type of that name is
    // reported there.
    let module = quote_spanned! {name.span()=>
        #[doc(hidden)]
        #[allow(non_snake_case, unreachable_pub)]
        #vis mod #name {
            #[allow(unused_imports)]
            pub(crate) use #shim as route;
            #handler_type
        }
    };
    // `router!` reaches an entry named like a type (`Index`) as a macro of that name, as it
    // does a socket type; a function named so gets that macro too.
    let alias = named_like_a_type(name).then(|| {
        quote_spanned! {name.span()=>
            #[doc(hidden)]
            #[allow(unused_imports)]
            pub(crate) use #shim as #name;
        }
    });
    quote!(#shim_def #module #alias)
}

pub(crate) fn expand(model: &RouteModel<'_>) -> TokenStream {
    let item = model.item;
    let name = &item.sig.ident;
    let private = private();
    let path_lit = model.path_lit;
    let methods = &model.methods;
    let route_info = quote!([http [#(#methods)*] #path_lit]);
    let hidden = hidden_module(
        item,
        &route_info,
        Some(quote! {
            #[allow(dead_code)]
            pub enum Handler {}
        }),
    );
    let method_idents = methods.iter().map(|m| Ident::new(m, Span::call_site()));
    let pattern = &model.path.pattern;
    let name_str = name.to_string();
    let body_limit = match model.body_limit {
        // Through a `usize` binding, so a wrong type is "expected `usize`" at the expression.
        Some(expr) => quote_spanned! {expr.span()=> {
            let limit: usize = #expr;
            ::core::option::Option::Some(limit)
        }},
        None => quote!(::core::option::Option::None),
    };
    let layer = match model.layer {
        // A function of the route's, so the expression is checked (and evaluated) where
        // the user wrote it, once, when the router is built.
        Some(expr) => {
            // Resolved here, reported at the expression: a value that is not a layer is one
            // error under it, not also under the attribute.
            let at = Span::call_site().located_at(expr.span());
            let private_at = crate::paths::private_at(at);
            let wrap = quote_spanned!(at=> #private_at::wrap_route(#expr, inner));
            quote! {{
                fn __hyperbun_layer(inner: #private::Inner) -> #private::Inner {
                    #wrap
                }
                ::core::option::Option::Some(__hyperbun_layer)
            }}
        }
        None => quote!(::core::option::Option::None),
    };
    let adapter = adapter(model);
    quote! {
        #item

        #hidden

        const _: () = {
            #[automatically_derived]
            impl #private::Route for #name::Handler {
                const DEF: #private::RouteDef = #private::RouteDef {
                    methods: &[#(#private::Method::#method_idents),*],
                    path: #path_lit,
                    pattern: #pattern,
                    body_limit: #body_limit,
                    handler: __hyperbun_handler,
                    name: #name_str,
                    location: (::core::file!(), ::core::line!(), ::core::column!()),
                    prepare: ::core::option::Option::None,
                    layer: #layer,
                    group: ::core::option::Option::None,
                };
            }

            #adapter
        };
    }
}

/// The adapter: path parameters first (parsed with `FromStr`), then extractors in argument
/// order, then the call and the conversion of its result. Every trait requirement is spanned
/// at the user's type, so a wrong type is reported there and nowhere else.
fn adapter(model: &RouteModel<'_>) -> TokenStream {
    let private = private();
    let item = model.item;
    let args = Arguments::new(
        &model.args,
        model.path,
        &quote!(&__cx),
        &|response| quote!(return #response),
    );
    let Arguments {
        params,
        extractors,
        needs_body,
        ..
    } = &args;
    let call = args.call(item);
    let respond = match &item.sig.output {
        // `<T as IntoResponse>` at the user's return type: a type that is not a response is
        // reported there, once. An `impl Trait` cannot be named that way (and is a response).
        ReturnType::Type(_, ty) if !contains_impl_trait(ty) => trait_call(
            ty,
            quote!(#private::IntoResponse),
            "into_response",
            quote!(__output),
        ),
        ReturnType::Type(..) | ReturnType::Default => quote!(#private::into_response(__output)),
    };
    let body = if *needs_body {
        quote!(__body)
    } else {
        quote!(_)
    };
    quote! {
        #[allow(unused_mut, unused_variables, clippy::all)]
        fn __hyperbun_handler(
            __req: #private::Request,
            __cx: #private::RequestContext,
        ) -> #private::ResponseFuture {
            #private::boxed(async move {
                let (mut __parts, #body) = __req.into_parts();
                #(#params)*
                #(#extractors)*
                let __output = #call;
                #respond
            })
        }
    }
}

/// How a handler's (or hook's) arguments are produced, as statements over `__parts` (and
/// `__body` for the last extractor), with the expressions to call the function with.
pub(crate) struct Arguments {
    /// Path parameters, parsed; they come first.
    pub(crate) params: Vec<TokenStream>,
    /// Extractors, in argument order.
    pub(crate) extractors: Vec<TokenStream>,
    /// Whether the last extractor consumes the request.
    pub(crate) needs_body: bool,
    /// The call's arguments.
    pub(crate) values: Vec<TokenStream>,
}

impl Arguments {
    /// `cx` is an expression of type `&RequestContext`; `reject` turns a `Response`
    /// expression into the statement that returns it.
    pub(crate) fn new(
        args: &[Arg<'_>],
        path: &RoutePath,
        cx: &TokenStream,
        reject: &dyn Fn(TokenStream) -> TokenStream,
    ) -> Self {
        let private = private();
        let mut out = Arguments {
            params: Vec::new(),
            extractors: Vec::new(),
            needs_body: false,
            values: Vec::new(),
        };
        for (i, arg) in args.iter().enumerate() {
            let var = format_ident!("__hyperbun_arg{}", i);
            let ty = arg.ty;
            let rejected = reject(quote!(#private::IntoResponse::into_response(rejection)));
            match arg.kind {
                ArgKind::Param(index) => {
                    let param_name = &path.params[index].name;
                    let from_str =
                        trait_call(ty, quote!(::core::str::FromStr), "from_str", quote!(&__raw));
                    let invalid =
                        reject(quote!(#private::invalid_param::<#ty>(#param_name, &__raw, why)));
                    out.params.push(quote_spanned! {ty.span()=>
                        let #var: #ty = {
                            let __raw = match #private::param(&__parts, #cx, #index, #param_name) {
                                ::core::result::Result::Ok(raw) => raw,
                                ::core::result::Result::Err(rejection) => #rejected,
                            };
                            match #from_str {
                                ::core::result::Result::Ok(value) => value,
                                ::core::result::Result::Err(error) => {
                                    #[allow(unused_imports)]
                                    use #private::{DescribeDisplay as _, DescribeOther as _};
                                    let why = (&#private::ParamError(error)).describe();
                                    #invalid
                                }
                            }
                        };
                    });
                }
                ArgKind::Head => {
                    let extract = trait_call_await(
                        ty,
                        quote!(#private::FromRequestParts),
                        "from_request_parts",
                        quote!(&mut __parts, #cx),
                    );
                    out.extractors.push(quote_spanned! {ty.span()=>
                        let #var = match #extract {
                            ::core::result::Result::Ok(value) => value,
                            ::core::result::Result::Err(rejection) => #rejected,
                        };
                    });
                }
                ArgKind::Whole => {
                    out.needs_body = true;
                    let extract = trait_call_await(
                        ty,
                        quote!(#private::FromRequest),
                        "from_request",
                        quote!(#private::Request::from_parts(__parts, __body), #cx),
                    );
                    out.extractors.push(quote_spanned! {ty.span()=>
                        let #var = match #extract {
                            ::core::result::Result::Ok(value) => value,
                            ::core::result::Result::Err(rejection) => #rejected,
                        };
                    });
                }
                ArgKind::RequestRef => {
                    out.values.push(quote!(&__req));
                    continue;
                }
            }
            out.values.push(quote!(#var));
        }
        out
    }

    /// The call of `item` with the arguments; for an `async fn`, awaited.
    pub(crate) fn call(&self, item: &ItemFn) -> TokenStream {
        let name = &item.sig.ident;
        let values = &self.values;
        if item.sig.asyncness.is_some() {
            // The function's future must be `Send` (the server may move it between threads
            // at an `.await`). Checked here by coercion, at the function's name, so the error
            // reads "future returned by `name` is not `Send`" and names nothing generated.
            let send = quote_spanned! {name.span()=>
                &__future as &(dyn ::core::future::Future<Output = _> + ::core::marker::Send)
            };
            quote! {{
                let __future = #name(#(#values),*);
                let _ = #send;
                __future.await
            }}
        } else {
            quote!(#name(#(#values),*))
        }
    }
}

/// `<TY as TRAIT>::function(ARGS)`, spanned so that the call covers the user's type: its
/// first token has the span of the type's first token, and its last ones (`>::function(…)`)
/// that of the type's last token. The compiler reports an unmet `TY: TRAIT` (or a bound of the
/// impl it would use) at the call, at the path, at `<TY as TRAIT>` and at the type inside it;
/// with equal spans they are one error. (With `Span::join`, unstable, this would be simpler.)
pub(crate) fn trait_call(
    ty: &Type,
    trait_path: TokenStream,
    function: &str,
    args: TokenStream,
) -> TokenStream {
    let mut tokens = ty.to_token_stream().into_iter();
    let first = tokens.next().map_or_else(Span::call_site, |t| t.span());
    let last = tokens.last().map_or(first, |t| t.span());
    let open = quote_spanned!(first=> <);
    let close = quote_spanned!(last=> >::);
    let function = Ident::new(function, last);
    let mut args = proc_macro2::Group::new(proc_macro2::Delimiter::Parenthesis, args);
    args.set_span(last);
    quote_spanned!(first=> #open #ty as #trait_path #close #function #args)
}

/// [`trait_call`]`.await`. If `TY: TRAIT` holds only under a bound of the impl that does not
/// (`Query<T>` where `T` is not `Deserialize`), the compiler reports that bound again at the
/// `.await`, a single token; spanned at the type's first token, that error too points at the
/// user's type.
fn trait_call_await(
    ty: &Type,
    trait_path: TokenStream,
    function: &str,
    args: TokenStream,
) -> TokenStream {
    let call = trait_call(ty, trait_path, function, args);
    quote_spanned!(ty.span()=> #call.await)
}

/// Whether `impl Trait` appears anywhere in the type (it cannot be named in an expression).
pub(crate) fn contains_impl_trait(ty: &Type) -> bool {
    fn walk(tokens: TokenStream) -> bool {
        tokens.into_iter().any(|tt| match tt {
            proc_macro2::TokenTree::Ident(ident) => ident == "impl",
            proc_macro2::TokenTree::Group(group) => walk(group.stream()),
            _ => false,
        })
    }
    walk(ty.to_token_stream())
}
