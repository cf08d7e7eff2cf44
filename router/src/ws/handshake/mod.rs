//! The opening handshake (RFC 6455 §4.2, and RFC 8441 over HTTP/2): checking that a request
//! is an acceptable WebSocket handshake for a socket route, and building the response that
//! accepts it (`101 Switching Protocols` on HTTP/1.1, `200` on HTTP/2).
//!
//! [`check`] runs the checks in this order, each failure an [`UpgradeError`] whose
//! [`IntoResponse`] is a `4xx` with a one-line `text/plain` reason:
//!
//! | check | failure |
//! |---|---|
//! | the method is `GET` | `405`, `Allow: GET` |
//! | the request is HTTP/1.1 | `400` |
//! | `Upgrade` lists `websocket`, `Connection` lists `upgrade` | `426`, `Upgrade: websocket` |
//! | `Sec-WebSocket-Version` is `13` | `426`, `Sec-WebSocket-Version: 13` |
//! | one `Sec-WebSocket-Key`, the base64 of 16 bytes | `400` |
//! | `Origin` is allowed ([`SocketOptions::allowed_origins`]) | `403` |
//! | a subprotocol can be agreed on | `400` |
//!
//! Over HTTP/2 ([`check_request`]) a WebSocket is an extended `CONNECT` with
//! `:protocol = websocket` on a stream of its own (the server announces
//! `SETTINGS_ENABLE_CONNECT_PROTOCOL`). It has no `Upgrade`, `Connection` or key: only the
//! version, `Origin`, subprotocol and extension checks apply, and the answer is a `200` with
//! the agreed subprotocol and extensions. The routing table lists socket routes under `GET`;
//! the server looks such a `CONNECT` up as a `GET`.
//!
//! Header lists (`Connection`, `Upgrade`, `Sec-WebSocket-Protocol`) follow RFC 7230 §7: a
//! header may appear several times, each value is a comma-separated list, whitespace around
//! elements and empty elements are ignored. `Connection` and `Upgrade` tokens compare ASCII
//! case-insensitively; subprotocols compare exactly, as browsers compare them.
//!
//! # Compared with Bun
//!
//! Bun 1.4.5's `server.upgrade(req)` is laxer: it ignores the method (a `POST` fails only
//! because Bun refuses it elsewhere), the HTTP version and the `Connection` header, and has
//! no `Origin` check. hyperbun checks them all, as RFC 6455 §4.2.1 asks: hyper only hands
//! over the connection of an HTTP/1.1 request (an `Upgrade` on HTTP/1.0 is ignored), and
//! HTTP/2 and HTTP/3 carry WebSockets with an extended `CONNECT` (RFC 8441, RFC 9220), never
//! with a `101`. Like Bun, a `Sec-WebSocket-Version` other than exactly `13` (even a list
//! such as `13, 8`, which browsers never send) is answered `426` with
//! `Sec-WebSocket-Version: 13`, and a missing, unpadded or duplicated key is a `400`.
//!
//! # Subprotocols
//!
//! Bun has no server-side list: it answers with the client's first offer, and without the
//! header when the client offers none. hyperbun does the same for a route with no
//! [`protocols`](SocketOptions::protocols). With a list, the server picks the first of the
//! client's offers, in the client's order, that the list contains:
//!
//! - the client offers none: the handshake succeeds without a protocol (as in Bun);
//! - the client offers some and none is in the list: `400`. The only other answers would be
//!   to name a protocol the client did not offer, or to name none, and RFC 6455 §4.1 (and the
//!   WHATWG `WebSocket` algorithm) make a client fail the connection in both cases, after the
//!   `101`, with no hint why; a `400` that names the supported protocols tells the developer.
//!
//! Offered elements that are not RFC 7230 tokens (browsers refuse to send them) are never
//! selected, though they do count as offers. An upgrade hook may still choose another offered
//! protocol ([`offered_protocol`] checks one).
//!
//! # The `101` response
//!
//! [`switching_protocols`] sends `Upgrade`, `Connection`, `Sec-WebSocket-Accept` and the
//! selected `Sec-WebSocket-Protocol`, then the route's
//! [`header`](SocketOptions::header)s, then the `extra` headers of the upgrade hook or of
//! `Server::upgrade` (which replace route headers of the same name). Neither may set the
//! handshake's own headers, nor `Sec-WebSocket-Extensions` (an extension the server does not
//! run would corrupt every frame), `Content-Length` or `Transfer-Encoding` (a `101` has no
//! body): those are left out, with a debug log. Bun lets `headers` override
//! `Sec-WebSocket-Protocol`; in hyperbun the hook chooses the protocol through its own field,
//! checked against the client's offers.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use http::header::{
    HeaderMap, HeaderName, HeaderValue, CONNECTION, CONTENT_LENGTH, ORIGIN, SEC_WEBSOCKET_ACCEPT,
    SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL, SEC_WEBSOCKET_VERSION,
    TRANSFER_ENCODING, UPGRADE,
};
use http::{Method, StatusCode, Version};

