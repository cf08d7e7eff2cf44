//! The `#[websocket(…)]` grammar and the model of the `impl Type { … }` block it decorates.
//!
//! Arguments: an optional path literal first (default `"/ws"`), then `key = value` options
//! with Bun's names in snake_case (see [`OPTIONS`]). The block holds the socket's handlers,
//! associated functions named like Bun's `websocket` callbacks (see [`HANDLERS`]).

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{Expr, ExprArray, Ident, ImplItem, ImplItemFn, ItemImpl, Lit, LitStr, Token, Type};

use crate::parse::args::{duplicate_option, is_typo_of};

/// The path of a socket declared without one, as in Bun's examples.
pub(crate) const DEFAULT_PATH: &str = "/ws";

/// What an option's value is, and how it is applied to `SocketOptions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OptionKind {
    /// `data = Type`
    Data,
    /// `options = expr`: the `SocketOptions` the others are applied to.
    Base,
    /// A number of bytes (`usize`).
    Bytes,
    /// A count (`usize`).
    Count,
    /// A number of seconds (`u64`), applied as a `Duration`.
    Seconds,
    /// A `bool`.
    Bool,
    /// Anything that converts into `PerMessageDeflate` (`true`, `false` or a value).
    Deflate,
    /// A list of string literals.
    List,
    /// `[("name", "value"), …]`
    Headers,
    /// A `RateLimit` expression.
    RateLimit,
}

/// Every option, in the order error messages list them, with how it is written.
pub(crate) const OPTIONS: &[(&str, OptionKind, &str)] = &[
    ("data", OptionKind::Data, "data = Type"),
    (
        "max_payload_length",
        OptionKind::Bytes,
        "max_payload_length = BYTES",
    ),
    (
        "idle_timeout",
        OptionKind::Seconds,
        "idle_timeout = SECONDS",
    ),
    (
        "backpressure_limit",
        OptionKind::Bytes,
        "backpressure_limit = BYTES",
    ),
    (
        "close_on_backpressure_limit",
        OptionKind::Bool,
        "close_on_backpressure_limit = BOOL",
    ),
    ("send_pings", OptionKind::Bool, "send_pings = BOOL"),
    (
        "publish_to_self",
        OptionKind::Bool,
        "publish_to_self = BOOL",
    ),
    (
        "max_topics_per_socket",
        OptionKind::Count,
        "max_topics_per_socket = COUNT",
    ),
    (
        "per_message_deflate",
        OptionKind::Deflate,
        "per_message_deflate = BOOL or PerMessageDeflate",
    ),
    (
        "protocols",
        OptionKind::List,
        "protocols = [\"chat.v1\", …]",
    ),
    (
        "allowed_origins",
        OptionKind::List,
        "allowed_origins = [\"https://example.com\", …]",
    ),
    (
        "headers",
        OptionKind::Headers,
        "headers = [(\"name\", \"value\"), …]",
    ),
    (
        "rate_limit",
        OptionKind::RateLimit,
        "rate_limit = RateLimit::per_second(N)",
    ),
    ("options", OptionKind::Base, "options = SocketOptions"),
];

/// One option as written.
pub(crate) struct SocketOption {
    pub(crate) key: Ident,
    pub(crate) kind: OptionKind,
    pub(crate) value: OptionValue,
}

pub(crate) enum OptionValue {
    Type(Type),
    Expr(Expr),
    List(Vec<LitStr>),
    Headers(Vec<(LitStr, LitStr)>),
}

/// The parsed attribute arguments.
pub(crate) struct SocketArgs {
    /// The path literal, if given.
    pub(crate) path: Option<LitStr>,
    pub(crate) options: Vec<SocketOption>,
}

impl SocketArgs {
    /// `data = T`, if given.
    pub(crate) fn data(&self) -> Option<&Type> {
        self.options.iter().find_map(|o| match &o.value {
            OptionValue::Type(ty) => Some(ty),
            _ => None,
        })
    }

