//! Every rule a `#[websocket]` block follows, one function each, named like its ui-test
//! (`ui-tests/fail/websocket/<rule>.rs`). Type rules (a handler argument of the wrong type, a
//! future that is not `Send`, data that is not `Send`) are the compiler's, spanned at the
//! user's code by `expand::socket`.

use quote::ToTokens;
use syn::{
    FnArg, GenericArgument, ImplItem, ImplItemFn, ItemImpl, PathArguments, ReturnType, Type,
};

use crate::ctxt::Ctxt;
use crate::parse::args::is_typo_of;
use crate::parse::socket::{arity, signature, SocketArgs, SocketImpl, HANDLERS};

/// Runs every rule of the block.
pub(crate) fn socket(cx: &Ctxt, model: &SocketImpl<'_>, args: Option<&SocketArgs>) {
    let item = model.item;
    let data = args.map_or_else(|| "D".to_owned(), data_text);
    let type_name = model
        .ident
        .map_or_else(|| "Type".to_owned(), ToString::to_string);
    not_an_inherent_impl(cx, item);
    generic_socket(cx, item);
    socket_type_not_a_name(cx, model);
    lowercase_socket_type(cx, model);
    for member in &item.items {
        match member {
            ImplItem::Fn(f) if HANDLERS.iter().any(|(n, _)| f.sig.ident == n) => {
                handler(cx, f, &data);
            }
            ImplItem::Fn(f) => unknown_handler(cx, f, &type_name),
            other => item_not_a_handler(cx, other, &type_name),
        }
    }
    // A misnamed `message` (`on_message`) is reported as such, not as a missing one too.
    let misnamed_message = item.items.iter().any(|member| {
        matches!(member, ImplItem::Fn(f) if closest_handler(&f.sig.ident.to_string()) == Some("message"))
    });
    if !misnamed_message {
        missing_message(cx, model, &data);
    }
    if let Some(args) = args {
        data_not_declared(cx, model, args);
    }
}

/// `ClientData` as the user wrote it, or `()`.
pub(crate) fn data_text(args: &SocketArgs) -> String {
    args.data().map_or_else(|| "()".to_owned(), compact)
}

fn handler(cx: &Ctxt, f: &ImplItemFn, data: &str) {
    if self_receiver(cx, f, data) {
        return;
    }
    generic_handler(cx, f);
    unsafe_handler(cx, f);
    if wrong_arity(cx, f, data) {
        return;
    }
    ws_not_a_mut_reference(cx, f, data);
    handler_returns_a_value(cx, f);
}

/// RULE websocket/not-an-inherent-impl: `#[websocket]` decorates `impl Type { … }`.
fn not_an_inherent_impl(cx: &Ctxt, item: &ItemImpl) {
    if let Some((_, trait_path, _)) = &item.trait_ {
        let ty = compact(&item.self_ty);
        cx.error_spanned_by(
            trait_path,
            format!(
                "#[websocket] goes on the socket's own `impl {ty} {{ … }}` block, which holds its \
                 handlers, not on a trait impl; the macro implements the socket's traits itself"
            ),
        );
    }
}

/// RULE websocket/generic-socket: a socket is one concrete type.
fn generic_socket(cx: &Ctxt, item: &ItemImpl) {
    let message = "socket types cannot be generic: the router serves one concrete type per \
                   socket route; declare a type per socket, or make the varying part a field of \
                   `data = …`";
    if !item.generics.params.is_empty() {
        cx.error_spanned_by(&item.generics, message);
    } else if let Type::Path(path) = &*item.self_ty {
        if let Some(segment) = path.path.segments.last() {
            if !matches!(segment.arguments, PathArguments::None) {
                cx.error_spanned_by(&segment.arguments, message);
            }
        }
    }
}

/// RULE websocket/socket-type-not-a-name: the block is `impl Name { … }` for a type of the crate.
fn socket_type_not_a_name(cx: &Ctxt, model: &SocketImpl<'_>) {
    if model.ident.is_none() {
        cx.error_spanned_by(
            &model.item.self_ty,
            "#[websocket] goes on `impl Name { … }`, where `Name` is a struct declared in this \
             crate for the socket (e.g. `struct Chat;`)",
        );
    }
}

