//! OAuth2 sign-in: the providers ([`GitHub`], any [`OAuthProvider`]), and the
//! authorization-code flow with PKCE — the redirect out with `state` and an S256 challenge,
//! the sign-in cookie that remembers them, the code exchange and the user fetch.

use std::fmt;
use std::time::Duration;

use cookie::{Cookie, SameSite};
use http::header::{ACCEPT, AUTHORIZATION};
use http::{HeaderMap, HeaderValue, StatusCode};
use oauth2::basic::{BasicClient, BasicErrorResponse};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope,
    TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};

use super::http::{is_loopback, HttpClient, HttpError};
use super::session::{removal, unix_now, Keyring, User};

/// The sign-in cookie: the `state`, PKCE verifier and `return_to` of a sign-in in progress.
pub(super) const SIGNIN_COOKIE: &str = "hyperbun_signin";

/// How long a sign-in may take at the provider: 10 minutes.
const SIGNIN_TTL: Duration = Duration::from_secs(600);

/// An OAuth2 provider for the authorization-code flow with PKCE: where to send the browser,
/// where to exchange the code, where to fetch the user, and which of the user's fields are
/// the id, login and name.
///
/// For GitHub use [`GitHub`], which fills all of this in.
///
/// Its `Debug` output never shows the client secret.
///
/// # Examples
///
/// ```
/// use hyperbun::auth::OAuthProvider;
///
/// let gitlab = OAuthProvider::new(
///     "gitlab",
///     "client-id",
///     "client-secret",
///     "https://gitlab.com/oauth/authorize",
///     "https://gitlab.com/oauth/token",
///     "https://gitlab.com/api/v4/user",
/// )
/// .scopes(["read_user"])
/// .user_fields("id", "username", "name");
/// assert_eq!(gitlab.name(), "gitlab");
/// assert!(!format!("{gitlab:?}").contains("client-secret"));
/// ```
#[derive(Clone)]
pub struct OAuthProvider {
    pub(super) name: String,
    pub(super) client_id: String,
    pub(super) client_secret: String,
    pub(super) authorize_url: String,
    pub(super) token_url: String,
    pub(super) user_url: String,
    scopes: Vec<String>,
    fields: UserFields,
    secret_in_body: bool,
    user_accept: &'static str,
}

/// Which fields of the user endpoint's JSON are the user's id, login and name.
#[derive(Clone, Debug)]
struct UserFields {
    id: String,
    login: String,
    name: String,
}

impl OAuthProvider {
    /// A provider named `name` (the last segment of its sign-in and callback routes: letters,
    /// digits, `-` and `_`), with the client id and secret it issued you and its three
    /// endpoints. The user endpoint is fetched with the access token as a bearer token.
    ///
    /// Defaults: no scopes; user fields `id`, `login`, `name`; the client authenticates with
    /// HTTP Basic (RFC 6749 §2.3.1; [`client_secret_in_body`](Self::client_secret_in_body)
    /// for providers that want it in the form).
    pub fn new(
        name: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        authorize_url: impl Into<String>,
        token_url: impl Into<String>,
        user_url: impl Into<String>,
    ) -> Self {
        OAuthProvider {
            name: name.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            authorize_url: authorize_url.into(),
            token_url: token_url.into(),
            user_url: user_url.into(),
            scopes: Vec::new(),
            fields: UserFields {
                id: "id".into(),
                login: "login".into(),
                name: "name".into(),
            },
            secret_in_body: false,
            user_accept: "application/json",
        }
    }

