//! The chat page in a real browser: two headless Chromium tabs, driven over the W3C WebDriver
//! protocol (`chromedriver`), join the room, see each other's messages, negotiate
//! permessage-deflate, and `/room-stats` counts them; once over `http://` and once over
//! `https://` (the router served with TLS, the page's socket on `wss://`). `tests/browser/setup.sh`
//! installs Chromium and chromedriver (Debian packages) when they are missing.
//!
//! Over `https://` Chromium trusts the test's certificate by its public key
//! (`--ignore-certificate-errors-spki-list`), not by ignoring every error, and loads the page
//! over HTTP/2 (ALPN). Whether it then opens the WebSocket as an HTTP/2 extended CONNECT (RFC
//! 8441) or on an HTTP/1.1 connection of its own is Chromium's choice: the test's upgrade hook
//! notes the request's version and prints it, and does not fail on either.
//!
//! WebDriver is a small JSON-over-HTTP protocol; the handful of commands used here (new
//! session, navigate, find element, type, click, run a script, end session) are sent with the
//! test crate's HTTP client rather than through a WebDriver library.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hyperbun::http::Version;
use hyperbun::prelude::*;
use hyperbun::test::TestServer;
use hyperbun_tests::{fetch, https_get, post, setup_tool, start_tls, TestCert};

/// How long anything in the page may take to happen.
const PATIENCE: Duration = Duration::from_secs(10);

/// The key under which WebDriver returns an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Chromium's flags: headless, and nothing that reaches beyond 127.0.0.1.
const FLAGS: [&str; 7] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
];

/// A running chromedriver, killed when dropped.
struct Driver {
    addr: SocketAddr,
    chromium: String,
    _process: tokio::process::Child,
}

impl Driver {
    async fn start() -> Driver {
        let paths = tokio::task::spawn_blocking(|| setup_tool("browser/setup.sh"))
            .await
            .expect("browser/setup.sh");
        let (chromium, chromedriver) = paths.split_once(' ').expect("two paths");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let process = tokio::process::Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start chromedriver");
        let driver = Driver {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            chromium: chromium.to_owned(),
            _process: process,
        };
        let started = Instant::now();
        while tokio::net::TcpStream::connect(driver.addr).await.is_err() {
            assert!(
                started.elapsed() < PATIENCE,
                "chromedriver did not listen on {port}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        driver
    }

    /// Sends one WebDriver command and returns its `value`.
    async fn command(&self, method: Method, path: &str, body: Value) -> Value {
        let reply = if method == Method::POST {
            post(self.addr, path, "application/json", body.to_string()).await
        } else {
            fetch(self.addr, method.clone(), path).await
        };
        let answer: Value = serde_json::from_slice(&reply.body)
            .unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {}", reply.text()));
        assert!(
            reply.status.is_success(),
            "{method} {path} {body}: {answer}"
        );
        answer["value"].clone()
    }

    /// A new browser window with a fresh profile; `extra` flags go to Chromium.
    async fn open_tab(&self, extra: &[String]) -> Tab<'_> {
        static TABS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let tab = TABS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let profile =
            std::env::temp_dir().join(format!("hyperbun-chromium-{}-{tab}", std::process::id()));
        let _ = std::fs::remove_dir_all(&profile); // a fresh profile, whatever was left
        std::fs::create_dir_all(&profile).expect("a profile directory");
        let mut args: Vec<String> = FLAGS.iter().map(|f| (*f).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        args.extend_from_slice(extra);
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": self.chromium, "args": args },
        }}});
        let session = self.command(Method::POST, "/session", capabilities).await;
        let id = session["sessionId"]
            .as_str()
            .expect("a session id")
            .to_owned();
        Tab {
            driver: self,
            id,
            profile,
        }
    }
}

/// One browser window (a WebDriver session).
struct Tab<'a> {
    driver: &'a Driver,
    id: String,
    profile: PathBuf,
}

