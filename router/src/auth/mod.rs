//! Sign-in (feature `auth`): OAuth2 providers such as GitHub into an encrypted session
//! cookie, and bearer JWTs — Pulsar's `auth` plugin as a tower layer.
//!
//! ```
//! use hyperbun::auth::{Auth, GitHub, Jwt, Key, Session};
//! use hyperbun::prelude::*;
//!
//! #[get("/me")]
//! async fn me(session: Session) -> String {          // 401 "sign in first" without one
//!     format!("hello {}", session.user.display_name())
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let key_bytes = [1u8; 64];
//! let auth = Auth::builder()
//!     .key(Key::from(&key_bytes))                      // 64+ secret random bytes
//!     .provider(GitHub::new("client-id", "client-secret"))
//!     .jwt(Jwt::hs256(b"jwt-secret-of-at-least-32-bytes!"))
//!     .public_url("http://localhost:3000")
//!     .build()?;
//! let router = hyperbun::router![me];
//! let layer = auth.layer();                            // router.layer(layer)
//! # let _ = (router, layer);
//! # Ok(())
//! # }
//! ```
//!
//! # What the layer answers
//!
//! | route | does |
//! |---|---|
//! | `GET {path}/signin/{provider}[?return_to=/local/path]` | `302` to the provider with `state` and a PKCE challenge, both remembered in a sign-in cookie |
//! | `GET {path}/callback/{provider}?code&state` | checks `state`, exchanges the code, fetches the user, sets the session cookie, `302` to `return_to` or `/` |
//! | `GET` or `POST {path}/signout` | deletes the session cookie, `302` to `/` |
//! | `GET {path}/session` | the [`Session`] as JSON, or `401` `{"error":"sign in first"}` |
//!
//! `{path}` is `/auth` unless [`AuthBuilder::path`] says otherwise. Every other request goes
//! to the app, with a [`Session`] in its extensions when it carries a valid session cookie or
//! a valid `Authorization: Bearer` JWT. Handlers take `session: Session` (`401` without one)
//! or `Option<Session>`, or call [`Session::get`]; so do [`#[upgrade]`](crate::upgrade) hooks,
//! which is how a WebSocket learns who is on the other end.
//!
//! | the request has | the app sees |
//! |---|---|
//! | a session cookie that opens under the key or a [previous key](AuthBuilder::previous_keys), not expired | the session (re-sealed under the current key in the response if an old key opened it) |
//! | a cookie that does not open (tampered, another key, expired) | no session: the request goes on anonymous |
//! | `Authorization: Bearer` with a JWT that verifies (needs [`AuthBuilder::jwt`]) | a session with provider `"jwt"`, the token's claims in [`Session::claims`] |
//! | `Authorization: Bearer` with a JWT that does not verify | nothing: the layer answers `401` with `WWW-Authenticate: Bearer error="invalid_token"` and the reason |
//!
//! A callback whose `state` does not match, or without a sign-in in progress, is a `400`
//! with the reason; a provider that refuses the code, answers nonsense or cannot be reached
//! is a `502` with the reason (and a `warn` on the `hyperbun::auth` target); a user who
//! declines at the provider is a `403`.
//!
//! # Why it is built this way
//!
//! - **The session lives in the cookie, sealed.** There is no session store to run, share
//!   between replicas or clean up: the cookie holds the [`Session`] as JSON, encrypted and
//!   authenticated with AES-256-GCM under the [`Key`] (the `cookie` crate's private jar), its
//!   name bound into the seal so no other cookie's value can pass for it. The expiry is
//!   sealed inside too and checked on every request, because `Max-Age` is only a request
//!   to the browser. The price: a session cannot be revoked before it expires except by
//!   rotating the key for everyone, so keep [`session_ttl`](AuthBuilder::session_ttl) as
//!   short as your users tolerate.
//! - **Keys rotate without signing anyone out.** Cookies sealed under a
//!   [previous key](AuthBuilder::previous_keys) still open, and the response carries the
//!   cookie sealed again under the new key; after one session lifetime the old key can go.
//! - **A bad cookie is anonymity, a bad token is an error.** A stale or tampered cookie is
//!   what browsers send after a key change or an expiry, and the page should still render
//!   for a signed-out visitor. A bearer token is sent on purpose by a program, which needs
//!   to hear that it was refused and why (RFC 6750), not a page for anonymous users.
//! - **PKCE and `state` on every sign-in.** `state` ties the callback to the browser that
//!   started the sign-in (no login CSRF), PKCE (S256) ties the code to it (a stolen code
//!   is useless). Both live in a short-lived (10 minutes) sealed cookie scoped to the
//!   callback path, `SameSite=Lax` because the callback is a cross-site top-level
//!   navigation from the provider. `return_to` must be a path on this site: the layer is
//!   no open redirect.
//! - **One JWT algorithm per verifier.** A [`Jwt`] accepts only its own algorithm, so the
//!   classic confusions (`alg: none`, an RSA public key used as an HMAC secret) fail before
//!   the signature is checked. `exp` is required.
//! - **No secret in logs or errors.** Client secrets, cookie keys, JWT secrets, codes and
//!   access tokens never appear in `Debug` output, error messages or log events; the
//!   token endpoint's answer is never echoed (it may hold a token), only its `error` code.
//! - **Plain HTTP only to loopback.** The token request carries the client secret and the
//!   code, the user request the access token: provider URLs must be `https://`, or
//!   `http://` to `127.0.0.1`/`localhost`, for tests and providers on the same machine.
//! - **A tower layer, not a router feature.** It composes like any tower-http layer and
//!   needs nothing from the routes: it answers its own paths before the app, and hands
//!   the app a [`Session`] through the request's extensions. [`AuthService`] is generic
//!   over the request body (it never reads it) and the response body (its own answers are
//!   `String`s converted with `From<String>`, as [`Body`](crate::Body) does).
//!
//! # Cookies
//!
//! | cookie | holds | attributes |
//! |---|---|---|
//! | `hyperbun_session` | the [`Session`], sealed | `HttpOnly; SameSite=Lax; Path=/; Max-Age=<ttl>`, `Secure` when the public URL is `https://` |
//! | `hyperbun_signin` | `state`, the PKCE verifier, `return_to`, sealed | `HttpOnly; SameSite=Lax; Path={path}/callback; Max-Age=600`, `Secure` likewise |
//!
//! The [Sign-in section of the middleware guide](crate::guide::middleware#sign-in) walks
//! through a GitHub setup.

mod builder;
mod http;
mod jwt;
mod layer;
mod oauth;
mod session;

pub use builder::{Auth, AuthBuilder, AuthError, DEFAULT_SESSION_TTL};
pub use jwt::{Jwt, JwtError, DEFAULT_LEEWAY};
pub use layer::{AuthFuture, AuthLayer, AuthService};
pub use oauth::{GitHub, OAuthProvider};
pub use session::{Key, Session, SessionRejection, User, MIN_KEY_LEN};
