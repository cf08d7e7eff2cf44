//! HTTPS and `wss://`: a real server on 127.0.0.1 terminating TLS with certificates made for
//! the test ([`TestCert`]: a CA of its own, so every client verifies the chain and the name
//! rather than skipping verification), and clients that are not hyperbun's where it matters.
//!
//! The unit tests in `router/src/server/tls.rs` prove the config (parsing, ALPN lists, a
//! reload swapping acceptors). These prove what a client sees on the wire: ALPN choosing
//! HTTP/1.1 or HTTP/2 on one port, curl and Python `websockets` interoperating, WebSockets
//! over TLS with compression and over HTTP/2 (RFC 8441), a reload reaching new connections
//! and sparing open ones, and a client that never finishes its handshake being dropped.

use std::process::Stdio;
use std::time::{Duration, Instant};

use hyperbun::client::ClientBuilder;
use hyperbun::http::Version;
use hyperbun::prelude::*;
use hyperbun::{ServerConfig, TlsConfig};
use hyperbun_tests::{
    expect_echoes, https_get, run_python_client, scratch_dir, setup_tool, start_tls, tls_connect,
    within, HttpsConn, RawConn, TestCert, WAIT,
};

#[get("/version")]
async fn version(req: Request) -> String {
    format!("{:?}", req.version())
}

/// `/echo`: greets with the HTTP version the socket was opened over (an HTTP/1.1 upgrade or
/// an HTTP/2 extended CONNECT), then echoes every message, compressed when negotiated.
struct Echo;

#[websocket("/echo", data = Version, per_message_deflate = true)]
impl Echo {
    fn open(ws: &mut WebSocket<Version>) {
        let greeting = format!("open over {:?}", ws.data);
        ws.send(greeting);
    }
    fn message(ws: &mut WebSocket<Version>, msg: Message) {
        ws.send_compressed(msg);
    }
}

#[upgrade("/echo")]
fn opened_over(req: &Request) -> Upgrade<Version> {
    Upgrade::new(req.version())
}

fn app() -> Router {
    hyperbun::router![version, Echo, opened_over]
}

fn wss_url(addr: std::net::SocketAddr, path: &str) -> String {
    format!("wss://127.0.0.1:{}{path}", addr.port())
}

#[tokio::test]
async fn one_port_serves_http1_and_http2_as_alpn_chooses() {
    let cert = TestCert::new();
    let (server, addr) = start_tls(app(), cert.tls_config()).await;

    let mut h1 = HttpsConn::connect(addr, cert.client_config_alpn(&[b"http/1.1"])).await;
    assert_eq!(h1.alpn.as_deref(), Some(&b"http/1.1"[..]));
    let (version, reply) = h1.get("/version").await;
    assert_eq!(version, Version::HTTP_11);
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "HTTP/1.1");

    let mut h2 = HttpsConn::connect(addr, cert.client_config_alpn(&[b"h2", b"http/1.1"])).await;
    assert_eq!(h2.alpn.as_deref(), Some(&b"h2"[..]));
    let (version, reply) = h2.get("/version").await;
    assert_eq!(version, Version::HTTP_2);
    assert_eq!(reply.text(), "HTTP/2.0");
    // The same connection carries more requests.
    assert_eq!(h2.get("/version").await.0, Version::HTTP_2);

    // A client that offers no ALPN at all gets HTTP/1.1.
    let (version, reply) = https_get(addr, cert.client_config_alpn(&[]), "/version").await;
    assert_eq!(version, Version::HTTP_11);
    assert_eq!(reply.text(), "HTTP/1.1");
    server.stop().await;
}

#[tokio::test]
async fn with_http2_off_alpn_never_picks_h2() {
    let cert = TestCert::new();
    let router = app().config(ServerConfig::default().http2(false));
    let (server, addr) = start_tls(router, cert.tls_config()).await;
    let mut conn = HttpsConn::connect(addr, cert.client_config_alpn(&[b"h2", b"http/1.1"])).await;
    assert_eq!(conn.alpn.as_deref(), Some(&b"http/1.1"[..]));
    assert_eq!(conn.get("/version").await.0, Version::HTTP_11);
    server.stop().await;
}

