//! JSON Web Tokens: one algorithm per verifier, `exp` required, `nbf` honoured.
//!
//! A [`Jwt`] is built for exactly one algorithm (HS256 with a shared secret, or RS256 with an
//! RSA key) and refuses every token whose header names another: the classic confusions — an
//! RS256 public key used as an HMAC secret, or `"alg": "none"` — are refused before any
//! signature is looked at. The checks run in the order a caller can act on: shape, algorithm,
//! signature, then the time claims, then the claims' type.

use std::fmt;
use std::time::Duration;

use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// How far `exp` and `nbf` may be off by default (clock skew between machines): 30 s.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);

/// A JWT verifier (and signer) for one algorithm and key.
///
/// [`verify`](Self::verify) checks, in order: the token's shape, that its header names this
/// verifier's algorithm (nothing else is ever accepted: no `none`, no HS256 token against an
/// RS256 key), the signature, `exp` (required; a token without one is refused), `nbf` (when
/// present), `aud` and `iss` (when [`audience`](Self::audience) / [`issuer`](Self::issuer)
/// are set), and finally that the claims fit the caller's type. `exp` and `nbf` are allowed
/// [`DEFAULT_LEEWAY`] (30 s) of clock skew unless [`leeway`](Self::leeway) says otherwise.
///
/// Cheap to clone. Its `Debug` output names the algorithm, never the key.
///
/// # Examples
///
/// ```
/// use hyperbun::auth::Jwt;
///
/// #[derive(Debug, serde::Serialize, serde::Deserialize)]
/// struct Claims { sub: String, exp: u64 }
///
/// let jwt = Jwt::hs256(b"a secret of at least 32 bytes, please");
/// let exp = std::time::SystemTime::now()
///     .duration_since(std::time::UNIX_EPOCH)
///     .unwrap()
///     .as_secs() + 3600;
/// let token = jwt.sign(&Claims { sub: "ada".into(), exp }).unwrap();
/// let claims: Claims = jwt.verify(&token).unwrap();
/// assert_eq!(claims.sub, "ada");
///
/// let other = Jwt::hs256(b"another secret");
/// let error = other.verify::<Claims>(&token).unwrap_err();
/// assert_eq!(error.to_string(), "bad signature");
/// ```
#[derive(Clone)]
pub struct Jwt {
    algorithm: Algorithm,
    decoding: DecodingKey,
    encoding: Option<EncodingKey>,
    validation: Validation,
}

impl Jwt {
    /// A verifier and signer for HS256 (HMAC-SHA256) tokens with a shared `secret`. Use at
    /// least 32 random bytes.
    pub fn hs256(secret: impl AsRef<[u8]>) -> Self {
        let secret = secret.as_ref();
        Self::new(
            Algorithm::HS256,
            DecodingKey::from_secret(secret),
            Some(EncodingKey::from_secret(secret)),
        )
    }

    /// A verifier for RS256 (RSA PKCS#1 v1.5 with SHA-256) tokens, from the issuer's RSA
    /// public key in PEM (`-----BEGIN PUBLIC KEY-----` or `-----BEGIN RSA PUBLIC KEY-----`).
    /// It cannot [`sign`](Self::sign); [`rs256_private_pem`](Self::rs256_private_pem) can.
    ///
    /// # Errors
    ///
    /// [`JwtError::Key`] when `public_pem` is not an RSA public key in PEM (a private key
    /// is refused too: give it to [`rs256_private_pem`](Self::rs256_private_pem)).
    pub fn rs256_pem(public_pem: &[u8]) -> Result<Self, JwtError> {
        if looks_private(public_pem) {
            return Err(JwtError::Key(
                "a private key where a public key was expected: Jwt::rs256_pem verifies with \
                 the issuer's public key; Jwt::rs256_private_pem takes the private key"
                    .into(),
            ));
        }
        let decoding = DecodingKey::from_rsa_pem(public_pem).map_err(|e| {
            JwtError::Key(format!(
                "not an RSA public key in PEM (`-----BEGIN PUBLIC KEY-----` or \
                 `-----BEGIN RSA PUBLIC KEY-----`): {}",
                key_reason(&e)
            ))
        })?;
        Ok(Self::new(Algorithm::RS256, decoding, None))
    }