    /// `options = expr`, if given.
    pub(crate) fn base(&self) -> Option<&Expr> {
        self.options.iter().find_map(|o| match (&o.value, o.kind) {
            (OptionValue::Expr(expr), OptionKind::Base) => Some(expr),
            _ => None,
        })
    }
}

const USAGE: &str = "#[websocket(\"/path\", data = Type, idle_timeout = 60, …)]";

/// RULE websocket/path-not-a-literal: the socket path is a string literal.
fn path_not_a_literal(span: Span) -> syn::Error {
    syn::Error::new(
        span,
        format!(
            "the socket path must be a string literal, written first in the attribute: {USAGE}; \
             the macros check it at compile time, so a constant or expression cannot be used \
             (without a path, the socket is at \"{DEFAULT_PATH}\")"
        ),
    )
}

/// RULE websocket/unknown-option: only the options of [`OPTIONS`] exist.
fn unknown_option(key: &Ident) -> syn::Error {
    let name = key.to_string();
    let snake = snake_case(&name);
    let known = || OPTIONS.iter().map(|(name, _, _)| *name);
    let message = if snake != name && known().any(|o| o == snake) {
        format!(
            "unknown option `{name}` for #[websocket]: options are Bun's names in snake_case; \
             write `{snake}`"
        )
    } else if let Some(close) = known().find(|o| is_typo_of(&name, o) || is_typo_of(&snake, o)) {
        format!("unknown option `{name}` for #[websocket]; did you mean `{close}`?")
    } else {
        let list = OPTIONS
            .iter()
            .map(|(_, _, usage)| format!("`{usage}`"))
            .collect::<Vec<_>>()
            .join(", ");
        format!("unknown option `{name}` for #[websocket]; its options are {list}")
    };
    syn::Error::new(key.span(), message)
}

/// `idleTimeout` → `idle_timeout`.
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// RULE websocket/option-not-a-list: `protocols`, `allowed_origins` and `headers` are
/// literal lists, checked at compile time.
fn option_not_a_list(key: &Ident, usage: &str, value: &dyn Spanned) -> syn::Error {
    syn::Error::new(
        value.span(),
        format!(
            "`{key}` is a list of string literals, checked at compile time: `{usage}`; for a \
             list computed at run time, build the options yourself: \
             `options = SocketOptions::new().{key}(…)`"
        ),
    )
}

/// RULE websocket/invalid-protocol: a subprotocol is an HTTP token (RFC 6455 §4.1).
fn check_protocol(lit: &LitStr) -> syn::Result<()> {
    let value = lit.value();
    if !value.is_empty() && value.bytes().all(is_token_byte) {
        return Ok(());
    }
    Err(syn::Error::new(
        lit.span(),
        format!(
            "{value:?} is not a valid subprotocol name: a subprotocol is a non-empty token of \
             visible ASCII without spaces or separators (`()<>@,;:\\\"/[]?={{}}`), e.g. \"chat.v1\""
        ),
    ))
}

/// RULE websocket/invalid-origin: an allowed origin is written as browsers send `Origin`.
fn check_origin(lit: &LitStr) -> syn::Result<()> {
    let value = lit.value();
    if value == "null" {
        return Ok(());
    }
    let valid = value.split_once("://").is_some_and(|(scheme, rest)| {
        !scheme.is_empty()
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
            && !rest.is_empty()
            && !rest.contains(['/', '?', '#', ' '])
    });
    if valid {
        return Ok(());
    }
    let fix = match value.split_once("://") {
        Some((scheme, rest)) if !rest.is_empty() => {
            let host = rest.split(['/', '?', '#']).next().unwrap_or(rest);
            format!("write \"{scheme}://{host}\"")
        }
        _ => "e.g. \"https://example.com\" or \"http://localhost:3000\"".to_owned(),
    };
    Err(syn::Error::new(
        lit.span(),
        format!(
            "{value:?} is not an origin: browsers send `Origin: scheme://host[:port]`, without \
             a path or a trailing `/`, and the allow-list is compared with it as written; {fix}"
        ),
    ))
}

