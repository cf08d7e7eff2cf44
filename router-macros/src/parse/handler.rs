//! Classifies a handler function's signature: its arguments are path parameters (bound by
//! name to a `:param`/`*rest` of the route) or extractors; everything else is a rule that
//! `validate` reports.

use syn::{FnArg, ItemFn, Pat, Type};

use crate::parse::path::RoutePath;

/// How one argument is produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArgKind {
    /// The `n`-th parameter of the route path.
    Param(usize),
    /// An extractor that reads only the request head.
    Head,
    /// The last extractor: may consume the whole request, body included.
    Whole,
    /// `&Request` in an `#[upgrade]` hook: the request itself, rebuilt after extraction.
    RequestRef,
}

pub(crate) struct Arg<'a> {
    pub(crate) ty: &'a Type,
    pub(crate) kind: ArgKind,
}

/// A handler's arguments, classified against its route path.
pub(crate) fn classify<'a>(item: &'a ItemFn, path: &RoutePath) -> Vec<Arg<'a>> {
    let mut args: Vec<Arg<'a>> = item
        .sig
        .inputs
        .iter()
        .filter_map(|input| match input {
            FnArg::Typed(typed) => Some(typed),
            FnArg::Receiver(_) => None,
        })
        .map(|typed| {
            let param = binding_name(&typed.pat)
                .and_then(|name| path.params.iter().position(|p| p.name == name));
            Arg {
                ty: &typed.ty,
                kind: param.map_or(ArgKind::Head, ArgKind::Param),
            }
        })
        .collect();
    if let Some(last) = args.iter_mut().rev().find(|a| a.kind == ArgKind::Head) {
        last.kind = ArgKind::Whole;
    }
    args
}

/// An `#[upgrade]` hook's arguments: path parameters, `&Request`, and head extractors
/// (a handshake has no body).
pub(crate) fn classify_hook<'a>(item: &'a ItemFn, path: &RoutePath) -> Vec<Arg<'a>> {
    classify(item, path)
        .into_iter()
        .map(|arg| match arg.kind {
            ArgKind::Head | ArgKind::Whole if is_request_ref(arg.ty) => Arg {
                kind: ArgKind::RequestRef,
                ..arg
            },
            ArgKind::Whole => Arg {
                kind: ArgKind::Head,
                ..arg
            },
            _ => arg,
        })
        .collect()
}

/// `&Request` (any path whose last segment is `Request`, borrowed immutably).
pub(crate) fn is_request_ref(ty: &Type) -> bool {
    let Type::Reference(reference) = ty else {
        return false;
    };
    reference.mutability.is_none()
        && matches!(&*reference.elem, Type::Path(path)
            if path.qself.is_none()
                && path.path.segments.last().is_some_and(|s| s.ident == "Request"))
}

/// The name an argument binds, if it is a plain identifier pattern (`id`, `mut id`).
pub(crate) fn binding_name(pat: &Pat) -> Option<String> {
    match pat {
        Pat::Ident(ident) if ident.subpat.is_none() => Some(ident.ident.to_string()),
        _ => None,
    }
}