impl Tab<'_> {
    async fn command(&self, method: Method, path: &str, body: Value) -> Value {
        let path = format!("/session/{}{path}", self.id);
        self.driver.command(method, &path, body).await
    }

    async fn go(&self, url: &str) {
        self.command(Method::POST, "/url", json!({ "url": url }))
            .await;
    }

    async fn element(&self, css: &str) -> String {
        let found = self
            .command(
                Method::POST,
                "/element",
                json!({ "using": "css selector", "value": css }),
            )
            .await;
        found[ELEMENT].as_str().expect("an element").to_owned()
    }

    /// Types `text` into the input `css` and clicks the button of its form, as a user would.
    async fn type_and_submit(&self, css: &str, form_button: &str, text: &str) {
        let input = self.element(css).await;
        let path = format!("/element/{input}/value");
        self.command(Method::POST, &path, json!({ "text": text }))
            .await;
        let button = self.element(form_button).await;
        let path = format!("/element/{button}/click");
        self.command(Method::POST, &path, json!({})).await;
    }

    async fn script(&self, script: &str) -> Value {
        self.command(
            Method::POST,
            "/execute/sync",
            json!({ "script": script, "args": [] }),
        )
        .await
    }

    /// The lines of the page's message log.
    async fn log(&self) -> Vec<String> {
        let lines = self
            .script("return [...document.querySelectorAll('#log div')].map(d => d.textContent)")
            .await;
        serde_json::from_value(lines).expect("a list of lines")
    }

    /// Waits until the log has `line`.
    async fn expect_line(&self, line: &str) {
        let started = Instant::now();
        loop {
            let log = self.log().await;
            if log.iter().any(|l| l == line) {
                return;
            }
            if started.elapsed() > PATIENCE {
                panic!("expected the line {line:?} in the page, which shows {log:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn join(&self, base: &str, name: &str) {
        self.go(base).await;
        self.type_and_submit("#name", "#join button", name).await;
        let started = Instant::now();
        while self
            .script("return document.getElementById('status').textContent")
            .await
            != "connected"
        {
            assert!(
                started.elapsed() < PATIENCE,
                "{name}'s page never connected"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn close(self) {
        self.command(Method::DELETE, "", json!({})).await;
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Two tabs join the chat at `base`, talk, and one leaves; `room_stats` reads `/room-stats`
/// over the same transport.
async fn two_tabs_chat(
    driver: &Driver,
    extra: &[String],
    base: &str,
    server: &Server,
    room_stats: impl AsyncFn() -> Value,
) {
    let ada = driver.open_tab(extra).await;
    let bob = driver.open_tab(extra).await;

    ada.join(base, "ada").await;
    ada.expect_line("ada joined").await;
    bob.join(base, "bob").await;
    ada.expect_line("bob joined").await;
    bob.expect_line("bob joined").await;
    assert_eq!(room_stats().await, json!({ "chat": 2 }));

    // The browser negotiated permessage-deflate (and compresses what it sends).
    let extensions = ada.script("return ws.extensions").await;
    assert!(
        extensions
            .as_str()
            .is_some_and(|e| e.starts_with("permessage-deflate")),
        "Chromium's socket has extensions {extensions}"
    );

    ada.type_and_submit("#text", "#say button", "hello from ada")
        .await;
    bob.expect_line("ada: hello from ada").await;
    ada.expect_line("ada: hello from ada").await;
    bob.type_and_submit("#text", "#say button", "hi ada ☕")
        .await;
    ada.expect_line("bob: hi ada ☕").await;

    bob.close().await;
    ada.expect_line("bob left").await;
    let started = Instant::now();
    while server.subscriber_count("chat") != 1 {
        assert!(started.elapsed() < PATIENCE, "bob's socket never left");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(room_stats().await, json!({ "chat": 1 }));
    ada.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_browser_tabs_chat() {
    let app = TestServer::start(super::app()).await;
    let driver = Driver::start().await;
    let room_stats = async || app.get("/room-stats").await.json::<Value>();
    two_tabs_chat(&driver, &[], &app.url("/"), app.server(), room_stats).await;
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
    let room_stats = async || {
        let (_, reply) = https_get(addr, cert.client_config(), "/room-stats").await;
        reply.json::<Value>()
    };
    let base = format!("https://127.0.0.1:{}/", addr.port());
    let tab = driver.open_tab(&trust).await;
    tab.go(&base).await;
    let page_over = tab
        .script("return performance.getEntriesByType('navigation')[0].nextHopProtocol")
        .await;
    tab.close().await;

    two_tabs_chat(&driver, &trust, &base, &server, room_stats).await;

    let opened_over = OPENED_OVER.lock().unwrap().clone();
    eprintln!("Chromium over https: page over {page_over}, sockets opened over {opened_over:?}");
    assert_eq!(page_over, "h2", "ALPN gave Chromium HTTP/2 for the page");
    let names: Vec<&str> = opened_over.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["ada", "bob"]);
    server.stop().await;
}