    /// The scopes to ask for. Default: none.
    #[must_use]
    pub fn scopes<I>(mut self, scopes: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The user endpoint's fields for the user's id (a string or a number; required), login
    /// (falls back to the id) and display name (optional). A field starting with `/` is a
    /// JSON pointer into nested objects (`"/data/id"`). Default: `id`, `login`, `name`
    /// (GitHub's); an OpenID Connect `userinfo` endpoint is `sub`,
    /// `preferred_username`, `name`.
    #[must_use]
    pub fn user_fields(
        mut self,
        id: impl Into<String>,
        login: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        self.fields = UserFields {
            id: id.into(),
            login: login.into(),
            name: name.into(),
        };
        self
    }

    /// Sends the client id and secret in the token request's form (`client_secret_post`)
    /// instead of HTTP Basic. Default: HTTP Basic.
    #[must_use]
    pub fn client_secret_in_body(mut self) -> Self {
        self.secret_in_body = true;
        self
    }

    /// Replaces the authorization endpoint (where the browser is sent).
    #[must_use]
    pub fn authorize_url(mut self, url: impl Into<String>) -> Self {
        self.authorize_url = url.into();
        self
    }

    /// Replaces the token endpoint (where the code is exchanged).
    #[must_use]
    pub fn token_url(mut self, url: impl Into<String>) -> Self {
        self.token_url = url.into();
        self
    }

    /// Replaces the user endpoint (fetched with the access token).
    #[must_use]
    pub fn user_url(mut self, url: impl Into<String>) -> Self {
        self.user_url = url.into();
        self
    }

    /// The provider's name: the last segment of `{path}/signin/{name}` and
    /// `{path}/callback/{name}`, and [`Session::provider`](super::Session::provider).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Debug for OAuthProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthProvider")
            .field("name", &self.name)
            .field("client_id", &self.client_id)
            .field("authorize_url", &self.authorize_url)
            .field("token_url", &self.token_url)
            .field("user_url", &self.user_url)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// GitHub sign-in (an OAuth app or a GitHub app's user authorization).
///
/// The browser goes to `https://github.com/login/oauth/authorize`, the code is exchanged at
/// `https://github.com/login/oauth/access_token` (client secret in the form, as GitHub
/// documents) and the user is `https://api.github.com/user`: its `id` (a number, kept as a
/// string), `login` and `name`. Scope `read:user`. Register the callback URL
/// `PUBLIC_URL/auth/callback/github` with the app. Each URL can be replaced, e.g. to point
/// a test at a fake provider, or at GitHub Enterprise.
///
/// # Examples
///
/// ```
/// use hyperbun::auth::{GitHub, OAuthProvider};
///
/// let github = GitHub::new("Iv1.0123", "secret");
/// let provider = OAuthProvider::from(github);
/// assert_eq!(provider.name(), "github");
///
/// let enterprise = GitHub::new("Iv1.0123", "secret")
///     .authorize_url("https://github.example.com/login/oauth/authorize")
///     .token_url("https://github.example.com/login/oauth/access_token")
///     .user_url("https://github.example.com/api/v3/user");
/// # let _ = enterprise;
/// ```
#[derive(Clone, Debug)]
pub struct GitHub(OAuthProvider);

impl GitHub {
    /// GitHub sign-in with your app's client id and secret.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        let mut provider = OAuthProvider::new(
            "github",
            client_id,
            client_secret,
            "https://github.com/login/oauth/authorize",
            "https://github.com/login/oauth/access_token",
            "https://api.github.com/user",
        )
        .scopes(["read:user"])
        .client_secret_in_body();
        provider.user_accept = "application/vnd.github+json";
        GitHub(provider)
    }

    /// Replaces the authorization endpoint.
    #[must_use]
    pub fn authorize_url(self, url: impl Into<String>) -> Self {
        GitHub(self.0.authorize_url(url))
    }

    /// Replaces the token endpoint.
    #[must_use]
    pub fn token_url(self, url: impl Into<String>) -> Self {
        GitHub(self.0.token_url(url))
    }

    /// Replaces the user endpoint.
    #[must_use]
    pub fn user_url(self, url: impl Into<String>) -> Self {
        GitHub(self.0.user_url(url))
    }

    /// Replaces the scopes (default `read:user`; `user:email` adds the email addresses).
    #[must_use]
    pub fn scopes<I>(self, scopes: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        GitHub(self.0.scopes(scopes))
    }
}

impl From<GitHub> for OAuthProvider {
    fn from(github: GitHub) -> Self {
        github.0
    }
}

/// oauth2's client with the authorization and token endpoints set.
type Client = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// A provider ready to use: checked, with its redirect URI.
#[derive(Clone)]
pub(super) struct Provider {
    pub(super) config: OAuthProvider,
    client: Client,
    user_url: http::Uri,
}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.config.fmt(f)
    }
}

