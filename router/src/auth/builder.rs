//! [`Auth`]: the configuration, checked once by [`AuthBuilder::build`], that the layer shares.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::http::HttpClient;
use super::jwt::Jwt;
use super::layer::AuthLayer;
use super::oauth::{OAuthProvider, Provider};
use super::session::{Key, Keyring, SessionCookies, MIN_KEY_LEN};

/// How long a session lasts unless [`AuthBuilder::session_ttl`] says otherwise: 7 days.
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// Sign-in for an app: OAuth2 providers into an encrypted session cookie, and bearer JWTs.
/// Build it with [`Auth::builder`], then put [`Auth::layer`] in front of the app.
///
/// Cheap to clone (the configuration is shared). See the [module docs](super) for what the
/// layer answers and how sessions reach handlers.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use hyperbun::auth::{Auth, GitHub, Jwt, Key};
///
/// # fn main() -> Result<(), hyperbun::auth::AuthError> {
/// let key = [42u8; 64]; // 64 random bytes from your secret store, the same on every replica
/// let auth = Auth::builder()
///     .key(Key::from(&key))
///     .provider(GitHub::new("Iv1.0123", "client-secret"))
///     .jwt(Jwt::hs256(b"jwt-secret-of-at-least-32-bytes!"))
///     .public_url("https://app.example.com")
///     .session_ttl(Duration::from_secs(24 * 3600))
///     .build()?;
/// let layer = auth.layer(); // router.layer(layer)
/// # let _ = layer;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Auth {
    pub(super) inner: Arc<Inner>,
}

/// What the layer needs, checked.
pub(super) struct Inner {
    /// The session cookie (absent when no key was given: bearer tokens only).
    pub(super) cookies: Option<SessionCookies>,
    pub(super) providers: Vec<Provider>,
    pub(super) jwt: Option<Jwt>,
    /// The routes' prefix, without a trailing `/` (empty for the root).
    pub(super) path: String,
    pub(super) ttl: Duration,
    pub(super) secure: bool,
    pub(super) http: HttpClient,
}

impl Auth {
    /// A builder with the defaults: routes under `/auth`, sessions of 7 days, no provider,
    /// no JWT.
    pub fn builder() -> AuthBuilder {
        AuthBuilder {
            key: None,
            previous_keys: Vec::new(),
            providers: Vec::new(),
            jwt: None,
            public_url: None,
            path: "/auth".to_owned(),
            ttl: DEFAULT_SESSION_TTL,
        }
    }

    /// The tower layer: wraps the app's service (a hyperbun [`Router`](crate::Router), or
    /// any tower `Service` of `http` requests) in an [`AuthService`](super::AuthService).
    #[must_use]
    pub fn layer(&self) -> AuthLayer {
        AuthLayer {
            auth: Arc::clone(&self.inner),
        }
    }

    /// The prefix of the layer's routes (`/auth` by default; empty for the root).
    #[must_use]
    pub fn path(&self) -> &str {
        &self.inner.path
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let providers: Vec<&str> = self.inner.providers.iter().map(Provider::name).collect();
        f.debug_struct("Auth")
            .field("path", &self.inner.path)
            .field("providers", &providers)
            .field("jwt", &self.inner.jwt)
            .field("cookies", &self.inner.cookies.is_some())
            .field("session_ttl", &self.inner.ttl)
            .finish_non_exhaustive()
    }
}

/// Configures an [`Auth`]; [`build`](Self::build) checks it all at once.
#[must_use = "a builder does nothing until .build()"]
pub struct AuthBuilder {
    key: Option<Key>,
    previous_keys: Vec<Key>,
    providers: Vec<OAuthProvider>,
    jwt: Option<Jwt>,
    public_url: Option<String>,
    path: String,
    ttl: Duration,
}

impl AuthBuilder {
    /// The key that encrypts the session and sign-in cookies (at least 64 random bytes).
    /// Required with a provider. Keep it secret, stable across restarts, the same on every
    /// replica.
    pub fn key(mut self, key: Key) -> Self {
        self.key = Some(key);
        self
    }

    /// Keys that sealed cookies before the current one. Their cookies still open, and are
    /// sealed again under the current key in the same response, so a key can be rotated
    /// without signing anyone out: add the new key with `.key`, move the old one here, and
    /// drop it after a session lifetime. Default: none.
    pub fn previous_keys(mut self, keys: impl IntoIterator<Item = Key>) -> Self {
        self.previous_keys = keys.into_iter().collect();
        self
    }

