//! A small WebDriver client for the chat page (`chat_page.html`), which the `chat` and
//! `cluster` examples both serve: [`Driver`] starts `chromedriver`, and each [`Tab`] is a
//! headless Chromium window (a WebDriver session with a fresh profile) that opens the page,
//! joins the room, types, and reads the message log. [`two_tabs_chat`] is both examples'
//! scenario: two tabs join, talk, and one leaves. `tests/browser/setup.sh` installs Chromium
//! and chromedriver (Debian packages) when they are missing.
//!
//! Why hand-written: WebDriver is a small JSON-over-HTTP protocol; the handful of commands
//! used here (new session, navigate, find element, type, click, run a script, end session)
//! are sent with the test crate's HTTP client rather than through a WebDriver library, which
//! would bring its own HTTP client and dependency tree into the examples' build for seven
//! kinds of request.

use std::fmt::Debug;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use hyperbun::prelude::*;
use hyperbun_tests::{fetch, post, setup_tool};

/// How long anything in the page may take to happen.
pub(super) const PATIENCE: Duration = Duration::from_secs(10);

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
pub(super) struct Driver {
    addr: SocketAddr,
    chromium: String,
    _process: tokio::process::Child,
}

impl Driver {
    pub(super) async fn start() -> Driver {
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
    pub(super) async fn open_tab(&self, extra: &[String]) -> Tab<'_> {
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
pub(super) struct Tab<'a> {
    driver: &'a Driver,
    id: String,
    profile: PathBuf,
}

impl Tab<'_> {
    async fn command(&self, method: Method, path: &str, body: Value) -> Value {
        let path = format!("/session/{}{path}", self.id);
        self.driver.command(method, &path, body).await
    }

    pub(super) async fn go(&self, url: &str) {
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
    pub(super) async fn type_and_submit(&self, css: &str, form_button: &str, text: &str) {
        let input = self.element(css).await;
        let path = format!("/element/{input}/value");
        self.command(Method::POST, &path, json!({ "text": text }))
            .await;
        let button = self.element(form_button).await;
        let path = format!("/element/{button}/click");
        self.command(Method::POST, &path, json!({})).await;
    }

    pub(super) async fn script(&self, script: &str) -> Value {
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
    pub(super) async fn expect_line(&self, line: &str) {
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

    pub(super) async fn join(&self, base: &str, name: &str) {
        self.go(base).await;
        // What a person sees before joining: the name form, nothing else.
        assert_eq!(
            self.shown().await,
            json!({ "join": true, "log": false, "say": false }),
            "{name}'s page before joining"
        );
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
        // And after: the log and the message form; the name form is gone (a second Join
        // would open a second socket).
        assert_eq!(
            self.shown().await,
            json!({ "join": false, "log": true, "say": true }),
            "{name}'s page after joining"
        );
    }

    /// Which of the page's three parts are on screen (rendered, whatever their CSS says
    /// about `hidden`).
    async fn shown(&self) -> Value {
        self.script(
            "const shown = (id) => document.getElementById(id).checkVisibility(); \
             return { join: shown('join'), log: shown('log'), say: shown('say') };",
        )
        .await
    }

    pub(super) async fn close(self) {
        self.command(Method::DELETE, "", json!({})).await;
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Waits until `read` returns `expected`, polling every 20 ms.
///
/// # Panics
///
/// After [`PATIENCE`], saying what it waited for (`what`) and the last value read.
pub(super) async fn wait_for<T: PartialEq + Debug>(
    what: &str,
    expected: T,
    read: impl AsyncFn() -> T,
) {
    let started = Instant::now();
    loop {
        let seen = read().await;
        if seen == expected {
            return;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "waited {PATIENCE:?} for {what} to be {expected:?}; it is {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Where the two tabs of [`two_tabs_chat`] meet, and how the test reads the room.
pub(super) struct Room<'a, Settle, Stats> {
    /// The page ada opens and the page bob opens: one server's twice, or two servers' that
    /// share the room.
    pub(super) pages: [&'a str; 2],
    /// Chromium's flags beyond [`FLAGS`] (the `https://` test's trusted certificate).
    pub(super) flags: &'a [String],
    /// Called with how many are in the room after each join and after bob leaves; returns
    /// once the servers have caught up with it.
    pub(super) settle: Settle,
    /// Reads `/room-stats` from ada's server.
    pub(super) stats: Stats,
    /// What `stats` reads with ada and bob in, and then with ada alone.
    pub(super) expected_stats: [Value; 2],
}

/// Two tabs join the chat, talk, and one leaves, as [`Room`] says where and how.
pub(super) async fn two_tabs_chat(
    driver: &Driver,
    room: Room<'_, impl AsyncFn(usize), impl AsyncFn() -> Value>,
) {
    let [ada_page, bob_page] = room.pages;
    let [both_in, ada_alone] = room.expected_stats;
    let ada = driver.open_tab(room.flags).await;
    let bob = driver.open_tab(room.flags).await;

    ada.join(ada_page, "ada").await;
    ada.expect_line("ada joined").await;
    (room.settle)(1).await;
    bob.join(bob_page, "bob").await;
    ada.expect_line("bob joined").await;
    bob.expect_line("bob joined").await;
    (room.settle)(2).await;
    assert_eq!((room.stats)().await, both_in);

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
    (room.settle)(1).await;
    assert_eq!((room.stats)().await, ada_alone);
    ada.close().await;
}
