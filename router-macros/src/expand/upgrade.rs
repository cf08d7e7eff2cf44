//! The output of `#[upgrade("/path")] async fn admit(…) -> R`: like a route handler's (the
//! function unchanged, and a hidden module `admit` with `Handler` and the `route!` shim),
//! with `Handler` implementing `UpgradeHook` instead of `Route`: it extracts the arguments
//! from the request head (path parameters, head extractors), rebuilds the request, calls the
//! hook (with `&req` for a `&Request` argument) and hands back the request with the
//! accepted `Upgrade`, or the rejection. The shim tells `router!` "upgrade hook at PATH"
//! and where the hook's data type is written, so a mismatch with the socket is reported there.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::{GenericArgument, ItemFn, LitStr, PathArguments, ReturnType, Type, Visibility};

use crate::expand::handler::{hidden_module, trait_call, Arguments};
use crate::parse::handler::Arg;
use crate::parse::path::RoutePath;
use crate::paths::private;

pub(crate) struct HookModel<'a> {
    pub(crate) item: &'a ItemFn,
    pub(crate) path_lit: &'a LitStr,
    pub(crate) path: &'a RoutePath,
    pub(crate) args: Vec<Arg<'a>>,
}

pub(crate) fn expand(model: &HookModel<'_>) -> TokenStream {
    let private = private();
    let item = model.item;
    let name = &item.sig.ident;
    let ReturnType::Type(_, output) = &item.sig.output else {
        unreachable!("bug: validate::upgrade_hook requires a return type")
    };
    let path_lit = model.path_lit;
    let data_tokens = data_type_tokens(output);
    let route_info = quote!([upgrade #path_lit (#data_tokens)]);
    let vis = handler_visibility(&item.vis);
    let hidden = hidden_module(
        item,
        &route_info,
        Some(quote! {
            #[allow(dead_code)]
            #vis enum Handler {}
        }),
    );
    let args = Arguments::new(
        &model.args,
        model.path,
        &quote!(__cx),
        &|response| quote!(return ::core::result::Result::Err(#response)),
    );
    let Arguments {
        params, extractors, ..
    } = &args;
    let call = args.call(item);
    // The data type as written in `Upgrade<T>` (`validate` requires one), so that the impl's
    // signature does not depend on `R: IntoUpgrade`; then a return type that is not an
    // upgrade decision is one error, at the conversion spanned over it.
    let data = find_upgrade_arg(output).map_or_else(
        || trait_path(output, quote!(#private::IntoUpgrade), "Data"),
        ToTokens::to_token_stream,
    );
    let into_upgrade = trait_call(
        output,
        quote!(#private::IntoUpgrade),
        "into_upgrade",
        quote!(__output),
    );
    quote! {
        #item

        #hidden

        const _: () = {
            #[automatically_derived]
            impl #private::UpgradeHook for #name::Handler {
                type Data = #data;

                #[allow(unused_mut, unused_variables, clippy::all)]
                fn call(
                    __req: #private::Request,
                    __cx: &#private::RequestContext,
                ) -> impl ::core::future::Future<
                    Output = ::core::result::Result<
                        (#private::Request, #private::Upgrade<Self::Data>),
                        #private::Response,
                    >,
                > + ::core::marker::Send + '_ {
                    async move {
                        let (mut __parts, __body) = __req.into_parts();
                        #(#params)*
                        #(#extractors)*
                        let __req = #private::Request::from_parts(__parts, __body);
                        let __output = #call;
                        match #into_upgrade {
                            ::core::result::Result::Ok(upgrade) => {
                                ::core::result::Result::Ok((__req, upgrade))
                            }
                            ::core::result::Result::Err(rejection) => {
                                ::core::result::Result::Err(rejection)
                            }
                        }
                    }
                }
            }
        };
    }
}

/// The visibility of `Handler` inside the hidden module: the hook function's, seen from the
/// function's module (a private `fn` gives `pub(super)`). `Handler`'s `UpgradeHook` impl
/// names the hook's data type, which the compiler requires to be as visible as `Handler`
/// (E0446), so `Handler` is no more visible than the function, whose signature names it too.
fn handler_visibility(vis: &Visibility) -> TokenStream {
    match vis {
        Visibility::Inherited => quote!(pub(super)),
        Visibility::Public(_) => quote!(pub),
        Visibility::Restricted(restricted) => {
            let path = &restricted.path;
            if path.is_ident("self") {
                quote!(pub(super))
            } else if path.is_ident("super") {
                quote!(pub(in super::super))
            } else if path.segments.first().is_some_and(|s| s.ident == "crate") {
                quote!(#vis)
            } else {
                quote!(pub(crate))
            }
        }
    }
}

/// `<TY as TRAIT>::Assoc`, spanned from the type's first token to its last (like
/// `trait_call`).
fn trait_path(ty: &Type, trait_path: TokenStream, assoc: &str) -> TokenStream {
    let (first, last) = first_last(ty);
    let open = quote_spanned!(first=> <);
    let close = quote_spanned!(last=> >::);
    let assoc = syn::Ident::new(assoc, last);
    quote_spanned!(first=> #open #ty as #trait_path #close #assoc)
}

fn first_last(ty: &Type) -> (Span, Span) {
    let mut tokens = ty.to_token_stream().into_iter();
    let first = tokens.next().map_or_else(Span::call_site, |t| t.span());
    let last = tokens.last().map_or(first, |t| t.span());
    (first, last)
}

/// The tokens of the hook's data type as written: `T` in an `Upgrade<T>` inside the return
/// type (`Result<Upgrade<T>, E>`), else the whole return type. `router!` uses only their
/// spans, to report a data type that is not the socket's there.
fn data_type_tokens(output: &Type) -> TokenStream {
    find_upgrade_arg(output).map_or_else(|| output.to_token_stream(), ToTokens::to_token_stream)
}

/// `T` in the first `Upgrade<T>` found in `ty`, depth first.
pub(crate) fn find_upgrade_arg(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    let types = args.args.iter().filter_map(|arg| match arg {
        GenericArgument::Type(ty) => Some(ty),
        _ => None,
    });
    if last.ident == "Upgrade" {
        return types.into_iter().next();
    }
    types.into_iter().find_map(find_upgrade_arg)
}
