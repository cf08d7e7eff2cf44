//! Middleware: tower-http's layers around a whole application (every route, 404, 405 and
//! `OPTIONS` included), `from_fn` middleware that short-circuits and hands values to handlers
//! and upgrade hooks, a route's own `layer = …`, groups in `router![…]`, an axum application
//! mounted with `nest_service`, and WebSocket upgrades through all of it — over HTTP/1.1 and
//! HTTP/2, with real clients against a real server.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use hyperbun::client::{ClientBuilder, ConnectError};
use hyperbun::http::header;
use hyperbun::middleware::{from_fn, Next};
use hyperbun::prelude::*;
use hyperbun::test::{TestResponse, TestServer};
use hyperbun_tests::expect_echoes;
use tower::ServiceExt;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{Any, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

#[get("/hello")]
async fn hello() -> String {
    "hello, layers ".repeat(20)
}

#[post("/echo")]
async fn echo(Json(value): Json<Value>) -> Json<Value> {
    Json(value)
}

#[get("/slow")]
async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(5)).await;
    "too late"
}

#[get("/panic")]
async fn panics() -> &'static str {
    panic!("handler gave up")
}

struct Echo;

#[websocket("/ws")]
impl Echo {
    fn message(ws: &mut WebSocket, msg: Message) {
        ws.send(msg);
    }
}

fn app() -> Router {
    hyperbun::router![hello, echo, slow, panics, Echo]
}

fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    pairs
        .iter()
        .map(|(k, v)| {
            (
                header::HeaderName::from_static(k),
                HeaderValue::from_static(v),
            )
        })
        .collect()
}

/// `GET /hello` with the header the panicking middleware of these tests gives up on.
async fn get_exploding(app: &TestServer) -> TestResponse {
    let request = headers(&[("x-explode", "1")]);
    app.request(Method::GET, "/hello", request, Bytes::new())
        .await
}

async fn preflight(app: &TestServer, path: &str, method: &'static str) -> TestResponse {
    let request = headers(&[
        ("origin", "https://example.com"),
        ("access-control-request-method", method),
    ]);
    app.request(Method::OPTIONS, path, request, Bytes::new())
        .await
}

#[tokio::test]
async fn a_cors_preflight_to_any_path_gets_the_cors_answer_never_a_405() {
    let router = app().layer(
        CorsLayer::new()
            .allow_origin(Any)
            .allow_methods([Method::GET, Method::POST]),
    );
    let app = TestServer::start(router).await;
    // A GET-only route asked about POST, a POST route, a path no route has, and a socket.
    for (path, method) in [
        ("/hello", "POST"),
        ("/echo", "POST"),
        ("/nowhere", "GET"),
        ("/ws", "GET"),
    ] {
        let answer = preflight(&app, path, method).await;
        assert!(answer.status.is_success(), "{path}: {}", answer.status);
        assert_eq!(
            answer.header("access-control-allow-origin"),
            Some("*"),
            "{path}"
        );
        assert!(
            answer
                .header("access-control-allow-methods")
                .is_some_and(|m| m.contains("POST")),
            "{path}"
        );
    }
    // Actual responses carry the header too, errors included.
    let origin = headers(&[("origin", "https://example.com")]);
    for (method, path, status) in [
        (Method::GET, "/hello", StatusCode::OK),
        (Method::GET, "/nowhere", StatusCode::NOT_FOUND),
        (Method::DELETE, "/hello", StatusCode::METHOD_NOT_ALLOWED),
    ] {
        let answer = app
            .request(method, path, origin.clone(), Bytes::new())
            .await;
        assert_eq!(answer.status, status, "{path}");
        assert_eq!(
            answer.header("access-control-allow-origin"),
            Some("*"),
            "{path}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn compression_gzips_and_brotlis_http_responses_and_upgrades_still_switch() {
    let app = TestServer::start(app().layer(CompressionLayer::new())).await;
    for encoding in ["gzip", "br"] {
        let mut accept = HeaderMap::new();
        accept.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(encoding).unwrap(),
        );
        let answer = app
            .request(Method::GET, "/hello", accept, Bytes::new())
            .await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.header("content-encoding"), Some(encoding));
        assert!(answer.body.len() < "hello, layers ".len() * 20);
    }
    let plain = app.get("/hello").await;
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(plain.text(), "hello, layers ".repeat(20));
    // The upgrade's response goes through the compression layer (which wraps its body) and
    // still switches, over HTTP/1.1 and HTTP/2, offering gzip or not.
    for http2 in [false, true] {
        let mut ws = ClientBuilder::new(app.ws_url("/ws"))
            .http2(http2)
            .header("accept-encoding", "gzip, br")
            .connect()
            .await
            .unwrap_or_else(|e| panic!("upgrade through CompressionLayer (h2: {http2}): {e}"));
        expect_echoes(&mut ws, "through the layers").await;
        ws.close(1000, "done").await.unwrap();
    }
    app.stop().await;
}

