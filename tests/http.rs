//! Responses, path parameters and method routing, over real connections.

use hyperbun::prelude::*;
use hyperbun::test::{TestResponse, TestServer};

const TEXT: &str = "text/plain; charset=utf-8";

/// `method path` with no headers and no body.
async fn fetch(app: &TestServer, method: Method, path: &str) -> TestResponse {
    app.request(method, path, HeaderMap::new(), Bytes::new())
        .await
}

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn json_response_is_200_with_application_json() {
    #[get("/user")]
    async fn user() -> Json<Value> {
        Json(json!({ "id": 7, "name": "Ada" }))
    }

    let app = TestServer::start(hyperbun::router![user]).await;
    let reply = app.get("/user").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header_values("content-type"), ["application/json"]);
    assert_eq!(reply.text(), r#"{"id":7,"name":"Ada"}"#);
    assert_eq!(reply.header_values("content-length"), ["21"]);
    app.stop().await;
}

#[tokio::test]
async fn str_and_string_responses_are_plain_text() {
    #[get("/static")]
    async fn fixed() -> &'static str {
        "Hello"
    }

    #[get("/owned")]
    async fn owned() -> String {
        format!("{}-{}", "Hello", 42)
    }

    let app = TestServer::start(hyperbun::router![fixed, owned]).await;
    let reply = app.get("/static").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header_values("content-type"), [TEXT]);
    assert_eq!(reply.text(), "Hello");

    let reply = app.get("/owned").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header_values("content-type"), [TEXT]);
    assert_eq!(reply.text(), "Hello-42");
    app.stop().await;
}

#[tokio::test]
async fn html_response_is_text_html() {
    #[get("/page")]
    async fn page() -> Html<&'static str> {
        Html("<h1>Hello</h1>")
    }

    let app = TestServer::start(hyperbun::router![page]).await;
    let reply = app.get("/page").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.header_values("content-type"),
        ["text/html; charset=utf-8"]
    );
    assert_eq!(reply.text(), "<h1>Hello</h1>");
    app.stop().await;
}

#[tokio::test]
async fn bytes_and_vec_responses_are_octet_stream() {
    #[get("/bytes")]
    async fn octets() -> Bytes {
        Bytes::from_static(&[0, 1, 2, 255])
    }

    #[get("/vec")]
    async fn vector() -> Vec<u8> {
        vec![9, 8, 7]
    }

    let app = TestServer::start(hyperbun::router![octets, vector]).await;
    let reply = app.get("/bytes").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.header_values("content-type"),
        ["application/octet-stream"]
    );
    assert_eq!(&reply.body[..], &[0, 1, 2, 255]);

    let reply = app.get("/vec").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.header_values("content-type"),
        ["application/octet-stream"]
    );
    assert_eq!(&reply.body[..], &[9, 8, 7]);
    app.stop().await;
}

#[tokio::test]
async fn unit_and_status_code_responses_have_empty_bodies() {
    #[get("/unit")]
    async fn unit() {}

    #[post("/accepted")]
    async fn accepted() -> StatusCode {
        StatusCode::ACCEPTED
    }

    #[delete("/gone")]
    async fn gone() -> StatusCode {
        StatusCode::NO_CONTENT
    }

    let app = TestServer::start(hyperbun::router![unit, accepted, gone]).await;
    let reply = app.get("/unit").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header_values("content-length"), ["0"]);
    assert!(reply.body.is_empty());
    assert!(reply.headers.get("content-type").is_none());

    let reply = fetch(&app, Method::POST, "/accepted").await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    assert!(reply.body.is_empty());

    let reply = fetch(&app, Method::DELETE, "/gone").await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert!(reply.body.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn custom_into_response_type_sets_status_headers_and_body() {
    struct Created {
        id: u64,
    }

    impl IntoResponse for Created {
        fn into_response(self) -> Response {
            let location = format!("/things/{}", self.id);
            (
                StatusCode::CREATED,
                [("location", location)],
                Json(json!({ "id": self.id })),
            )
                .into_response()
        }
    }

    #[post("/things")]
    async fn create() -> Created {
        Created { id: 12 }
    }

    let app = TestServer::start(hyperbun::router![create]).await;
    let reply = fetch(&app, Method::POST, "/things").await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.header_values("location"), ["/things/12"]);
    assert_eq!(reply.header_values("content-type"), ["application/json"]);
    assert_eq!(reply.text(), r#"{"id":12}"#);
    app.stop().await;
}

#[tokio::test]
async fn result_ok_and_err_arms_are_both_responses() {
    enum MathError {
        DivisionByZero,
    }

    impl IntoResponse for MathError {
        fn into_response(self) -> Response {
            match self {
                MathError::DivisionByZero => {
                    (StatusCode::UNPROCESSABLE_ENTITY, "division by zero").into_response()
                }
            }
        }
    }

    #[get("/divide/:a/:b")]
    async fn divide(a: i64, b: i64) -> Result<String, MathError> {
        if b == 0 {
            return Err(MathError::DivisionByZero);
        }
        Ok((a / b).to_string())
    }

    let app = TestServer::start(hyperbun::router![divide]).await;
    let reply = app.get("/divide/84/2").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header_values("content-type"), [TEXT]);
    assert_eq!(reply.text(), "42");

    let reply = app.get("/divide/1/0").await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.header_values("content-type"), [TEXT]);
    assert_eq!(reply.text(), "division by zero");
    app.stop().await;
}

