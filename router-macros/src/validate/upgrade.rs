//! The rules of an `#[upgrade]` hook besides those it shares with route handlers (in the
//! parent module), one function each, named like its ui-test
//! (`ui-tests/fail/websocket/<rule>.rs`).

use syn::{FnArg, ItemFn, ReturnType, Type};

use crate::ctxt::Ctxt;
use crate::expand::upgrade::find_upgrade_arg;
use crate::parse::handler::{binding_name, is_request_ref};
use crate::parse::path::RoutePath;
use crate::validate::compact;

/// Extractors that read the body, by the last segment of their path.
const BODY_EXTRACTORS: [&str; 6] = ["Json", "Form", "Bytes", "String", "Body", "Request"];

/// RULE websocket/body-extractor-in-upgrade: a hook's arguments read only the request head.
pub(super) fn body_extractor_in_upgrade(cx: &Ctxt, item: &ItemFn, path: &RoutePath) {
    for input in &item.sig.inputs {
        let FnArg::Typed(typed) = input else { continue };
        let is_param =
            binding_name(&typed.pat).is_some_and(|name| path.params.iter().any(|p| p.name == name));
        if is_param {
            continue;
        }
        let Type::Path(path) = &*typed.ty else {
            continue;
        };
        let Some(last) = path.path.segments.last() else {
            continue;
        };
        let name = last.ident.to_string();
        if !BODY_EXTRACTORS.contains(&name.as_str()) {
            continue;
        }
        let fix = if name == "Request" {
            "take `&Request` to read the request's head (method, URI, headers, extensions)"
                .to_owned()
        } else {
            "take extractors that read the head only (`HeaderMap`, `Query<T>`, `Uri`, \
             `RemoteAddr`, …), or `&Request`"
                .to_owned()
        };
        cx.error_spanned_by(
            &typed.ty,
            format!(
                "an #[upgrade] hook cannot read the request body: a WebSocket handshake is a `GET` \
                 without one, and the connection is handed to the socket afterwards; {fix}"
            ),
        );
    }
}

/// RULE websocket/reference-argument-in-upgrade: the one reference a hook takes is `&Request`.
pub(super) fn reference_argument_in_upgrade(cx: &Ctxt, item: &ItemFn) {
    for input in &item.sig.inputs {
        let FnArg::Typed(typed) = input else { continue };
        let Type::Reference(reference) = &*typed.ty else {
            continue;
        };
        if is_request_ref(&typed.ty) {
            continue;
        }
        let elem = compact(&reference.elem);
        let message = if reference.mutability.is_some() && elem.ends_with("Request") {
            "an #[upgrade] hook reads the request and cannot change it: take `&Request`".to_owned()
        } else {
            let owned = match elem.as_str() {
                "str" => "String".to_owned(),
                "[u8]" => "Bytes".to_owned(),
                _ => elem.clone(),
            };
            format!(
                "the only reference an #[upgrade] hook may take is `&Request`; take `{owned}` \
                 instead of `{}`",
                compact(&typed.ty)
            )
        };
        cx.error_spanned_by(reference, message);
    }
}

/// RULE websocket/upgrade-return-type: a hook returns its decision, a type the router can name.
pub(super) fn upgrade_return_type(cx: &Ctxt, item: &ItemFn) {
    let usage = "`-> Result<Upgrade<T>, StatusCode>` (accept with the connection's data, or \
                 reject with a response) or `-> Upgrade<T>` (always accept)";
    match &item.sig.output {
        ReturnType::Default => cx.error_spanned_by(
            &item.sig.ident,
            format!("an #[upgrade] hook returns its decision: add {usage}"),
        ),
        ReturnType::Type(_, ty) if crate::expand::handler::contains_impl_trait(ty) => cx
            .error_spanned_by(
                ty,
                format!(
                    "an #[upgrade] hook returns a type the router can name, not `impl Trait`: \
                     {usage}"
                ),
            ),
        ReturnType::Type(_, ty) if find_upgrade_arg(ty).is_none() => cx.error_spanned_by(
            ty,
            format!(
                "an #[upgrade] hook returns its decision, with `Upgrade<T>` written out in the \
                 return type (not behind an alias): {usage}; the router reads the connection's \
                 data type `T` there"
            ),
        ),
        ReturnType::Type(..) => {}
    }
}
