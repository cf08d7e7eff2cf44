//! Output for a route attribute that has errors: the errors, the user's item unchanged (so
//! calls to it do not fail too), and a shim that tells `router!` to skip the route (so the
//! router does not fail too). The user sees only the errors that matter: one per broken rule.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{ItemFn, ItemImpl, Type};

use crate::expand::handler::hidden_module;
use crate::expand::socket::shim;
use crate::paths::private;

pub(crate) fn route(
    error: &syn::Error,
    item: &TokenStream,
    parsed: Option<&ItemFn>,
) -> TokenStream {
    let error = error.to_compile_error();
    // No hidden module for a function that takes `self`: it sits in an `impl` or `trait`
    // block, where a module would be one more error, and `router!` cannot name it anyway.
    let shim = parsed
        .filter(|f| !matches!(f.sig.inputs.first(), Some(syn::FnArg::Receiver(_))))
        .map(|f| hidden_module(f, &quote!([invalid]), None));
    quote! {
        #error
        #item
        #shim
    }
}

/// Output for a `#[websocket]` block that has errors: the errors, the block unchanged, the
/// shim telling `router!` to skip the socket, and a stub `SocketHandlers` impl with the
/// socket's data type (`data`, as far as it could be read) so that `server.upgrade::<Chat>(…)`
/// elsewhere does not fail too.
pub(crate) fn socket(
    error: &syn::Error,
    item: &TokenStream,
    parsed: Option<&ItemImpl>,
    data: Option<&Type>,
) -> TokenStream {
    let error = error.to_compile_error();
    let Some(item_impl) = parsed else {
        return quote!(#error #item);
    };
    let ident = match &*item_impl.self_ty {
        Type::Path(path) if path.qself.is_none() => path.path.segments.last(),
        _ => None,
    };
    let Some(segment) = ident.filter(|s| s.arguments.is_none()) else {
        return quote!(#error #item);
    };
    if item_impl.trait_.is_some() || !item_impl.generics.params.is_empty() {
        return quote!(#error #item);
    }
    let shim = shim(&segment.ident, &quote!([invalid]));
    let stub = {
        let private = private();
        let self_ty = &item_impl.self_ty;
        let data = data.map_or_else(|| quote!(()), |ty| quote!(#ty));
        quote! {
            const _: () = {
                #[automatically_derived]
                impl #private::SocketHandlers for #self_ty {
                    type Data = #data;
                    const NAME: &'static str = "";
                    const LOCATION: (&'static str, u32, u32) = ("", 0, 0);
                    const PATH: &'static str = "";
                    const PATTERN: &'static str = "";
                    fn options() -> &'static #private::SocketOptions {
                        ::core::unreachable!()
                    }
                    fn message(
                        _: &mut #private::WebSocket<Self::Data>,
                        _: #private::Message,
                    ) -> impl ::core::future::Future<Output = ()> + ::core::marker::Send + '_ {
                        #private::ready(())
                    }
                }
            };
        }
    };
    quote! {
        #error
        #item
        #shim
        #stub
    }
}
