//! The benchmark server: the same two endpoints as Bun's reference server
//! (`../shared/tools/bun/server.js`), so `wsbench` can load both the same way.
//!
//! - `/echo`: every message is sent back to its sender.
//! - `/ws`: on open the socket subscribes to `room`; every message is published to `room`
//!   with `publish_to_self`, so every client, the sender included, receives it (the shape of
//!   Bun's `bench/websocket-server/chat-server.bun.js`).
//!
//! `DEFLATE=1` negotiates permessage-deflate, like Bun's `perMessageDeflate: true` there;
//! like that server, it then inflates what clients compress and sends uncompressed.
//!
//! `TLS_CERT=cert.pem TLS_KEY=key.pem` (both set) serves HTTPS/WSS with that certificate and
//! key, as the reference server does with Bun.serve's `tls` option, so `TLS=1 compare.sh`
//! measures both over `wss://`; otherwise plain HTTP/WS. HTTP/2 stays on, but wsbench offers
//! ALPN `http/1.1` only, so every socket is an HTTP/1.1 upgrade, as against Bun.
//!
//! `REDIS_URL=redis://127.0.0.1:6379` shares `room` with every bench_server on that Redis (the
//! Redis backplane), and `REUSE_PORT=1` lets several of them bind the one port, so that the
//! kernel splits wsbench's clients between them (the two-node fan-out in the benchmarks
//! README).
//!
//! Run it:   cargo run --release --example bench_server     (PORT, default 4001)
//! Measure:  ../shared/tools/wsbench/compare.sh -w chat-16,chat-32,fanout-500 target/release/examples/bench_server
//!           TLS=1 ../shared/tools/wsbench/compare.sh -w echo-p16 target/release/examples/bench_server

use std::ffi::OsString;
use std::io;

use hyperbun::backplane::RedisBackplane;
use hyperbun::prelude::*;
use hyperbun::TlsConfig;

#[path = "common.rs"]
mod common;

/// `/echo`.
struct Echo;

#[websocket("/echo", per_message_deflate = common::deflate_from_env())]
impl Echo {
    fn message(ws: &mut WebSocket, msg: Message) {
        ws.send(msg);
    }
}

/// `/ws`: the chat room.
struct Chat;

#[websocket(
    "/ws",
    publish_to_self = true,
    per_message_deflate = common::deflate_from_env()
)]
impl Chat {
    fn open(ws: &mut WebSocket) {
        ws.subscribe("room");
    }

    fn message(ws: &mut WebSocket, msg: Message) {
        ws.publish("room", msg);
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = common::setup("warn", 4001);
    let tls = tls_from(std::env::var_os("TLS_CERT"), std::env::var_os("TLS_KEY"))?;
    let scheme = if tls.is_some() { "wss" } else { "ws" };
    let app = app().config(config_from(
        std::env::var("REDIS_URL")
            .ok()
            .filter(|url| !url.is_empty()),
        std::env::var("REUSE_PORT").ok(),
    )?);
    let server = match tls {
        Some(tls) => app.bind_tls(("127.0.0.1", port), tls).await?,
        None => app.bind(("127.0.0.1", port)).await?,
    };
    eprintln!("hyperbun listening on {scheme}://127.0.0.1:{port} (/echo, /ws)");
    server.stopped().await;
    Ok(())
}

/// The certificate and key from `TLS_CERT` and `TLS_KEY` when both are set (PEM files);
/// `None`, plain WS, when neither is. Only one of them is a mistake, not a reason to fall
/// back to plain WS and measure the wrong thing.
fn tls_from(cert: Option<OsString>, key: Option<OsString>) -> io::Result<Option<TlsConfig>> {
    match (cert, key) {
        (Some(cert), Some(key)) => TlsConfig::from_pem_files(cert, key).map(Some),
        (None, None) => Ok(None),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "set both TLS_CERT and TLS_KEY (PEM files), or neither for plain WS",
        )),
    }
}

/// The backplane on the Redis at `redis_url`, and `SO_REUSEPORT` when `reuse_port` is `1`.
fn config_from(redis_url: Option<String>, reuse_port: Option<String>) -> io::Result<ServerConfig> {
    let mut config = ServerConfig::default().reuse_port(reuse_port.as_deref() == Some("1"));
    if let Some(url) = redis_url {
        let backplane = RedisBackplane::new(&url).map_err(io::Error::other)?;
        config = config.backplane(backplane.prefix("bench"));
    }
    Ok(config)
}

/// The routes, shared by `main` and the tests below.
fn app() -> Router {
    hyperbun::router![Echo, Chat]
}

#[cfg(test)]
mod tests {
    use hyperbun::test::TestServer;

    #[tokio::test]
    async fn echo_and_room_behave_like_buns_reference_server() {
        let app = TestServer::start(super::app()).await;
        let mut echo = app.ws("/echo").await;
        echo.send(vec![1u8, 2]).await;
        echo.expect_binary(&[1, 2]).await;

        let mut a = app.ws("/ws").await;
        let mut b = app.ws("/ws").await;
        app.wait_subscribers("room", 2).await;
        a.send("hello").await;
        // Everybody, the sender included.
        a.expect_text("hello").await;
        b.expect_text("hello").await;
        for mut ws in [echo, a, b] {
            ws.close().await;
        }
        app.stop().await;
    }

    #[tokio::test]
    async fn with_tls_cert_and_key_it_serves_wss() {
        use hyperbun::client::ClientBuilder;
        use hyperbun_tests::{scratch_dir, start_tls, within, TestCert};

        let cert = TestCert::new();
        let dir = scratch_dir("bench-server-tls");
        let (cert_file, key_file) = cert.write_files(&dir);
        let tls = super::tls_from(Some(cert_file.into()), Some(key_file.into()))
            .expect("loads")
            .expect("TLS");
        let (server, addr) = start_tls(super::app(), tls).await;
        let mut ws = ClientBuilder::new(format!("wss://127.0.0.1:{}/echo", addr.port()))
            .tls_config(cert.client_config())
            .connect()
            .await
            .expect("wss://");
        ws.send("over TLS").await.unwrap();
        let echo = within("echo", ws.recv()).await.unwrap().unwrap();
        assert_eq!(echo.as_text(), Some("over TLS"));
        ws.close(1000, "done").await.unwrap();
        server.stop().await;

        assert!(super::tls_from(None, None).expect("plain").is_none());
        let error = super::tls_from(None, Some("key.pem".into())).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
        std::fs::remove_dir_all(dir).ok();
    }
}