    /// A signer and verifier for RS256 tokens, from an RSA private key in PEM (PKCS#8
    /// `-----BEGIN PRIVATE KEY-----` or PKCS#1 `-----BEGIN RSA PRIVATE KEY-----`); it
    /// verifies with the public half of the same key. For the side that issues tokens, and for
    /// tests and scripts that mint them.
    ///
    /// # Errors
    ///
    /// [`JwtError::Key`] when `private_pem` is not an RSA private key in PEM.
    pub fn rs256_private_pem(private_pem: &[u8]) -> Result<Self, JwtError> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::PrivateKeyDer;

        let not_rsa = |why: String| {
            JwtError::Key(format!(
                "not an RSA private key in PEM (`-----BEGIN PRIVATE KEY-----` or \
                 `-----BEGIN RSA PRIVATE KEY-----`): {why}"
            ))
        };
        let der = PrivateKeyDer::from_pem_slice(private_pem).map_err(|e| not_rsa(e.to_string()))?;
        let pair = match &der {
            PrivateKeyDer::Pkcs8(der) => {
                ring::signature::RsaKeyPair::from_pkcs8(der.secret_pkcs8_der())
            }
            PrivateKeyDer::Pkcs1(der) => {
                ring::signature::RsaKeyPair::from_der(der.secret_pkcs1_der())
            }
            _ => return Err(not_rsa("a key of another algorithm".into())),
        }
        .map_err(|e| match e.to_string().as_str() {
            "WrongAlgorithm" => not_rsa("a key of another algorithm".into()),
            why => not_rsa(format!("ring refused it ({why})")),
        })?;
        let decoding = DecodingKey::from_rsa_der(pair.public().as_ref());
        let encoding =
            EncodingKey::from_rsa_pem(private_pem).map_err(|e| not_rsa(key_reason(&e)))?;
        Ok(Self::new(Algorithm::RS256, decoding, Some(encoding)))
    }

    fn new(algorithm: Algorithm, decoding: DecodingKey, encoding: Option<EncodingKey>) -> Self {
        let mut validation = Validation::new(algorithm);
        validation.leeway = DEFAULT_LEEWAY.as_secs();
        validation.validate_nbf = true;
        // `aud` is checked only when an audience is configured (`audience`).
        validation.validate_aud = false;
        Jwt {
            algorithm,
            decoding,
            encoding,
            validation,
        }
    }

    /// How far `exp` and `nbf` may be off (clock skew). Default: 30 s
    /// ([`DEFAULT_LEEWAY`]).
    #[must_use]
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.validation.leeway = leeway.as_secs();
        self
    }

    /// Requires the `aud` claim to be (or, for an array, contain) `audience`; call again to
    /// accept several. Default: `aud` is not checked.
    #[must_use]
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.validation.validate_aud = true;
        self.validation
            .aud
            .get_or_insert_with(Default::default)
            .insert(audience.into());
        self.validation.required_spec_claims.insert("aud".into());
        self
    }

    /// Requires the `iss` claim to be `issuer`; call again to accept several. Default: `iss`
    /// is not checked.
    #[must_use]
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.validation
            .iss
            .get_or_insert_with(Default::default)
            .insert(issuer.into());
        self.validation.required_spec_claims.insert("iss".into());
        self
    }

    /// The algorithm's name as it appears in a token's header: `"HS256"` or `"RS256"`.
    #[must_use]
    pub fn algorithm(&self) -> &'static str {
        algorithm_name(self.algorithm)
    }

    /// Verifies `token` and returns its claims as `C` (`serde_json::Value` for all of them).
    ///
    /// # Errors
    ///
    /// A [`JwtError`] saying what is wrong: [`Malformed`](JwtError::Malformed),
    /// [`Algorithm`](JwtError::Algorithm), [`BadSignature`](JwtError::BadSignature),
    /// [`Expired`](JwtError::Expired), [`NotYetValid`](JwtError::NotYetValid),
    /// [`MissingClaim`](JwtError::MissingClaim), [`Audience`](JwtError::Audience),
    /// [`Issuer`](JwtError::Issuer), or [`Claims`](JwtError::Claims) when they do not fit
    /// `C`.
    pub fn verify<C: DeserializeOwned>(&self, token: &str) -> Result<C, JwtError> {
        let found = header_algorithm(token)?;
        if found != self.algorithm() {
            return Err(JwtError::Algorithm {
                expected: self.algorithm(),
                found,
            });
        }
        let data =
            jsonwebtoken::decode::<serde_json::Value>(token, &self.decoding, &self.validation)
                .map_err(|e| JwtError::from_jsonwebtoken(&e))?;
        serde_json::from_value(data.claims).map_err(|e| JwtError::Claims(e.to_string()))
    }

    /// Signs `claims` into a token with this key's algorithm. Include an `exp` (unix
    /// seconds): [`verify`](Self::verify) refuses tokens without one.
    ///
    /// # Errors
    ///
    /// [`JwtError::CannotSign`] for a verifier built from a public key
    /// ([`rs256_pem`](Self::rs256_pem)); [`JwtError::Claims`] if `claims` do not serialize
    /// to a JSON object.
    pub fn sign<C: Serialize>(&self, claims: &C) -> Result<String, JwtError> {
        let Some(encoding) = &self.encoding else {
            return Err(JwtError::CannotSign);
        };
        let value = serde_json::to_value(claims).map_err(|e| JwtError::Claims(e.to_string()))?;
        if !value.is_object() {
            return Err(JwtError::Claims(
                "claims must serialize to a JSON object".into(),
            ));
        }
        jsonwebtoken::encode(&Header::new(self.algorithm), &value, encoding)
            .map_err(|e| JwtError::from_jsonwebtoken(&e))
    }
}