/// RULE websocket/lowercase-socket-type: a socket type's name starts with an uppercase letter.
fn lowercase_socket_type(cx: &Ctxt, model: &SocketImpl<'_>) {
    let Some(ident) = model.ident else { return };
    let name = ident.to_string();
    let name = name.trim_start_matches("r#");
    if name.starts_with(char::is_uppercase) {
        return;
    }
    let camel: String = name
        .split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect::<String>()
            })
        })
        .collect();
    cx.error_spanned_by(
        ident,
        format!(
            "socket types are named in UpperCamelCase: `router![…]` tells a socket type from a \
             handler function by the case of its name's first letter; rename `{name}` to `{camel}`"
        ),
    );
}

/// RULE websocket/unknown-handler: the block's functions are the socket's handlers.
fn unknown_handler(cx: &Ctxt, f: &ImplItemFn, type_name: &str) {
    let name = f.sig.ident.to_string();
    let list = handler_list();
    let message = match closest_handler(&name) {
        Some(handler) => format!(
            "`{name}` is not a socket handler; did you mean `{handler}`? A #[websocket] block holds \
             only handlers named {list}; other functions go in a separate `impl {type_name} {{ … }}` \
             block"
        ),
        None => format!(
            "`{name}` is not a socket handler: a #[websocket] block holds only handlers named {list}; \
             move `{name}` to a separate `impl {type_name} {{ … }}` block"
        ),
    };
    cx.error_spanned_by(&f.sig.ident, message);
}

/// The handler a misnamed function probably is: `on_message`, `handleClose`, `onopen`,
/// `mesage`, `disconnect`.
fn closest_handler(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase().replace('_', "");
    let core = ["handle", "on"]
        .iter()
        .find_map(|prefix| lower.strip_prefix(prefix))
        .unwrap_or(&lower);
    let core = core.strip_suffix("handler").unwrap_or(core);
    let synonyms: &[(&str, &str)] = &[
        ("connect", "open"),
        ("connected", "open"),
        ("opened", "open"),
        ("upgrade", "open"),
        ("msg", "message"),
        ("messages", "message"),
        ("receive", "message"),
        ("recv", "message"),
        ("text", "message"),
        ("binary", "message"),
        ("data", "message"),
        ("disconnect", "close"),
        ("disconnected", "close"),
        ("closed", "close"),
        ("drained", "drain"),
        ("writable", "drain"),
        ("err", "error"),
        ("errors", "error"),
        ("ratelimit", "rate_limited"),
        ("ratelimited", "rate_limited"),
        ("ratelimitexceeded", "rate_limited"),
        ("throttle", "rate_limited"),
        ("throttled", "rate_limited"),
        ("limited", "rate_limited"),
    ];
    HANDLERS
        .iter()
        .map(|(h, _)| *h)
        .find(|h| *h == core || is_typo_of(core, h))
        .or_else(|| {
            synonyms
                .iter()
                .find(|(word, _)| *word == core)
                .map(|(_, h)| *h)
        })
}

fn handler_list() -> String {
    let names: Vec<String> = HANDLERS.iter().map(|(n, _)| format!("`{n}`")).collect();
    let (last, rest) = names.split_last().expect("bug: there are handlers");
    format!("{} or {last}", rest.join(", "))
}

/// RULE websocket/item-not-a-handler: the block holds functions only.
fn item_not_a_handler(cx: &Ctxt, item: &ImplItem, type_name: &str) {
    let what = match item {
        ImplItem::Const(_) => "a constant",
        ImplItem::Type(_) => "a type",
        ImplItem::Macro(_) => "a macro call",
        _ => "this item",
    };
    cx.error_spanned_by(
        first_tokens(item),
        format!(
            "a #[websocket] block holds only the socket's handlers ({}); move {what} to a \
             separate `impl {type_name} {{ … }}` block",
            handler_list()
        ),
    );
}

