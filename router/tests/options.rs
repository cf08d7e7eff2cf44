//! Socket options that cannot work stop the program when the router is built, naming the
//! socket, the header and why: not a `500` on every upgrade once it serves.

use hyperbun::prelude::*;

struct BadHeaderSocket;

#[websocket("/bad", options = SocketOptions::new().header("bad name", "x"))]
impl BadHeaderSocket {
    fn message(_ws: &mut WebSocket, _msg: Message) {}
}

#[test]
#[should_panic(
    expected = "invalid options for socket `BadHeaderSocket` at \"/bad\" (router/tests/options.rs"
)]
fn a_bad_header_panics_when_the_router_is_built() {
    // Building is enough: nothing is bound or served.
    let _router = hyperbun::router![BadHeaderSocket];
}

#[test]
#[should_panic(
    expected = "SocketOptions::header(\"bad name\", \"x\"): \"bad name\" is not a valid header name"
)]
fn the_panic_names_the_header_and_why() {
    let _router = hyperbun::router![BadHeaderSocket];
}

struct GoodHeaderSocket;

#[websocket("/good", options = SocketOptions::new().header("x-server", "hyperbun"))]
impl GoodHeaderSocket {
    fn message(_ws: &mut WebSocket, _msg: Message) {}
}

#[tokio::test]
async fn a_valid_header_builds_and_serves() {
    let app = hyperbun::test::TestServer::start(hyperbun::router![GoodHeaderSocket]).await;
    let mut ws = app.ws("/good").await;
    ws.close().await;
    app.stop().await;
}
