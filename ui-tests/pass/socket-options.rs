//! Every #[websocket] option, as literals and expressions, on top of a base `options = …`.
use std::time::Duration;

use hyperbun::__private::SocketHandlers; // only to read the generated options back
use hyperbun::prelude::*;

const LIMIT: usize = 64 * 1024;

fn base() -> SocketOptions {
    SocketOptions::new().backpressure_limit(1)
}

struct Tuned;

#[websocket(
    "/tuned",
    data = (),
    max_payload_length = LIMIT,
    idle_timeout = 2 * 30,
    backpressure_limit = 512 * 1024,
    close_on_backpressure_limit = true,
    send_pings = false,
    publish_to_self = true,
    protocols = ["chat.v2", "chat.v1"],
    allowed_origins = ["https://example.com", "http://localhost:3000"],
    headers = [("x-server", "hyperbun")],
    rate_limit = RateLimit::per_second(100).burst(200).on_exceed(RateLimitAction::Drop),
    options = base(),
)]
impl Tuned {
    fn message(_ws: &mut WebSocket, _msg: Message) {}
}

struct FromConfig;

#[websocket("/config", options = base().idle_timeout(Duration::from_secs(5)))]
impl FromConfig {
    fn message(_ws: &mut WebSocket, _msg: Message) {}
}

struct Empty;

#[websocket("/empty", protocols = [])]
impl Empty {
    fn message(_ws: &mut WebSocket, _msg: Message) {}
}

fn main() {
    let o = Tuned::options();
    assert_eq!(o.get_max_payload_length(), LIMIT);
    assert_eq!(o.get_idle_timeout(), Duration::from_secs(60));
    assert_eq!(o.get_backpressure_limit(), 512 * 1024);
    assert!(o.get_close_on_backpressure_limit());
    assert!(!o.get_send_pings());
    assert!(o.get_publish_to_self());
    assert_eq!(o.get_protocols(), ["chat.v2", "chat.v1"]);
    assert_eq!(
        o.get_allowed_origins(),
        Some(&["https://example.com".to_owned(), "http://localhost:3000".to_owned()][..])
    );
    assert_eq!(
        o.get_rate_limit(),
        Some(RateLimit::per_second(100).burst(200).on_exceed(RateLimitAction::Drop))
    );
    assert!(std::ptr::eq(o, Tuned::options()), "built once");
    assert_eq!(FromConfig::options().get_backpressure_limit(), 1);
    assert_eq!(FromConfig::options().get_idle_timeout(), Duration::from_secs(5));
    assert!(Empty::options().get_protocols().is_empty());
    assert_eq!(Tuned::PATH, "/tuned");
    assert_eq!(Tuned::NAME, "Tuned");
    let router = hyperbun::router![Tuned, FromConfig, Empty];
    assert_eq!(router.routes().count(), 3);
}