/// Runs curl against `url` (pinned to 127.0.0.1, trusting only `ca`) with `flag`; returns
/// the body and the HTTP version curl reports.
async fn curl(curl: &str, ca: &std::path::Path, port: u16, flag: &str) -> (String, String) {
    let output = tokio::process::Command::new(curl)
        .args([
            "--silent",
            "--show-error",
            "--max-time",
            "10",
            "--noproxy",
            "*",
        ])
        .arg("--cacert")
        .arg(ca)
        .arg("--resolve")
        .arg(format!("localhost:{port}:127.0.0.1"))
        .arg(flag)
        .args(["--write-out", "\n%{http_version}"])
        .arg(format!("https://localhost:{port}/version"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output();
    let output = within("curl", output).await.expect("run curl");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "curl {flag} failed ({}): {stdout}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let (body, version) = stdout.rsplit_once('\n').expect("body, then the version");
    (body.to_owned(), version.to_owned())
}

#[tokio::test]
async fn curl_speaks_http2_and_http1_over_tls() {
    let curl_path = tokio::task::spawn_blocking(|| setup_tool("interop/setup-curl.sh"))
        .await
        .expect("interop/setup-curl.sh");
    let cert = TestCert::new();
    let dir = scratch_dir("tls-curl");
    let ca = cert.write_ca(&dir);
    let (server, addr) = start_tls(app(), cert.tls_config()).await;

    let (body, version) = curl(&curl_path, &ca, addr.port(), "--http2").await;
    assert_eq!((body.as_str(), version.as_str()), ("HTTP/2.0", "2"));
    let (body, version) = curl(&curl_path, &ca, addr.port(), "--http1.1").await;
    assert_eq!((body.as_str(), version.as_str()), ("HTTP/1.1", "1.1"));

    server.stop().await;
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn hyperbun_client_over_wss_compresses_both_ways() {
    let cert = TestCert::new();
    let (server, addr) = start_tls(app(), cert.tls_config()).await;
    let mut ws = ClientBuilder::new(wss_url(addr, "/echo"))
        .tls_config(cert.client_config())
        .per_message_deflate(true)
        .connect()
        .await
        .expect("wss:// handshake");
    assert!(ws.is_compressed(), "permessage-deflate agreed over TLS");
    let greeting = within("greeting", ws.recv()).await.unwrap().unwrap();
    assert_eq!(greeting.as_text(), Some("open over HTTP/1.1"));

    expect_echoes(&mut ws, &"compressible over TLS ".repeat(300)).await;
    ws.close(1000, "done").await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn hyperbun_client_opens_a_websocket_over_http2_on_wss() {
    let cert = TestCert::new();
    let (server, addr) = start_tls(app(), cert.tls_config()).await;
    let mut ws = ClientBuilder::new(wss_url(addr, "/echo"))
        .tls_config(cert.client_config())
        .http2(true)
        .per_message_deflate(true)
        .connect()
        .await
        .expect("extended CONNECT over TLS");
    assert!(ws.is_compressed(), "permessage-deflate agreed over HTTP/2");
    // The server saw an extended CONNECT on an HTTP/2 connection, not an upgrade.
    let greeting = within("greeting", ws.recv()).await.unwrap().unwrap();
    assert_eq!(greeting.as_text(), Some("open over HTTP/2.0"));

    for message in ["one", "two", &"three ".repeat(500)] {
        ws.send(message).await.unwrap();
        let echoed = within("echo", ws.recv()).await.unwrap().unwrap();
        assert_eq!(echoed.as_text(), Some(message));
    }
    ws.close(1000, "done").await.unwrap();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_websockets_over_wss_verifies_the_certificate_and_talks_both_ways() {
    let cert = TestCert::new();
    let dir = scratch_dir("tls-python");
    let ca = cert.write_ca(&dir);
    let (server, addr) = start_tls(app(), cert.tls_config()).await;
    let url = wss_url(addr, "/echo");
    let report = run_python_client("wss_client.py", &[url.as_ref(), ca.as_os_str()]).await;
    assert_eq!(report["greeting"], "open over HTTP/1.1", "{report}");
    assert_eq!(report["echo_lengths"], serde_json::json!([14, 1000, 4]));
    assert_eq!(report["tls_version"], "TLSv1.3", "{report}");
    assert!(
        report["extension"]
            .as_str()
            .is_some_and(|e| e.starts_with("permessage-deflate")),
        "{report}"
    );
    server.stop().await;
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn a_reload_reaches_new_connections_and_spares_open_ones() {
    let (a, b) = (TestCert::new(), TestCert::new());
    let dir = scratch_dir("tls-reload");
    let (cert_file, key_file) = a.write_files(&dir);
    let tls = TlsConfig::from_pem_files(&cert_file, &key_file).expect("cert A loads");
    let (server, addr) = start_tls(app(), tls.clone()).await;

    let mut before = HttpsConn::connect(addr, a.client_config()).await;
    assert_eq!(before.peer_cert, a.cert_der());
    assert_eq!(before.get("/version").await.1.text(), "HTTP/1.1");

    // The files are renewed in place (another CA altogether) and reloaded.
    b.write_files(&dir);
    tls.reload_from_pem_files(&cert_file, &key_file)
        .expect("cert B loads");

    let mut after = HttpsConn::connect(addr, b.client_config()).await;
    assert_eq!(after.peer_cert, b.cert_der(), "a new connection gets B");
    assert_eq!(after.get("/version").await.1.status, StatusCode::OK);
    let refused = tls_connect(addr, a.client_config()).await;
    assert!(
        refused.is_err(),
        "a client trusting only A's CA must refuse B"
    );

    // The keep-alive connection from before the reload goes on with A.
    let (version, reply) = before.get("/version").await;
    assert_eq!((version, reply.status), (Version::HTTP_11, StatusCode::OK));
    assert_eq!(before.peer_cert, a.cert_der());

    server.stop().await;
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_missing_certificate_or_key_file_is_an_error_naming_it() {
    let dir = scratch_dir("tls-missing");
    let (cert_file, key_file) = TestCert::new().write_files(&dir);
    let missing = dir.join("no-such-cert.pem");
    let error = TlsConfig::from_pem_files(&missing, &key_file).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
    assert!(
        error.to_string().contains(&missing.display().to_string()),
        "{error}"
    );
    let missing = dir.join("no-such-key.pem");
    let error = TlsConfig::from_pem_files(&cert_file, &missing).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
    assert!(
        error.to_string().contains(&missing.display().to_string()),
        "{error}"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn a_client_that_never_finishes_the_handshake_is_dropped_after_header_read_timeout() {
    const TIMEOUT: Duration = Duration::from_millis(300);
    let cert = TestCert::new();
    let router = app().config(ServerConfig::default().header_read_timeout(Some(TIMEOUT)));
    let (server, addr) = start_tls(router, cert.tls_config()).await;
    let started = Instant::now();
    let mut silent = RawConn::connect(addr).await;
    // A TLS record header announcing a 512-byte ClientHello, and only its first bytes.
    let mut partial = RawConn::connect(addr).await;
    partial
        .write(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
        .await;

    // Meanwhile the server serves others.
    let (version, reply) = https_get(addr, cert.client_config(), "/version").await;
    assert_eq!((version, reply.status), (Version::HTTP_11, StatusCode::OK));

    assert_eq!(
        silent.read_until_closed().await,
        b"",
        "no bytes, then closed"
    );
    assert_eq!(partial.read_until_closed().await, b"", "no alert, closed");
    let elapsed = started.elapsed();
    assert!(
        elapsed >= TIMEOUT - Duration::from_millis(50) && elapsed < WAIT,
        "closed after {elapsed:?}"
    );

    // And still does after.
    let (_, reply) = https_get(addr, cert.client_config(), "/version").await;
    assert_eq!(reply.status, StatusCode::OK);
    server.stop().await;
}
