//! The signed-in user: the [`Session`] a request carries, the encrypted cookie it travels in,
//! the [`Key`]s that seal it (with rotation), and the extractor that hands it to handlers.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cookie::{Cookie, CookieJar, SameSite};
use http::header::COOKIE;
use http::request::Parts;
use http::{HeaderMap, HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};

use crate::extract::{FromRequestParts, RequestContext};
use crate::{IntoResponse, Response};

/// The session cookie's name.
pub(super) const SESSION_COOKIE: &str = "hyperbun_session";

/// The shortest key accepted: 64 bytes (512 bits), half for encryption, half for signing.
pub const MIN_KEY_LEN: usize = 64;

/// Who signed in.
///
/// From an OAuth provider: its user id (as a string: GitHub's are numbers), login and display
/// name. From a JWT: `id` is `sub`, `login` the `name` claim if there is one (else `sub`),
/// `name` the `name` claim.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The provider's stable id for the user (GitHub: the numeric id, as a string).
    pub id: String,
    /// The user's handle (GitHub: `login`).
    pub login: String,
    /// The user's display name, when the provider has one.
    pub name: Option<String>,
}

impl User {
    /// The name to show: [`name`](Self::name) when there is one, else [`login`](Self::login).
    ///
    /// # Examples
    ///
    /// ```
    /// use hyperbun::auth::User;
    ///
    /// let ada = User { id: "1".into(), login: "ada".into(), name: Some("Ada Lovelace".into()) };
    /// assert_eq!(ada.display_name(), "Ada Lovelace");
    /// let anon = User { name: None, ..ada };
    /// assert_eq!(anon.display_name(), "ada");
    /// ```
    #[must_use]
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.login)
    }
}

/// A signed-in request's session: the [`User`], where they signed in, and until when.
///
/// The [auth layer](super::Auth) puts one in the request's extensions when the request has a
/// valid session cookie or bearer JWT. Handlers and [`#[upgrade]`](crate::upgrade) hooks take
/// it as an argument — `session: Session` answers `401 Unauthorized` ("sign in first") to
/// anonymous requests, `session: Option<Session>` lets them through — or read it with
/// [`Session::get`].
///
/// # Examples
///
/// ```
/// use hyperbun::auth::Session;
/// use hyperbun::prelude::*;
///
/// #[get("/me")]
/// async fn me(session: Session) -> String {
///     format!("hello {}", session.user.display_name())
/// }
///
/// #[get("/")]
/// async fn index(session: Option<Session>) -> String {
///     match session {
///         Some(session) => format!("signed in with {}", session.provider),
///         None => "anonymous".to_owned(),
///     }
/// }
/// # let _ = hyperbun::router![me, index];
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// Who signed in.
    pub user: User,
    /// How: the provider's name (`"github"`, or an [`OAuthProvider`](super::OAuthProvider)'s
    /// name), or `"jwt"` for a bearer token.
    pub provider: String,
    /// When the session ends, in unix seconds: the cookie's expiry, or the token's `exp`.
    pub expires_at: u64,
    /// A bearer token's claims, all of them (`null` for cookie sessions).
    #[serde(default)]
    pub claims: serde_json::Value,
}

impl Session {
    /// The session of a request, if the auth layer found one: Pulsar's `getSession(req)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use hyperbun::auth::Session;
    /// use hyperbun::prelude::*;
    ///
    /// #[get("/whoami")]
    /// async fn whoami(req: Request) -> String {
    ///     match Session::get(&req) {
    ///         Some(session) => session.user.login.clone(),
    ///         None => "nobody".to_owned(),
    ///     }
    /// }
    /// # let _ = hyperbun::router![whoami];
    /// ```
    #[must_use]
    pub fn get<B>(req: &http::Request<B>) -> Option<&Session> {
        req.extensions().get()
    }

    /// The session in a request's extensions: for code that holds the request's
    /// [`Parts`] (`Session::from_extensions(&parts.extensions)`) or a response's.
    #[must_use]
    pub fn from_extensions(extensions: &http::Extensions) -> Option<&Session> {
        extensions.get()
    }

