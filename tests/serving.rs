//! The limits that keep a server up, each against a hostile client: `max_connections`
//! (503 with `Retry-After` past it, for requests and upgrades, while the connections already
//! open keep working), running out of file descriptors (accept backs off instead of
//! spinning, and recovers), `reuse_port`, and an HTTP/2 client that opens and resets streams
//! as fast as it can.

use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hyperbun::client::{connect as ws_connect, ConnectError};
use hyperbun::http;
use hyperbun::prelude::*;
use hyperbun::test::TestServer;
use hyperbun_tests::{connect, request, send, within, ClientBody, Conn};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

#[get("/hello")]
async fn hello() -> &'static str {
    "hello"
}

/// How many `/slow` handlers are running.
static SLOW_RUNNING: AtomicUsize = AtomicUsize::new(0);

struct Running;

impl Drop for Running {
    fn drop(&mut self) {
        SLOW_RUNNING.fetch_sub(1, Ordering::SeqCst);
    }
}

#[get("/slow")]
async fn slow() -> &'static str {
    SLOW_RUNNING.fetch_add(1, Ordering::SeqCst);
    let _running = Running;
    tokio::time::sleep(Duration::from_secs(5)).await;
    "slow"
}

struct Echo;

#[websocket("/ws")]
impl Echo {
    fn message(ws: &mut WebSocket, msg: Message) {
        ws.send(msg);
    }
}

fn app() -> Router {
    hyperbun::router![hello, slow, Echo]
}

async fn get(conn: &mut Conn, path: &str) -> hyperbun::test::TestResponse {
    send(
        conn,
        request(Method::GET, path)
            .body(ClientBody::default())
            .unwrap(),
    )
    .await
}

/// Retries `check` until it holds (the server sees a closed connection a moment after the
/// client closes it).
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    within(what, async {
        while !check().await {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn past_max_connections_new_requests_get_503_and_open_connections_keep_working() {
    let router = app().config(ServerConfig::default().max_connections(Some(2)));
    let app = TestServer::start(router).await;
    let mut first = connect(app.addr()).await;
    let mut second = connect(app.addr()).await;
    assert_eq!(get(&mut first, "/hello").await.text(), "hello");
    assert_eq!(get(&mut second, "/hello").await.text(), "hello");

    let mut third = connect(app.addr()).await;
    let full = get(&mut third, "/hello").await;
    assert_eq!(full.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(full.header("retry-after"), Some("1"));
    assert_eq!(full.header("connection"), Some("close"));
    assert!(full.text().contains("capacity"), "{}", full.text());

    assert_eq!(
        get(&mut first, "/hello").await.text(),
        "hello",
        "still served"
    );
    drop(second);
    eventually("a slot is free again", async || {
        let mut conn = connect(app.addr()).await;
        get(&mut conn, "/hello").await.status == StatusCode::OK
    })
    .await;
    app.stop().await;
}

#[tokio::test]
async fn an_open_websocket_holds_its_connection_slot_and_upgrades_past_the_limit_get_503() {
    let router = app().config(ServerConfig::default().max_connections(Some(1)));
    let app = TestServer::start(router).await;
    let mut ws = app.ws("/ws").await;
    match ws_connect(&app.ws_url("/ws")).await {
        Err(ConnectError::Refused {
            status, headers, ..
        }) => {
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(headers["retry-after"], "1");
        }
        other => panic!("expected a 503 refusal, got {other:?}"),
    }
    ws.send("still open").await;
    ws.expect_text("still open").await;
    ws.close().await;
    eventually("the socket's slot is given back", async || {
        ws_connect(&app.ws_url("/ws")).await.is_ok()
    })
    .await;
    app.stop().await;
}

#[tokio::test]
async fn two_servers_share_a_port_with_reuse_port_and_not_without() {
    let config = ServerConfig::default().reuse_port(true);
    let first = app()
        .config(config.clone())
        .bind("127.0.0.1:0")
        .await
        .expect("first server");
    let port = first.local_addr().port().unwrap();
    let second = app()
        .config(config)
        .bind(("127.0.0.1", port))
        .await
        .expect("a second server on the same port with reuse_port");
    let refused = app().bind(("127.0.0.1", port)).await;
    let e = refused.expect_err("without reuse_port the port is taken");
    assert_eq!(e.kind(), std::io::ErrorKind::AddrInUse);
    // Both answer: the kernel spreads connections; stop one and the other serves alone.
    first.stop().await;
    let mut conn = connect(second.local_addr().tcp().unwrap()).await;
    assert_eq!(get(&mut conn, "/hello").await.text(), "hello");
    drop(conn);
    second.stop().await;
}

/// CPU time (user + system, in clock ticks) a process has used, from `/proc`.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc stat");
    let after_name = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat; 12 and 13 after "pid (comm) ".
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// Sends `GET /hello` on a raw connection; true if the answer comes within `wait`.
async fn answered(stream: &mut TcpStream, wait: Duration) -> bool {
    let ask = stream
        .write_all(b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await;
    if ask.is_err() {
        return false;
    }
    read_answer(stream, wait).await
}

async fn read_answer(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0; 256];
    let mut seen = Vec::new();
    let read = tokio::time::timeout(wait, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => {
                    seen.extend_from_slice(&buf[..n]);
                    if seen.windows(5).any(|w| w == b"hello") {
                        return true;
                    }
                }
            }
        }
    })
    .await;
    read.unwrap_or(false)
}

#[tokio::test]
async fn out_of_file_descriptors_the_server_backs_off_keeps_its_connections_and_recovers() {
    let binary = env!("CARGO_BIN_EXE_fd-limited-server");
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 40 && exec \"$0\"")
        .arg(binary)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the server with a low descriptor limit");
    let pid = child.id().expect("pid");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port: u16 = within("the child's port", lines.next_line())
        .await
        .unwrap()
        .expect("a port line")
        .parse()
        .expect("a port");
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));

    // Fill the descriptor table: connections are answered until accept fails.
    let mut open = Vec::new();
    let waiting = loop {
        assert!(open.len() < 64, "the limit of 40 descriptors never bit");
        let mut stream = TcpStream::connect(addr)
            .await
            .expect("the kernel queues it");
        if answered(&mut stream, Duration::from_millis(500)).await {
            open.push(stream);
        } else {
            break stream;
        }
    };
    assert!(open.len() > 5, "some connections were served first");

    // Out of descriptors, the accept loop sleeps between tries instead of spinning.
    let (ticks_before, since) = (cpu_ticks(pid), Instant::now());
    tokio::time::sleep(Duration::from_secs(1)).await;
    let used = cpu_ticks(pid) - ticks_before;
    // Ticks are hundredths of a second (USER_HZ); a spinning loop would use ~100.
    assert!(
        used < 20,
        "the server used {used} ticks in {:?} while out of descriptors: spinning",
        since.elapsed()
    );

    // The connections it has keep working.
    assert!(
        answered(&mut open[0], Duration::from_secs(2)).await,
        "an open connection still served"
    );

    // Descriptors come back: the connection that waited in the backlog is served.
    open.truncate(open.len() - 5);
    let mut waiting = waiting;
    assert!(
        read_answer(&mut waiting, Duration::from_secs(5)).await,
        "the waiting connection is accepted and answered once descriptors are free"
    );
    assert!(
        child.try_wait().unwrap().is_none(),
        "the server is still running"
    );
    drop(child.stdin.take());
    let status = within("the child stops", child.wait()).await.unwrap();
    assert!(status.success(), "{status}");
}