use crate::ws::deflate::negotiate::{negotiate, Agreed};
use crate::ws::options::SocketOptions;
use crate::{Body, Response};

mod error;

pub use error::UpgradeError;

/// The GUID RFC 6455 §1.3 appends to the key before hashing it.
const GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// An acceptable handshake: what the `101` response needs.
#[derive(Debug, Clone)]
pub(crate) struct Accepted {
    /// `Sec-WebSocket-Accept`: the key's [`accept_key`]; `None` for an HTTP/2 extended
    /// `CONNECT`, which is answered `200` without it.
    pub(crate) accept_key: Option<HeaderValue>,
    /// The selected subprotocol, exactly as the client offered it, if any.
    pub(crate) protocol: Option<HeaderValue>,
    /// The permessage-deflate parameters agreed, if the route has it on and the client
    /// offered it.
    pub(crate) deflate: Option<Agreed>,
}

/// Checks that a request is an acceptable opening handshake for a route with `options`, and
/// selects its subprotocol (see the [module docs](self) for the rules).
pub(crate) fn check(
    method: &Method,
    version: Version,
    headers: &HeaderMap,
    options: &SocketOptions,
) -> Result<Accepted, UpgradeError> {
    if method != Method::GET {
        return Err(UpgradeError::MethodNotAllowed(method.clone()));
    }
    if version != Version::HTTP_11 {
        return Err(UpgradeError::HttpVersion(version));
    }
    if !lists_token(headers, &UPGRADE, b"websocket") {
        return Err(UpgradeError::UpgradeNotWebSocket);
    }
    if !lists_token(headers, &CONNECTION, b"upgrade") {
        return Err(UpgradeError::ConnectionNotUpgrade);
    }
    check_version(headers)?;
    let key = match single(headers, &SEC_WEBSOCKET_KEY) {
        Single::None => return Err(UpgradeError::MissingKey),
        Single::Many => return Err(UpgradeError::MalformedKey),
        Single::One(key) => key.as_bytes().trim_ascii(),
    };
    if !is_valid_key(key) {
        return Err(UpgradeError::MalformedKey);
    }
    agree(headers, options, Some(accept_key(key)))
}

/// Checks `req` in the form it asks for a WebSocket: an HTTP/1.1 upgrade ([`check`]), or an
/// HTTP/2 extended `CONNECT` with `:protocol = websocket` (RFC 8441 §4), which has no
/// `Upgrade`, `Connection` or `Sec-WebSocket-Key` (the stream is the connection; nothing
/// needs proving) but the same version, `Origin`, subprotocol and extension headers.
pub(crate) fn check_request<B>(
    req: &http::Request<B>,
    options: &SocketOptions,
) -> Result<Accepted, UpgradeError> {
    if !is_extended_connect(req) {
        return check(req.method(), req.version(), req.headers(), options);
    }
    check_version(req.headers())?;
    agree(req.headers(), options, None)
}