/// RULE websocket/invalid-header: an extra `101` header has a valid name and value, and is
/// not one the handshake sets.
fn check_header(name: &LitStr, value: &LitStr) -> syn::Result<()> {
    let n = name.value();
    if n.is_empty() || !n.bytes().all(is_token_byte) {
        return Err(syn::Error::new(
            name.span(),
            format!(
                "{n:?} is not a valid header name: a non-empty token of visible ASCII without \
                 spaces or separators, e.g. \"x-server\""
            ),
        ));
    }
    let lower = n.to_ascii_lowercase();
    if [
        "upgrade",
        "connection",
        "sec-websocket-accept",
        "sec-websocket-protocol",
        "sec-websocket-extensions",
    ]
    .contains(&lower.as_str())
    {
        return Err(syn::Error::new(
            name.span(),
            format!(
                "`{n}` is set by the WebSocket handshake and cannot be added; to choose the \
                 subprotocol, use `protocols = [\"…\"]`"
            ),
        ));
    }
    let v = value.value();
    if !v.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b)) {
        return Err(syn::Error::new(
            value.span(),
            format!(
                "{v:?} is not a valid header value: visible ASCII, spaces and tabs only, on one line"
            ),
        ));
    }
    Ok(())
}

/// RULE websocket/zero-rate-limit: a rate limit lets at least one message a second through,
/// in bursts of at least one. Checked where the value is written as literals
/// (`RateLimit::per_second(0)`, `.burst(0)`); a computed `0` is reported when the router is
/// built.
fn check_rate_limit(expr: &Expr) -> syn::Result<()> {
    let (name, args) = match expr {
        Expr::MethodCall(call) => {
            check_rate_limit(&call.receiver)?;
            (Some(&call.method), &call.args)
        }
        Expr::Call(call) => {
            let name = match &*call.func {
                Expr::Path(path) => path.path.segments.last().map(|s| &s.ident),
                _ => None,
            };
            (name, &call.args)
        }
        Expr::Paren(inner) => return check_rate_limit(&inner.expr),
        _ => return Ok(()),
    };
    let Some(name) = name.filter(|n| *n == "per_second" || *n == "burst") else {
        return Ok(());
    };
    let zero = args.iter().find(|arg| {
        matches!(arg, Expr::Lit(syn::ExprLit { lit: Lit::Int(int), .. }) if int.base10_digits() == "0")
    });
    let Some(zero) = zero else { return Ok(()) };
    let fix = if name == "per_second" {
        "for no limit, leave `rate_limit` out"
    } else {
        "write `.burst(1)` or more, or leave `.burst(…)` out for a burst of one second's worth"
    };
    Err(syn::Error::new(
        zero.span(),
        format!(
            "a rate limit of zero would refuse every message: `{name}` must be at least 1; {fix}"
        ),
    ))
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b)
}

fn string_literals(key: &Ident, usage: &str, value: &Expr) -> syn::Result<Vec<LitStr>> {
    let Expr::Array(ExprArray { elems, .. }) = value else {
        return Err(option_not_a_list(key, usage, value));
    };
    elems
        .iter()
        .map(|elem| match elem {
            Expr::Lit(syn::ExprLit {
                lit: Lit::Str(lit), ..
            }) => Ok(lit.clone()),
            other => Err(option_not_a_list(key, usage, other)),
        })
        .collect()
}

fn headers(key: &Ident, usage: &str, value: &Expr) -> syn::Result<Vec<(LitStr, LitStr)>> {
    let Expr::Array(ExprArray { elems, .. }) = value else {
        return Err(option_not_a_list(key, usage, value));
    };
    let mut out = Vec::new();
    for elem in elems {
        let pair = match elem {
            Expr::Tuple(tuple) if tuple.elems.len() == 2 => {
                let mut lits = tuple.elems.iter().map(|e| match e {
                    Expr::Lit(syn::ExprLit {
                        lit: Lit::Str(lit), ..
                    }) => Some(lit.clone()),
                    _ => None,
                });
                lits.next().flatten().zip(lits.next().flatten())
            }
            _ => None,
        };
        let Some((name, value)) = pair else {
            return Err(option_not_a_list(key, usage, elem));
        };
        check_header(&name, &value)?;
        out.push((name, value));
    }
    Ok(out)
}