    /// The session of a verified bearer token's claims: `sub` is required (a string).
    pub(super) fn from_claims(claims: serde_json::Value) -> Result<Session, &'static str> {
        let sub = claims
            .get("sub")
            .and_then(serde_json::Value::as_str)
            .ok_or("the token has no `sub` (string) claim")?
            .to_owned();
        let name = claims
            .get("name")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned);
        let expires_at = claims
            .get("exp")
            .and_then(serde_json::Value::as_u64)
            .ok_or("the token's `exp` is not a number of seconds")?;
        Ok(Session {
            user: User {
                id: sub.clone(),
                login: name.clone().unwrap_or(sub),
                name,
            },
            provider: "jwt".to_owned(),
            expires_at,
            claims,
        })
    }

    /// True once `expires_at` has passed.
    #[must_use]
    pub fn is_expired(&self) -> bool {
        self.expires_at <= unix_now()
    }
}

/// `session: Session` as a handler or upgrade-hook argument: the layer's session, or
/// `401 Unauthorized` "sign in first". `Option<Session>` never refuses.
impl FromRequestParts for Session {
    type Rejection = SessionRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _cx: &RequestContext,
    ) -> Result<Self, Self::Rejection> {
        Session::from_extensions(&parts.extensions)
            .cloned()
            .ok_or(SessionRejection(()))
    }
}

/// The answer to a request without a session where a [`Session`] is required:
/// `401 Unauthorized`, "sign in first".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRejection(());

impl IntoResponse for SessionRejection {
    fn into_response(self) -> Response {
        (StatusCode::UNAUTHORIZED, "sign in first").into_response()
    }
}

impl fmt::Display for SessionRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sign in first")
    }
}

impl std::error::Error for SessionRejection {}

/// A key that encrypts and authenticates the auth cookies: at least 64 random bytes
/// ([`MIN_KEY_LEN`]).
///
/// Build one from bytes you keep secret and stable across restarts and replicas (a shorter
/// one is reported by [`AuthBuilder::build`](super::AuthBuilder::build), not here), or
/// [`generate`](Self::generate) one for development — sessions then end with the process.
/// A `cookie::Key` converts too. Its `Debug` output never shows the bytes.
///
/// # Examples
///
/// ```
/// use hyperbun::auth::Key;
///
/// let bytes = [7u8; 64]; // in real life: 64 random bytes from your secret store
/// let key = Key::from(&bytes);
/// assert_eq!(format!("{key:?}"), "Key(..)");
/// let key = Key::from(&bytes[..]);
/// # let _ = key;
/// ```
#[derive(Clone)]
pub struct Key(Result<cookie::Key, usize>);

impl Key {
    /// A random key, for development: cookies sealed with it do not outlive the process.
    #[must_use]
    pub fn generate() -> Key {
        Key(Ok(cookie::Key::generate()))
    }

    /// The usable key, or the length of the too-short bytes it was made from.
    pub(super) fn get(&self) -> Result<&cookie::Key, usize> {
        self.0.as_ref().map_err(|len| *len)
    }
}

impl From<&[u8]> for Key {
    fn from(bytes: &[u8]) -> Self {
        Key(cookie::Key::try_from(bytes).map_err(|_| bytes.len()))
    }
}

impl<const N: usize> From<&[u8; N]> for Key {
    fn from(bytes: &[u8; N]) -> Self {
        Key::from(&bytes[..])
    }
}

impl From<&Vec<u8>> for Key {
    fn from(bytes: &Vec<u8>) -> Self {
        Key::from(bytes.as_slice())
    }
}

impl From<cookie::Key> for Key {
    fn from(key: cookie::Key) -> Self {
        Key(Ok(key))
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Ok(_) => f.write_str("Key(..)"),
            Err(len) => write!(f, "Key(too short: {len} bytes)"),
        }
    }
}

