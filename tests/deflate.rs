//! permessage-deflate with a raw client that compresses and inflates with zlib: negotiation,
//! compressed messages both ways, fragments, context takeover, compress-once publishing,
//! decompression bombs (`1009`), bad data (`1007`) and RSV1 where it is not allowed (`1002`).
//!
//! On `RawWs`, not `TestServer::ws`: the tests check the frames themselves (RSV1, the bytes
//! of a compressed publish, sizes that show context takeover) and send broken ones.

use hyperbun::prelude::*;
use hyperbun::test::{masked_frame, TestServer};
use hyperbun::{Compressor, Decompressor, DecompressorSize, PerMessageDeflate};
use hyperbun_tests::{RawFrame, RawWs};
use zlib_rs::{Deflate, DeflateFlush, Inflate, InflateFlush};

/// `/shared`: echoes compressed; `publish:TEXT` publishes TEXT compressed to `news`.
struct Shared;

#[websocket("/shared", per_message_deflate = true)]
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
    per_message_deflate = PerMessageDeflate::new()
        .compress(Compressor::Dedicated256K)
        .decompress(Decompressor::Dedicated(DecompressorSize::K32))
)]
impl Dedicated {
    fn open(ws: &mut WebSocket) {
        ws.subscribe("news");
    }
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

/// `/off`: no permessage-deflate.
struct Off;

#[websocket("/off")]
impl Off {
    fn open(ws: &mut WebSocket) {
        ws.subscribe("news");
    }
    fn message(ws: &mut WebSocket, msg: Message) {
        ws.send_compressed(msg);
    }
}

/// `/say/:text`: publishes to `news` from the server, compressed.
#[get("/say/:text")]
async fn say(text: String, server: Server) -> String {
    let result = server.publish_compressed("news", text);
    format!("{}", result.queued())
}

async fn start() -> TestServer {
    hyperbun_tests::start(hyperbun::router![Shared, Dedicated, Limited, Off, say]).await
}

const OFFER: &str = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";

/// A client-side compressor (raw deflate, 32 KiB window), keeping context or not.
struct Packer {
    deflate: Deflate,
    keep: bool,
}

impl Packer {
    fn new(keep: bool) -> Self {
        Packer {
            deflate: Deflate::new(6, false, 15),
            keep,
        }
    }

    /// `data` compressed as a permessage-deflate payload (sync flush, tail removed).
    fn pack(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; data.len() * 2 + 64];
        let before = self.deflate.total_out() as usize;
        self.deflate
            .compress(data, &mut out, DeflateFlush::SyncFlush)
            .expect("compress");
        out.truncate(self.deflate.total_out() as usize - before);
        assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
        out.truncate(out.len() - 4);
        if !self.keep {
            self.deflate.reset();
        }
        out
    }
}

/// A client-side decompressor keeping context, as a server may use context takeover.
struct Unpacker(Inflate);

impl Unpacker {
    fn new() -> Self {
        Unpacker(Inflate::new(false, 15))
    }

    fn unpack(&mut self, payload: &[u8]) -> Vec<u8> {
        let mut input = payload.to_vec();
        input.extend_from_slice(&[0, 0, 0xff, 0xff]);
        let mut out = vec![0u8; 1 << 20];
        let before = self.0.total_out() as usize;
        self.0
            .decompress(&input, &mut out, InflateFlush::SyncFlush)
            .expect("valid deflate from the server");
        out.truncate(self.0.total_out() as usize - before);
        out
    }
}

/// Reads the next data frame, checking it is compressed; returns its inflated payload.
async fn compressed_frame(ws: &mut RawWs, unpacker: &mut Unpacker, opcode: u8) -> Vec<u8> {
    let frame = ws.read_frame().await;
    assert!(
        frame.fin && frame.rsv1,
        "a whole compressed frame: {frame:?}"
    );
    assert_eq!(frame.opcode, opcode);
    unpacker.unpack(&frame.payload)
}

