//! Every path generated code names, in one place to audit. Generated code reaches the runtime
//! only through `::hyperbun::__private`, so users never add a dependency for it.

use proc_macro2::TokenStream;
use quote::quote;

/// `::hyperbun::__private`
pub(crate) fn private() -> TokenStream {
    quote!(::hyperbun::__private)
}
