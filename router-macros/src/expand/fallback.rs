//! Output for a route attribute that has errors: the errors, the user's item unchanged (so
//! calls to it do not fail too), and a shim that tells `router!` to skip the route (so the
//! router does not fail too). The user sees only the errors that matter: one per broken rule.

use proc_macro2::TokenStream;
use quote::quote;
use syn::ItemFn;

use crate::expand::handler::hidden_module;

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