/// Parses the attribute's tokens.
pub(crate) fn parse_args(tokens: TokenStream) -> syn::Result<SocketArgs> {
    let parser = |input: ParseStream<'_>| -> syn::Result<SocketArgs> {
        let mut args = SocketArgs {
            path: None,
            options: Vec::new(),
        };
        if input.is_empty() {
            return Ok(args);
        }
        if input.peek(LitStr) {
            args.path = Some(input.parse()?);
            if input.is_empty() {
                return Ok(args);
            }
            input.parse::<Token![,]>()?;
        } else if !(input.peek(Ident::peek_any) && input.peek2(Token![=])) {
            return Err(path_not_a_literal(input.span()));
        }
        while !input.is_empty() {
            if input.peek(LitStr) {
                return Err(path_not_a_literal(input.span()));
            }
            let key: Ident = input.call(Ident::parse_any)?;
            let Some(&(_, kind, usage)) = OPTIONS.iter().find(|(name, _, _)| key == name) else {
                return Err(unknown_option(&key));
            };
            if args.options.iter().any(|o| o.key == key) {
                return Err(duplicate_option(&key));
            }
            input.parse::<Token![=]>()?;
            let value = if kind == OptionKind::Data {
                OptionValue::Type(input.parse()?)
            } else {
                let expr: Expr = input.parse()?;
                match kind {
                    OptionKind::List => {
                        let list = string_literals(&key, usage, &expr)?;
                        for lit in &list {
                            if key == "protocols" {
                                check_protocol(lit)?;
                            } else {
                                check_origin(lit)?;
                            }
                        }
                        OptionValue::List(list)
                    }
                    OptionKind::Headers => OptionValue::Headers(headers(&key, usage, &expr)?),
                    OptionKind::RateLimit => {
                        check_rate_limit(&expr)?;
                        OptionValue::Expr(expr)
                    }
                    _ => OptionValue::Expr(expr),
                }
            };
            args.options.push(SocketOption { key, kind, value });
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(args)
    };
    parser.parse2(tokens)
}

