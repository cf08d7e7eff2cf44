//! Authentication: bearer JWTs (and, next, OAuth2 sign-in into an encrypted session cookie).

mod jwt;

pub use jwt::{Jwt, JwtError, DEFAULT_LEEWAY};
