//! JSON over a socket without ceremony: [`Message::json`] and its error, [`JsonError`], and
//! the serialization behind `send_json` and `publish_json` (one `Vec`, handed to the text
//! send path as it is).

use bytes::Bytes;
use serde::Serialize;

use crate::ws::{Message, Utf8Bytes};

/// Why [`Message::json`] could not read a message: its payload is not JSON at all
/// ([`is_syntax`](Self::is_syntax)), or it is JSON of another shape than the type asked for
/// ([`is_data`](Self::is_data)). Its `Display` says which, then what `serde_json` found and
/// where; [`source`](std::error::Error::source) is the [`serde_json::Error`].
///
/// # Examples
///
/// ```
/// use hyperbun::Message;
///
/// #[derive(Debug, serde::Deserialize)]
/// struct Move {
///     x: i32,
/// }
///
/// assert_eq!(Message::from("{\"x\": 1}").json::<Move>().unwrap().x, 1);
///
/// let e = Message::from("{\"x\": 1").json::<Move>().unwrap_err();
/// assert!(e.is_syntax());
/// assert!(e.to_string().starts_with("the message is not valid JSON"));
///
/// let e = Message::from("{\"y\": 1}").json::<Move>().unwrap_err();
/// assert!(e.is_data());
/// assert!(e.to_string().contains("missing field `x`"));
/// assert_eq!((e.line(), e.column()), (1, 8));
/// ```
#[derive(Debug, thiserror::Error)]
#[error("{what}: {0}", what = self.what())]
pub struct JsonError(#[source] serde_json::Error);

impl JsonError {
    fn what(&self) -> &'static str {
        if self.is_data() {
            "the message's JSON does not have the expected shape"
        } else {
            "the message is not valid JSON"
        }
    }

    /// True when the payload is not JSON: a syntax error, or it ends too soon.
    #[must_use]
    pub fn is_syntax(&self) -> bool {
        self.0.is_syntax() || self.0.is_eof()
    }

    /// True when the payload is JSON but not of the expected shape: a missing field, a
    /// field of the wrong type, an unknown enum variant.
    #[must_use]
    pub fn is_data(&self) -> bool {
        self.0.is_data()
    }

    /// The line (from 1) of the payload where the error was found.
    #[must_use]
    pub fn line(&self) -> usize {
        self.0.line()
    }

    /// The column (from 1) of the payload where the error was found.
    #[must_use]
    pub fn column(&self) -> usize {
        self.0.column()
    }
}

impl Message {
    /// Parses the payload as JSON into `T`, whether the message is text or binary: the
    /// `serde_json::from_str(text)` every JSON protocol begins with, with an error that says
    /// what was wrong.
    ///
    /// # Examples
    ///
    /// A socket that reads requests as a tagged enum and answers with
    /// [`send_json`](crate::WebSocket::send_json):
    ///
    /// ```
    /// use hyperbun::prelude::*;
    /// use hyperbun::test::TestServer;
    ///
    /// #[derive(serde::Deserialize)]
    /// #[serde(tag = "type", rename_all = "camelCase")]
    /// enum Request {
    ///     Add { a: i64, b: i64 },
    ///     Ping,
    /// }
    ///
    /// struct Calc;
    ///
    /// #[websocket("/calc")]
    /// impl Calc {
    ///     fn message(ws: &mut WebSocket, msg: Message) {
    ///         match msg.json::<Request>() {
    ///             Ok(Request::Add { a, b }) => ws.send_json(&json!({ "sum": a + b })),
    ///             Ok(Request::Ping) => ws.send_json(&json!({ "type": "pong" })),
    ///             Err(e) => ws.send_json(&json!({ "error": e.to_string() })),
    ///         };
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let app = TestServer::start(hyperbun::router![Calc]).await;
    /// let mut ws = app.ws("/calc").await;
    /// ws.send(r#"{"type": "add", "a": 2, "b": 3}"#).await;
    /// ws.expect_json(&json!({ "sum": 5 })).await;
    /// ws.send(r#"{"type": "ping"}"#).await;
    /// ws.expect_json(&json!({ "type": "pong" })).await;
    /// # ws.close().await;
    /// # app.stop().await;
    /// # }
    /// ```
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, JsonError> {
        serde_json::from_slice(self.as_bytes()).map_err(JsonError)
    }
}

/// `value` as JSON text, serialized once into a buffer that becomes the message without a
/// copy; `None`, logged, when `serde_json` cannot serialize it (a map with keys that are
/// not strings, a `Serialize` impl that fails): a programming error, reported, not a panic,
/// as axum's `Json` answers `500`.
pub(crate) fn to_text<T: Serialize + ?Sized>(value: &T) -> Option<Utf8Bytes> {
    match serde_json::to_vec(value) {
        Ok(json) => Some(Utf8Bytes::from_validated(Bytes::from(json))),
        Err(e) => {
            tracing::error!(
                target: "hyperbun::ws",
                r#type = std::any::type_name::<T>(),
                "cannot serialize a `{}` as JSON, not sent: {e}",
                std::any::type_name::<T>(),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::error::Error as _;

    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Point {
        #[allow(dead_code)]
        x: i32,
    }

    #[test]
    fn text_that_is_not_json_is_a_syntax_error() {
        let e = Message::from("{\"x\":").json::<Point>().unwrap_err();
        assert!(e.is_syntax() && !e.is_data());
        assert!(e.to_string().starts_with("the message is not valid JSON: "));
        assert!(e.source().is_some());
    }

    #[test]
    fn json_of_another_shape_is_a_data_error_naming_the_field() {
        let e = Message::binary(&b"{\"y\":1}"[..])
            .json::<Point>()
            .unwrap_err();
        assert!(e.is_data() && !e.is_syntax());
        let shown = e.to_string();
        assert!(shown.starts_with("the message's JSON does not have the expected shape: "));
        assert!(shown.contains("missing field `x`"), "{shown}");
    }

    #[test]
    fn a_value_serialized_is_text_and_one_that_cannot_be_is_none() {
        assert_eq!(to_text(&[1, 2]).unwrap(), "[1,2]");
        let bad: HashMap<Vec<u8>, u8> = HashMap::from([(vec![1], 1)]);
        assert!(to_text(&bad).is_none());
    }
}
