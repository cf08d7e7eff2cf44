//! `Server::stop` always ends: within the grace period when everything cooperates, and at
//! its deadline when a handler never returns.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hyperbun::prelude::*;
use hyperbun::test::TestServer;

/// Close codes the stuck socket's `close` handler saw.
static CLOSES: Mutex<Vec<u16>> = Mutex::new(Vec::new());
/// `message` handlers that started.
static STARTED: AtomicUsize = AtomicUsize::new(0);

struct Stuck;

#[websocket("/stuck")]
impl Stuck {
    async fn message(_ws: &mut WebSocket, _msg: Message) {
        STARTED.fetch_add(1, Ordering::SeqCst);
        std::future::pending::<()>().await;
    }
    fn close(_ws: &mut WebSocket, code: u16, _reason: &str) {
        CLOSES.lock().unwrap().push(code);
    }
}

#[get("/forever")]
async fn forever() -> &'static str {
    std::future::pending::<()>().await;
    "never"
}

#[tokio::test]
async fn a_handler_that_never_returns_does_not_hold_stop_past_the_grace_period() {
    let grace = Duration::from_millis(300);
    let router =
        hyperbun::router![Stuck, forever].config(ServerConfig::default().shutdown_grace(grace));
    let app = TestServer::start(router).await;
    let mut ws = app.ws("/stuck").await;
    ws.send("hang").await;
    while STARTED.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    // An HTTP request whose handler never answers is in flight too.
    let addr = app.addr();
    let request = tokio::spawn(async move {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(conn);
        let req = hyper::Request::get("/forever")
            .header("host", "127.0.0.1")
            .body(http_body_util::Empty::<Bytes>::new())
            .unwrap();
        sender.send_request(req).await.map(|r| r.status())
    });
    tokio::time::sleep(Duration::from_millis(50)).await;

    let server = app.server().clone();
    let started = Instant::now();
    // Bounded far above the grace period: this checks that stop ends, not how fast.
    tokio::time::timeout(Duration::from_secs(10), server.stop())
        .await
        .expect("stop() ended after the grace period");
    assert!(
        started.elapsed() >= grace,
        "stop waited for the grace period"
    );
    assert_eq!(server.pending_websockets(), 0);
    // The stuck socket was cut: its close handler ran once, with 1006 (no handshake).
    assert_eq!(*CLOSES.lock().unwrap(), [1006]);
    let answer = request.await.unwrap();
    assert!(
        answer.is_err(),
        "the request in flight was dropped: {answer:?}"
    );
    drop(ws);
}
