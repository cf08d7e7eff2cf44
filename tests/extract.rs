//! Extractors: query strings, bodies, the request head, and the server's own values.

use hyperbun::extract::{FromRequestParts, RequestContext};
use hyperbun::http::request::Parts;
use hyperbun::prelude::*;
use hyperbun::test::TestServer;
use hyperbun_tests::RawConn;
use serde::Deserialize;

const TEXT: &str = "text/plain; charset=utf-8";
const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";

/// Request headers, in order; a name may come more than once.
fn headers<const N: usize>(pairs: [(&'static str, &'static str); N]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in pairs {
        headers.append(name, value.parse().expect("a header value"));
    }
    headers
}

#[derive(Deserialize)]
struct Page {
    page: u32,
    per_page: Option<u32>,
}

#[get("/items")]
async fn items(Query(p): Query<Page>) -> String {
    format!("page {} ({} per page)", p.page, p.per_page.unwrap_or(20))
}

#[post("/echo")]
async fn echo(Json(body): Json<Value>) -> Json<Value> {
    Json(body)
}

#[tokio::test]
async fn query_is_deserialized() {
    let app = TestServer::start(hyperbun::router![items]).await;
    let reply = app.get("/items?page=3&per_page=50").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "page 3 (50 per page)");

    let reply = app.get("/items?per_page=5&page=2&unknown=x").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "page 2 (5 per page)");

    let reply = app.get("/items?page=1").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "page 1 (20 per page)");
    app.stop().await;
}

#[tokio::test]
async fn query_that_does_not_fit_is_400() {
    let app = TestServer::start(hyperbun::router![items]).await;
    let reply = app.get("/items?page=abc").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.header_values("content-type"), [TEXT]);
    assert!(
        reply.text().starts_with("invalid query string: "),
        "{reply:?}"
    );

    let reply = app.get("/items").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.text(), "invalid query string: missing field `page`");
    app.stop().await;
}

#[tokio::test]
async fn json_body_is_echoed() {
    let app = TestServer::start(hyperbun::router![echo]).await;
    let sent = r#"{"name":"Ada","tags":["a","b"],"n":1.5,"ok":true,"none":null}"#;
    let reply = app.post("/echo", JSON, sent).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header_values("content-type"), [JSON]);
    assert_eq!(
        reply.json::<Value>(),
        serde_json::from_str::<Value>(sent).unwrap(),
        "{reply:?}"
    );

    // Parameters and `+json` media types are accepted too.
    let reply = app
        .post("/echo", "application/json; charset=utf-8", "[1]")
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "[1]");
    let reply = app
        .post("/echo", "application/merge-patch+json", "{}")
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "{}");
    app.stop().await;
}