/// Whether `req` asks for a WebSocket: an HTTP/1.1 request with `Upgrade: websocket`, or an
/// HTTP/2 extended `CONNECT` with `:protocol = websocket` (RFC 8441). For a route that serves
/// a page and a WebSocket on one path, as Bun's `if (server.upgrade(req)) return;` does: ask
/// this, then [`Server::upgrade`](crate::Server::upgrade) (which still checks the whole
/// handshake).
///
/// # Examples
///
/// ```
/// use hyperbun::prelude::*;
/// use hyperbun::ws::is_websocket_request;
///
/// struct Live;
///
/// #[websocket("/unused")]
/// impl Live {
///     fn message(ws: &mut WebSocket, msg: Message) {
///         ws.send(msg);
///     }
/// }
///
/// #[get("/")]
/// async fn index(server: Server, req: Request) -> Response {
///     if !is_websocket_request(&req) {
///         return Html("<h1>Live</h1>").into_response();
///     }
///     match server.upgrade::<Live>(req, HeaderMap::new(), ()) {
///         Ok(switching) => switching,
///         Err(e) => e.into_response(),
///     }
/// }
/// # let _ = hyperbun::router![index];
/// ```
pub fn is_websocket_request<B>(req: &http::Request<B>) -> bool {
    is_extended_connect(req) || lists_token(req.headers(), &UPGRADE, b"websocket")
}

/// An HTTP/2 extended `CONNECT` for a WebSocket (RFC 8441).
pub(crate) fn is_extended_connect<B>(req: &http::Request<B>) -> bool {
    req.method() == Method::CONNECT
        && req.version() == Version::HTTP_2
        && req
            .extensions()
            .get::<hyper::ext::Protocol>()
            .is_some_and(|protocol| protocol.as_str().eq_ignore_ascii_case("websocket"))
}

fn check_version(headers: &HeaderMap) -> Result<(), UpgradeError> {
    match single(headers, &SEC_WEBSOCKET_VERSION) {
        Single::One(v) if v.as_bytes().trim_ascii() == b"13" => Ok(()),
        _ => Err(UpgradeError::WebSocketVersion),
    }
}

/// The checks both forms share: `Origin`, then the subprotocol and extensions agreed on.
fn agree(
    headers: &HeaderMap,
    options: &SocketOptions,
    accept_key: Option<HeaderValue>,
) -> Result<Accepted, UpgradeError> {
    if let Some(allowed) = &options.allowed_origins {
        match single(headers, &ORIGIN) {
            Single::None => return Err(UpgradeError::MissingOrigin),
            Single::Many => return Err(UpgradeError::OriginNotAllowed),
            Single::One(origin) => {
                let origin = origin.as_bytes().trim_ascii();
                if !allowed
                    .iter()
                    .any(|a| a.as_bytes().eq_ignore_ascii_case(origin))
                {
                    return Err(UpgradeError::OriginNotAllowed);
                }
            }
        }
    }
    let protocol = select_protocol(headers, &options.protocols)?;
    let deflate = options
        .per_message_deflate
        .policy()
        .and_then(|policy| negotiate(headers.get_all(SEC_WEBSOCKET_EXTENSIONS), &policy));
    Ok(Accepted {
        accept_key,
        protocol,
        deflate,
    })
}

/// Whether the client offered `protocol` in `Sec-WebSocket-Protocol` (exact comparison), so an
/// upgrade hook's choice is one the client will accept.
pub(crate) fn offered_protocol(headers: &HeaderMap, protocol: &str) -> bool {
    is_token(protocol.as_bytes())
        && list_elements(headers, &SEC_WEBSOCKET_PROTOCOL).any(|offer| offer == protocol.as_bytes())
}

/// The headers the `101` response sets itself, or that must not appear on a `101` at all;
/// route and hook headers with these names are left out.
const RESERVED: [HeaderName; 7] = [
    UPGRADE,
    CONNECTION,
    SEC_WEBSOCKET_ACCEPT,
    SEC_WEBSOCKET_PROTOCOL,
    SEC_WEBSOCKET_EXTENSIONS,
    CONTENT_LENGTH,
    TRANSFER_ENCODING,
];

/// Whether `name` is one of the [`RESERVED`] headers, logging that it is left out if so.
fn reserved(name: &HeaderName, source: &'static str) -> bool {
    let reserved = RESERVED.contains(name);
    if reserved {
        tracing::debug!(
            target: "hyperbun::ws",
            header = %name,
            "{source} header left out of the 101 response: the handshake sets it itself"
        );
    }
    reserved
}

