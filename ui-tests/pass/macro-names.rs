// Handlers may be named like macros (`vec`, `json`, `format`, `env`, `write`, `info`): the
// route attribute adds nothing to the macro namespace, so the macros keep working next to
// them, and `router!` still finds the routes.
use hyperbun::prelude::*;

#[get("/vec")]
async fn vec() -> String {
    format!("{:?}", vec![1, 2, 3])
}

#[get("/json")]
async fn json() -> Json<Value> {
    Json(json!({ "ok": true }))
}

#[get("/format")]
fn format() -> String {
    format!("{}", 42)
}

#[get("/env")]
fn env() -> &'static str {
    env!("CARGO_PKG_NAME")
}

#[get("/write")]
fn write() -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    write!(out, "written").unwrap();
    out
}

mod logs {
    use hyperbun::prelude::*;

    macro_rules! info {
        ($($t:tt)*) => { format!($($t)*) };
    }

    #[get("/info")]
    pub async fn info() -> String {
        info!("{}", "info")
    }
}

fn main() {
    let router = hyperbun::router![vec, json, format, env, write, logs::info];
    assert_eq!(router.routes().count(), 6);
    assert_eq!(router.find(&Method::GET, "/info"), Some("/info"));
}

// A handler named like a crate (`serde`) is reachable by a path that starts in this crate.
#[get("/serde")]
async fn serde() -> &'static str {
    "serde"
}

#[allow(dead_code)]
fn crate_named_handler() {
    let router = hyperbun::router![self::serde];
    assert_eq!(router.routes().count(), 1);
}