impl fmt::Debug for Jwt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwt")
            .field("algorithm", &self.algorithm())
            .field("can_sign", &self.encoding.is_some())
            .field("leeway_secs", &self.validation.leeway)
            .finish_non_exhaustive()
    }
}

/// Why a token was refused (or could not be made). Its `Display` says what was wrong and
/// never contains the token, a key or a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwtError {
    /// Not a JWT: not three base64url parts, or a header or payload that is not JSON.
    Malformed(&'static str),
    /// The header names another algorithm than the verifier's (`none` included).
    Algorithm {
        /// The verifier's algorithm.
        expected: &'static str,
        /// The header's `alg` (cut to 16 characters), or `(none given)`.
        found: String,
    },
    /// The signature does not match: another key, or a changed header or payload.
    BadSignature,
    /// `exp` has passed (beyond the leeway).
    Expired,
    /// `nbf` has not come yet (beyond the leeway).
    NotYetValid,
    /// A required claim is absent (`exp` always; `aud`/`iss` when configured).
    MissingClaim(String),
    /// `aud` is not an accepted audience.
    Audience,
    /// `iss` is not an accepted issuer.
    Issuer,
    /// The claims do not fit the requested type (or, signing, do not serialize to an
    /// object); serde's message.
    Claims(String),
    /// A key that cannot be used: bad PEM, not RSA, a private key where a public one was
    /// expected.
    Key(String),
    /// [`Jwt::sign`] on a verifier that holds only a public key.
    CannotSign,
}

impl JwtError {
    fn from_jsonwebtoken(error: &jsonwebtoken::errors::Error) -> Self {
        use jsonwebtoken::errors::ErrorKind as K;
        match error.kind() {
            K::InvalidSignature => JwtError::BadSignature,
            K::ExpiredSignature => JwtError::Expired,
            K::ImmatureSignature => JwtError::NotYetValid,
            K::MissingRequiredClaim(claim) => JwtError::MissingClaim(claim.clone()),
            K::InvalidAudience => JwtError::Audience,
            K::InvalidIssuer => JwtError::Issuer,
            K::InvalidToken => JwtError::Malformed("not three dot-separated parts"),
            K::Base64(_) => JwtError::Malformed("a part is not base64url"),
            K::Utf8(_) => JwtError::Malformed("a part is not UTF-8"),
            K::Json(_) => JwtError::Malformed("the header or payload is not a JSON object"),
            K::InvalidAlgorithm | K::InvalidAlgorithmName | K::MissingAlgorithm => {
                JwtError::Malformed("the header's algorithm is not usable")
            }
            K::InvalidRsaKey(_) | K::InvalidEcdsaKey | K::InvalidKeyFormat => {
                JwtError::Key("the key cannot be used for this algorithm".into())
            }
            K::RsaFailedSigning | K::Crypto(_) => JwtError::Key("signing failed".into()),
            // The remaining kinds (`sub` checks) are not configured by `Jwt`.
            _ => JwtError::Malformed("the token was refused"),
        }
    }
}

