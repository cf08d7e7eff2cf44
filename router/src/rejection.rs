//! Why an extractor refused a request: each rejection is a type with a status and a
//! message, and becomes that response when a handler's argument cannot be extracted.

use std::fmt;

use http::StatusCode;

use crate::body::BodyError;
use crate::response::IntoResponse;
use crate::Response;

macro_rules! define_rejection {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name {
            status: StatusCode,
            message: String,
        }

        impl $name {
            pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
                $name { status, message: message.into() }
            }

            /// The status code of the response this rejection becomes.
            #[must_use]
            pub fn status(&self) -> StatusCode {
                self.status
            }

            /// The reason, as sent in the response body.
            #[must_use]
            pub fn message(&self) -> &str {
                &self.message
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.message)
            }
        }

        impl std::error::Error for $name {}

        impl IntoResponse for $name {
            fn into_response(self) -> Response {
                tracing::debug!(
                    target: "hyperbun::rejection",
                    status = self.status.as_u16(),
                    rejection = stringify!($name),
                    "{}",
                    self.message
                );
                (self.status, self.message).into_response()
            }
        }
    };
}

define_rejection! {
    /// A path parameter did not parse into the handler argument's type (`400 Bad Request`).
    /// The message names the parameter, the value and, when the type's error says it, why.
    PathParamRejection
}

define_rejection! {
    /// The query string did not deserialize into `Query<T>` (`400 Bad Request`).
    QueryRejection
}

define_rejection! {
    /// `Json<T>` could not read the body: wrong `Content-Type` (`415`), a body over the limit
    /// (`413`), or JSON that does not parse or does not fit `T` (`400`).
    JsonRejection
}

define_rejection! {
    /// `Form<T>` could not read the body: wrong `Content-Type` (`415`), a body over the limit
    /// (`413`), or a form that does not fit `T` (`400`).
    FormRejection
}

define_rejection! {
    /// A body extractor (`Bytes`, `String`) failed: a body over the limit (`413`), a broken
    /// connection (`400`), or, for `String`, bytes that are not UTF-8 (`400`).
    BodyRejection
}

/// The status and message for a body that failed to read.
pub(crate) fn body_error(e: &BodyError) -> (StatusCode, String) {
    let status = if e.is_too_large() {
        StatusCode::PAYLOAD_TOO_LARGE
    } else {
        StatusCode::BAD_REQUEST
    };
    (status, e.to_string())
}