/// A provider's configuration that cannot be used: which URL, and why.
#[derive(Debug)]
pub(super) struct BadUrl {
    pub(super) which: &'static str,
    pub(super) url: String,
    pub(super) reason: String,
}

/// A sign-in in progress, sealed in the sign-in cookie.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Pending {
    /// The provider's name.
    pub(super) provider: String,
    /// The `state` sent to the provider; the callback must bring it back.
    state: String,
    /// The PKCE verifier whose S256 challenge was sent.
    verifier: String,
    /// Where to go once signed in.
    pub(super) return_to: Option<String>,
    /// Unix seconds after which this sign-in is void.
    expires_at: u64,
}

/// Why a callback failed: the status, and a reason safe to show and log.
#[derive(Debug)]
pub(super) struct Failure {
    pub(super) status: StatusCode,
    pub(super) reason: String,
}

impl Failure {
    fn bad_gateway(reason: String) -> Self {
        Failure {
            status: StatusCode::BAD_GATEWAY,
            reason,
        }
    }
}

impl Provider {
    /// Checks `config`'s URLs and builds its oauth2 client, redirecting to `redirect_uri`.
    pub(super) fn new(config: OAuthProvider, redirect_uri: String) -> Result<Self, BadUrl> {
        let auth_url = checked_url("authorize_url", &config.authorize_url)?;
        let token_url = checked_url("token_url", &config.token_url)?;
        checked_url("user_url", &config.user_url)?;
        let user_url = config
            .user_url
            .parse()
            .map_err(|e: http::uri::InvalidUri| BadUrl {
                which: "user_url",
                url: config.user_url.clone(),
                reason: e.to_string(),
            })?;
        let redirect = RedirectUrl::new(redirect_uri.clone()).map_err(|e| BadUrl {
            which: "redirect URI (public_url + path)",
            url: redirect_uri,
            reason: e.to_string(),
        })?;
        let client = BasicClient::new(ClientId::new(config.client_id.clone()))
            .set_client_secret(ClientSecret::new(config.client_secret.clone()))
            .set_auth_uri(AuthUrl::from_url(auth_url))
            .set_token_uri(TokenUrl::from_url(token_url))
            .set_redirect_uri(redirect)
            .set_auth_type(if config.secret_in_body {
                AuthType::RequestBody
            } else {
                AuthType::BasicAuth
            });
        Ok(Provider {
            config,
            client,
            user_url,
        })
    }

    pub(super) fn name(&self) -> &str {
        &self.config.name
    }

    /// Starts a sign-in: the provider's authorization URL (with `state` and the S256
    /// challenge) and the sign-in cookie that remembers them.
    pub(super) fn start(
        &self,
        return_to: Option<String>,
        keys: &Keyring,
        cookie_path: &str,
        secure: bool,
    ) -> (String, HeaderValue) {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = self
            .client
            .authorize_url(CsrfToken::new_random)
            .add_scopes(self.config.scopes.iter().cloned().map(Scope::new))
            .set_pkce_challenge(challenge)
            .url();
        let pending = Pending {
            provider: self.config.name.clone(),
            state: state.secret().clone(),
            verifier: verifier.secret().clone(),
            return_to,
            expires_at: unix_now() + SIGNIN_TTL.as_secs(),
        };
        let json = serde_json::to_string(&pending).expect("bug: Pending serializes");
        let cookie = keys.seal(
            signin_cookie(Cookie::build((SIGNIN_COOKIE, json)), cookie_path, secure)
                .max_age(cookie::time::Duration::seconds(SIGNIN_TTL.as_secs() as i64))
                .build(),
        );
        let cookie = HeaderValue::try_from(cookie.to_string())
            .expect("bug: a sealed cookie is a valid header value");
        (url.to_string(), cookie)
    }

