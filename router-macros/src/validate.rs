//! Every rule a route handler must follow, one function each, named like its ui-test
//! (`ui-tests/fail/<area>/<rule>.rs`). Rules that need every route at once (duplicates,
//! conflicts) live in `expand::table`, the one place that sees them all; the attribute's
//! grammar (`attr/…`) is checked while parsing it, in `parse::args` (functions named like their
//! ui-tests too), and the path grammar (`path/…`) in `parse::path` (one `PathError` each).
//! Rules about types (`handler/bad-return-type`, `handler/argument-not-extractor`, …) are the
//! compiler's trait errors, spanned at the user's type by `expand::handler`.

use quote::ToTokens;
use syn::{FnArg, ItemFn, LitStr, Type};

use crate::ctxt::Ctxt;
use crate::parse::handler::binding_name;
use crate::parse::path::RoutePath;

pub(crate) mod socket;
mod upgrade;

/// Runs every handler rule.
pub(crate) fn handler(cx: &Ctxt, item: &ItemFn, path_lit: &LitStr, path: &RoutePath) {
    generic_handler(cx, item);
    impl_trait_argument(cx, item);
    self_receiver(cx, item);
    unsafe_handler(cx, item);
    reference_argument(cx, item);
    param_not_in_signature(cx, item, path_lit, path);
}

/// Runs every rule of an `#[upgrade]` hook: the handler rules, except that it may borrow
/// `&Request`, plus its own.
pub(crate) fn upgrade_hook(cx: &Ctxt, item: &ItemFn, path_lit: &LitStr, path: &RoutePath) {
    generic_handler(cx, item);
    impl_trait_argument(cx, item);
    self_receiver(cx, item);
    unsafe_handler(cx, item);
    upgrade::reference_argument_in_upgrade(cx, item);
    upgrade::body_extractor_in_upgrade(cx, item, path);
    param_not_in_signature(cx, item, path_lit, path);
    upgrade::upgrade_return_type(cx, item);
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
        cx.error_spanned_by(
            clause,
            "route handlers cannot have a `where` clause: the router must know the concrete type of \
             every argument; use concrete types and remove the `where` clause",
        );
    }
}

/// RULE: handler arguments have concrete types; `impl Trait` makes the handler generic.
fn impl_trait_argument(cx: &Ctxt, item: &ItemFn) {
    for input in &item.sig.inputs {
        if let FnArg::Typed(typed) = input {
            if let Type::ImplTrait(impl_trait) = &*typed.ty {
                cx.error_spanned_by(
                    impl_trait,
                    "route handlers cannot be generic, and an `impl Trait` argument is generic: \
                     the router must know which type to extract; use a concrete type",
                );
            }
        }
    }
}

/// RULE: route handlers are safe functions: the router calls them for any request, so it
/// cannot uphold a safety contract.
fn unsafe_handler(cx: &Ctxt, item: &ItemFn) {
    if let Some(unsafety) = &item.sig.unsafety {
        cx.error_spanned_by(
            unsafety,
            "route handlers cannot be `unsafe fn`: the router calls them for any request and \
             cannot uphold a safety contract; remove `unsafe` here and put `unsafe { … }` blocks \
             inside the handler",
        );
    }
}

/// RULE: handler arguments are owned: a handler's future outlives the request it was
/// extracted from, so it cannot borrow from it.
fn reference_argument(cx: &Ctxt, item: &ItemFn) {
    for input in &item.sig.inputs {
        let FnArg::Typed(typed) = input else { continue };
        let Type::Reference(reference) = &*typed.ty else {
            continue;
        };
        let lifetime = reference
            .lifetime
            .as_ref()
            .map(|l| format!("{l} "))
            .unwrap_or_default();
        let mutability = if reference.mutability.is_some() {
            "mut "
        } else {
            ""
        };
        let elem = compact(&reference.elem);
        let borrowed = format!("&{lifetime}{mutability}{elem}");
        let owned = match elem.as_str() {
            "str" => "String".to_owned(),
            "[u8]" => "Bytes".to_owned(),
            _ => elem,
        };
        cx.error_spanned_by(
            reference,
            format!(
                "handler arguments cannot borrow from the request: the handler's future outlives \
                 it; take `{owned}` instead of `{borrowed}`"
            ),
        );
    }
}

/// RULE: route handlers are free functions: there is no `self` to call them on.
fn self_receiver(cx: &Ctxt, item: &ItemFn) {
    if let Some(FnArg::Receiver(receiver)) = item.sig.inputs.first() {
        cx.error_spanned_by(
            receiver,
            "route handlers cannot take `self`: the router calls them with the request's arguments \
             only; make the handler a free function outside the `impl` block",
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
    // Arguments that bind no parameter: maybe one of them was meant to.
    let unbound: Vec<String> = names
        .iter()
        .filter(|name| !path.params.iter().any(|p| p.name == **name))
        .map(|name| format!("`{name}`"))
        .collect();
    for param in &path.params {
        if names.contains(&param.name) {
            continue;
        }
        let name = &param.name;
        let sigil = if param.catch_all { '*' } else { ':' };
        let fix = match unbound.as_slice() {
            [] => format!("add an argument `{name}: T` where `T: FromStr` (e.g. `u64`, `String`)"),
            [one] => format!("rename the argument {one} to `{name}`"),
            many => format!(
                "rename one of the arguments {} to `{name}`",
                many.join(", ")
            ),
        };
        cx.error_at(
            path_lit.span(),
            format!(
                "path parameter `{sigil}{name}` has no handler argument named `{name}`: parameters \
                 bind by name; {fix}, or remove `{sigil}{name}` from the path",
            ),
        );
    }
}

/// A type as the user would write it (`Vec<u8>`, not `Vec < u8 >`), for messages.
pub(crate) fn compact(ty: &Type) -> String {
    ty.to_token_stream()
        .to_string()
        .replace(' ', "")
        .replace(',', ", ")
}