#[tokio::test]
async fn json_into_a_typed_struct() {
    #[derive(Deserialize)]
    struct NewUser {
        name: String,
        age: u8,
    }

    #[post("/users")]
    async fn create(Json(user): Json<NewUser>) -> (StatusCode, String) {
        (StatusCode::CREATED, format!("{} ({})", user.name, user.age))
    }

    let app = TestServer::start(hyperbun::router![create]).await;
    let reply = app.post("/users", JSON, r#"{"name":"Ada","age":36}"#).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.text(), "Ada (36)");

    // Well-formed JSON of the wrong shape is a 400 too.
    let reply = app
        .post("/users", JSON, r#"{"name":"Ada","age":"old"}"#)
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.text().starts_with("invalid JSON body: "), "{reply:?}");
    app.stop().await;
}

#[tokio::test]
async fn malformed_json_is_400() {
    let app = TestServer::start(hyperbun::router![echo]).await;
    let reply = app.post("/echo", JSON, r#"{"name": "#).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.header_values("content-type"), [TEXT]);
    assert!(reply.text().starts_with("invalid JSON body: "), "{reply:?}");

    let reply = app.post("/echo", JSON, "").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.text().starts_with("invalid JSON body: "), "{reply:?}");
    app.stop().await;
}

#[tokio::test]
async fn json_with_wrong_or_missing_content_type_is_415() {
    let app = TestServer::start(hyperbun::router![echo]).await;
    let expected = "expected a request with `Content-Type: application/json`";

    let reply = app.post("/echo", "text/plain", r#"{"a":1}"#).await;
    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(reply.text(), expected);

    let body = Bytes::from_static(br#"{"a":1}"#);
    let reply = app
        .request(Method::POST, "/echo", HeaderMap::new(), body)
        .await;
    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(reply.text(), expected);
    app.stop().await;
}

#[derive(Deserialize)]
struct Login {
    user: String,
    remember: Option<bool>,
}

#[post("/login")]
async fn login(Form(form): Form<Login>) -> String {
    format!("hello {} ({:?})", form.user, form.remember)
}

#[tokio::test]
async fn form_body_is_deserialized() {
    let app = TestServer::start(hyperbun::router![login]).await;
    let reply = app
        .post("/login", FORM, "user=Ada+L%C3%B6vel&remember=true")
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "hello Ada Lövel (Some(true))");
    app.stop().await;
}

#[tokio::test]
async fn form_with_wrong_content_type_is_415_and_bad_form_is_400() {
    let app = TestServer::start(hyperbun::router![login]).await;
    let reply = app.post("/login", JSON, r#"{"user":"Ada"}"#).await;
    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        reply.text(),
        "expected a request with `Content-Type: application/x-www-form-urlencoded`"
    );

    let reply = app.post("/login", FORM, "remember=maybe").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.text().starts_with("invalid form body: "), "{reply:?}");
    app.stop().await;
}

#[tokio::test]
async fn bytes_body_is_received_verbatim() {
    #[put("/blob")]
    async fn blob(body: Bytes) -> (StatusCode, Bytes) {
        let mut reversed = body.to_vec();
        reversed.reverse();
        (StatusCode::OK, Bytes::from(reversed))
    }

    let app = TestServer::start(hyperbun::router![blob]).await;
    let sent: Vec<u8> = (0..=255u8).collect();
    let reply = app
        .request(Method::PUT, "/blob", HeaderMap::new(), sent.clone().into())
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header_values("content-length"), ["256"]);
    let mut expected = sent;
    expected.reverse();
    assert_eq!(&reply.body[..], &expected[..]);
    app.stop().await;
}

#[tokio::test]
async fn string_body_is_utf8_text_or_400() {
    #[post("/shout")]
    async fn shout(body: String) -> String {
        body.to_uppercase()
    }

    let app = TestServer::start(hyperbun::router![shout]).await;
    let reply = app.post("/shout", "text/plain", "héllo").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "HÉLLO");

    let reply = app.post("/shout", "text/plain", &[0xff, 0xfe][..]).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.text(), "request body is not valid UTF-8");
    app.stop().await;
}

#[tokio::test]
async fn request_extractor_gets_the_whole_request() {
    #[post("/raw/:id")]
    async fn raw(id: u32, req: Request) -> String {
        let (parts, body) = req.into_parts();
        let body = body.to_bytes().await.expect("read body");
        format!(
            "{id} {} {} {} {}",
            parts.method,
            parts.uri,
            parts.headers["x-trace"].to_str().unwrap(),
            String::from_utf8_lossy(&body)
        )
    }

    let app = TestServer::start(hyperbun::router![raw]).await;
    let trace = headers([("x-trace", "t-1")]);
    let reply = app
        .request(Method::POST, "/raw/5?q=1", trace, "payload".into())
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "5 POST /raw/5?q=1 t-1 payload");
    app.stop().await;
}