impl fmt::Display for JwtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JwtError::Malformed(why) => write!(f, "malformed token: {why}"),
            JwtError::Algorithm { expected, found } => {
                write!(f, "algorithm {found} not accepted (expected {expected})")
            }
            JwtError::BadSignature => f.write_str("bad signature"),
            JwtError::Expired => f.write_str("token expired"),
            JwtError::NotYetValid => f.write_str("token not yet valid (nbf)"),
            JwtError::MissingClaim(claim) => write!(f, "missing claim `{claim}`"),
            JwtError::Audience => f.write_str("audience (aud) not accepted"),
            JwtError::Issuer => f.write_str("issuer (iss) not accepted"),
            JwtError::Claims(why) => write!(f, "claims do not fit: {why}"),
            JwtError::Key(why) => write!(f, "unusable key: {why}"),
            JwtError::CannotSign => f.write_str(
                "this verifier holds only a public key and cannot sign \
                 (Jwt::rs256_private_pem can)",
            ),
        }
    }
}

impl std::error::Error for JwtError {}

/// The `alg` of a token's header, read without trusting anything else in it.
fn header_algorithm(token: &str) -> Result<String, JwtError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed("not three dot-separated parts"));
    };
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
        .map_err(|_| JwtError::Malformed("the header is not base64url"))?;
    let header: serde_json::Value = serde_json::from_slice(&header)
        .map_err(|_| JwtError::Malformed("the header is not a JSON object"))?;
    match header.get("alg") {
        Some(serde_json::Value::String(alg)) => Ok(alg.chars().take(16).collect()),
        _ => Ok("(none given)".to_owned()),
    }
}

fn algorithm_name(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::HS256 => "HS256",
        Algorithm::RS256 => "RS256",
        // `Jwt` is only ever built with the two above.
        _ => "unsupported",
    }
}

/// True for a PEM whose label says it is a private key.
fn looks_private(pem: &[u8]) -> bool {
    pem.windows(b"PRIVATE KEY-----".len())
        .any(|w| w == b"PRIVATE KEY-----")
}

