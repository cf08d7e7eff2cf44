//! Output for a route attribute that has errors: the errors, the user's item unchanged (so
//! calls to it do not fail too), and a shim that tells `router!` to skip the route (so the
//! router does not fail too). The user sees only the errors that matter.

use proc_macro2::TokenStream;
use quote::quote;
use syn::ItemFn;

use crate::expand::handler::shim;

pub(crate) fn route(
    error: &syn::Error,
    item: &TokenStream,
    parsed: Option<&ItemFn>,
) -> TokenStream {
    let error = error.to_compile_error();
    let shim = parsed.map(|f| shim(f, &quote!([invalid])));
    quote! {
        #error
        #item
        #shim
    }
}