/// The keys cookies are sealed with: new cookies under the current one; cookies under a
/// previous one still open (and are re-issued under the current one).
#[derive(Clone)]
pub(super) struct Keyring {
    current: cookie::Key,
    previous: Vec<cookie::Key>,
}

/// A cookie that opened: its plaintext, and whether an old key sealed it.
#[derive(Debug)]
pub(super) struct Opened {
    pub(super) value: String,
    pub(super) under_previous_key: bool,
}

impl Keyring {
    pub(super) fn new(current: cookie::Key, previous: Vec<cookie::Key>) -> Self {
        Keyring { current, previous }
    }

    /// Encrypts `cookie`'s value under the current key (its name is authenticated with it,
    /// so a value cannot be moved to another cookie).
    pub(super) fn seal(&self, cookie: Cookie<'static>) -> Cookie<'static> {
        let name = cookie.name().to_owned();
        let mut jar = CookieJar::new();
        jar.private_mut(&self.current).add(cookie);
        jar.get(&name)
            .cloned()
            .expect("bug: the jar holds the cookie just added")
    }

    /// The first request cookie named `name` that opens under any key of the ring.
    pub(super) fn open(&self, headers: &HeaderMap, name: &str) -> Option<Opened> {
        let mut jar = CookieJar::new();
        for cookie in request_cookies(headers, name) {
            let keys = std::iter::once(&self.current).chain(&self.previous);
            for (i, key) in keys.enumerate() {
                if let Some(open) = jar.private_mut(key).decrypt(cookie.clone()) {
                    return Some(Opened {
                        value: open.value().to_owned(),
                        under_previous_key: i > 0,
                    });
                }
            }
        }
        None
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("previous_keys", &self.previous.len())
            .finish_non_exhaustive()
    }
}

/// The request's cookies named `name`, from every `Cookie` header (HTTP/2 may split them).
fn request_cookies<'a>(
    headers: &'a HeaderMap,
    name: &'a str,
) -> impl Iterator<Item = Cookie<'static>> + 'a {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .filter(move |cookie| cookie.name() == name)
        .map(Cookie::into_owned)
}

/// The session cookie: [`Session`] as JSON, sealed, `HttpOnly`, `SameSite=Lax`, `Path=/`,
/// `Secure` on https, living until the session's `expires_at`.
#[derive(Debug, Clone)]
pub(super) struct SessionCookies {
    keys: Keyring,
    secure: bool,
}

/// A session read from a request's cookie.
#[derive(Debug)]
pub(super) struct CookieSession {
    pub(super) session: Session,
    /// It was sealed under a previous key: send it again under the current one.
    pub(super) reissue: bool,
}

impl SessionCookies {
    pub(super) fn new(keys: Keyring, secure: bool) -> Self {
        SessionCookies { keys, secure }
    }

    /// The `Set-Cookie` value that stores `session` until its `expires_at`.
    pub(super) fn issue(&self, session: &Session) -> HeaderValue {
        let json = serde_json::to_string(session).expect("bug: a Session serializes");
        let max_age = session.expires_at.saturating_sub(unix_now());
        let cookie = self.keys.seal(
            self.attributes(Cookie::build((SESSION_COOKIE, json)))
                .max_age(cookie::time::Duration::seconds(
                    i64::try_from(max_age).unwrap_or(i64::MAX),
                ))
                .build(),
        );
        let value = cookie.to_string();
        if value.len() > 4096 {
            tracing::warn!(
                target: "hyperbun::auth",
                bytes = value.len(),
                "the session cookie is over 4096 bytes; browsers may drop it"
            );
        }
        HeaderValue::try_from(value).expect("bug: a sealed cookie is a valid header value")
    }

    /// The `Set-Cookie` value that deletes the session cookie.
    pub(super) fn clear(&self) -> HeaderValue {
        removal(self.attributes(Cookie::build((SESSION_COOKIE, ""))))
    }

