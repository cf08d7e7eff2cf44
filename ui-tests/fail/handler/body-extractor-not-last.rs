// RULE: only the last argument may read the request body (`Json<T>`, `Form<T>`, `Bytes`, `String`, `Request`).
// WHY: the body can be read once; extractors run in argument order, so it is consumed last.
// FIX: move the body extractor to the end of the argument list.
use hyperbun::prelude::*;

#[post("/echo")]
async fn echo(Json(body): Json<Value>, method: Method) -> String {
    format!("{method} {body}")
}

fn main() {
    let _ = hyperbun::router![echo];
}