#[tokio::test]
async fn status_headers_body_tuple_sends_the_headers() {
    #[post("/items")]
    async fn create() -> (StatusCode, [(&'static str, &'static str); 2], &'static str) {
        (
            StatusCode::CREATED,
            [("location", "/items/7"), ("x-request-id", "abc123")],
            "created",
        )
    }

    #[get("/cached")]
    async fn cached() -> (HeaderMap, Json<Value>) {
        let mut headers = HeaderMap::new();
        headers.insert("cache-control", "max-age=60".parse().unwrap());
        (headers, Json(json!([1, 2, 3])))
    }

    let app = TestServer::start(hyperbun::router![create, cached]).await;
    let reply = fetch(&app, Method::POST, "/items").await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.header_values("location"), ["/items/7"]);
    assert_eq!(reply.header_values("x-request-id"), ["abc123"]);
    assert_eq!(reply.header_values("content-type"), [TEXT]);
    assert_eq!(reply.text(), "created");

    let reply = app.get("/cached").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header_values("cache-control"), ["max-age=60"]);
    assert_eq!(reply.header_values("content-type"), ["application/json"]);
    assert_eq!(reply.text(), "[1,2,3]");
    app.stop().await;
}

#[tokio::test]
async fn response_value_is_sent_as_built() {
    #[get("/teapot")]
    async fn teapot() -> Response {
        hyperbun::http::Response::builder()
            .status(StatusCode::IM_A_TEAPOT)
            .header("x-brew", "earl grey")
            .body(Body::from("short and stout"))
            .unwrap()
    }

    let app = TestServer::start(hyperbun::router![teapot]).await;
    let reply = app.get("/teapot").await;
    assert_eq!(reply.status, StatusCode::IM_A_TEAPOT);
    assert_eq!(reply.header_values("x-brew"), ["earl grey"]);
    assert!(reply.headers.get("content-type").is_none());
    assert_eq!(reply.text(), "short and stout");
    app.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Path parameters
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn typed_path_param_is_parsed() {
    #[get("/users/:id")]
    async fn user(id: u64) -> String {
        format!("user {}", id + 1)
    }

    let app = TestServer::start(hyperbun::router![user]).await;
    let reply = app.get("/users/41").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "user 42");
    app.stop().await;
}

#[tokio::test]
async fn unparsable_path_param_is_400_naming_the_parameter() {
    #[get("/users/:id")]
    async fn user(id: u64) -> String {
        format!("user {id}")
    }

    let app = TestServer::start(hyperbun::router![user]).await;
    let reply = app.get("/users/abc").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.header_values("content-type"), [TEXT]);
    assert!(reply.text().contains("`id`"), "{reply:?}");
    assert_eq!(
        reply.text(),
        r#"invalid path parameter `id`: "abc" is not a valid u64: invalid digit found in string"#
    );

    let reply = app.get("/users/-1").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.text().contains("`id`"), "{reply:?}");
    app.stop().await;
}

#[tokio::test]
async fn path_param_is_percent_decoded() {
    #[get("/users/:name")]
    async fn user(name: String) -> String {
        format!("[{name}]")
    }

    let app = TestServer::start(hyperbun::router![user]).await;
    let reply = app.get("/users/hello%20world").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "[hello world]");

    let reply = app.get("/users/caf%C3%A9%2Fbar").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "[café/bar]");
    app.stop().await;
}

