//! Collects every error of one macro invocation, so a user sees all of them in one build.

use std::cell::RefCell;
use std::fmt::Display;

use quote::ToTokens;

#[derive(Default)]
pub(crate) struct Ctxt {
    errors: RefCell<Option<syn::Error>>,
}

impl Ctxt {
    pub(crate) fn push(&self, error: syn::Error) {
        let mut errors = self.errors.borrow_mut();
        match errors.as_mut() {
            Some(existing) => existing.combine(error),
            None => *errors = Some(error),
        }
    }

    pub(crate) fn error_spanned_by(&self, tokens: impl ToTokens, message: impl Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    pub(crate) fn error_at(&self, span: proc_macro2::Span, message: impl Display) {
        self.push(syn::Error::new(span, message));
    }

    /// Every error so far, merged into one; `Ok` if there were none.
    pub(crate) fn check(self) -> syn::Result<()> {
        match self.errors.into_inner() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}
