//! Every argument kind: path parameters (any `FromStr` type, catch-all), every extractor
//! that leaves the body alone (any position), and every one that reads it (last only).
use std::net::IpAddr;

use hyperbun::prelude::*;

#[derive(serde::Deserialize)]
struct Page {
    page: Option<u32>,
}

#[derive(serde::Deserialize)]
struct Login {
    user: String,
}

#[get("/params/:id/:ip/:flag/*rest")]
async fn params(id: u64, ip: IpAddr, mut flag: bool, rest: String) -> String {
    flag = !flag;
    format!("{id} {ip} {flag} {rest}")
}

#[get("/head")]
async fn head_parts(
    headers: HeaderMap,
    method: Method,
    uri: Uri,
    server: Server,
    RemoteAddr(addr): RemoteAddr,
    Query(page): Query<Page>,
    maybe: Option<Query<Page>>,
) -> String {
    let _ = (headers, server, maybe);
    format!("{method} {uri} {addr} {:?}", page.page)
}

// Parameters may come in any order relative to extractors.
#[post("/json/:id")]
async fn json_body(method: Method, id: u32, Json(body): Json<Value>) -> String {
    format!("{method} {id} {body}")
}

#[post("/form")]
async fn form(Form(login): Form<Login>) -> String {
    login.user
}

#[post("/bytes")]
async fn bytes(headers: HeaderMap, body: Bytes) -> String {
    format!("{} headers, {} bytes", headers.len(), body.len())
}

#[post("/text")]
async fn text(body: String) -> String {
    body
}

#[post("/request")]
async fn request(uri: Uri, req: Request) -> String {
    format!("{uri} {}", req.method())
}

#[get("/none")]
async fn none() -> &'static str {
    "no arguments"
}

fn main() {
    let _ = hyperbun::router![params, head_parts, json_body, form, bytes, text, request, none];
}