/// The `101 Switching Protocols` response: `Upgrade: websocket`, `Connection: Upgrade`,
/// `Sec-WebSocket-Accept`, the selected `Sec-WebSocket-Protocol` if any, then the route's
/// `options.headers`, then `extra` (the upgrade hook's or `Server::upgrade`'s headers; all
/// values of a name in `extra` replace the route's values of that name). Reserved names
/// (the handshake's own headers, `Sec-WebSocket-Extensions`, `Content-Length`,
/// `Transfer-Encoding`) are left out of both, with a debug log.
pub(crate) fn switching_protocols(
    accepted: &Accepted,
    options: &SocketOptions,
    extra: HeaderMap,
) -> Response {
    let mut response = Response::new(Body::empty());
    let headers = response.headers_mut();
    if let Some(accept_key) = &accepted.accept_key {
        headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
        headers.insert(SEC_WEBSOCKET_ACCEPT, accept_key.clone());
    }
    *response.status_mut() = if accepted.accept_key.is_some() {
        StatusCode::SWITCHING_PROTOCOLS
    } else {
        // RFC 8441 §5: any 2xx accepts an extended CONNECT.
        StatusCode::OK
    };
    let headers = response.headers_mut();
    if let Some(protocol) = &accepted.protocol {
        headers.insert(SEC_WEBSOCKET_PROTOCOL, protocol.clone());
    }
    if let Some(deflate) = &accepted.deflate {
        headers.insert(SEC_WEBSOCKET_EXTENSIONS, deflate.header_value());
    }
    for (name, value) in &options.headers {
        if !reserved(name, "route") {
            headers.append(name.clone(), value.clone());
        }
    }
    // `HeaderMap::into_iter` names a header once, before its first value; `None` follows for
    // its other values.
    let mut current: Option<HeaderName> = None;
    for (name, value) in extra {
        if let Some(name) = name {
            current = if reserved(&name, "upgrade") {
                None
            } else {
                headers.remove(&name);
                Some(name)
            };
        }
        if let Some(name) = &current {
            headers.append(name.clone(), value);
        }
    }
    response
}

/// `Sec-WebSocket-Accept` for `key` (RFC 6455 §4.2.2): the base64 of the SHA-1 of the key
/// followed by the protocol's GUID.
pub(crate) fn accept_key(key: &[u8]) -> HeaderValue {
    let mut sha1 = sha1_smol::Sha1::new();
    sha1.update(key);
    sha1.update(GUID);
    let encoded = BASE64.encode(sha1.digest().bytes());
    HeaderValue::try_from(encoded).expect("base64 is a valid header value")
}

/// Whether `key` is the padded base64 of exactly 16 bytes, as RFC 6455 §4.1 requires.
fn is_valid_key(key: &[u8]) -> bool {
    // 16 bytes encode to 22 characters and `==`; decoding 24 characters needs 18 bytes of room.
    let mut decoded = [0u8; 18];
    key.len() == 24 && matches!(BASE64.decode_slice(key, &mut decoded), Ok(16))
}

/// How many times a header appears, with its value when it appears once.
enum Single<'a> {
    /// Not at all.
    None,
    /// Once, with this value.
    One(&'a HeaderValue),
    /// More than once.
    Many,
}

/// Looks up a header that must appear at most once.
fn single<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Single<'a> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (None, _) => Single::None,
        (Some(value), None) => Single::One(value),
        (Some(_), Some(_)) => Single::Many,
    }
}

/// The elements of a comma-separated header list (RFC 7230 §7) over all of the header's
/// values, trimmed, empty elements skipped.
fn list_elements<'a>(headers: &'a HeaderMap, name: &HeaderName) -> impl Iterator<Item = &'a [u8]> {
    headers
        .get_all(name)
        .into_iter()
        .flat_map(|value| value.as_bytes().split(|&b| b == b','))
        .map(<[u8]>::trim_ascii)
        .filter(|element| !element.is_empty())
}

