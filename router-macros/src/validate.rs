//! Every rule a route handler must follow, one function each, named like its ui-test
//! (`ui-tests/fail/<area>/<rule>.rs`). Rules that need every route at once (duplicates,
//! conflicts) live in `expand::table`, the one place that sees them all.

use quote::ToTokens;
use syn::{FnArg, ItemFn, LitStr};

use crate::ctxt::Ctxt;
use crate::parse::handler::binding_name;
use crate::parse::path::RoutePath;

/// Runs every handler rule.
pub(crate) fn handler(cx: &Ctxt, item: &ItemFn, path_lit: &LitStr, path: &RoutePath) {
    generic_handler(cx, item);
    self_receiver(cx, item);
    param_not_in_signature(cx, item, path_lit, path);
}

/// RULE: route handlers are not generic: the router must know every argument's type.
fn generic_handler(cx: &Ctxt, item: &ItemFn) {
    let generics = &item.sig.generics;
    if !generics.params.is_empty() {
        cx.error_spanned_by(
            generics,
            "route handlers cannot be generic: the router must know the concrete type of every argument; \
             use concrete types",
        );
        return;
    }
    if let Some(clause) = &generics.where_clause {
        cx.error_spanned_by(clause, "route handlers cannot have a `where` clause");
    }
    for input in &item.sig.inputs {
        if let FnArg::Typed(typed) = input {
            if let syn::Type::ImplTrait(impl_trait) = &*typed.ty {
                cx.error_spanned_by(
                    impl_trait.impl_token,
                    "route handlers cannot be generic: `impl Trait` arguments are generic; use a concrete type",
                );
            }
        }
    }
}

/// RULE: route handlers are free functions: there is no `self` to call them on.
fn self_receiver(cx: &Ctxt, item: &ItemFn) {
    if let Some(FnArg::Receiver(receiver)) = item.sig.inputs.first() {
        cx.error_spanned_by(
            receiver,
            "route handlers cannot take `self`: declare them as free functions",
        );
    }
}

/// RULE: every `:param` in a route path is bound by a handler argument of the same name.
fn param_not_in_signature(cx: &Ctxt, item: &ItemFn, path_lit: &LitStr, path: &RoutePath) {
    let names: Vec<String> = item
        .sig
        .inputs
        .iter()
        .filter_map(|input| match input {
            FnArg::Typed(typed) => binding_name(&typed.pat),
            FnArg::Receiver(_) => None,
        })
        .collect();
    for param in &path.params {
        if names.contains(&param.name) {
            continue;
        }
        let sigil = if param.catch_all { '*' } else { ':' };
        let args = item.sig.inputs.to_token_stream().to_string();
        cx.error_at(
            path_lit.span(),
            format!(
                "`{sigil}{name}` has no matching handler argument; expected an argument named `{name}` \
                 (the arguments are `({args})`), or remove `{sigil}{name}` from the path",
                name = param.name,
            ),
        );
    }
}