#[tokio::test]
async fn path_param_that_is_not_utf8_once_decoded_is_400() {
    #[get("/users/:name")]
    async fn user(name: String) -> String {
        name
    }

    let app = TestServer::start(hyperbun::router![user]).await;
    let reply = app.get("/users/%FF%FE").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.text(),
        "path parameter `name` is not valid UTF-8 once percent-decoded"
    );
    app.stop().await;
}

#[tokio::test]
async fn catch_all_receives_the_rest_of_the_path_with_slashes() {
    #[get("/files/*rest")]
    async fn files(rest: String) -> String {
        rest
    }

    let app = TestServer::start(hyperbun::router![files]).await;
    let reply = app.get("/files/a/b/c.txt").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "a/b/c.txt");

    let reply = app.get("/files/readme").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "readme");

    let reply = app.get("/files/dir/").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "dir/");
    app.stop().await;
}

#[tokio::test]
async fn static_route_beats_param_route() {
    #[get("/users/me")]
    async fn me() -> &'static str {
        "me"
    }

    #[get("/users/:id")]
    async fn user(id: u64) -> String {
        format!("user {id}")
    }

    let app = TestServer::start(hyperbun::router![user, me]).await;
    let reply = app.get("/users/me").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "me");

    let reply = app.get("/users/5").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "user 5");
    app.stop().await;
}

#[tokio::test]
async fn two_path_params_bind_by_name() {
    // Arguments in the opposite order of the path: binding is by name, not position.
    #[get("/users/:user/posts/:post")]
    async fn post(post: u32, user: String) -> String {
        format!("post {post} by {user}")
    }

    let app = TestServer::start(hyperbun::router![post]).await;
    let reply = app.get("/users/ada/posts/3").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "post 3 by ada");

    let reply = app.get("/users/ada/posts/x").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.text().contains("`post`"), "{reply:?}");
    app.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Methods and routing
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn unknown_path_is_404() {
    #[get("/users/:id")]
    async fn user(id: u64) -> String {
        format!("user {id}")
    }

    let app = TestServer::start(hyperbun::router![user]).await;
    for path in ["/", "/nope", "/users", "/users/1/extra"] {
        let reply = app.get(path).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(reply.header_values("content-type"), [TEXT]);
        assert_eq!(reply.text(), "Not Found");
    }
    let reply = fetch(&app, Method::POST, "/nope").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    app.stop().await;
}

/// `GET` and `POST` on one path, for the `Allow` header tests.
#[get("/items")]
async fn list_items() -> &'static str {
    "list"
}

#[post("/items")]
async fn create_item() -> &'static str {
    "create"
}

#[tokio::test]
async fn wrong_method_is_405_with_allow_header() {
    #[get("/read")]
    async fn read() -> &'static str {
        "read"
    }

    let app = TestServer::start(hyperbun::router![read, list_items, create_item]).await;
    let reply = fetch(&app, Method::DELETE, "/read").await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.header_values("allow"), ["GET, HEAD, OPTIONS"]);
    assert_eq!(reply.text(), "Method Not Allowed");

    let reply = fetch(&app, Method::POST, "/read").await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.header_values("allow"), ["GET, HEAD, OPTIONS"]);

    let reply = fetch(&app, Method::PUT, "/items").await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.header_values("allow"), ["GET, HEAD, POST, OPTIONS"]);
    assert_eq!(reply.text(), "Method Not Allowed");

    let reply = fetch(&app, Method::POST, "/items").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "create");
    app.stop().await;
}

