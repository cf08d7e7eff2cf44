//! Your own extractors and responses: `FromRequestParts` (any position), `FromRequest`
//! (last position, may read the body) and `IntoResponse`, used with `?`.
use hyperbun::extract::{FromRequest, FromRequestParts, RequestContext};
use hyperbun::http::request::Parts;
use hyperbun::prelude::*;

struct Bearer(String);

impl FromRequestParts for Bearer {
    type Rejection = (StatusCode, &'static str);

    async fn from_request_parts(
        parts: &mut Parts,
        _cx: &RequestContext,
    ) -> Result<Self, Self::Rejection> {
        parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|token| Bearer(token.to_owned()))
            .ok_or((StatusCode::UNAUTHORIZED, "missing bearer token"))
    }
}

struct Shouted(String);

impl FromRequest for Shouted {
    type Rejection = AppError;

    async fn from_request(req: Request, cx: &RequestContext) -> Result<Self, Self::Rejection> {
        let text = String::from_request(req, cx)
            .await
            .map_err(|_| AppError::BadBody)?;
        Ok(Shouted(text.to_uppercase()))
    }
}

enum AppError {
    NotFound,
    BadBody,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::NotFound => (StatusCode::NOT_FOUND, "no such thing").into_response(),
            AppError::BadBody => (StatusCode::BAD_REQUEST, "bad body").into_response(),
        }
    }
}

fn find(id: u64) -> Result<String, AppError> {
    if id == 1 {
        Ok("Ada".into())
    } else {
        Err(AppError::NotFound)
    }
}

#[get("/users/:id")]
async fn user(token: Bearer, id: u64) -> Result<String, AppError> {
    let name = find(id)?;
    Ok(format!("{name} (token {})", token.0))
}

#[post("/shout")]
async fn shout(token: Option<Bearer>, Shouted(text): Shouted) -> String {
    let _ = token;
    text
}

// A custom head extractor may also be the last argument.
#[get("/me")]
async fn me(token: Bearer) -> AppError {
    let _ = token;
    AppError::NotFound
}

fn main() {
    let _ = hyperbun::router![user, shout, me];
}