    /// Adds an OAuth2 provider: [`GitHub`](super::GitHub) or an
    /// [`OAuthProvider`](super::OAuthProvider). Its routes are `{path}/signin/{name}` and
    /// `{path}/callback/{name}`.
    pub fn provider(mut self, provider: impl Into<OAuthProvider>) -> Self {
        self.providers.push(provider.into());
        self
    }

    /// Also accepts `Authorization: Bearer <jwt>` verified by `jwt`; the session's user is
    /// the token's `sub` (and `name`), its provider `"jwt"`. Without it, bearer headers are
    /// left to the app. Default: none.
    pub fn jwt(mut self, jwt: Jwt) -> Self {
        self.jwt = Some(jwt);
        self
    }

    /// Where browsers reach the app, e.g. `https://app.example.com` (a path prefix is
    /// kept). Required with a provider: the provider redirects to
    /// `PUBLIC_URL{path}/callback/{provider}`, the URL to register with it. With `https://`
    /// the cookies are `Secure`.
    pub fn public_url(mut self, url: impl Into<String>) -> Self {
        self.public_url = Some(url.into());
        self
    }

    /// The prefix of the layer's routes. Default: `/auth`.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// How long a session lasts from sign-in (the cookie's `Max-Age`, and the expiry sealed
    /// inside it). Default: 7 days ([`DEFAULT_SESSION_TTL`]).
    pub fn session_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Checks the configuration and builds the [`Auth`].
    ///
    /// # Errors
    ///
    /// An [`AuthError`] naming what is wrong: no provider and no JWT, a missing or short
    /// key, a missing or bad public URL, a bad path, a provider's bad name or URL, two
    /// providers with one name, a zero TTL.
    pub fn build(self) -> Result<Auth, AuthError> {
        if self.providers.is_empty() && self.jwt.is_none() {
            return Err(AuthError::NothingToDo);
        }
        if self.ttl < Duration::from_secs(1) {
            return Err(AuthError::SessionTtl);
        }
        let path = check_path(&self.path)?;
        let keys = match &self.key {
            None => None,
            Some(key) => {
                let current = key
                    .get()
                    .map_err(|len| AuthError::KeyTooShort { len })?
                    .clone();
                let previous = self
                    .previous_keys
                    .iter()
                    .enumerate()
                    .map(|(index, key)| {
                        key.get()
                            .cloned()
                            .map_err(|len| AuthError::PreviousKeyTooShort { index, len })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Some(Keyring::new(current, previous))
            }
        };
        let (base, secure) = match &self.public_url {
            Some(url) => {
                let (base, secure) = check_public_url(url)?;
                (Some(base), secure)
            }
            None => (None, false),
        };
        let mut providers: Vec<Provider> = Vec::new();
        for config in self.providers {
            check_provider_name(&config.name)?;
            if providers.iter().any(|p| p.name() == config.name) {
                return Err(AuthError::DuplicateProvider { name: config.name });
            }
            if keys.is_none() {
                return Err(AuthError::NoKey);
            }
            let Some(base) = &base else {
                return Err(AuthError::NoPublicUrl);
            };
            let redirect = format!("{base}{path}/callback/{}", config.name);
            let name = config.name.clone();
            let provider =
                Provider::new(config, redirect).map_err(|bad| AuthError::ProviderUrl {
                    provider: name,
                    which: bad.which,
                    url: bad.url,
                    reason: bad.reason,
                })?;
            providers.push(provider);
        }
        Ok(Auth {
            inner: Arc::new(Inner {
                cookies: keys.map(|keys| SessionCookies::new(keys, secure)),
                providers,
                jwt: self.jwt,
                path,
                ttl: self.ttl,
                secure,
                http: HttpClient::new(),
            }),
        })
    }
}

impl fmt::Debug for AuthBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthBuilder")
            .field("key", &self.key)
            .field("previous_keys", &self.previous_keys)
            .field("providers", &self.providers)
            .field("jwt", &self.jwt)
            .field("public_url", &self.public_url)
            .field("path", &self.path)
            .field("session_ttl", &self.ttl)
            .finish()
    }
}