/// A `tracing` subscriber writing into a buffer, for one test's thread.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test]
async fn the_trace_layer_sees_every_request_and_the_upgrade() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // The test's runtime has one thread, so the server's tasks log here too.
    let _guard = tracing::subscriber::set_default(subscriber);
    let app = TestServer::start(app().layer(TraceLayer::new_for_http())).await;
    assert_eq!(app.get("/hello").await.status, StatusCode::OK);
    assert_eq!(app.get("/missing").await.status, StatusCode::NOT_FOUND);
    let mut ws = app.ws("/ws").await;
    ws.send("traced").await;
    ws.expect_text("traced").await;
    ws.close().await;
    app.stop().await;
    let log = captured.text();
    for needle in [
        "uri=/hello",
        "uri=/missing",
        "uri=/ws",
        "status=404",
        "status=101",
    ] {
        assert!(log.contains(needle), "no `{needle}` in the trace:\n{log}");
    }
}

#[tokio::test]
async fn a_timeout_layer_answers_408_for_a_slow_handler_and_nothing_else() {
    let router = app().layer(TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        Duration::from_millis(200),
    ));
    let app = TestServer::start(router).await;
    assert_eq!(app.get("/slow").await.status, StatusCode::REQUEST_TIMEOUT);
    assert_eq!(app.get("/hello").await.status, StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn a_request_body_limit_layer_answers_413_and_smaller_bodies_reach_the_extractor() {
    let app = TestServer::start(app().layer(RequestBodyLimitLayer::new(64))).await;
    let small = app.post_json("/echo", &json!({ "n": 1 })).await;
    assert_eq!(small.status, StatusCode::OK);
    assert_eq!(small.json::<Value>(), json!({ "n": 1 }));
    let big = app
        .post_json("/echo", &json!({ "text": "x".repeat(200) }))
        .await;
    assert_eq!(big.status, StatusCode::PAYLOAD_TOO_LARGE);
    // Without a length up front the limit holds while the body streams.
    let mut raw = hyperbun_tests::RawConn::connect(app.addr()).await;
    raw.write(hyperbun_tests::chunked_request(
        "POST /echo HTTP/1.1\r\nhost: x\r\ncontent-type: application/json",
        &[b"{\"text\": \"", &[b'y'; 100], b"\"}"],
    ))
    .await;
    assert_eq!(raw.read_response().await.status, 413);
    app.stop().await;
}

#[tokio::test]
async fn a_panicking_handler_or_middleware_is_a_500_for_its_request_only() {
    async fn explode(req: Request, next: Next) -> Response {
        if req.uri().path() == "/hello" && req.headers().contains_key("x-explode") {
            panic!("middleware gave up");
        }
        next.run(req).await
    }
    let app = TestServer::start(app().layer(from_fn(explode))).await;
    assert_eq!(
        app.get("/panic").await.status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    let boom = get_exploding(&app).await;
    assert_eq!(boom.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(app.get("/hello").await.status, StatusCode::OK);
    app.stop().await;
}

/// A layer whose service panics in `call` itself (not in its future) on `x-explode`.
#[derive(Clone)]
struct PanicInCall<S>(S);

impl<S: tower::Service<Request>> tower::Service<Request> for PanicInCall<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> S::Future {
        assert!(
            !req.headers().contains_key("x-explode"),
            "the layer gave up in call"
        );
        self.0.call(req)
    }
}

#[tokio::test]
async fn a_layer_panicking_in_call_is_a_500_for_its_request_only() {
    let panicking = tower::layer::layer_fn(PanicInCall);
    let app = TestServer::start(app().layer(panicking)).await;
    let boom = get_exploding(&app).await;
    assert_eq!(boom.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(app.get("/hello").await.status, StatusCode::OK);
    // On a route of its own too.
    let router = hyperbun::router![group(layer = tower::layer::layer_fn(PanicInCall))[hello]];
    let grouped = TestServer::start(router).await;
    let boom = get_exploding(&grouped).await;
    assert_eq!(boom.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(grouped.get("/hello").await.status, StatusCode::OK);
    grouped.stop().await;
    app.stop().await;
}

/// A layer whose service is never ready: `poll_ready` fails.
#[derive(Clone)]
struct NeverReady<S>(S);

impl<S: tower::Service<Request>> tower::Service<Request> for NeverReady<S> {
    type Response = S::Response;
    type Error = Box<dyn std::error::Error + Send + Sync>;
    type Future = std::future::Ready<Result<S::Response, Self::Error>>;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Err("the backend is gone".into()))
    }

    fn call(&mut self, _req: Request) -> Self::Future {
        NEVER_READY_CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        std::future::ready(Err("called although poll_ready failed".into()))
    }
}

/// How often a [`NeverReady`] was called anyway (tower's rule: never).
static NEVER_READY_CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[tokio::test]
async fn a_layer_that_cannot_become_ready_is_a_500_and_is_not_called() {
    let app = TestServer::start(app().layer(tower::layer::layer_fn(NeverReady))).await;
    for _ in 0..2 {
        let answer = app.get("/hello").await;
        assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(answer.text(), "Internal Server Error");
    }
    assert_eq!(
        NEVER_READY_CALLS.load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    app.stop().await;
}

#[tokio::test]
async fn an_error_from_a_layer_is_a_500_and_the_server_goes_on() {
    // tower's own timeout fails with an error instead of answering.
    let router = app().layer(tower::timeout::TimeoutLayer::new(Duration::from_millis(
        100,
    )));
    let app = TestServer::start(router).await;
    assert_eq!(
        app.get("/slow").await.status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(app.get("/hello").await.status, StatusCode::OK);
    app.stop().await;
}

// ---- from_fn: short-circuits, and values for handlers and hooks ----

#[derive(Clone, Debug)]
struct User(String);

/// Signs requests in from `Authorization: Bearer NAME`; refuses other schemes outright.
async fn sign_in(mut req: Request, next: Next) -> Response {
    let auth = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match auth.map(|a| a.strip_prefix("Bearer ")) {
        None => {}
        Some(Some(name)) => {
            let user = User(name.to_owned());
            req.extensions_mut().insert(user);
        }
        Some(None) => return (StatusCode::UNAUTHORIZED, "Bearer only").into_response(),
    }
    next.run(req).await
}

#[get("/me")]
async fn me(user: Option<Extension<User>>) -> String {
    match user {
        Some(Extension(User(name))) => format!("you are {name}"),
        None => "anonymous".to_owned(),
    }
}

#[get("/must")]
async fn must(Extension(user): Extension<User>) -> String {
    user.0
}

struct Greeter;

#[websocket("/greet", data = String)]
impl Greeter {
    fn open(ws: &mut WebSocket<String>) {
        let hello = format!("hello {}", ws.data);
        ws.send(hello);
    }
    fn message(_ws: &mut WebSocket<String>, _msg: Message) {}
}

#[upgrade("/greet")]
fn admit(user: Option<Extension<User>>) -> Result<Upgrade<String>, StatusCode> {
    let Extension(User(name)) = user.ok_or(StatusCode::UNAUTHORIZED)?;
    Ok(Upgrade::new(name))
}

#[tokio::test]
async fn from_fn_middleware_short_circuits_and_hands_values_to_handlers_and_hooks() {
    let app =
        TestServer::start(hyperbun::router![me, must, Greeter, admit].layer(from_fn(sign_in)))
            .await;
    let bearer = |v: &'static str| headers(&[("authorization", v)]);
    assert_eq!(app.get("/me").await.text(), "anonymous");
    let ada = app
        .request(Method::GET, "/me", bearer("Bearer ada"), Bytes::new())
        .await;
    assert_eq!(ada.text(), "you are ada");
    let basic = app
        .request(Method::GET, "/me", bearer("Basic eA=="), Bytes::new())
        .await;
    assert_eq!(
        (basic.status, basic.text()),
        (StatusCode::UNAUTHORIZED, "Bearer only")
    );
    // `Extension<T>` without the value is the application's mistake: a 500 that says so.
    let missing = app.get("/must").await;
    assert_eq!(missing.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(missing.text().contains("User"), "{}", missing.text());
    // The upgrade request goes through the middleware too; its value reaches the hook.
    for http2 in [false, true] {
        let refused = ClientBuilder::new(app.ws_url("/greet"))
            .http2(http2)
            .connect()
            .await
            .expect_err("anonymous");
        assert!(
            matches!(refused, ConnectError::Refused { status, .. } if status == StatusCode::UNAUTHORIZED)
        );
        let mut ws = ClientBuilder::new(app.ws_url("/greet"))
            .http2(http2)
            .header("authorization", "Bearer grace")
            .connect()
            .await
            .expect("signed in");
        let hello = ws.recv().await.expect("greeting").expect("a message");
        assert_eq!(hello.as_text(), Some("hello grace"));
        ws.close(1000, "bye").await.unwrap();
    }
    app.stop().await;
}

// ---- a route's own layer, and groups ----

async fn admins_only(req: Request, next: Next) -> Response {
    match req.headers().get("x-role").and_then(|v| v.to_str().ok()) {
        Some("admin") => next.run(req).await,
        _ => (StatusCode::FORBIDDEN, "admins only").into_response(),
    }
}

async fn tag(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    response
        .headers_mut()
        .append("x-layers", HeaderValue::from_static("tag"));
    response
}

async fn api_tag(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    response
        .headers_mut()
        .append("x-layers", HeaderValue::from_static("api"));
    response
}

#[get("/public")]
async fn public() -> &'static str {
    "public"
}

#[get("/admin", layer = from_fn(admins_only))]
async fn admin() -> &'static str {
    "admin"
}

#[get("/users/:id", layer = (from_fn(tag), CompressionLayer::new()))]
async fn api_user(id: u64) -> String {
    format!("user {id}")
}

#[get("/")]
async fn api_index() -> &'static str {
    "api"
}

#[post("/users")]
async fn api_create() -> StatusCode {
    StatusCode::CREATED
}

struct ApiSocket;

#[websocket("/live")]
impl ApiSocket {
    fn message(ws: &mut WebSocket, msg: Message) {
        ws.send(msg);
    }
}

fn grouped() -> Router {
    hyperbun::router![
        public,
        admin,
        group("/api/v1", layer = from_fn(api_tag))[api_user, api_index, api_create, ApiSocket],
    ]
}

#[tokio::test]
async fn a_routes_own_layer_wraps_that_route_only() {
    let app = TestServer::start(grouped()).await;
    assert_eq!(app.get("/public").await.text(), "public");
    let refused = app.get("/admin").await;
    assert_eq!(
        (refused.status, refused.text()),
        (StatusCode::FORBIDDEN, "admins only")
    );
    let admitted = app
        .request(
            Method::GET,
            "/admin",
            headers(&[("x-role", "admin")]),
            Bytes::new(),
        )
        .await;
    assert_eq!(admitted.text(), "admin");
    app.stop().await;
}

#[tokio::test]
async fn a_group_prefixes_its_routes_and_its_layer_wraps_them_outside_their_own() {
    let app = TestServer::start(grouped()).await;
    let routes: Vec<&str> = app_routes(&grouped());
    assert!(routes.contains(&"/api/v1/users/:id"), "{routes:?}");
    assert!(routes.contains(&"/api/v1"), "{routes:?}");
    let index = app.get("/api/v1").await;
    assert_eq!(index.text(), "api");
    assert_eq!(index.header_values("x-layers"), ["api"]);
    // The route's own layers run inside the group's: the group's tag is appended last.
    let user = app.get("/api/v1/users/7").await;
    assert_eq!(user.text(), "user 7");
    assert_eq!(user.header_values("x-layers"), ["tag", "api"]);
    // 404 and 405 are the table's, outside any group.
    assert_eq!(app.get("/users/7").await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get("/api/v1/users").await.status,
        StatusCode::METHOD_NOT_ALLOWED
    );
    let created = app.post_json("/api/v1/users", &json!({})).await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.header_values("x-layers"), ["api"]);
    // A socket in the group is at the prefixed path, and its upgrade passes the group's layer.
    let mut ws = app.ws("/api/v1/live").await;
    ws.send("grouped").await;
    ws.expect_text("grouped").await;
    ws.close().await;
    app.stop().await;
}

fn app_routes(router: &Router) -> Vec<&'static str> {
    router.routes().map(|(_, path)| path).collect()
}

