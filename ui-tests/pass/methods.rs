//! Every route attribute: one per method, #[route] with several methods, #[any], and
//! `body_limit` on each kind.
use hyperbun::prelude::*;

#[get("/items")]
async fn list() -> &'static str {
    "list"
}

#[post("/items", body_limit = 1024 * 1024)]
async fn create(body: Bytes) -> StatusCode {
    let _ = body;
    StatusCode::CREATED
}

#[put("/items/:id")]
async fn replace(id: u32, Json(item): Json<Value>) -> Json<Value> {
    Json(json!({ "id": id, "item": item }))
}

#[patch("/items/:id")]
async fn amend(id: u32) -> String {
    format!("patched {id}")
}

#[delete("/items/:id")]
async fn remove(id: u32) -> StatusCode {
    let _ = id;
    StatusCode::NO_CONTENT
}

#[head("/items")]
async fn list_head() -> StatusCode {
    StatusCode::OK
}

#[options("/items")]
async fn list_options() -> StatusCode {
    StatusCode::NO_CONTENT
}

#[route("/batch", method = "PUT", method = "PATCH", body_limit = 4096)]
async fn batch(body: String) -> String {
    body
}

#[route("/report", method = "GET")]
async fn report() -> &'static str {
    "report"
}

#[any("/debug", body_limit = 0)]
async fn debug(method: Method) -> String {
    format!("you sent {method}")
}

const LIMIT: usize = 64 * 1024;

#[post("/upload", body_limit = LIMIT)]
async fn upload(body: Bytes) -> String {
    format!("{} bytes", body.len())
}

fn main() {
    let router = hyperbun::router![
        list,
        create,
        replace,
        amend,
        remove,
        list_head,
        list_options,
        batch,
        report,
        debug,
        upload,
    ];
    assert_eq!(router.routes().count(), 11);
    assert_eq!(router.find(&Method::HEAD, "/items"), Some("/items"));
    assert_eq!(router.find(&Method::PATCH, "/batch"), Some("/batch"));
    assert_eq!(router.find(&Method::POST, "/batch"), None);
    assert_eq!(router.find(&Method::TRACE, "/debug"), Some("/debug"));
}
