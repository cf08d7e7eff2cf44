//! The cluster example's page in a real browser: two servers of the example share one
//! `redis-server`, ada's headless Chromium tab joins at the first server's page and bob's at
//! the second's, and they talk and leave as the chat example's two tabs do on its one server
//! (the same scenario, `browser::two_tabs_chat`, over the same WebDriver client). The first
//! server's `/room-stats` counts ada here and both across the cluster.
//!
//! Each server subscribes to the room's Redis channel a moment after its first socket joins
//! the room: before bob joins, and before anyone types or counts once he has, the test waits
//! until Redis has the channel for every server with someone in the room, or a line published
//! meanwhile would not reach that server, nor its count the first server's `/room-stats`.

use hyperbun::prelude::*;
use hyperbun_tests::redis::RedisServer;

use crate::tests::{server, wait_subscribed};

/// The WebDriver client (`examples/browser.rs`, beside this file).
#[path = "browser.rs"]
mod browser;

use browser::{two_tabs_chat, wait_for, Driver, Room};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_browser_tabs_on_two_servers_share_the_room() {
    let redis = RedisServer::start().await;
    let (one, two) = (server(&redis).await, server(&redis).await);
    let driver = Driver::start().await;
    let (ada_page, bob_page) = (one.url("/"), two.url("/"));
    let room = Room {
        pages: [&ada_page, &bob_page],
        flags: &[],
        // ada and bob are on different servers: the servers with someone in the room, and so
        // subscribed to its channel, are as many as the people in it.
        settle: async |n| {
            let here = async || {
                one.server().subscriber_count("chat") + two.server().subscriber_count("chat")
            };
            wait_for("the two servers' counts of `chat`", n, here).await;
            wait_subscribed(&redis, n).await;
        },
        stats: async || one.get("/room-stats").await.json::<Value>(),
        expected_stats: [
            json!({ "chat": 1, "cluster": 2 }),
            json!({ "chat": 1, "cluster": 1 }),
        ],
    };
    two_tabs_chat(&driver, room).await;
    one.stop().await;
    two.stop().await;
}
