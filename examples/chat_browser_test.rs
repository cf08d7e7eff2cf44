//! The chat page in a real browser: two headless Chromium tabs, driven over the W3C WebDriver
//! protocol (`chromedriver`, through the small client in `browser.rs`), join the room, see
//! each other's messages, negotiate permessage-deflate, and `/room-stats` counts them; once
//! over `http://` and once over `https://` (the router served with TLS, the page's socket on
//! `wss://`). `tests/browser/setup.sh` installs Chromium and chromedriver (Debian packages)
//! when they are missing.
//!
//! Over `https://` Chromium trusts the test's certificate by its public key
//! (`--ignore-certificate-errors-spki-list`), not by ignoring every error, and loads the page
//! over HTTP/2 (ALPN). Whether it then opens the WebSocket as an HTTP/2 extended CONNECT (RFC
//! 8441) or on an HTTP/1.1 connection of its own is Chromium's choice: the test's upgrade hook
//! notes the request's version and prints it, and does not fail on either.

use std::collections::HashMap;
use std::sync::Mutex;

use hyperbun::http::Version;
use hyperbun::prelude::*;
use hyperbun::test::TestServer;
use hyperbun_tests::{https_get, start_tls, TestCert};

/// The WebDriver client (`examples/browser.rs`, beside this file).
#[path = "browser.rs"]
mod browser;

use browser::{two_tabs_chat, wait_for, Driver, Room};

/// The chat's one server holds the room: settled once its count of `chat` is `n`.
async fn settled(server: &Server, n: usize) {
    let count = async || server.subscriber_count("chat");
    wait_for("the server's count of `chat`", n, count).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_browser_tabs_chat() {
    let app = TestServer::start(super::app()).await;
    let driver = Driver::start().await;
    let page = app.url("/");
    let room = Room {
        pages: [&page, &page],
        flags: &[],
        settle: async |n| settled(app.server(), n).await,
        stats: async || app.get("/room-stats").await.json::<Value>(),
        expected_stats: [json!({ "chat": 2 }), json!({ "chat": 1 })],
    };
    two_tabs_chat(&driver, room).await;
    app.stop().await;
}

/// The HTTP version of each socket of the `https://` test, by user name.
static OPENED_OVER: Mutex<Vec<(String, Version)>> = Mutex::new(Vec::new());

/// The chat's own hook ([`super::admit`]), noting the version the socket was opened over:
/// `HTTP/2.0` for an extended CONNECT (RFC 8441), `HTTP/1.1` for an upgrade.
#[upgrade("/ws")]
fn admit_noting_version(
    query: Query<HashMap<String, String>>,
    req: &Request,
) -> Upgrade<super::User> {
    let name = query.0.get("name").cloned().unwrap_or_default();
    OPENED_OVER.lock().unwrap().push((name, req.version()));
    super::admit(query)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_browser_tabs_chat_over_https() {
    let cert = TestCert::new();
    let router = hyperbun::router![
        crate::Chat,
        admit_noting_version,
        crate::room_stats,
        crate::page
    ];
    let (server, addr) = start_tls(router, cert.tls_config()).await;
    let driver = Driver::start().await;
    let trust = [format!(
        "--ignore-certificate-errors-spki-list={}",
        cert.spki_sha256()
    )];
    let base = format!("https://127.0.0.1:{}/", addr.port());
    let tab = driver.open_tab(&trust).await;
    tab.go(&base).await;
    let page_over = tab
        .script("return performance.getEntriesByType('navigation')[0].nextHopProtocol")
        .await;
    tab.close().await;

    let room = Room {
        pages: [&base, &base],
        flags: &trust,
        settle: async |n| settled(&server, n).await,
        stats: async || {
            let (_, reply) = https_get(addr, cert.client_config(), "/room-stats").await;
            reply.json::<Value>()
        },
        expected_stats: [json!({ "chat": 2 }), json!({ "chat": 1 })],
    };
    two_tabs_chat(&driver, room).await;

    let opened_over = OPENED_OVER.lock().unwrap().clone();
    eprintln!("Chromium over https: page over {page_over}, sockets opened over {opened_over:?}");
    assert_eq!(page_over, "h2", "ALPN gave Chromium HTTP/2 for the page");
    let names: Vec<&str> = opened_over.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["ada", "bob"]);
    server.stop().await;
}
