//! permessage-deflate with another implementation: Python's `websockets` (compression on by
//! default, offering what browsers offer) against a real server, driven by
//! `interop/deflate_client.py`. `interop/setup.sh` installs the client into a cached
//! virtualenv on first use.

use hyperbun::prelude::*;
use hyperbun::test::TestServer;
use hyperbun::{Compressor, Decompressor, DecompressorSize, PerMessageDeflate};
use hyperbun_tests::run_python_client;

/// `/shared`: echoes compressed; `publish:TEXT` publishes TEXT compressed to `news`.
struct Shared;

#[websocket("/shared", per_message_deflate = true, max_payload_length = 16 << 20)]
impl Shared {
    fn open(ws: &mut WebSocket) {
        ws.subscribe("news");
    }
    fn message(ws: &mut WebSocket, msg: Message) {
        if let Some(text) = msg.as_text().and_then(|t| t.strip_prefix("publish:")) {
            ws.publish_text("news", text, true);
        } else {
            ws.send_compressed(msg);
        }
    }
}

/// `/dedicated`: a compressor and a decompressor per socket, both keeping context.
struct Dedicated;

#[websocket(
    "/dedicated",
    max_payload_length = 16 << 20,
    per_message_deflate = PerMessageDeflate::new()
        .compress(Compressor::Dedicated256K)
        .decompress(Decompressor::Dedicated(DecompressorSize::K32))
)]
impl Dedicated {
    fn message(ws: &mut WebSocket, msg: Message) {
        ws.send_compressed(msg);
    }
}

/// `/limited`: messages up to 1 KiB, inflated size included.
struct Limited;

#[websocket("/limited", per_message_deflate = true, max_payload_length = 1024)]
impl Limited {
    fn message(ws: &mut WebSocket, msg: Message) {
        ws.send_compressed(msg);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_websockets_negotiates_deflate_and_compresses_both_ways() {
    let server = TestServer::start(hyperbun::router![Shared, Dedicated, Limited]).await;
    let url = format!("ws://{}", server.addr());
    let report = run_python_client("deflate_client.py", &[url.as_ref()]).await;
    let scenario = |name: &str| report["scenarios"][name].clone();

    // What we answer to each offer: websockets offers `client_max_window_bits` (no value) by
    // default; shared codecs keep no context, so we tell the client not to keep any either.
    let extension = |name: &str| scenario(name)["extension"].as_str().map(str::to_owned);
    assert_eq!(
        extension("shared_default").as_deref(),
        Some(
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             client_max_window_bits=15"
        )
    );
    assert_eq!(
        extension("shared_small_windows_no_takeover").as_deref(),
        Some(
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=9; client_max_window_bits=9"
        )
    );
    assert_eq!(
        extension("dedicated_context_takeover").as_deref(),
        Some("permessage-deflate; client_max_window_bits=15")
    );

    // Every message websockets sent was compressed, and every echo came back compressed
    // (`min_size` is 0 on these routes), byte-identical (checked by the client).
    for (name, messages) in [
        ("shared_default", 8),
        ("shared_small_windows_no_takeover", 8),
        ("dedicated_context_takeover", 300 + 2 * 8),
        ("fragmented", 2),
    ] {
        let counts = scenario(name);
        assert_eq!(counts["sent_compressed"], messages, "{name}: {counts}");
        assert_eq!(counts["received_compressed"], messages, "{name}: {counts}");
    }
    // Two round trips, then one compressed publish that the subscriber inflates.
    let publish = scenario("publish");
    assert_eq!(publish["sent_compressed"], 2 + 1, "{publish}");
    assert_eq!(publish["received_compressed"], 2 + 1, "{publish}");
    // 1 MiB of zeros sent compressed: closed with 1009, nothing echoed.
    let bomb = scenario("bomb");
    assert_eq!(bomb["close_code"], 1009, "{bomb}");
    assert_eq!(bomb["sent_compressed"], 1, "{bomb}");
    assert_eq!(bomb["received_compressed"], 0, "{bomb}");

    server.stop().await;
}