#[tokio::test]
async fn header_map_method_and_uri_extractors() {
    #[get("/inspect")]
    async fn inspect(headers: HeaderMap, method: Method, uri: Uri) -> String {
        let agent = headers
            .get("user-agent")
            .map_or("none", |v| v.to_str().unwrap());
        let tags: Vec<&str> = headers
            .get_all("x-tag")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        format!("{method} {uri} agent={agent} tags={}", tags.join(","))
    }

    let app = TestServer::start(hyperbun::router![inspect]).await;
    let sent = headers([
        ("user-agent", "tests/1.0"),
        ("x-tag", "one"),
        ("x-tag", "two"),
    ]);
    let reply = app
        .request(Method::GET, "/inspect?a=b", sent, Bytes::new())
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.text(),
        "GET /inspect?a=b agent=tests/1.0 tags=one,two"
    );
    app.stop().await;
}

/// A bearer token from the `Authorization` header; `401` without one.
struct Bearer(String);

impl FromRequestParts for Bearer {
    type Rejection = (StatusCode, [(&'static str, &'static str); 1], &'static str);

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
            .ok_or((
                StatusCode::UNAUTHORIZED,
                [("www-authenticate", "Bearer")],
                "missing bearer token",
            ))
    }
}

#[tokio::test]
async fn custom_extractor_rejects_with_401_or_passes_the_token() {
    #[get("/me")]
    async fn me(token: Bearer) -> String {
        format!("token {}", token.0)
    }

    #[get("/maybe")]
    async fn maybe(token: Option<Bearer>) -> String {
        token.map_or_else(|| "anonymous".to_owned(), |t| format!("token {}", t.0))
    }

    let app = TestServer::start(hyperbun::router![me, maybe]).await;
    let reply = app.get("/me").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.header_values("www-authenticate"), ["Bearer"]);
    assert_eq!(reply.text(), "missing bearer token");

    let with_token = |path: &'static str| {
        let token = headers([("authorization", "Bearer s3cret")]);
        app.request(Method::GET, path, token, Bytes::new())
    };
    let reply = with_token("/me").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "token s3cret");

    // Option<T> turns the rejection into None.
    let reply = app.get("/maybe").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "anonymous");
    let reply = with_token("/maybe").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "token s3cret");
    app.stop().await;
}

#[tokio::test]
async fn server_extractor_is_the_serving_server() {
    #[get("/addr")]
    async fn addr(server: Server) -> String {
        format!("{} stopping={}", server.local_addr(), server.is_stopping())
    }

    let app = TestServer::start(hyperbun::router![addr]).await;
    let reply = app.get("/addr").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), format!("{} stopping=false", app.addr()));
    app.stop().await;
}

#[tokio::test]
async fn remote_addr_is_the_client_socket() {
    #[get("/whoami")]
    async fn whoami(RemoteAddr(addr): RemoteAddr) -> String {
        addr.to_string()
    }

    let app = TestServer::start(hyperbun::router![whoami]).await;
    // A raw connection: the test needs the client's own address, which `app.get` hides.
    let mut conn = RawConn::connect(app.addr()).await;
    let client = conn.local_addr();
    conn.write("GET /whoami HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await;
    let reply = conn.read_response().await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), client.to_string());
    assert!(reply.text().starts_with("127.0.0.1:"), "{reply:?}");
    app.stop().await;
}

#[tokio::test]
async fn path_params_and_extractors_combine() {
    #[derive(Deserialize)]
    struct Patch {
        title: String,
    }

    #[patch("/posts/:id")]
    async fn edit(
        id: u64,
        Query(q): Query<Value>,
        token: Bearer,
        Json(patch): Json<Patch>,
    ) -> Json<Value> {
        Json(json!({ "id": id, "query": q, "token": token.0, "title": patch.title }))
    }

    let app = TestServer::start(hyperbun::router![edit]).await;
    let sent = headers([("authorization", "Bearer t"), ("content-type", JSON)]);
    let body = Bytes::from_static(br#"{"title":"New"}"#);
    let reply = app
        .request(Method::PATCH, "/posts/8?dry_run=yes", sent, body)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.json::<Value>(),
        json!({ "id": 8, "query": { "dry_run": "yes" }, "token": "t", "title": "New" })
    );
    app.stop().await;
}
