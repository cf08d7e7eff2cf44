//! Authentication: bearer JWTs (and, next, OAuth2 sign-in into an encrypted session cookie).

mod jwt;
mod session;

pub use jwt::{Jwt, JwtError, DEFAULT_LEEWAY};
pub use session::{Key, Session, SessionRejection, User, MIN_KEY_LEN};