/// The item's tokens up to its name (`const X`), so the error does not cover its body.
fn first_tokens(item: &ImplItem) -> proc_macro2::TokenStream {
    let tokens = item.to_token_stream().into_iter();
    let mut out = proc_macro2::TokenStream::new();
    for tt in tokens {
        let is_ident = matches!(&tt, proc_macro2::TokenTree::Ident(i) if !["pub", "const", "type", "fn"].contains(&i.to_string().as_str()));
        let is_attr = matches!(&tt, proc_macro2::TokenTree::Punct(p) if p.as_char() == '#')
            || matches!(&tt, proc_macro2::TokenTree::Group(g) if g.delimiter() == proc_macro2::Delimiter::Bracket);
        if is_attr && out.is_empty() {
            continue;
        }
        out.extend([tt]);
        if is_ident {
            break;
        }
    }
    out
}

/// RULE websocket/missing-message: a socket has a `message` handler.
fn missing_message(cx: &Ctxt, model: &SocketImpl<'_>, data: &str) {
    if model.handlers.iter().any(|f| f.sig.ident == "message") {
        return;
    }
    cx.error_spanned_by(
        &model.item.self_ty,
        format!(
            "socket `{}` has no `message` handler: every socket handles the messages it \
             receives; add `{} {{ … }}` to this block",
            compact(&model.item.self_ty),
            signature("message", data)
        ),
    );
}

/// RULE websocket/self-receiver: handlers take the socket, not `self`. Returns whether it
/// reported (the other signature rules would only repeat it).
fn self_receiver(cx: &Ctxt, f: &ImplItemFn, data: &str) -> bool {
    let Some(FnArg::Receiver(receiver)) = f.sig.inputs.first() else {
        return false;
    };
    cx.error_spanned_by(
        receiver,
        format!(
            "socket handlers take no `self`: they are called with the connection's socket, \
             `{}`; keep per-connection state in `ws.data` (`data = T`) and shared state in a \
             `static`",
            signature(&f.sig.ident.to_string(), data)
        ),
    );
    true
}

/// RULE websocket/generic-handler: handlers are not generic.
fn generic_handler(cx: &Ctxt, f: &ImplItemFn) {
    let generics = &f.sig.generics;
    if !generics.params.is_empty() {
        cx.error_spanned_by(
            generics,
            "socket handlers cannot be generic: the socket calls each handler with its own \
             concrete types; use concrete types (the socket's data type is `data = T`)",
        );
    } else if let Some(clause) = &generics.where_clause {
        cx.error_spanned_by(
            clause,
            "socket handlers cannot have a `where` clause: they are not generic; remove it",
        );
    }
}

/// RULE websocket/unsafe-handler: handlers are safe functions.
fn unsafe_handler(cx: &Ctxt, f: &ImplItemFn) {
    if let Some(unsafety) = &f.sig.unsafety {
        cx.error_spanned_by(
            unsafety,
            "socket handlers cannot be `unsafe fn`: the socket calls them for any peer and cannot \
             uphold a safety contract; remove `unsafe` here and put `unsafe { … }` blocks inside",
        );
    }
}

/// RULE websocket/wrong-arity: each handler takes its arguments, in order. Returns whether it
/// reported.
fn wrong_arity(cx: &Ctxt, f: &ImplItemFn, data: &str) -> bool {
    let name = f.sig.ident.to_string();
    let expected = arity(&name);
    let found = f.sig.inputs.len();
    if found == expected {
        return false;
    }
    let plural = |n: usize| if n == 1 { "argument" } else { "arguments" };
    let message = format!(
        "the `{name}` handler takes {expected} {}: `{}`; this one takes {found}",
        plural(expected),
        signature(&name, data)
    );
    match f.sig.inputs.iter().nth(expected) {
        Some(extra) => cx.error_spanned_by(extra, message),
        None => cx.error_at(f.sig.paren_token.span.join(), message),
    }
    true
}