// ---- mounting an axum application ----

fn legacy() -> axum::Router {
    axum::Router::new()
        .route("/", axum::routing::get(|| async { "legacy index" }))
        .route(
            "/users/{id}",
            axum::routing::get(
                |axum::extract::Path(id): axum::extract::Path<u32>| async move {
                    format!("legacy user {id}")
                },
            ),
        )
}

#[tokio::test]
async fn an_axum_app_mounted_under_a_prefix_answers_there_inside_the_apps_layers() {
    let router = hyperbun::router![public]
        .layer(from_fn(tag))
        .nest_service("/legacy", legacy());
    let app = TestServer::start(router).await;
    let user = app.get("/legacy/users/9").await;
    assert_eq!(user.text(), "legacy user 9");
    // Mounted after `.layer(…)` in the chain, and wrapped all the same.
    assert_eq!(user.header_values("x-layers"), ["tag"]);
    assert_eq!(app.get("/legacy").await.text(), "legacy index");
    assert_eq!(app.get("/legacy/nope").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/legacyx").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/public").await.text(), "public");
    app.stop().await;
}

#[test]
fn mounting_over_a_route_of_the_table_fails_at_start_up_naming_both() {
    let mounted =
        std::panic::catch_unwind(|| grouped().nest_service("/api", legacy())).expect_err("clash");
    let why = mounted
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(why.contains("\"/api\"") && why.contains("/api/v1"), "{why}");
    for bad in ["legacy", "/legacy/", "/:id", "/"] {
        let refused = std::panic::catch_unwind(|| grouped().nest_service(bad, legacy()));
        assert!(refused.is_err(), "{bad:?} was accepted");
    }
}