    /// The request's session, if its cookie opens, parses and has not expired. Anything else
    /// (no cookie, another key, tampered, expired) is no session.
    pub(super) fn read(&self, headers: &HeaderMap) -> Option<CookieSession> {
        let opened = self.keys.open(headers, SESSION_COOKIE)?;
        let session: Session = serde_json::from_str(&opened.value).ok()?;
        if session.is_expired() {
            return None;
        }
        Some(CookieSession {
            session,
            reissue: opened.under_previous_key,
        })
    }

    /// The keys, for the other cookies of the sign-in.
    pub(super) fn keys(&self) -> &Keyring {
        &self.keys
    }

    fn attributes(
        &self,
        builder: cookie::CookieBuilder<'static>,
    ) -> cookie::CookieBuilder<'static> {
        builder
            .http_only(true)
            .same_site(SameSite::Lax)
            .path("/")
            .secure(self.secure)
    }
}

/// A `Set-Cookie` value that deletes the cookie `builder` describes (same name and path).
pub(super) fn removal(builder: cookie::CookieBuilder<'static>) -> HeaderValue {
    let mut cookie = builder.build();
    cookie.make_removal();
    HeaderValue::try_from(cookie.to_string()).expect("bug: a removal cookie is a valid header")
}

/// Seconds since the epoch.
pub(super) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Addr, Server, ServerConfig};

    fn key(byte: u8) -> cookie::Key {
        cookie::Key::from(&[byte; 64])
    }

    fn session(expires_in: i64) -> Session {
        Session {
            user: User {
                id: "42".into(),
                login: "ada".into(),
                name: Some("Ada Lovelace".into()),
            },
            provider: "github".into(),
            expires_at: unix_now().saturating_add_signed(expires_in),
            claims: serde_json::Value::Null,
        }
    }

    /// The request headers a browser sends back for a `Set-Cookie` value.
    fn sent_back(set_cookie: &HeaderValue) -> HeaderMap {
        let cookie = Cookie::parse(set_cookie.to_str().unwrap().to_owned()).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::try_from(format!("other=1; {}={}", cookie.name(), cookie.value()))
                .unwrap(),
        );
        headers
    }

    #[test]
    fn round_trip_with_attributes() {
        let cookies = SessionCookies::new(Keyring::new(key(1), vec![]), true);
        let ada = session(3600);
        let set = cookies.issue(&ada);
        let text = set.to_str().unwrap();
        assert!(text.starts_with("hyperbun_session="), "{text}");
        for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Secure", "Max-Age="] {
            assert!(text.contains(attribute), "{attribute} missing: {text}");
        }
        assert!(!text.contains("ada"), "the cookie is encrypted: {text}");
        let read = cookies.read(&sent_back(&set)).unwrap();
        assert_eq!(read.session, ada);
        assert!(!read.reissue);

        let plain = SessionCookies::new(Keyring::new(key(1), vec![]), false);
        assert!(!plain.issue(&ada).to_str().unwrap().contains("Secure"));
        let clear = plain.clear();
        let clear = clear.to_str().unwrap();
        assert!(
            clear.starts_with("hyperbun_session=;") && clear.contains("Max-Age=0"),
            "{clear}"
        );
    }

    #[test]
    fn tampered_expired_or_foreign_cookies_are_no_session() {
        let cookies = SessionCookies::new(Keyring::new(key(1), vec![]), false);
        let set = cookies.issue(&session(3600));
        let mut headers = sent_back(&set);
        let value = headers[COOKIE].to_str().unwrap().to_owned();
        // Flip one character of the sealed value.
        let at = value.len() - 5;
        let flipped = if &value[at..=at] == "A" { "B" } else { "A" };
        let tampered = format!("{}{flipped}{}", &value[..at], &value[at + 1..]);
        headers.insert(COOKIE, HeaderValue::try_from(tampered).unwrap());
        assert!(cookies.read(&headers).is_none());

        assert!(cookies
            .read(&sent_back(&cookies.issue(&session(-1))))
            .is_none());

        let stranger = SessionCookies::new(Keyring::new(key(9), vec![]), false);
        assert!(stranger.read(&sent_back(&set)).is_none());

        // A value sealed for another cookie name does not open as the session.
        let other = cookies.keys().seal(Cookie::new(
            "hyperbun_oauth",
            serde_json::to_string(&session(60)).unwrap(),
        ));
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::try_from(format!("hyperbun_session={}", other.value())).unwrap(),
        );
        assert!(cookies.read(&headers).is_none());
        assert!(cookies.read(&HeaderMap::new()).is_none());
    }

    #[test]
    fn previous_keys_open_and_ask_for_reissue() {
        let old = SessionCookies::new(Keyring::new(key(1), vec![]), false);
        let set = old.issue(&session(3600));
        let rotated = SessionCookies::new(Keyring::new(key(2), vec![key(3), key(1)]), false);
        let read = rotated.read(&sent_back(&set)).unwrap();
        assert!(read.reissue);
        let again = rotated.issue(&read.session);
        let read = rotated.read(&sent_back(&again)).unwrap();
        assert!(!read.reissue);
        assert!(old.read(&sent_back(&again)).is_none());
        // Dropped from the ring: gone.
        let dropped = SessionCookies::new(Keyring::new(key(2), vec![key(3)]), false);
        assert!(dropped.read(&sent_back(&set)).is_none());
    }

    #[test]
    fn keys_and_their_debug() {
        assert!(Key::from(&[0u8; 64]).get().is_ok());
        assert!(Key::from(&vec![0u8; 100]).get().is_ok());
        assert_eq!(Key::from(&[0u8; 32][..]).get().err(), Some(32));
        assert_eq!(format!("{:?}", Key::from(&[1u8; 64])), "Key(..)");
        assert_eq!(
            format!("{:?}", Key::from(&[1u8; 10])),
            "Key(too short: 10 bytes)"
        );
        assert_eq!(
            format!("{:?}", Keyring::new(key(1), vec![key(2)])),
            "Keyring { previous_keys: 1, .. }"
        );
    }

    #[test]
    fn jwt_claims_make_a_session() {
        let exp = unix_now() + 60;
        let s = Session::from_claims(serde_json::json!({ "sub": "u1", "exp": exp })).unwrap();
        assert_eq!(
            (
                s.user.id.as_str(),
                s.user.login.as_str(),
                s.user.name.as_deref()
            ),
            ("u1", "u1", None)
        );
        assert_eq!((s.provider.as_str(), s.expires_at), ("jwt", exp));
        let s = Session::from_claims(
            serde_json::json!({ "sub": "u1", "name": "Ada", "exp": exp, "role": "admin" }),
        )
        .unwrap();
        assert_eq!(s.user.login, "Ada");
        assert_eq!(s.user.display_name(), "Ada");
        assert_eq!(s.claims["role"], "admin");
        assert!(Session::from_claims(serde_json::json!({ "exp": exp })).is_err());
    }

    #[tokio::test]
    async fn the_extractor_reads_the_extension() {
        let cx = RequestContext {
            params: crate::routing::PathParams::default(),
            server: Server::new(Addr::Unix(None), &ServerConfig::default()),
            remote_addr: Addr::Unix(None),
        };
        let (mut parts, ()) = http::Request::new(()).into_parts();
        let rejection = Session::from_request_parts(&mut parts, &cx)
            .await
            .unwrap_err();
        let response = rejection.into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.into_body().to_bytes().await.unwrap(),
            "sign in first"
        );
        assert_eq!(
            Option::<Session>::from_request_parts(&mut parts, &cx)
                .await
                .unwrap(),
            None
        );
        parts.extensions.insert(session(60));
        let got = Session::from_request_parts(&mut parts, &cx).await.unwrap();
        assert_eq!(got.user.login, "ada");
        let req = http::Request::from_parts(parts, ());
        assert_eq!(Session::get(&req).map(|s| s.user.id.as_str()), Some("42"));
    }
}