    /// Finishes a sign-in: exchanges `code` with the PKCE verifier, then fetches the user.
    pub(super) async fn finish(
        &self,
        code: String,
        pending: Pending,
        http: &HttpClient,
    ) -> Result<User, Failure> {
        let token = self
            .client
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier))
            .request_async(http)
            .await
            .map_err(|e| Failure::bad_gateway(token_failure(&self.config.name, &e)))?;
        let user = self.fetch_user(token.access_token().secret(), http).await?;
        Ok(user)
    }

    async fn fetch_user(&self, access_token: &str, http: &HttpClient) -> Result<User, Failure> {
        let name = &self.config.name;
        let mut request = http::Request::get(self.user_url.clone())
            .body(Vec::new())
            .expect("bug: a GET with a checked URI is a valid request");
        let headers = request.headers_mut();
        headers.insert(ACCEPT, HeaderValue::from_static(self.config.user_accept));
        let bearer = HeaderValue::try_from(format!("Bearer {access_token}")).map_err(|_| {
            Failure::bad_gateway(format!("{name}: the access token is not a valid header"))
        })?;
        headers.insert(AUTHORIZATION, sensitive(bearer));
        let answer = http
            .send(request)
            .await
            .map_err(|e| Failure::bad_gateway(format!("{name} user endpoint: {e}")))?;
        if answer.status() != StatusCode::OK {
            return Err(Failure::bad_gateway(format!(
                "{name} user endpoint answered {}",
                answer.status()
            )));
        }
        let json: serde_json::Value = serde_json::from_slice(answer.body()).map_err(|_| {
            Failure::bad_gateway(format!("{name} user endpoint: the answer is not JSON"))
        })?;
        self.config
            .fields
            .user(&json)
            .map_err(|why| Failure::bad_gateway(format!("{name} user endpoint: {why}")))
    }
}

impl UserFields {
    fn user(&self, json: &serde_json::Value) -> Result<User, String> {
        let field = |name: &str| {
            if name.starts_with('/') {
                json.pointer(name)
            } else {
                json.get(name)
            }
        };
        let text = |value: &serde_json::Value| match value {
            serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        let id = field(&self.id)
            .and_then(text)
            .ok_or_else(|| format!("the user has no `{}` (a string or a number)", self.id))?;
        let login = field(&self.login)
            .and_then(text)
            .unwrap_or_else(|| id.clone());
        let name = field(&self.name).and_then(text);
        Ok(User { id, login, name })
    }
}

impl Pending {
    /// Opens the request's sign-in cookie.
    pub(super) fn from_cookie(keys: &Keyring, headers: &HeaderMap) -> Option<Pending> {
        let opened = keys.open(headers, SIGNIN_COOKIE)?;
        serde_json::from_str(&opened.value).ok()
    }

    /// Checks that the callback belongs to this sign-in: same provider, same `state`, in
    /// time. The reasons are for the `400` answer.
    pub(super) fn check(&self, provider: &str, state: &str) -> Result<(), &'static str> {
        if self.expires_at <= unix_now() {
            return Err("the sign-in took too long (over 10 minutes); start it again");
        }
        if self.provider != provider {
            return Err("the sign-in in progress is with another provider");
        }
        if !constant_time_eq(self.state.as_bytes(), state.as_bytes()) {
            return Err("`state` does not match the sign-in in progress");
        }
        Ok(())
    }
}

/// The `Set-Cookie` value that deletes the sign-in cookie.
pub(super) fn clear_signin_cookie(cookie_path: &str, secure: bool) -> HeaderValue {
    removal(signin_cookie(
        Cookie::build((SIGNIN_COOKIE, "")),
        cookie_path,
        secure,
    ))
}

fn signin_cookie(
    builder: cookie::CookieBuilder<'static>,
    path: &str,
    secure: bool,
) -> cookie::CookieBuilder<'static> {
    // Lax: the callback is a top-level GET navigation from the provider's site.
    builder
        .http_only(true)
        .same_site(SameSite::Lax)
        .path(path.to_owned())
        .secure(secure)
}

