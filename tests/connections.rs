//! Connection lifecycle: keep-alive, panics, graceful stop and the header read timeout.
//!
//! `TestServer` opens a connection per request, so tests about one connection (several
//! requests on it, a partial request, a connection the server must close) hold their own:
//! hyper's client connection from `connect`, or a `RawConn` for the bytes themselves.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyperbun::prelude::*;
use hyperbun::test::TestServer;
use hyperbun_tests::{connect, fetch, request, send, within, ClientBody, RawConn};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;

#[get("/peer")]
async fn peer(RemoteAddr(addr): RemoteAddr) -> String {
    addr.to_string()
}

#[post("/echo")]
async fn echo(body: String) -> String {
    body
}

/// Asserts that nothing serves `addr` any more: connecting is refused, or the connection is
/// closed without a response. A raw socket, since either outcome is a pass.
async fn assert_not_served(addr: SocketAddr) {
    let Ok(mut stream) = within("connect after stop", TcpStream::connect(addr)).await else {
        return;
    };
    // Write errors are fine too: the peer may already have reset the connection.
    let _ = stream
        .write_all(b"GET /peer HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await;
    let mut received = Vec::new();
    let read = within("read after stop", stream.read_to_end(&mut received)).await;
    assert!(
        read.is_err() || received.is_empty(),
        "a stopped server answered: {:?}",
        String::from_utf8_lossy(&received)
    );
}

#[tokio::test]
async fn keep_alive_serves_several_requests_on_one_hyper_connection() {
    let app = TestServer::start(hyperbun::router![peer, echo]).await;
    let mut conn = connect(app.addr()).await;

    let first = send(
        &mut conn,
        request(Method::GET, "/peer")
            .body(ClientBody::default())
            .unwrap(),
    )
    .await;
    assert_eq!(first.status, StatusCode::OK);
    let client = first.text().to_owned();
    assert!(client.starts_with("127.0.0.1:"), "{client}");

    for i in 0..5 {
        let body = format!("message {i}");
        let req = request(Method::POST, "/echo")
            .body(ClientBody::from(body.clone()))
            .unwrap();
        let reply = send(&mut conn, req).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.text(), body);

        // Error answers keep the connection open too.
        let req = request(Method::GET, "/missing")
            .body(ClientBody::default())
            .unwrap();
        assert_eq!(send(&mut conn, req).await.status, StatusCode::NOT_FOUND);
        let req = request(Method::DELETE, "/peer")
            .body(ClientBody::default())
            .unwrap();
        assert_eq!(
            send(&mut conn, req).await.status,
            StatusCode::METHOD_NOT_ALLOWED
        );

        // Same client socket every time: the connection was reused, not reopened.
        let req = request(Method::GET, "/peer")
            .body(ClientBody::default())
            .unwrap();
        let reply = send(&mut conn, req).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.text(), client);
    }

    // A new connection is a different client socket.
    let other = app.get("/peer").await;
    assert_ne!(other.text(), client);
    app.stop().await;
}