/// `T` in `data = T`, read from arguments that do not parse (for the fallback output).
pub(crate) fn recover_data(tokens: TokenStream) -> Option<Type> {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let start = tokens.windows(2).position(|pair| {
        matches!(&pair[0], TokenTree::Ident(key) if key == "data")
            && matches!(&pair[1], TokenTree::Punct(eq) if eq.as_char() == '=')
    })? + 2;
    // Up to the next `,` outside `<…>`.
    let mut depth = 0usize;
    let mut end = tokens.len();
    for (i, tt) in tokens.iter().enumerate().skip(start) {
        if let TokenTree::Punct(p) = tt {
            match p.as_char() {
                '<' => depth += 1,
                '>' => depth = depth.saturating_sub(1),
                ',' if depth == 0 => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
    }
    syn::parse2(tokens[start..end].iter().cloned().collect()).ok()
}

/// The socket handlers, in the order error messages list them: name, and the arguments
/// after `ws` as written in messages.
pub(crate) const HANDLERS: &[(&str, &str)] = &[
    ("open", ""),
    ("message", ", msg: Message"),
    ("rate_limited", ", msg: Message"),
    ("close", ", code: u16, reason: &str"),
    ("drain", ""),
    ("error", ", error: &WebSocketError"),
    ("ping", ", payload: Bytes"),
    ("pong", ", payload: Bytes"),
];

/// How many arguments the handler `name` takes, `ws` included.
pub(crate) fn arity(name: &str) -> usize {
    match name {
        "close" => 3,
        "message" | "rate_limited" | "error" | "ping" | "pong" => 2,
        _ => 1,
    }
}

/// The signature of handler `name`, for messages.
pub(crate) fn signature(name: &str, data: &str) -> String {
    let rest = HANDLERS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or("", |(_, rest)| rest);
    if data == "()" {
        format!("fn {name}(ws: &mut WebSocket{rest})")
    } else {
        format!("fn {name}(ws: &mut WebSocket<{data}>{rest})")
    }
}

/// The block the attribute decorates.
pub(crate) struct SocketImpl<'a> {
    pub(crate) item: &'a ItemImpl,
    /// The type's name: the last segment of `impl path::Type`.
    pub(crate) ident: Option<&'a Ident>,
    /// The handler functions, by name.
    pub(crate) handlers: Vec<&'a ImplItemFn>,
}

pub(crate) fn model(item: &ItemImpl) -> SocketImpl<'_> {
    let ident = match &*item.self_ty {
        Type::Path(path) if path.qself.is_none() => path.path.segments.last().map(|s| &s.ident),
        _ => None,
    };
    let handlers = item
        .items
        .iter()
        .filter_map(|item| match item {
            ImplItem::Fn(f) if HANDLERS.iter().any(|(n, _)| f.sig.ident == n) => Some(f),
            _ => None,
        })
        .collect();
    SocketImpl {
        item,
        ident,
        handlers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(tokens: &str) -> syn::Result<SocketArgs> {
        parse_args(tokens.parse().unwrap())
    }

    fn error(tokens: &str) -> String {
        match args(tokens) {
            Ok(_) => panic!("`{tokens}` parsed"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn grammar() {
        assert!(args("").unwrap().path.is_none());
        assert_eq!(args("\"/chat\"").unwrap().path.unwrap().value(), "/chat");
        let a =
            args("\"/c\", data = Vec<u8>, idle_timeout = 30, protocols = [\"a\", \"b\"]").unwrap();
        assert!(a.data().is_some());
        assert_eq!(a.options.len(), 3);
        let a = args("data = (), options = base()").unwrap();
        assert!(a.path.is_none() && a.base().is_some());
        assert!(args("headers = [(\"x-a\", \"b c\")]").is_ok());
    }

    #[test]
    fn rules() {
        assert!(error("PATH").contains("string literal"));
        assert!(error("data = (), \"/late\"").contains("string literal"));
        assert!(error("idleTimeout = 3").contains("write `idle_timeout`"));
        assert!(error("idle_timout = 3").contains("did you mean `idle_timeout`"));
        assert!(error("compression = true").contains("its options are"));
        assert!(error("send_pings = true, send_pings = false").contains("more than once"));
        assert!(error("protocols = PROTOCOLS").contains("list of string literals"));
        assert!(error("protocols = [\"chat v1\"]").contains("not a valid subprotocol"));
        assert!(error("allowed_origins = [\"https://a.com/\"]").contains("\"https://a.com\""));
        assert!(args("allowed_origins = [\"https://a.com:8443\", \"null\"]").is_ok());
        assert!(error("headers = [(\"Upgrade\", \"x\")]").contains("set by the WebSocket"));
        assert!(error("headers = [(\"x a\", \"x\")]").contains("not a valid header name"));
        assert!(args("rate_limit = RateLimit::per_second(10).burst(20)").is_ok());
        assert!(args("rate_limit = limit()").is_ok());
        assert!(error("rate_limit = RateLimit::per_second(0)")
            .contains("`per_second` must be at least 1"));
        assert!(
            error("rate_limit = RateLimit::per_second(5).burst(0).on_exceed(Drop)")
                .contains("`burst` must be at least 1")
        );
        assert!(error("rateLimit = x()").contains("write `rate_limit`"));
    }

    #[test]
    fn recovers_data() {
        let data = |tokens: &str| {
            recover_data(tokens.parse().unwrap()).map(|t| quote::quote!(#t).to_string())
        };
        assert_eq!(
            data("\"/ws\", data = HashMap<u8, u16>, bad = ").as_deref(),
            Some("HashMap < u8 , u16 >")
        );
        assert_eq!(
            data("idle_timout = 3, data = User").as_deref(),
            Some("User")
        );
        assert_eq!(data("idle_timout = 3"), None);
    }
}