#[tokio::test]
async fn negotiates_and_echoes_compressed_both_ways() {
    let app = start().await;
    let (mut ws, head) = RawWs::open_with(&app, "/shared", OFFER).await;
    assert!(
        head.to_ascii_lowercase().contains(
            "sec-websocket-extensions: permessage-deflate; server_no_context_takeover; \
             client_no_context_takeover; client_max_window_bits=15"
        ),
        "{head}"
    );
    let mut packer = Packer::new(false);
    let mut unpacker = Unpacker::new();
    let text = "compressible ".repeat(50);
    // Compressed text in, compressed text out.
    ws.frame(0xc1, &packer.pack(text.as_bytes())).await;
    assert_eq!(
        compressed_frame(&mut ws, &mut unpacker, 1).await,
        text.as_bytes()
    );
    // Compressed binary.
    let binary: Vec<u8> = (0..3000u32).map(|i| (i % 7) as u8).collect();
    ws.frame(0xc2, &packer.pack(&binary)).await;
    assert_eq!(compressed_frame(&mut ws, &mut unpacker, 2).await, binary);
    // An uncompressed message on the same connection is fine, and answered compressed.
    ws.frame(0x81, b"plain").await;
    assert_eq!(compressed_frame(&mut ws, &mut unpacker, 1).await, b"plain");
    // Fragmented: RSV1 on the first frame only.
    let packed = packer.pack(text.as_bytes());
    let (a, b) = packed.split_at(packed.len() / 2);
    ws.frame(0x41, a).await;
    ws.frame(0x80, b).await;
    assert_eq!(
        compressed_frame(&mut ws, &mut unpacker, 1).await,
        text.as_bytes()
    );
    // The empty message.
    ws.frame(0xc1, &[0x00]).await;
    assert_eq!(compressed_frame(&mut ws, &mut unpacker, 1).await, b"");
    drop(ws);
    app.stop().await;
}