/// Parses a provider URL: `https://`, or `http://` to a loopback address only (the token
/// and user requests carry secrets).
fn checked_url(which: &'static str, url: &str) -> Result<oauth2::url::Url, BadUrl> {
    let bad = |reason: String| BadUrl {
        which,
        url: url.to_owned(),
        reason,
    };
    let parsed = oauth2::url::Url::parse(url).map_err(|e| bad(e.to_string()))?;
    let host = parsed.host_str().ok_or_else(|| bad("no host".into()))?;
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if is_loopback(host) => Ok(parsed),
        "http" => Err(bad(
            "must be https:// (http:// only to a loopback address such as 127.0.0.1)".into(),
        )),
        _ => Err(bad("must be an https:// URL".into())),
    }
}

/// Why the token request failed, in words safe to log: oauth2's errors can hold the answer's
/// body, which may hold a token, so only the error code, a field path or our client's own
/// message is kept.
fn token_failure(
    provider: &str,
    error: &RequestTokenError<HttpError, BasicErrorResponse>,
) -> String {
    match error {
        RequestTokenError::ServerResponse(answer) => {
            format!("{provider} refused the code: {}", answer.error().as_ref())
        }
        RequestTokenError::Request(e) => format!("{provider} token endpoint: {e}"),
        RequestTokenError::Parse(e, body) => {
            // GitHub answers errors with `200 OK` and `{"error": "bad_verification_code"}`.
            #[derive(Deserialize)]
            struct ErrorOnly {
                error: String,
            }
            match serde_json::from_slice::<ErrorOnly>(body) {
                Ok(answer) => format!(
                    "{provider} refused the code: {}",
                    answer.error.chars().take(64).collect::<String>()
                ),
                Err(_) => format!(
                    "{provider} token endpoint: the answer is not a token (at `{}`)",
                    e.path()
                ),
            }
        }
        RequestTokenError::Other(why) => format!("{provider} token endpoint: {why}"),
    }
}

/// Marks a header value sensitive (hyper keeps it out of its HPACK table and debug output).
fn sensitive(mut value: HeaderValue) -> HeaderValue {
    value.set_sensitive(true);
    value
}