/// jsonwebtoken's reason for refusing a key; it never contains key material.
fn key_reason(error: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind as K;
    match error.kind() {
        K::InvalidKeyFormat => "not PEM, or not an RSA key".to_owned(),
        K::InvalidRsaKey(why) => why.clone(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{SystemTime, UNIX_EPOCH};

    use serde::{Deserialize, Serialize};
    use serde_json::json;

    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn now() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("the clock is after 1970")
            .as_secs()
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Claims {
        sub: String,
        exp: u64,
    }

    /// Test-only RSA keys (ring cannot generate RSA keys): `testdata/README.md`.
    const RSA_A: &str = include_str!("testdata/rsa-a.pem");
    const RSA_A_PUBLIC: &str = include_str!("testdata/rsa-a.pub.pem");
    const RSA_B: &str = include_str!("testdata/rsa-b.pem");

    fn rsa_pair() -> (String, String) {
        (RSA_A.to_owned(), RSA_A_PUBLIC.to_owned())
    }

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    #[test]
    fn hs256_round_trip() {
        let jwt = Jwt::hs256(SECRET);
        let claims = Claims {
            sub: "ada".into(),
            exp: now() + 60,
        };
        let token = jwt.sign(&claims).unwrap();
        assert_eq!(jwt.verify::<Claims>(&token).unwrap(), claims);
        let all: serde_json::Value = jwt.verify(&token).unwrap();
        assert_eq!(all["sub"], "ada");
    }

    #[test]
    fn exp_is_required_and_checked_with_leeway() {
        let jwt = Jwt::hs256(SECRET);
        let token = jwt.sign(&json!({ "sub": "ada" })).unwrap();
        assert_eq!(
            jwt.verify::<serde_json::Value>(&token),
            Err(JwtError::MissingClaim("exp".into()))
        );
        let expired = jwt
            .sign(&json!({ "sub": "ada", "exp": now() - 120 }))
            .unwrap();
        assert_eq!(
            jwt.verify::<serde_json::Value>(&expired),
            Err(JwtError::Expired)
        );
        // Within the 30 s leeway: still accepted; with no leeway: refused.
        let just = jwt
            .sign(&json!({ "sub": "ada", "exp": now() - 5 }))
            .unwrap();
        assert!(jwt.verify::<serde_json::Value>(&just).is_ok());
        let strict = Jwt::hs256(SECRET).leeway(Duration::ZERO);
        assert_eq!(
            strict.verify::<serde_json::Value>(&just),
            Err(JwtError::Expired)
        );
    }

    #[test]
    fn nbf_is_checked_when_present() {
        let jwt = Jwt::hs256(SECRET);
        let later = jwt
            .sign(&json!({ "sub": "ada", "exp": now() + 600, "nbf": now() + 300 }))
            .unwrap();
        assert_eq!(
            jwt.verify::<serde_json::Value>(&later),
            Err(JwtError::NotYetValid)
        );
        let now_valid = jwt
            .sign(&json!({ "sub": "ada", "exp": now() + 600, "nbf": now() - 1 }))
            .unwrap();
        assert!(jwt.verify::<serde_json::Value>(&now_valid).is_ok());
    }

    #[test]
    fn wrong_key_and_tampering_are_bad_signatures() {
        let token = Jwt::hs256(SECRET)
            .sign(&json!({ "sub": "ada", "exp": now() + 60 }))
            .unwrap();
        let other = Jwt::hs256(b"another secret, just as long......");
        assert_eq!(
            other.verify::<serde_json::Value>(&token),
            Err(JwtError::BadSignature)
        );
        // Same header and signature, a payload that says someone else.
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[1] = b64(json!({ "sub": "root", "exp": now() + 60 })
            .to_string()
            .as_bytes());
        let forged = parts.join(".");
        assert_eq!(
            Jwt::hs256(SECRET).verify::<serde_json::Value>(&forged),
            Err(JwtError::BadSignature)
        );
    }

    #[test]
    fn hs256_refuses_none_and_rs256_tokens() {
        let jwt = Jwt::hs256(SECRET);
        let payload = b64(json!({ "sub": "root", "exp": now() + 60 })
            .to_string()
            .as_bytes());
        for alg in ["none", "None", "NONE"] {
            let header = b64(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#).as_bytes());
            for token in [
                format!("{header}.{payload}."),
                format!("{header}.{payload}"),
            ] {
                let error = jwt.verify::<serde_json::Value>(&token).unwrap_err();
                assert!(
                    matches!(error, JwtError::Algorithm { .. } | JwtError::Malformed(_)),
                    "{alg}: {error:?}"
                );
            }
        }
        let (private, _) = rsa_pair();
        let rs = Jwt::rs256_private_pem(private.as_bytes()).unwrap();
        let token = rs
            .sign(&json!({ "sub": "root", "exp": now() + 60 }))
            .unwrap();
        assert_eq!(
            jwt.verify::<serde_json::Value>(&token),
            Err(JwtError::Algorithm {
                expected: "HS256",
                found: "RS256".into()
            })
        );
    }

    #[test]
    fn rs256_refuses_hs256_tokens_signed_with_the_public_key() {
        let (private, public) = rsa_pair();
        let verifier = Jwt::rs256_pem(public.as_bytes()).unwrap();
        // The classic confusion: the public key (which is public) used as an HMAC secret.
        let forged = Jwt::hs256(public.as_bytes())
            .sign(&json!({ "sub": "root", "exp": now() + 60 }))
            .unwrap();
        assert_eq!(
            verifier.verify::<serde_json::Value>(&forged),
            Err(JwtError::Algorithm {
                expected: "RS256",
                found: "HS256".into()
            })
        );
        let none = format!(
            "{}.{}.",
            b64(br#"{"alg":"none"}"#),
            b64(json!({ "sub": "root", "exp": now() + 60 })
                .to_string()
                .as_bytes())
        );
        assert!(matches!(
            verifier.verify::<serde_json::Value>(&none),
            Err(JwtError::Algorithm { .. })
        ));
        // The real issuer's tokens verify with the public key alone.
        let signer = Jwt::rs256_private_pem(private.as_bytes()).unwrap();
        let token = signer
            .sign(&json!({ "sub": "ada", "exp": now() + 60 }))
            .unwrap();
        let claims: serde_json::Value = verifier.verify(&token).unwrap();
        assert_eq!(claims["sub"], "ada");
        assert_eq!(signer.verify::<serde_json::Value>(&token).unwrap(), claims);
        // And another key pair's do not.
        let stranger = Jwt::rs256_private_pem(RSA_B.as_bytes())
            .unwrap()
            .sign(&json!({ "sub": "ada", "exp": now() + 60 }))
            .unwrap();
        assert_eq!(
            verifier.verify::<serde_json::Value>(&stranger),
            Err(JwtError::BadSignature)
        );
    }

    #[test]
    fn keys_are_checked_and_named() {
        let error = Jwt::rs256_pem(b"not a key").unwrap_err();
        assert!(
            error.to_string().contains("not an RSA public key in PEM"),
            "{error}"
        );
        let (private, public) = rsa_pair();
        let error = Jwt::rs256_pem(private.as_bytes()).unwrap_err();
        assert!(
            error.to_string().contains("Jwt::rs256_private_pem"),
            "{error}"
        );
        let error = Jwt::rs256_private_pem(public.as_bytes()).unwrap_err();
        assert!(
            error.to_string().contains("not an RSA private key in PEM"),
            "{error}"
        );
        let ec = rcgen::KeyPair::generate().unwrap().serialize_pem();
        let error = Jwt::rs256_private_pem(ec.as_bytes()).unwrap_err();
        assert!(error.to_string().contains("another algorithm"), "{error}");
        let verifier = Jwt::rs256_pem(public.as_bytes()).unwrap();
        assert_eq!(
            verifier.sign(&json!({ "exp": now() })),
            Err(JwtError::CannotSign)
        );
    }

    #[test]
    fn malformed_tokens_and_mismatched_claims() {
        let jwt = Jwt::hs256(SECRET);
        for token in ["", "abc", "a.b", "a.b.c.d", "!!!.b.c"] {
            assert!(
                matches!(
                    jwt.verify::<serde_json::Value>(token),
                    Err(JwtError::Malformed(_))
                ),
                "{token:?}"
            );
        }
        let token = jwt.sign(&json!({ "sub": 7, "exp": now() + 60 })).unwrap();
        let error = jwt.verify::<Claims>(&token).unwrap_err();
        assert!(matches!(error, JwtError::Claims(_)), "{error:?}");
        assert!(matches!(jwt.sign(&"a string"), Err(JwtError::Claims(_))));
    }

    #[test]
    fn audience_and_issuer_when_configured() {
        let jwt = Jwt::hs256(SECRET).audience("app").issuer("https://issuer");
        let sign = |claims| Jwt::hs256(SECRET).sign(&claims).unwrap();
        let good = sign(json!({ "exp": now() + 60, "aud": "app", "iss": "https://issuer" }));
        assert!(jwt.verify::<serde_json::Value>(&good).is_ok());
        let aud = sign(json!({ "exp": now() + 60, "aud": "other", "iss": "https://issuer" }));
        assert_eq!(
            jwt.verify::<serde_json::Value>(&aud),
            Err(JwtError::Audience)
        );
        let iss = sign(json!({ "exp": now() + 60, "aud": "app", "iss": "https://evil" }));
        assert_eq!(jwt.verify::<serde_json::Value>(&iss), Err(JwtError::Issuer));
        let missing = sign(json!({ "exp": now() + 60, "iss": "https://issuer" }));
        assert_eq!(
            jwt.verify::<serde_json::Value>(&missing),
            Err(JwtError::MissingClaim("aud".into()))
        );
        // Without `audience`, a token's `aud` is not held against it.
        let plain = Jwt::hs256(SECRET);
        assert!(plain.verify::<serde_json::Value>(&aud).is_ok());
    }

    #[test]
    fn nothing_secret_in_debug_or_errors() {
        let jwt = Jwt::hs256(SECRET);
        let debug = format!("{jwt:?}");
        assert!(!debug.contains("0123456789"), "{debug}");
        assert!(debug.contains("HS256"));
        let token = jwt
            .sign(&json!({ "sub": "ada", "exp": now() - 3600 }))
            .unwrap();
        for error in [
            jwt.verify::<serde_json::Value>(&token).unwrap_err(),
            Jwt::hs256(b"x")
                .verify::<serde_json::Value>(&token)
                .unwrap_err(),
        ] {
            let text = format!("{error} {error:?}");
            assert!(
                !text.contains(&token) && !text.contains("0123456789"),
                "{text}"
            );
        }
    }
}