#[tokio::test]
async fn without_an_offer_or_on_a_route_without_it_nothing_is_compressed() {
    let app = start().await;
    for (path, extra) in [("/shared", ""), ("/off", OFFER)] {
        let (mut ws, head) = RawWs::open_with(&app, path, extra).await;
        assert!(
            !head
                .to_ascii_lowercase()
                .contains("sec-websocket-extensions"),
            "{head}"
        );
        ws.frame(0x81, b"hi").await;
        let frame = ws.read_frame().await;
        assert_eq!((frame.rsv1, frame.payload.as_slice()), (false, &b"hi"[..]));
        // RSV1 without the extension is a protocol error.
        ws.frame(0xc1, &Packer::new(false).pack(b"hi")).await;
        assert_eq!(ws.expect_close().await, 1002, "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_decompression_bomb_closes_with_1009_before_it_is_inflated() {
    let app = start().await;
    let (mut ws, _) = RawWs::open_with(&app, "/limited", OFFER).await;
    // 1 MiB of zeros: a frame of about a kilobyte, far over the 1 KiB limit once inflated.
    let bomb = Packer::new(false).pack(&vec![0u8; 1 << 20]);
    assert!(bomb.len() < 1100, "{}", bomb.len());
    ws.frame(0xc2, &bomb).await;
    assert_eq!(ws.expect_close().await, 1009);

    // Just under the limit is fine.
    let (mut ws, _) = RawWs::open_with(&app, "/limited", OFFER).await;
    ws.frame(0xc2, &Packer::new(false).pack(&[7u8; 1024])).await;
    assert_eq!(
        compressed_frame(&mut ws, &mut Unpacker::new(), 2).await,
        [7u8; 1024]
    );
    drop(ws);
    app.stop().await;
}

#[tokio::test]
async fn bad_deflate_data_and_bad_utf8_close_with_1007() {
    let app = start().await;
    let (mut ws, _) = RawWs::open_with(&app, "/shared", OFFER).await;
    ws.frame(0xc2, &[0xff; 16]).await;
    assert_eq!(ws.expect_close().await, 1007);

    let (mut ws, _) = RawWs::open_with(&app, "/shared", OFFER).await;
    ws.frame(0xc1, &Packer::new(false).pack(b"caf\xc3\x28"))
        .await;
    assert_eq!(ws.expect_close().await, 1007);

    // RSV1 on a control frame or a continuation is a protocol error.
    let (mut ws, _) = RawWs::open_with(&app, "/shared", OFFER).await;
    ws.write(&masked_frame(0xc9, b"")).await;
    assert_eq!(ws.expect_close().await, 1002);
    let (mut ws, _) = RawWs::open_with(&app, "/shared", OFFER).await;
    ws.frame(0x01, b"par").await;
    ws.frame(0xc0, b"t").await;
    assert_eq!(ws.expect_close().await, 1002);
    app.stop().await;
}

#[tokio::test]
async fn a_dedicated_socket_keeps_context_both_ways() {
    let app = start().await;
    let (mut ws, head) = RawWs::open_with(&app, "/dedicated", OFFER).await;
    let head = head.to_ascii_lowercase();
    assert!(
        head.contains("sec-websocket-extensions: permessage-deflate; client_max_window_bits=15")
            && !head.contains("context_takeover"),
        "{head}"
    );
    // The client keeps its context too: the second message refers to the first.
    let mut packer = Packer::new(true);
    let mut unpacker = Unpacker::new();
    let text = "the same long sentence, again and again and again. ".repeat(4);
    let mut sizes = Vec::new();
    for _ in 0..3 {
        ws.frame(0xc1, &packer.pack(text.as_bytes())).await;
        let frame = ws.read_frame().await;
        assert!(frame.rsv1);
        sizes.push(frame.payload.len());
        assert_eq!(unpacker.unpack(&frame.payload), text.as_bytes());
    }
    assert!(
        sizes[1] * 3 < sizes[0],
        "the server kept its context: {sizes:?}"
    );
    drop(ws);
    app.stop().await;
}

#[tokio::test]
async fn a_publish_is_compressed_for_those_that_negotiated_it() {
    let app = start().await;
    let (mut a, _) = RawWs::open_with(&app, "/shared", OFFER).await;
    let (mut b, _) = RawWs::open_with(&app, "/shared", OFFER).await;
    let (mut dedicated, _) = RawWs::open_with(&app, "/dedicated", OFFER).await;
    let (mut plain, _) = RawWs::open_with(&app, "/shared", "").await;
    let mut off = RawWs::open(&app, "/off").await;
    app.wait_subscribers("news", 5).await;
    let news = "news! ".repeat(40);
    assert_eq!(
        app.get(&format!("/say/{}", news.replace(' ', "%20")))
            .await
            .text(),
        "5"
    );

    // The shared subscribers get the very same compressed frame.
    let fa: RawFrame = a.read_frame().await;
    let fb = b.read_frame().await;
    assert!(fa.rsv1);
    assert_eq!(fa, fb);
    assert_eq!(Unpacker::new().unpack(&fa.payload), news.as_bytes());
    let fd = dedicated.read_frame().await;
    assert!(fd.rsv1);
    assert_eq!(Unpacker::new().unpack(&fd.payload), news.as_bytes());
    for ws in [&mut plain, &mut off] {
        let frame = ws.read_frame().await;
        assert_eq!(
            (frame.rsv1, frame.payload.as_slice()),
            (false, news.as_bytes())
        );
    }

    // From a socket too (publish_text with compress), and without compress: plain for all.
    a.frame(0x81, b"publish:from a").await;
    let frame = b.read_frame().await;
    assert!(frame.rsv1);
    assert_eq!(Unpacker::new().unpack(&frame.payload), b"from a");
    assert_eq!(app.get("/say/x").await.text(), "5");
    app.server().publish("news", "uncompressed");
    let x = b.read_frame().await;
    assert!(x.rsv1);
    let frame = b.read_frame().await;
    assert_eq!(
        (frame.rsv1, frame.payload.as_slice()),
        (false, &b"uncompressed"[..])
    );
    for expected in ["from a", "x", "uncompressed"] {
        let frame = plain.read_frame().await;
        assert_eq!(
            (frame.rsv1, frame.payload.as_slice()),
            (false, expected.as_bytes())
        );
    }
    drop((a, b, dedicated, plain, off));
    app.stop().await;
}
