//! The output of a route attribute: the user's function unchanged, plus
//! - a hidden, uninhabited type of the same name that implements `Route` (the route's
//!   description and the adapter that extracts arguments and calls the function), and
//! - a hidden `macro_rules!` shim, also imported under the function's name, that hands the
//!   route's method and path literal to `router!` so it can check the whole table.
//!
//! A fn (value namespace), a type (type namespace) and a macro (macro namespace) can share
//! one name, so `use handlers::index;` brings all three, and `router![handlers::index]`
//! reaches both the shim and the `Route` impl through the path the user wrote.

use std::hash::{Hash, Hasher};

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, Ident, ItemFn, LitStr, ReturnType, Visibility};

use crate::parse::handler::{Arg, ArgKind};
use crate::parse::path::RoutePath;
use crate::paths::private;

pub(crate) struct RouteModel<'a> {
    pub(crate) item: &'a ItemFn,
    pub(crate) methods: Vec<&'static str>,
    pub(crate) path_lit: &'a LitStr,
    pub(crate) path: &'a RoutePath,
    pub(crate) body_limit: Option<&'a Expr>,
    pub(crate) args: Vec<Arg<'a>>,
}

/// The shim's name: unique per handler, so shims of same-named handlers in nested modules
/// never shadow each other.
fn shim_ident(name: &Ident) -> Ident {
    let span = name.span().unwrap();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (span.file(), span.line(), span.column(), name.to_string()).hash(&mut hasher);
    format_ident!("__hyperbun_route_{}_{:x}", name, hasher.finish())
}

/// `macro_rules!` cannot be re-exported beyond the crate, so a `pub` handler's shim is
/// `pub(crate)`: routers are assembled in the crate that declares their handlers.
fn shim_visibility(vis: &Visibility) -> TokenStream {
    match vis {
        Visibility::Inherited => quote!(),
        Visibility::Public(_) => quote!(pub(crate)),
        Visibility::Restricted(r) => quote!(#r),
    }
}

/// The shim: appends this route's description to the router's state and continues.
pub(crate) fn shim(item: &ItemFn, route_info: &TokenStream) -> TokenStream {
    let name = &item.sig.ident;
    let shim = shim_ident(name);
    let vis = shim_visibility(&item.vis);
    let private = private();
    quote! {
        #[doc(hidden)]
        #[allow(unused_macros)]
        macro_rules! #shim {
            ($($state:tt)*) => { #private::router_step! { $($state)* #route_info } };
        }
        #[doc(hidden)]
        #[allow(unused_imports)]
        #vis use #shim as #name;
    }
}

pub(crate) fn expand(model: &RouteModel<'_>) -> TokenStream {
    let item = model.item;
    let name = &item.sig.ident;
    let vis = &item.vis;
    let private = private();
    let path_lit = model.path_lit;
    let methods = &model.methods;
    let route_info = quote!([http [#(#methods)*] #path_lit]);
    let shim = shim(item, &route_info);
    let method_idents = methods.iter().map(|m| Ident::new(m, Span::call_site()));
    let pattern = &model.path.pattern;
    let name_str = name.to_string();
    let body_limit = match model.body_limit {
        Some(expr) => quote_spanned!(expr.span()=> ::core::option::Option::Some(#expr)),
        None => quote!(::core::option::Option::None),
    };
    let adapter = adapter(model);
    quote! {
        #item

        #[doc(hidden)]
        #[allow(non_camel_case_types, dead_code, unreachable_pub)]
        #vis enum #name {}

        #shim

        const _: () = {
            #[automatically_derived]
            impl #private::Route for #name {
                const DEF: #private::RouteDef = #private::RouteDef {
                    methods: &[#(#private::Method::#method_idents),*],
                    path: #path_lit,
                    pattern: #pattern,
                    body_limit: #body_limit,
                    handler: __hyperbun_handler,
                    name: #name_str,
                    location: (::core::file!(), ::core::line!(), ::core::column!()),
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
    let name = &item.sig.ident;
    let mut bindings = Vec::new();
    let mut vars = Vec::new();
    let mut needs_body = false;
    for (i, arg) in model.args.iter().enumerate() {
        let var = format_ident!("__hyperbun_arg{}", i);
        let ty = arg.ty;
        let bind = match arg.kind {
            ArgKind::Param(index) => {
                let param_name = &model.path.params[index].name;
                quote_spanned! {ty.span()=>
                    let #var: #ty = {
                        let __raw = match #private::param(&__parts, &__cx, #index, #param_name) {
                            ::core::result::Result::Ok(raw) => raw,
                            ::core::result::Result::Err(rejection) => return #private::IntoResponse::into_response(rejection),
                        };
                        match <#ty as ::core::str::FromStr>::from_str(&__raw) {
                            ::core::result::Result::Ok(value) => value,
                            ::core::result::Result::Err(error) => {
                                #[allow(unused_imports)]
                                use #private::{DescribeDisplay as _, DescribeOther as _};
                                let why = (&#private::ParamError(error)).describe();
                                return #private::invalid_param::<#ty>(#param_name, &__raw, why);
                            }
                        }
                    };
                }
            }
            ArgKind::Head => quote_spanned! {ty.span()=>
                let #var = match <#ty as #private::FromRequestParts>::from_request_parts(&mut __parts, &__cx).await {
                    ::core::result::Result::Ok(value) => value,
                    ::core::result::Result::Err(rejection) => return #private::IntoResponse::into_response(rejection),
                };
            },
            ArgKind::Whole => {
                needs_body = true;
                quote_spanned! {ty.span()=>
                    let #var = match <#ty as #private::FromRequest>::from_request(
                        #private::Request::from_parts(__parts, __body),
                        &__cx,
                    ).await {
                        ::core::result::Result::Ok(value) => value,
                        ::core::result::Result::Err(rejection) => return #private::IntoResponse::into_response(rejection),
                    };
                }
            }
        };
        bindings.push(bind);
        vars.push(var);
    }
    // Parameters are read before extractors; extraction keeps argument order otherwise.
    let (params, extractors): (Vec<_>, Vec<_>) = model
        .args
        .iter()
        .zip(bindings)
        .partition(|(arg, _)| matches!(arg.kind, ArgKind::Param(_)));
    let params = params.into_iter().map(|(_, b)| b);
    let extractors = extractors.into_iter().map(|(_, b)| b);
    let body = if needs_body {
        quote!(__body)
    } else {
        quote!(_)
    };
    let call = if item.sig.asyncness.is_some() {
        quote!(#name(#(#vars),*).await)
    } else {
        quote!(#name(#(#vars),*))
    };
    let respond = match &item.sig.output {
        ReturnType::Type(_, ty) => quote_spanned!(ty.span()=> #private::into_response(__output)),
        ReturnType::Default => quote!(#private::into_response(__output)),
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