// ---- the router as a tower service ----

#[tokio::test]
async fn the_router_is_a_tower_service_with_its_layers() {
    let router = grouped().layer(from_fn(tag));
    let response = router
        .clone()
        .oneshot(
            hyperbun::http::Request::get("/api/v1/users/3")
                .body(http_body_util::Full::new(Bytes::new()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let layers: Vec<_> = response.headers().get_all("x-layers").iter().collect();
    assert_eq!(layers, ["tag", "api", "tag"]);
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(body, "user 3");
    let missing = router
        .oneshot(
            hyperbun::http::Request::get("/nope")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn head_and_options_answer_through_layers_as_without_them() {
    let app = TestServer::start(app().layer(from_fn(tag))).await;
    let head = app
        .request(Method::HEAD, "/hello", HeaderMap::new(), Bytes::new())
        .await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());
    assert_eq!(
        head.header("content-length"),
        Some(&*("hello, layers ".len() * 20).to_string())
    );
    let options = app
        .request(Method::OPTIONS, "/hello", HeaderMap::new(), Bytes::new())
        .await;
    assert_eq!(options.status, StatusCode::NO_CONTENT);
    assert_eq!(options.header("allow"), Some("GET, HEAD, OPTIONS"));
    assert_eq!(options.header_values("x-layers"), ["tag"]);
    app.stop().await;
}

#[tokio::test]
async fn the_router_served_by_hypers_own_server_answers_and_upgrades() {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::server::conn::auto;
    use hyper_util::service::TowerToHyperService;

    #[get("/peer")]
    async fn peer(RemoteAddr(addr): RemoteAddr) -> String {
        addr.to_string()
    }

    let router = hyperbun::router![peer, Echo].layer(from_fn(tag));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let serving = tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let service = TowerToHyperService::new(router.clone());
            tokio::spawn(async move {
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection_with_upgrades(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    let answer = hyperbun_tests::fetch(addr, Method::GET, "/peer").await;
    assert_eq!(answer.status, StatusCode::OK);
    // hyper's server does not tell the router who the peer is.
    assert_eq!(answer.text(), "unknown");
    assert_eq!(answer.header("x-layers"), Some("tag"));
    let mut ws = hyperbun::client::connect(&format!("ws://{addr}/ws"))
        .await
        .expect("upgrade through hyper's server");
    expect_echoes(&mut ws, "served by hyper").await;
    ws.close(1000, "done").await.unwrap();
    serving.abort();
}

#[tokio::test]
async fn the_per_address_socket_limit_and_the_body_limit_hold_through_layers() {
    #[post("/small", body_limit = 16)]
    async fn small(body: Bytes) -> String {
        format!("{} bytes", body.len())
    }

    #[post("/large", body_limit = 1 << 20)]
    async fn large(body: Bytes) -> String {
        format!("{} bytes", body.len())
    }

    let router = hyperbun::router![small, large, Echo]
        .config(
            ServerConfig::default()
                .max_request_body_size(1024)
                .max_websockets_per_ip(Some(1)),
        )
        .layer(from_fn(tag));
    let app = TestServer::start(router).await;
    // A route's own limit, below and above the server's, decides under the layer too.
    let post = |path: &'static str, len: usize| {
        let app = &app;
        async move {
            app.request(
                Method::POST,
                path,
                HeaderMap::new(),
                Bytes::from(vec![b'x'; len]),
            )
            .await
        }
    };
    assert_eq!(
        post("/small", 17).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(post("/small", 16).await.text(), "16 bytes");
    assert_eq!(post("/large", 100_000).await.text(), "100000 bytes");
    // The socket keeps its connection's place: a second one from this address is refused.
    let mut first = app.ws("/ws").await;
    match app.ws_with(ClientBuilder::new(app.ws_url("/ws"))).await {
        Err(ConnectError::Refused { status, .. }) => {
            assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        }
        Err(e) => panic!("expected a 429, got {e}"),
        Ok(_) => panic!("a second socket from one address was admitted"),
    }
    first.send("still here").await;
    first.expect_text("still here").await;
    first.close().await;
    app.stop().await;
}