#[tokio::test]
async fn keep_alive_serves_sequential_requests_on_one_raw_stream() {
    let app = TestServer::start(hyperbun::router![peer, echo]).await;
    let mut conn = RawConn::connect(app.addr()).await;
    let client = conn.local_addr().to_string();

    for i in 0..3 {
        conn.write("GET /peer HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            .await;
        let reply = conn.read_response().await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.text(), client);
        assert_eq!(reply.header("connection"), None);

        let body = format!("body {i}");
        conn.write(format!(
            "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ))
        .await;
        let reply = conn.read_response().await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.text(), body);
    }
    app.stop().await;
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let app = TestServer::start(hyperbun::router![peer, echo]).await;
    let mut conn = RawConn::connect(app.addr()).await;
    conn.write(concat!(
        "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\n\r\none",
        "GET /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\nthree",
    ))
    .await;
    let first = conn.read_response().await;
    assert_eq!((first.status, first.text()), (200, "one"));
    let second = conn.read_response().await;
    assert_eq!((second.status, second.text()), (404, "Not Found"));
    let third = conn.read_response().await;
    assert_eq!((third.status, third.text()), (200, "three"));
    app.stop().await;
}

#[tokio::test]
async fn keep_alive_off_closes_the_connection_after_each_response() {
    let router = hyperbun::router![peer].config(ServerConfig::default().keep_alive(false));
    let app = TestServer::start(router).await;
    let mut conn = RawConn::connect(app.addr()).await;
    conn.write("GET /peer HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await;
    let reply = conn.read_response().await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("connection"), Some("close"));
    assert_eq!(conn.read_until_closed().await, b"");
    app.stop().await;
}

#[tokio::test]
async fn panicking_handler_is_500_and_the_server_keeps_serving() {
    #[get("/boom")]
    async fn boom() -> String {
        panic!("boom (this panic is expected by the test)")
    }

    #[get("/boom-sync")]
    fn boom_sync() -> &'static str {
        panic!("sync boom (this panic is expected by the test)")
    }

    let app = TestServer::start(hyperbun::router![boom, boom_sync, peer]).await;
    let mut conn = connect(app.addr()).await;
    let get_on = |path: &str| {
        request(Method::GET, path)
            .body(ClientBody::default())
            .unwrap()
    };

    let before = send(&mut conn, get_on("/peer")).await;
    assert_eq!(before.status, StatusCode::OK);

    for path in ["/boom", "/boom-sync"] {
        let reply = send(&mut conn, get_on(path)).await;
        assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR, "{path}");
        assert_eq!(
            reply.header_values("content-type"),
            ["text/plain; charset=utf-8"]
        );
        assert_eq!(reply.text(), "Internal Server Error");
    }

    // The same connection still works...
    let after = send(&mut conn, get_on("/peer")).await;
    assert_eq!(after.status, StatusCode::OK);
    assert_eq!(after.text(), before.text());

    // ...and so do new ones, including the panicking route again.
    let reply = app.get("/boom").await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    let reply = app.get("/peer").await;
    assert_eq!(reply.status, StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn graceful_stop_lets_the_in_flight_request_finish() {
    static STARTED: Notify = Notify::const_new();
    static RELEASE: Notify = Notify::const_new();
    static RETURNED: AtomicBool = AtomicBool::new(false);

    #[get("/slow")]
    async fn slow() -> String {
        STARTED.notify_one();
        RELEASE.notified().await;
        RETURNED.store(true, Ordering::SeqCst);
        "finished after the stop began".to_owned()
    }

    // In an `Arc`, to request from a task while this one stops the server.
    let app = Arc::new(TestServer::start(hyperbun::router![slow]).await);
    let addr = app.addr();
    let in_flight = tokio::spawn({
        let app = Arc::clone(&app);
        async move { app.get("/slow").await }
    });
    within("the handler to start", STARTED.notified()).await;

    let server = app.server().clone();
    let stopping = tokio::spawn(async move {
        server.stop().await;
        // stop() may only return once the handler is done.
        RETURNED.load(Ordering::SeqCst)
    });

    // Give the stop every chance to (wrongly) complete while the handler still waits.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(app.server().is_stopping());
    assert!(
        !stopping.is_finished(),
        "stop() returned with a request in flight"
    );
    assert!(!in_flight.is_finished());

    RELEASE.notify_one();
    let reply = within("the in-flight response", in_flight).await.unwrap();
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header_values("content-length"), ["29"]);
    assert_eq!(reply.text(), "finished after the stop began");

    let handler_returned_first = within("stop() to return", stopping).await.unwrap();
    assert!(handler_returned_first);

    assert_not_served(addr).await;
}

#[tokio::test]
async fn stop_closes_idle_keep_alive_connections() {
    let app = TestServer::start(hyperbun::router![peer]).await;
    let addr = app.addr();
    let mut idle = RawConn::connect(addr).await;
    idle.write("GET /peer HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await;
    assert_eq!(idle.read_response().await.status, 200);

    // The idle connection does not hold the stop up (bounded by `within`)...
    app.stop().await;
    // ...and is closed by it.
    assert_eq!(idle.read_until_closed().await, b"");
    assert_not_served(addr).await;
}

#[tokio::test]
async fn handler_can_stop_its_own_server() {
    #[post("/shutdown")]
    async fn shutdown(server: Server) -> &'static str {
        tokio::spawn(async move { server.stop().await });
        "bye"
    }

    let app = TestServer::start(hyperbun::router![shutdown, peer]).await;
    let reply = app
        .request(Method::POST, "/shutdown", HeaderMap::new(), Bytes::new())
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "bye");
    within("the server to stop", app.server().stopped()).await;
    assert!(app.server().is_stopping());
    assert_not_served(app.addr()).await;
}

fn short_header_timeout(router: hyperbun::Router) -> hyperbun::Router {
    router.config(ServerConfig::default().header_read_timeout(Some(Duration::from_millis(300))))
}