/// Whether the header list `name` contains `token`, ASCII case-insensitively.
fn lists_token(headers: &HeaderMap, name: &HeaderName, token: &[u8]) -> bool {
    list_elements(headers, name).any(|element| element.eq_ignore_ascii_case(token))
}

/// Whether `s` is an RFC 7230 token (one or more `tchar`s).
fn is_token(s: &[u8]) -> bool {
    !s.is_empty()
        && s.iter().all(|&b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'|'
                        | b'~'
                )
        })
}

/// Selects the subprotocol: the first offer if the route has no list (as Bun does), else the
/// first offer the list contains; offers that all miss the list are an error.
fn select_protocol(
    headers: &HeaderMap,
    supported: &[String],
) -> Result<Option<HeaderValue>, UpgradeError> {
    let mut offered = false;
    for offer in list_elements(headers, &SEC_WEBSOCKET_PROTOCOL) {
        offered = true;
        if is_token(offer)
            && (supported.is_empty() || supported.iter().any(|s| s.as_bytes() == offer))
        {
            // A token is a valid header value.
            return Ok(HeaderValue::from_bytes(offer).ok());
        }
    }
    if offered && !supported.is_empty() {
        return Err(UpgradeError::NoCommonProtocol {
            supported: supported.to_vec(),
        });
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use http::header::ALLOW;

    use super::*;
    use crate::IntoResponse;

    /// A valid handshake's headers, as a browser sends them.
    fn handshake() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(http::header::HOST, HeaderValue::from_static("example.com"));
        h.insert(UPGRADE, HeaderValue::from_static("websocket"));
        h.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
        h.insert(
            SEC_WEBSOCKET_KEY,
            HeaderValue::from_static("dGhlIHNhbXBsZSBub25jZQ=="),
        );
        h.insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        h
    }

    fn run(headers: &HeaderMap, options: &SocketOptions) -> Result<Accepted, UpgradeError> {
        check(&Method::GET, Version::HTTP_11, headers, options)
    }

    fn ok(headers: &HeaderMap) -> Accepted {
        run(headers, &SocketOptions::new()).expect("an acceptable handshake")
    }

    fn err(headers: &HeaderMap) -> UpgradeError {
        run(headers, &SocketOptions::new()).expect_err("a refused handshake")
    }

    fn with(name: HeaderName, values: &[&'static str]) -> HeaderMap {
        let mut h = handshake();
        h.remove(&name);
        for v in values {
            h.append(name.clone(), HeaderValue::from_static(v));
        }
        h
    }

    fn without(name: HeaderName) -> HeaderMap {
        with(name, &[])
    }

    fn protocol_with(options: &SocketOptions, offers: &[&'static str]) -> Option<String> {
        run(&with(SEC_WEBSOCKET_PROTOCOL, offers), options)
            .expect("an acceptable handshake")
            .protocol
            .map(|p| p.to_str().unwrap().to_owned())
    }

    fn body(response: Response) -> String {
        use http_body_util::BodyExt;
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let bytes = rt
            .block_on(response.into_body().collect())
            .unwrap()
            .to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[test]
    fn rfc_example_key() {
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        let accepted = ok(&handshake());
        assert_eq!(
            accepted.accept_key.as_ref().unwrap(),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        assert_eq!(accepted.protocol, None);
    }

    #[test]
    fn method_must_be_get() {
        let e = check(
            &Method::POST,
            Version::HTTP_11,
            &handshake(),
            &SocketOptions::new(),
        )
        .unwrap_err();
        assert!(matches!(e, UpgradeError::MethodNotAllowed(ref m) if m == Method::POST));
        assert_eq!(e.status(), StatusCode::METHOD_NOT_ALLOWED);
        let response = e.into_response();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()[ALLOW], "GET");
        assert_eq!(
            body(response),
            "a WebSocket handshake must be a GET request, not POST"
        );
    }

    #[test]
    fn http_1_0_cannot_upgrade() {
        for version in [Version::HTTP_10, Version::HTTP_09, Version::HTTP_2] {
            let e = check(&Method::GET, version, &handshake(), &SocketOptions::new()).unwrap_err();
            assert!(matches!(e, UpgradeError::HttpVersion(v) if v == version));
            assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        }
        let e = check(
            &Method::GET,
            Version::HTTP_10,
            &handshake(),
            &SocketOptions::new(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "a WebSocket handshake is an HTTP/1.1 upgrade or an HTTP/2 extended CONNECT (RFC 8441); an HTTP/1.0 GET cannot switch protocols"
        );
    }

    #[test]
    fn missing_upgrade_is_426() {
        for headers in [without(UPGRADE), with(UPGRADE, &["h2c"])] {
            let e = err(&headers);
            assert!(matches!(e, UpgradeError::UpgradeNotWebSocket));
            let response = e.into_response();
            assert_eq!(response.status(), StatusCode::UPGRADE_REQUIRED);
            assert_eq!(response.headers()[UPGRADE], "websocket");
            assert_eq!(response.headers()[CONNECTION], "Upgrade");
            assert_eq!(
                response.headers()[http::header::CONTENT_TYPE],
                "text/plain; charset=utf-8"
            );
            assert!(body(response).starts_with("this route only speaks WebSocket"));
        }
    }

    #[test]
    fn missing_connection_upgrade_is_426() {
        for headers in [without(CONNECTION), with(CONNECTION, &["keep-alive"])] {
            let e = err(&headers);
            assert!(matches!(e, UpgradeError::ConnectionNotUpgrade));
            let response = e.into_response();
            assert_eq!(response.status(), StatusCode::UPGRADE_REQUIRED);
            assert_eq!(response.headers()[UPGRADE], "websocket");
            assert_eq!(response.headers()[CONNECTION], "Upgrade");
        }
    }

    #[test]
    fn connection_and_upgrade_are_case_insensitive_lists() {
        ok(&with(CONNECTION, &["keep-alive, Upgrade"]));
        ok(&with(CONNECTION, &["keep-alive", "UPGRADE"]));
        ok(&with(CONNECTION, &[" ,\tkeep-alive ,,upgrade\t, "]));
        ok(&with(UPGRADE, &["WebSocket"]));
        ok(&with(UPGRADE, &["h2c,  websocket "]));
        ok(&with(UPGRADE, &["foo", "WEBSOCKET"]));
        // Substrings and neighbours do not count.
        err(&with(CONNECTION, &["upgrade-insecure-requests"]));
        err(&with(CONNECTION, &["keep-alive upgrade"]));
        err(&with(UPGRADE, &["websockets"]));
    }

    #[test]
    fn version_must_be_13() {
        for headers in [
            without(SEC_WEBSOCKET_VERSION),
            with(SEC_WEBSOCKET_VERSION, &["8"]),
            with(SEC_WEBSOCKET_VERSION, &["13, 8"]),
            with(SEC_WEBSOCKET_VERSION, &["13", "13"]),
        ] {
            let e = err(&headers);
            assert!(matches!(e, UpgradeError::WebSocketVersion));
            let response = e.into_response();
            assert_eq!(response.status(), StatusCode::UPGRADE_REQUIRED);
            assert_eq!(response.headers()[SEC_WEBSOCKET_VERSION], "13");
            assert_eq!(response.headers()[UPGRADE], "websocket");
        }
        ok(&with(SEC_WEBSOCKET_VERSION, &[" 13 "]));
    }

    #[test]
    fn missing_key_is_400() {
        let e = err(&without(SEC_WEBSOCKET_KEY));
        assert!(matches!(e, UpgradeError::MissingKey));
        assert_eq!(e.into_response().status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn malformed_key_is_400() {
        for key in [
            "",
            "abc",
            "AAAAAAAAAAAAAAAAAAAAAA",   // 16 bytes, unpadded
            "AAAAAAAAAAAAAAAAAAAAAAAA", // 18 bytes
            "AAAAAAAAAAAAAAAAAAAAAAA=", // 17 bytes
            "!!!!!!!!!!!!!!!!!!!!!A==", // not base64
            "AAAAAAAAAAAAAAAAAAAAAB==", // non-canonical trailing bits
        ] {
            let e = err(&with(SEC_WEBSOCKET_KEY, &[key]));
            assert!(matches!(e, UpgradeError::MalformedKey), "{key:?}");
            assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        }
        let twice = with(
            SEC_WEBSOCKET_KEY,
            &["dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25jZQ=="],
        );
        assert!(matches!(err(&twice), UpgradeError::MalformedKey));
        assert_ne!(
            UpgradeError::MissingKey.to_string(),
            UpgradeError::MalformedKey.to_string()
        );
        let other = ok(&with(SEC_WEBSOCKET_KEY, &["AAAAAAAAAAAAAAAAAAAAAA=="]));
        assert_eq!(other.accept_key.unwrap(), "ICX+Yqv66kxgM0FcWaLWlFLwTAI=");
    }

    #[test]
    fn any_origin_without_allow_list() {
        ok(&handshake());
        ok(&with(ORIGIN, &["https://evil.example"]));
    }

    #[test]
    fn origin_allow_list() {
        let options =
            SocketOptions::new().allowed_origins(["https://example.com", "http://localhost:3000"]);
        let origin = |values: &[&'static str]| run(&with(ORIGIN, values), &options);
        origin(&["https://example.com"]).unwrap();
        origin(&["HTTPS://Example.COM"]).unwrap();
        origin(&["http://localhost:3000"]).unwrap();

        let e = origin(&[]).unwrap_err();
        assert!(matches!(e, UpgradeError::MissingOrigin));
        assert_eq!(e.into_response().status(), StatusCode::FORBIDDEN);
        for bad in [
            &["https://evil.example"][..],
            &["https://example.com.evil.example"],
            &["http://example.com"],
            &["null"],
            &["https://example.com", "https://example.com"],
        ] {
            let e = origin(bad).unwrap_err();
            assert!(matches!(e, UpgradeError::OriginNotAllowed), "{bad:?}");
            assert_eq!(e.status(), StatusCode::FORBIDDEN);
        }
        // An empty allow-list allows nobody.
        let nobody = SocketOptions::new().allowed_origins(Vec::<String>::new());
        assert!(run(&with(ORIGIN, &["https://example.com"]), &nobody).is_err());
    }

    #[test]
    fn without_server_protocols_the_first_offer_is_echoed() {
        let options = SocketOptions::new();
        assert_eq!(protocol_with(&options, &[]), None);
        assert_eq!(protocol_with(&options, &["chat"]).as_deref(), Some("chat"));
        assert_eq!(
            protocol_with(&options, &["chat, superchat"]).as_deref(),
            Some("chat")
        );
        assert_eq!(
            protocol_with(&options, &["a", "b, c"]).as_deref(),
            Some("a")
        );
        // Unlike Bun, empty elements and non-tokens are skipped, never echoed.
        assert_eq!(
            protocol_with(&options, &["  ,  x ,y"]).as_deref(),
            Some("x")
        );
        assert_eq!(protocol_with(&options, &["x y, z"]).as_deref(), Some("z"));
        assert_eq!(protocol_with(&options, &[""]), None);
    }

    #[test]
    fn server_protocols_pick_the_first_client_offer_they_contain() {
        let options = SocketOptions::new().protocols(["chat.v2", "chat.v1"]);
        // The client's order wins over the server's preference.
        assert_eq!(
            protocol_with(&options, &["chat.v1, chat.v2"]).as_deref(),
            Some("chat.v1")
        );
        assert_eq!(
            protocol_with(&options, &["other", " chat.v2"]).as_deref(),
            Some("chat.v2")
        );
        // No offer: connect without a protocol.
        assert_eq!(protocol_with(&options, &[]), None);
    }

    #[test]
    fn offers_that_all_miss_are_400() {
        let options = SocketOptions::new().protocols(["chat.v2", "chat.v1"]);
        for offers in [&["other"][..], &["CHAT.V2"], &["x, y", "z"], &["chat.v2 x"]] {
            let e = run(&with(SEC_WEBSOCKET_PROTOCOL, offers), &options).unwrap_err();
            assert!(
                matches!(e, UpgradeError::NoCommonProtocol { ref supported } if supported == &["chat.v2", "chat.v1"]),
                "{offers:?}"
            );
            assert_eq!(e.status(), StatusCode::BAD_REQUEST);
            assert_eq!(
                body(e.into_response()),
                "none of the offered subprotocols is spoken here \
                 (`Sec-WebSocket-Protocol` must offer one of: chat.v2, chat.v1)"
            );
        }
    }

    #[test]
    fn offered_protocol_is_exact() {
        let headers = with(SEC_WEBSOCKET_PROTOCOL, &["a, chat", " b "]);
        assert!(offered_protocol(&headers, "chat"));
        assert!(offered_protocol(&headers, "b"));
        assert!(!offered_protocol(&headers, "Chat"));
        assert!(!offered_protocol(&headers, "a, chat"));
        assert!(!offered_protocol(&headers, ""));
        assert!(!offered_protocol(&handshake(), "chat"));
    }

    #[test]
    fn switching_protocols_response() {
        let options = SocketOptions::new()
            .protocols(["chat"])
            .header("x-route", "r")
            .header("x-both", "route");
        let accepted = run(&with(SEC_WEBSOCKET_PROTOCOL, &["chat"]), &options).unwrap();
        let mut extra = HeaderMap::new();
        extra.append("x-both", HeaderValue::from_static("hook1"));
        extra.append("x-both", HeaderValue::from_static("hook2"));
        extra.append("x-hook", HeaderValue::from_static("h"));
        let response = switching_protocols(&accepted, &options, extra);
        assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
        let h = response.headers();
        assert_eq!(h[UPGRADE], "websocket");
        assert_eq!(h[CONNECTION], "Upgrade");
        assert_eq!(h[SEC_WEBSOCKET_ACCEPT], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert_eq!(h[SEC_WEBSOCKET_PROTOCOL], "chat");
        assert_eq!(h["x-route"], "r");
        assert_eq!(h["x-hook"], "h");
        let both: Vec<_> = h.get_all("x-both").iter().collect();
        assert_eq!(both, ["hook1", "hook2"]);
        assert!(!h.contains_key(SEC_WEBSOCKET_EXTENSIONS));
        assert_eq!(body(response), "");
    }

    #[test]
    fn switching_protocols_keeps_the_handshake_headers() {
        let options = SocketOptions::new()
            .header("Connection", "close")
            .header("Sec-WebSocket-Protocol", "route")
            .header("x-route", "r");
        let accepted = ok(&handshake());
        let mut extra = HeaderMap::new();
        for name in RESERVED {
            extra.append(name.clone(), HeaderValue::from_static("bogus"));
            extra.append(name, HeaderValue::from_static("bogus2"));
        }
        extra.append("x-hook", HeaderValue::from_static("h"));
        let response = switching_protocols(&accepted, &options, extra);
        let h = response.headers();
        assert_eq!(h.get_all(UPGRADE).iter().collect::<Vec<_>>(), ["websocket"]);
        assert_eq!(
            h.get_all(CONNECTION).iter().collect::<Vec<_>>(),
            ["Upgrade"]
        );
        assert_eq!(
            h.get_all(SEC_WEBSOCKET_ACCEPT).iter().collect::<Vec<_>>(),
            ["s3pPLMBiTxaQ9kYGzzhZRbK+xOo="]
        );
        for name in [
            SEC_WEBSOCKET_PROTOCOL,
            SEC_WEBSOCKET_EXTENSIONS,
            CONTENT_LENGTH,
            TRANSFER_ENCODING,
        ] {
            assert!(!h.contains_key(&name), "{name}");
        }
        assert_eq!(h["x-route"], "r");
        assert_eq!(h["x-hook"], "h");
    }

    #[test]
    fn invalid_header_is_500() {
        let e = UpgradeError::InvalidHeader(
            http::Response::builder()
                .header("bad name", "v")
                .body(())
                .unwrap_err(),
        );
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(std::error::Error::source(&e).is_some());
        assert_eq!(
            e.into_response().status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    #[test]
    fn forbidden_and_bad_request_have_no_upgrade_headers() {
        let e = err(&without(SEC_WEBSOCKET_KEY)).into_response();
        assert!(!e.headers().contains_key(UPGRADE));
        assert!(!e.headers().contains_key(ALLOW));
    }
}