/// Compares two byte strings in time independent of where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use http::header::COOKIE;

    use super::*;

    fn keys() -> Keyring {
        Keyring::new(cookie::Key::from(&[3; 64]), vec![])
    }

    fn provider() -> Provider {
        let config = OAuthProvider::new(
            "fake",
            "id-1",
            "secret-1",
            "https://idp.example/authorize?prompt=consent",
            "https://idp.example/token",
            "https://idp.example/user",
        )
        .scopes(["a", "b"]);
        Provider::new(config, "http://localhost:3000/auth/callback/fake".into()).unwrap()
    }

    fn query(url: &str) -> std::collections::HashMap<String, String> {
        let url = oauth2::url::Url::parse(url).unwrap();
        url.query_pairs().into_owned().collect()
    }

    /// The request headers a browser sends back for a `Set-Cookie` value.
    fn sent_back(set_cookie: &HeaderValue) -> HeaderMap {
        let cookie = Cookie::parse(set_cookie.to_str().unwrap().to_owned()).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::try_from(format!("{}={}", cookie.name(), cookie.value())).unwrap(),
        );
        headers
    }

    #[test]
    fn the_authorize_url_carries_state_and_an_s256_challenge() {
        let (url, cookie) =
            provider().start(Some("/after".into()), &keys(), "/auth/callback", true);
        assert!(
            url.starts_with("https://idp.example/authorize?prompt=consent&"),
            "{url}"
        );
        let q = query(&url);
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], "id-1");
        assert_eq!(
            q["redirect_uri"],
            "http://localhost:3000/auth/callback/fake"
        );
        assert_eq!(q["scope"], "a b");
        assert_eq!(q["code_challenge_method"], "S256");
        assert!(!url.contains("secret-1"));

        let text = cookie.to_str().unwrap();
        for attribute in [
            "HttpOnly",
            "SameSite=Lax",
            "Path=/auth/callback",
            "Secure",
            "Max-Age=600",
        ] {
            assert!(text.contains(attribute), "{attribute}: {text}");
        }
        assert!(!text.contains(&q["state"]), "the cookie is sealed");
        let pending = Pending::from_cookie(&keys(), &sent_back(&cookie)).unwrap();
        assert_eq!(pending.state, q["state"]);
        assert_eq!(pending.return_to.as_deref(), Some("/after"));
        // The challenge is SHA-256 of the verifier, base64url without padding (RFC 7636).
        let digest = ring::digest::digest(&ring::digest::SHA256, pending.verifier.as_bytes());
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref());
        assert_eq!(q["code_challenge"], challenge);
        assert!(
            pending.verifier.len() >= 43,
            "RFC 7636: 43 to 128 characters"
        );
        assert!(pending.check("fake", &q["state"]).is_ok());
        assert!(pending.check("fake", "forged").is_err());
        assert!(pending.check("other", &q["state"]).is_err());

        // Every sign-in gets its own state and verifier.
        let (again, _) = provider().start(None, &keys(), "/auth/callback", true);
        assert_ne!(query(&again)["state"], q["state"]);
        assert_ne!(query(&again)["code_challenge"], q["code_challenge"]);
        let cleared = clear_signin_cookie("/auth/callback", false);
        assert!(cleared.to_str().unwrap().contains("Max-Age=0"));
    }

    #[test]
    fn stale_sign_ins_are_refused() {
        let pending = Pending {
            provider: "fake".into(),
            state: "s".into(),
            verifier: "v".into(),
            return_to: None,
            expires_at: unix_now() - 1,
        };
        assert!(pending.check("fake", "s").unwrap_err().contains("too long"));
    }

    #[test]
    fn provider_urls_are_checked() {
        let config = |token: &str| {
            OAuthProvider::new(
                "p",
                "i",
                "s",
                "https://a.example/",
                token,
                "https://a.example/u",
            )
        };
        let redirect = || "http://localhost/auth/callback/p".to_owned();
        assert!(Provider::new(config("http://127.0.0.1:9/token"), redirect()).is_ok());
        assert!(Provider::new(config("http://localhost:9/token"), redirect()).is_ok());
        let bad = Provider::new(config("http://idp.example/token"), redirect()).unwrap_err();
        assert_eq!(bad.which, "token_url");
        assert!(bad.reason.contains("https://"), "{}", bad.reason);
        let bad = Provider::new(config("not a url"), redirect()).unwrap_err();
        assert_eq!(bad.which, "token_url");
        let bad = Provider::new(config("ftp://idp.example/"), redirect()).unwrap_err();
        assert!(bad.reason.contains("https://"));
    }

    #[test]
    fn user_fields() {
        let github = serde_json::json!({ "id": 583231, "login": "octocat", "name": null });
        let fields = OAuthProvider::new("p", "", "", "", "", "").fields;
        let user = fields.user(&github).unwrap();
        assert_eq!(
            (user.id.as_str(), user.login.as_str(), user.name),
            ("583231", "octocat", None)
        );
        let oidc = serde_json::json!({ "data": { "sub": "abc", "preferred_username": "ada", "name": "Ada" } });
        let fields = OAuthProvider::new("p", "", "", "", "", "")
            .user_fields("/data/sub", "/data/preferred_username", "/data/name")
            .fields;
        let user = fields.user(&oidc).unwrap();
        assert_eq!(user.display_name(), "Ada");
        assert_eq!(user.login, "ada");
        let error = fields.user(&serde_json::json!({})).unwrap_err();
        assert!(error.contains("/data/sub"), "{error}");
    }

    #[test]
    fn github_preset() {
        let github: OAuthProvider = GitHub::new("cid", "csecret").into();
        assert_eq!(github.name, "github");
        assert_eq!(
            github.authorize_url,
            "https://github.com/login/oauth/authorize"
        );
        assert_eq!(
            github.token_url,
            "https://github.com/login/oauth/access_token"
        );
        assert_eq!(github.user_url, "https://api.github.com/user");
        assert_eq!(github.scopes, ["read:user"]);
        assert!(github.secret_in_body);
        assert!(!format!("{github:?}").contains("csecret"));
        let moved: OAuthProvider = GitHub::new("cid", "csecret")
            .token_url("http://127.0.0.1:1/token")
            .into();
        assert_eq!(moved.token_url, "http://127.0.0.1:1/token");
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