#[tokio::test]
async fn a_flood_of_http2_streams_opened_and_reset_does_not_stop_the_server() {
    let app = TestServer::start(app()).await;
    let tcp = TcpStream::connect(app.addr()).await.unwrap();
    let (client, conn) = h2::client::handshake(tcp).await.expect("HTTP/2 handshake");
    let conn = tokio::spawn(conn);
    let mut client = Some(client.ready().await.unwrap());
    let started = Instant::now();
    let mut opened = 0;
    while let Some(mut ready) = client.take() {
        if opened == 20_000 || started.elapsed() > Duration::from_secs(10) {
            break;
        }
        let req = http::Request::get("http://127.0.0.1/slow")
            .body(())
            .unwrap();
        let Ok((_response, mut stream)) = ready.send_request(req, false) else {
            break; // the server has sent GOAWAY
        };
        stream.send_reset(h2::Reason::CANCEL);
        opened += 1;
        client = ready.ready().await.ok();
    }
    assert!(opened > 100, "the flood got going ({opened} streams)");
    // Other clients are answered at once all the same.
    let mut other = connect(app.addr()).await;
    assert_eq!(get(&mut other, "/hello").await.text(), "hello");
    // A reset stream cancels its handler: nothing of the flood goes on running (each
    // handler would otherwise sleep 5 s).
    let cancelled = tokio::time::timeout(Duration::from_secs(2), async {
        while SLOW_RUNNING.load(Ordering::SeqCst) > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(
        cancelled.is_ok(),
        "{} handlers of reset streams still running",
        SLOW_RUNNING.load(Ordering::SeqCst)
    );
    drop(client);
    let _ = within("the flooding connection ends", conn).await;
    app.stop().await;
}