/// A configuration [`AuthBuilder::build`] refused; the message says what to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthError {
    /// Neither a provider nor a JWT verifier: the layer would authenticate nothing.
    NothingToDo,
    /// A provider without a cookie key.
    NoKey,
    /// The cookie key is shorter than 64 bytes.
    KeyTooShort {
        /// Its length in bytes.
        len: usize,
    },
    /// A previous key is shorter than 64 bytes.
    PreviousKeyTooShort {
        /// Its position in `previous_keys`, from 0.
        index: usize,
        /// Its length in bytes.
        len: usize,
    },
    /// A provider without a public URL to build its redirect URI from.
    NoPublicUrl,
    /// The public URL is not an `http(s)://host[:port][/prefix]` URL.
    PublicUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The routes' prefix is not a path.
    Path {
        /// The path given.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A provider's name cannot be a path segment (or is reserved).
    ProviderName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Two providers have the same name.
    DuplicateProvider {
        /// The name.
        name: String,
    },
    /// One of a provider's URLs cannot be used.
    ProviderUrl {
        /// The provider's name.
        provider: String,
        /// Which URL: `authorize_url`, `token_url` or `user_url`.
        which: &'static str,
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `session_ttl` is under one second.
    SessionTtl,
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::NothingToDo => {
                f.write_str("auth: nothing to sign in with: add a .provider(..) or a .jwt(..)")
            }
            AuthError::NoKey => f.write_str(
                "auth: a provider needs a cookie key: .key(Key::from(&bytes)) with at least \
                 64 random bytes",
            ),
            AuthError::KeyTooShort { len } => write!(
                f,
                "auth: the cookie key has {len} bytes; it needs at least {MIN_KEY_LEN} random bytes"
            ),
            AuthError::PreviousKeyTooShort { index, len } => write!(
                f,
                "auth: previous key #{index} has {len} bytes; it needs at least {MIN_KEY_LEN}"
            ),
            AuthError::NoPublicUrl => f.write_str(
                "auth: a provider needs .public_url(..), where browsers reach the app \
                 (e.g. https://app.example.com): the provider redirects back to it",
            ),
            AuthError::PublicUrl { url, reason } => {
                write!(f, "auth: public_url `{url}`: {reason}")
            }
            AuthError::Path { path, reason } => write!(f, "auth: path `{path}`: {reason}"),
            AuthError::ProviderName { name, reason } => {
                write!(f, "auth: provider name `{name}`: {reason}")
            }
            AuthError::DuplicateProvider { name } => {
                write!(f, "auth: two providers are named `{name}`")
            }
            AuthError::ProviderUrl {
                provider,
                which,
                url,
                reason,
            } => write!(f, "auth: provider `{provider}`: {which} `{url}`: {reason}"),
            AuthError::SessionTtl => f.write_str("auth: session_ttl must be at least 1 second"),
        }
    }
}

impl std::error::Error for AuthError {}

/// The routes' prefix, without its trailing `/`.
fn check_path(path: &str) -> Result<String, AuthError> {
    let bad = |reason| AuthError::Path {
        path: path.to_owned(),
        reason,
    };
    if !path.starts_with('/') {
        return Err(bad("must start with `/`"));
    }
    if path.contains("//") {
        return Err(bad("has an empty segment (`//`)"));
    }
    if !path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/-_.~".contains(&b))
    {
        return Err(bad(
            "may hold only letters, digits, `/`, `-`, `_`, `.` and `~`",
        ));
    }
    Ok(path.trim_end_matches('/').to_owned())
}

/// The public URL without a trailing `/`, and whether it is https.
fn check_public_url(url: &str) -> Result<(String, bool), AuthError> {
    let bad = |reason| AuthError::PublicUrl {
        url: url.to_owned(),
        reason,
    };
    let uri: http::Uri = url.parse().map_err(|_| bad("not a URL"))?;
    let secure = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(bad("must start with https:// (or http://)")),
    };
    let authority = uri.authority().ok_or_else(|| bad("has no host"))?;
    if authority.as_str().contains('@') {
        return Err(bad("must not hold user information"));
    }
    if uri.query().is_some() || url.contains('#') {
        return Err(bad("must not have a query or a fragment"));
    }
    let prefix = uri.path().trim_end_matches('/');
    let scheme = if secure { "https" } else { "http" };
    Ok((format!("{scheme}://{authority}{prefix}"), secure))
}

