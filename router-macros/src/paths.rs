//! Every path generated code names, in one place to audit. Generated code reaches the runtime
//! only through `::hyperbun::__private`, so users never add a dependency for it.

use proc_macro2::TokenStream;
use quote::quote;

/// `::hyperbun::__private`
pub(crate) fn private() -> TokenStream {
    quote!(::hyperbun::__private)
}

/// `::hyperbun::__private` with every token at `span`: a call through it then is reported
/// wholly at `span` (rustc spans a call from the path's first token to the closing paren).
pub(crate) fn private_at(span: proc_macro2::Span) -> TokenStream {
    quote::quote_spanned!(span=> ::hyperbun::__private)
}