#[tokio::test]
async fn header_read_timeout_closes_a_partial_request() {
    let app = TestServer::start(short_header_timeout(hyperbun::router![peer])).await;
    let mut conn = RawConn::connect(app.addr()).await;
    conn.write("GET /pe").await;
    let received = conn.read_until_closed().await;
    assert!(
        received.is_empty(),
        "unexpected answer: {:?}",
        String::from_utf8_lossy(&received)
    );

    // Requests that arrive in time are still served.
    let reply = app.get("/peer").await;
    assert_eq!(reply.status, StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn header_read_timeout_closes_a_silent_connection() {
    let app = TestServer::start(short_header_timeout(hyperbun::router![peer])).await;
    let mut conn = RawConn::connect(app.addr()).await;
    assert_eq!(conn.read_until_closed().await, b"");
    app.stop().await;
}

#[tokio::test]
async fn partial_request_does_not_hold_up_other_connections() {
    let app = TestServer::start(short_header_timeout(hyperbun::router![peer])).await;
    let mut stalled = RawConn::connect(app.addr()).await;
    stalled
        .write("GET /peer HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await;
    let reply = app.get("/peer").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(stalled.read_until_closed().await, b"");
    app.stop().await;
}

#[tokio::test]
async fn stop_closes_a_connection_that_never_sent_a_request() {
    let router = hyperbun::router![peer].config(ServerConfig::default().header_read_timeout(None));
    let app = TestServer::start(router).await;
    let addr = app.addr();
    let mut silent = RawConn::connect(addr).await;
    // Make sure the server has accepted it: a request on another connection is answered
    // after the accept loop took this one.
    assert_eq!(app.get("/peer").await.status, StatusCode::OK);
    app.stop().await;
    assert_eq!(silent.read_until_closed().await, b"");
}

#[tokio::test]
async fn stop_with_a_stalled_partial_request_returns_once_the_header_timeout_closes_it() {
    let app = TestServer::start(short_header_timeout(hyperbun::router![peer])).await;
    let addr = app.addr();
    let mut partial = RawConn::connect(addr).await;
    partial.write("GET /peer HTTP/1.1\r\nHost: 1").await;
    assert_eq!(app.get("/peer").await.status, StatusCode::OK);
    app.stop().await;
    assert_eq!(partial.read_until_closed().await, b"");
    assert_not_served(addr).await;
}

#[tokio::test]
async fn requests_on_different_connections_run_concurrently() {
    static SECOND_STARTED: Notify = Notify::const_new();

    #[get("/first")]
    async fn first() -> &'static str {
        // Only finishes once /second has run: a server that handled one request at a time
        // would never get there.
        SECOND_STARTED.notified().await;
        "first"
    }

    #[get("/second")]
    async fn second() -> &'static str {
        SECOND_STARTED.notify_one();
        "second"
    }

    let app = TestServer::start(hyperbun::router![first, second]).await;
    let (first, second) = tokio::join!(app.get("/first"), app.get("/second"));
    assert_eq!(second.text(), "second");
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.text(), "first");
    app.stop().await;
}

#[tokio::test]
async fn graceful_stop_waits_for_a_request_body_still_being_uploaded() {
    static STARTED: Notify = Notify::const_new();

    #[post("/upload")]
    async fn upload(req: Request) -> String {
        STARTED.notify_one();
        let body = req.into_body().to_bytes().await.expect("read the body");
        format!("got {} bytes", body.len())
    }

    let app = TestServer::start(hyperbun::router![upload]).await;
    let addr = app.addr();
    let mut conn = RawConn::connect(addr).await;
    conn.write("POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n01234")
        .await;
    within("the handler to start", STARTED.notified()).await;

    let server = app.server().clone();
    let stopping = tokio::spawn(async move { server.stop().await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !stopping.is_finished(),
        "stop() returned with a request in flight"
    );

    conn.write("56789").await;
    let reply = conn.read_response().await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.text(), "got 10 bytes");
    within("stop() to return", stopping).await.unwrap();
    assert_eq!(conn.read_until_closed().await, b"");
    assert_not_served(addr).await;
}

#[tokio::test]
async fn bind_serves_on_the_given_address_and_stop_is_idempotent() {
    let server = within("bind", hyperbun::router![peer].bind("127.0.0.1:0"))
        .await
        .expect("bind 127.0.0.1:0");
    let addr = server.local_addr().tcp().expect("a TCP address");
    assert!(addr.ip().is_loopback());
    assert_ne!(addr.port(), 0);
    // Not a `TestServer`'s: `fetch` takes any address.
    assert_eq!(
        fetch(addr, Method::GET, "/peer").await.status,
        StatusCode::OK
    );

    within("stop", server.stop()).await;
    // Stopping again, or waiting for the stop, returns at once.
    within("a second stop", server.stop()).await;
    within("stopped", server.stopped()).await;
    assert!(server.is_stopping());
    assert_not_served(addr).await;
}

#[tokio::test]
async fn serve_binds_every_interface_and_returns_once_stopped() {
    #[get("/addr")]
    async fn addr(server: Server) -> String {
        server.local_addr().to_string()
    }

    #[post("/stop")]
    async fn halt(server: Server) -> StatusCode {
        tokio::spawn(async move { server.stop().await });
        StatusCode::ACCEPTED
    }

    // A port that was free a moment ago; `serve` takes a port, not a listener.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("find a free port")
        .port();
    let serving = tokio::spawn(hyperbun::router![addr, halt].serve(port));
    let target = SocketAddr::from(([127, 0, 0, 1], port));
    let mut attempts = 0;
    while TcpStream::connect(target).await.is_err() {
        attempts += 1;
        assert!(attempts < 200, "serve({port}) never accepted a connection");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let reply = fetch(target, Method::GET, "/addr").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), format!("0.0.0.0:{port}"));

    let reply = fetch(target, Method::POST, "/stop").await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    within("serve() to return after stop", serving)
        .await
        .expect("serve task")
        .expect("serve() returns Ok");
    assert_not_served(target).await;
}

#[tokio::test]
async fn a_unix_socket_that_cannot_be_bound_is_an_error_naming_its_path() {
    let path = std::env::temp_dir()
        .join(format!("hyperbun-no-such-dir-{}", std::process::id()))
        .join("app.sock");
    let err = hyperbun::router![peer]
        .listen_unix(&path)
        .expect_err("the directory does not exist");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "the error names the path: {err}"
    );
}