#[tokio::test]
async fn head_on_get_route_has_get_headers_and_no_body() {
    #[get("/doc")]
    async fn doc() -> (HeaderMap, &'static str) {
        let mut headers = HeaderMap::new();
        headers.insert("x-doc", "1".parse().unwrap());
        (headers, "twelve bytes")
    }

    let app = TestServer::start(hyperbun::router![doc]).await;
    let full = app.get("/doc").await;
    assert_eq!(full.status, StatusCode::OK);
    assert_eq!(full.header_values("content-length"), ["12"]);

    let head = fetch(&app, Method::HEAD, "/doc").await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.header_values("content-length"), ["12"]);
    assert_eq!(head.header_values("content-type"), [TEXT]);
    assert_eq!(head.header_values("x-doc"), ["1"]);
    assert!(head.body.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn automatic_options_is_204_with_allow() {
    #[delete("/items/:id")]
    async fn remove(id: u64) -> String {
        id.to_string()
    }

    let app = TestServer::start(hyperbun::router![list_items, create_item, remove]).await;
    let reply = fetch(&app, Method::OPTIONS, "/items").await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(reply.header_values("allow"), ["GET, HEAD, POST, OPTIONS"]);
    assert!(reply.body.is_empty());

    let reply = fetch(&app, Method::OPTIONS, "/items/3").await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(reply.header_values("allow"), ["DELETE, OPTIONS"]);

    let reply = fetch(&app, Method::OPTIONS, "/elsewhere").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test]
async fn explicit_head_route_overrides_automatic_head() {
    #[get("/doc")]
    async fn doc() -> &'static str {
        "the body"
    }

    #[head("/doc")]
    async fn doc_head() -> ([(&'static str, &'static str); 1], StatusCode) {
        ([("x-head", "explicit")], StatusCode::OK)
    }

    let app = TestServer::start(hyperbun::router![doc, doc_head]).await;
    let reply = fetch(&app, Method::HEAD, "/doc").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header_values("x-head"), ["explicit"]);
    assert!(reply.body.is_empty());

    let reply = app.get("/doc").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.headers.get("x-head").is_none());
    assert_eq!(reply.text(), "the body");
    app.stop().await;
}

#[tokio::test]
async fn explicit_options_route_overrides_automatic_options() {
    #[get("/api")]
    async fn api() -> &'static str {
        "api"
    }

    #[options("/api")]
    async fn api_options() -> ([(&'static str, &'static str); 2], &'static str) {
        (
            [
                ("allow", "GET, OPTIONS"),
                ("access-control-allow-origin", "*"),
            ],
            "custom options",
        )
    }

    let app = TestServer::start(hyperbun::router![api, api_options]).await;
    let reply = fetch(&app, Method::OPTIONS, "/api").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header_values("allow"), ["GET, OPTIONS"]);
    assert_eq!(reply.header_values("access-control-allow-origin"), ["*"]);
    assert_eq!(reply.text(), "custom options");

    // The 405 for other methods still lists every method of the path.
    let reply = fetch(&app, Method::PUT, "/api").await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.header_values("allow"), ["GET, HEAD, OPTIONS"]);
    app.stop().await;
}

#[tokio::test]
async fn any_route_answers_every_method() {
    #[any("/debug")]
    async fn debug(method: Method) -> String {
        format!("you sent {method}")
    }

    let app = TestServer::start(hyperbun::router![debug]).await;
    let purge = Method::from_bytes(b"PURGE").unwrap();
    for method in [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
        purge,
    ] {
        let reply = fetch(&app, method.clone(), "/debug").await;
        assert_eq!(reply.status, StatusCode::OK, "{method}");
        assert_eq!(reply.text(), format!("you sent {method}"));
    }

    let reply = fetch(&app, Method::HEAD, "/debug").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header_values("content-length"), ["13"]);
    assert!(reply.body.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn route_with_method_list_answers_exactly_those_methods() {
    #[route("/items/:id", method = "PUT", method = "PATCH")]
    async fn update(id: u32, method: Method) -> String {
        format!("{method} {id}")
    }

    let app = TestServer::start(hyperbun::router![update]).await;
    for method in [Method::PUT, Method::PATCH] {
        let reply = fetch(&app, method.clone(), "/items/9").await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.text(), format!("{method} 9"));
    }
    for method in [Method::GET, Method::HEAD, Method::POST, Method::DELETE] {
        let reply = fetch(&app, method.clone(), "/items/9").await;
        assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(reply.header_values("allow"), ["PUT, PATCH, OPTIONS"]);
    }
    let reply = fetch(&app, Method::OPTIONS, "/items/9").await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(reply.header_values("allow"), ["PUT, PATCH, OPTIONS"]);
    app.stop().await;
}

#[tokio::test]
async fn plain_fn_handler_works() {
    #[get("/sync/:n")]
    fn double(n: i32) -> String {
        (n * 2).to_string()
    }

    let app = TestServer::start(hyperbun::router![double]).await;
    let reply = app.get("/sync/21").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "42");
    app.stop().await;
}

#[tokio::test]
async fn trailing_slash_is_a_distinct_route() {
    #[get("/about")]
    async fn about() -> &'static str {
        "about"
    }

    let app = TestServer::start(hyperbun::router![about]).await;
    assert_eq!(app.get("/about").await.status, StatusCode::OK);
    assert_eq!(app.get("/about/").await.status, StatusCode::NOT_FOUND);
    // The query string is not part of the path.
    let reply = app.get("/about?x=1").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "about");
    app.stop().await;
}