/// RULE websocket/ws-not-a-mut-reference: a handler's first argument is `&mut WebSocket<D>`.
fn ws_not_a_mut_reference(cx: &Ctxt, f: &ImplItemFn, data: &str) {
    let Some(FnArg::Typed(first)) = f.sig.inputs.first() else {
        return;
    };
    if let Type::Reference(reference) = &*first.ty {
        if reference.mutability.is_some() {
            return;
        }
    }
    let ws = if data == "()" {
        "WebSocket".to_owned()
    } else {
        format!("WebSocket<{data}>")
    };
    cx.error_spanned_by(
        &first.ty,
        format!(
            "a socket handler's first argument is the socket, borrowed mutably for the call: \
             `ws: &mut {ws}`"
        ),
    );
}

/// RULE websocket/handler-returns-a-value: handlers return `()`.
fn handler_returns_a_value(cx: &Ctxt, f: &ImplItemFn) {
    let ReturnType::Type(_, ty) = &f.sig.output else {
        return;
    };
    if matches!(&**ty, Type::Tuple(t) if t.elems.is_empty()) {
        return;
    }
    cx.error_spanned_by(
        &f.sig.output,
        format!(
            "socket handlers return nothing: remove `-> {}`; to answer the peer, send with \
             `ws.send(…)`",
            compact(ty)
        ),
    );
}

/// RULE websocket/data-not-declared: a socket whose handlers take `WebSocket<T>` declares
/// `data = T`.
fn data_not_declared(cx: &Ctxt, model: &SocketImpl<'_>, args: &SocketArgs) {
    if args.data().is_some() {
        return;
    }
    for f in &model.handlers {
        let Some(FnArg::Typed(first)) = f.sig.inputs.first() else {
            continue;
        };
        let Some(arg) = websocket_data_arg(&first.ty) else {
            continue;
        };
        if matches!(arg, Type::Tuple(t) if t.elems.is_empty()) {
            continue;
        }
        let data = compact(arg);
        cx.error_spanned_by(
            arg,
            format!(
                "this socket declares no `data = …`, so its data is `()`, but `{}` takes \
                 `WebSocket<{data}>`; declare it: #[websocket(\"…\", data = {data})]",
                f.sig.ident
            ),
        );
        return;
    }
}

/// `T` in `&mut WebSocket<T>` (any path ending in `WebSocket`).
fn websocket_data_arg(ty: &Type) -> Option<&Type> {
    let Type::Reference(reference) = ty else {
        return None;
    };
    let Type::Path(path) = &*reference.elem else {
        return None;
    };
    let segment = path.path.segments.last()?;
    if segment.ident != "WebSocket" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &segment.arguments else {
        return None;
    };
    match args.args.first()? {
        GenericArgument::Type(ty) if args.args.len() == 1 => Some(ty),
        _ => None,
    }
}

/// A type as the user would write it (`Vec<u8>`, not `Vec < u8 >`), for messages.
pub(crate) fn compact(ty: &Type) -> String {
    ty.to_token_stream()
        .to_string()
        .replace(' ', "")
        .replace(',', ", ")
        .replace("&mut", "&mut ")
        .replace("dyn", "dyn ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest() {
        assert_eq!(closest_handler("on_message"), Some("message"));
        assert_eq!(closest_handler("onMessage"), Some("message"));
        assert_eq!(closest_handler("handle_close"), Some("close"));
        assert_eq!(closest_handler("onopen"), Some("open"));
        assert_eq!(closest_handler("mesage"), Some("message"));
        assert_eq!(closest_handler("disconnect"), Some("close"));
        assert_eq!(closest_handler("on_drain"), Some("drain"));
        assert_eq!(closest_handler("on_rate_limited"), Some("rate_limited"));
        assert_eq!(closest_handler("rate_limit"), Some("rate_limited"));
        assert_eq!(closest_handler("onThrottled"), Some("rate_limited"));
        assert_eq!(closest_handler("broadcast"), None);
        assert_eq!(closest_handler("helper"), None);
    }
}