fn check_provider_name(name: &str) -> Result<(), AuthError> {
    let bad = |reason| AuthError::ProviderName {
        name: name.to_owned(),
        reason,
    };
    if name.is_empty() {
        return Err(bad("is empty"));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(bad("may hold only letters, digits, `-` and `_`"));
    }
    if name == "jwt" {
        return Err(bad("is reserved for bearer-token sessions"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{GitHub, OAuthProvider};

    fn key() -> Key {
        Key::from(&[1u8; 64])
    }

    fn github() -> GitHub {
        GitHub::new("id", "secret")
    }

    fn error(builder: AuthBuilder) -> AuthError {
        builder.build().unwrap_err()
    }

    #[test]
    fn every_bad_configuration_is_named() {
        assert_eq!(error(Auth::builder()), AuthError::NothingToDo);
        let short = error(
            Auth::builder()
                .key(Key::from(&[1u8; 32]))
                .provider(github())
                .public_url("https://a.example"),
        );
        assert_eq!(short, AuthError::KeyTooShort { len: 32 });
        assert!(short.to_string().contains("32 bytes; it needs at least 64"));
        let previous = error(
            Auth::builder()
                .key(key())
                .previous_keys([key(), Key::from(&[2u8; 10])])
                .provider(github())
                .public_url("https://a.example"),
        );
        assert_eq!(
            previous,
            AuthError::PreviousKeyTooShort { index: 1, len: 10 }
        );
        assert_eq!(
            error(
                Auth::builder()
                    .provider(github())
                    .public_url("https://a.example")
            ),
            AuthError::NoKey
        );
        assert_eq!(
            error(Auth::builder().key(key()).provider(github())),
            AuthError::NoPublicUrl
        );
        for (url, reason) in [
            ("a.example", "must start with https:// (or http://)"),
            ("ftp://a.example", "must start with https:// (or http://)"),
            (
                "https://a.example/?x=1",
                "must not have a query or a fragment",
            ),
            ("https://u:p@a.example", "must not hold user information"),
        ] {
            let e = error(
                Auth::builder()
                    .key(key())
                    .provider(github())
                    .public_url(url),
            );
            assert_eq!(
                e,
                AuthError::PublicUrl {
                    url: url.into(),
                    reason
                },
                "{url}"
            );
        }
        for (path, reason) in [
            ("auth", "must start with `/`"),
            ("/a//b", "has an empty segment (`//`)"),
            (
                "/a?b",
                "may hold only letters, digits, `/`, `-`, `_`, `.` and `~`",
            ),
        ] {
            let e = error(Auth::builder().jwt(Jwt::hs256("s")).path(path));
            assert_eq!(
                e,
                AuthError::Path {
                    path: path.into(),
                    reason
                }
            );
        }
        let fine = Auth::builder()
            .key(key())
            .provider(github())
            .public_url("https://a.example");
        let e = error(fine.provider(github()));
        assert_eq!(
            e,
            AuthError::DuplicateProvider {
                name: "github".into()
            }
        );
        for name in ["", "a/b", "jwt"] {
            let p = OAuthProvider::new(name, "i", "s", "https://x/a", "https://x/t", "https://x/u");
            let e = error(
                Auth::builder()
                    .key(key())
                    .provider(p)
                    .public_url("https://a.example"),
            );
            assert!(matches!(e, AuthError::ProviderName { .. }), "{name}: {e}");
        }
        let e = error(
            Auth::builder()
                .key(key())
                .provider(github().token_url("http://github.example/token"))
                .public_url("https://a.example"),
        );
        assert!(
            matches!(&e, AuthError::ProviderUrl { provider, which: "token_url", .. } if provider == "github"),
            "{e}"
        );
        assert!(e.to_string().contains("http://github.example/token"), "{e}");
        assert_eq!(
            error(
                Auth::builder()
                    .jwt(Jwt::hs256("s"))
                    .session_ttl(Duration::ZERO)
            ),
            AuthError::SessionTtl
        );
    }

    #[test]
    fn a_good_configuration() {
        let auth = Auth::builder()
            .key(key())
            .previous_keys([Key::from(&[2u8; 64])])
            .provider(github())
            .jwt(Jwt::hs256("jwt"))
            .public_url("https://app.example/prefix/")
            .path("/login/")
            .build()
            .unwrap();
        assert_eq!(auth.path(), "/login");
        assert!(auth.inner.secure);
        let debug = format!("{auth:?}");
        assert!(
            debug.contains("github") && !debug.contains("secret"),
            "{debug}"
        );
        let builder = format!("{:?}", Auth::builder().key(key()).provider(github()));
        assert!(
            !builder.contains("secret") && !builder.contains("[1,"),
            "{builder}"
        );
        // Bearer tokens alone need no key and no public URL.
        assert!(Auth::builder().jwt(Jwt::hs256("s")).build().is_ok());
        assert_eq!(
            check_public_url("http://localhost:3000").unwrap(),
            ("http://localhost:3000".into(), false)
        );
        assert_eq!(check_path("/").unwrap(), "");
    }
}
