//! Everything a handler may return.
use std::borrow::Cow;
use std::convert::Infallible;

use hyperbun::prelude::*;

#[get("/static")]
async fn static_str() -> &'static str {
    "text"
}

#[get("/string")]
async fn string() -> String {
    "text".to_owned()
}

#[get("/cow")]
async fn cow() -> Cow<'static, str> {
    Cow::Borrowed("text")
}

#[get("/json")]
async fn json_value() -> Json<Value> {
    Json(json!({ "ok": true }))
}

#[derive(serde::Serialize)]
struct User {
    name: String,
}

#[get("/user")]
async fn user() -> Json<User> {
    Json(User { name: "Ada".into() })
}

#[get("/html")]
async fn html() -> Html<&'static str> {
    Html("<h1>Hello</h1>")
}

#[get("/bytes")]
async fn bytes() -> Bytes {
    Bytes::from_static(b"bytes")
}

#[get("/vec")]
async fn vec_u8() -> Vec<u8> {
    vec![1, 2, 3]
}

#[get("/unit")]
async fn unit() {}

#[get("/status")]
async fn status() -> StatusCode {
    StatusCode::NO_CONTENT
}

#[get("/status-body")]
async fn status_body() -> (StatusCode, &'static str) {
    (StatusCode::NOT_FOUND, "nothing here")
}

#[get("/status-headers-body")]
async fn status_headers_body() -> (StatusCode, [(&'static str, &'static str); 1], String) {
    (StatusCode::CREATED, [("location", "/users/7")], "created".into())
}

#[get("/headers-body")]
async fn headers_body() -> (HeaderMap, Json<Value>) {
    (HeaderMap::new(), Json(json!([])))
}

#[get("/response")]
async fn response() -> Response {
    Response::new(Body::from("raw"))
}

#[get("/body")]
async fn body() -> Body {
    Body::from("body")
}

#[get("/result/:n")]
async fn result(n: u32) -> Result<String, (StatusCode, String)> {
    if n == 0 {
        return Err((StatusCode::BAD_REQUEST, "n must not be 0".into()));
    }
    Ok(format!("{}", 100 / n))
}

#[get("/infallible")]
async fn infallible() -> Result<&'static str, Infallible> {
    Ok("never fails")
}

#[get("/impl")]
async fn opaque() -> impl IntoResponse {
    (StatusCode::ACCEPTED, "accepted")
}

#[get("/nested-impl")]
async fn nested_opaque() -> Result<impl IntoResponse, StatusCode> {
    Ok("fine")
}

fn main() {
    let _ = hyperbun::router![
        static_str,
        string,
        cow,
        json_value,
        user,
        html,
        bytes,
        vec_u8,
        unit,
        status,
        status_body,
        status_headers_body,
        headers_body,
        response,
        body,
        result,
        infallible,
        opaque,
        nested_opaque,
    ];
}
