//! RFC 6455 at the byte level: a raw client sends broken frames and checks the close code
//! the server answers with (and that it then closes the connection). The frames are the
//! point, so every test here is on a `RawWs`: `TestServer::ws` only sends valid ones.
//!
//! Every test runs twice, over TCP and over a Unix domain socket: the runtime's two
//! transports (`mod tcp`, `mod unix`), with the same bodies.

use hyperbun::prelude::*;
use hyperbun::test::{masked_frame, TestServer};
use hyperbun::Router;
use hyperbun_tests::{journal, RawWs};

struct Echo;

#[websocket("/echo", max_payload_length = 1024)]
impl Echo {
    fn message(ws: &mut WebSocket, msg: Message) {
        ws.send(msg);
    }
}

/// Journals the code its `close` handler sees under the `key` query parameter.
#[derive(Default)]
struct Key(String);

struct Closing;

#[websocket("/closing", data = Key)]
impl Closing {
    fn message(ws: &mut WebSocket<Key>, msg: Message) {
        ws.send(msg);
    }
    fn close(ws: &mut WebSocket<Key>, code: u16, reason: &str) {
        journal::push(&ws.data.0, format!("close {code} {reason}"));
    }
}

#[upgrade("/closing")]
async fn closing_hook(Query(q): Query<std::collections::HashMap<String, String>>) -> Upgrade<Key> {
    Upgrade::new(Key(q.get("key").cloned().unwrap_or_default()))
}

fn router() -> Router {
    hyperbun::router![Echo, Closing, closing_hook]
}

/// Runs each test body on a server over TCP (`tcp::name`) and over a Unix socket
/// (`unix::name`). A body gets the server and a tag that tells the two runs' journal keys
/// apart.
macro_rules! on_both_transports {
    ($(async fn $name:ident($app:ident, $tag:ident) $body:block)*) => {
        $(async fn $name($app: TestServer, $tag: &str) $body)*

        mod tcp {
            $(#[tokio::test]
            async fn $name() {
                super::$name(hyperbun::test::TestServer::start(super::router()).await, "tcp").await;
            })*
        }

        mod unix {
            $(#[tokio::test]
            async fn $name() {
                super::$name(hyperbun::test::TestServer::start_unix(super::router()).await, "unix").await;
            })*
        }
    };
}

/// Sends `bytes` on a fresh connection and returns the close code the server answers with,
/// checking that the server then ends the connection.
async fn close_code_for(app: &TestServer, bytes: &[u8]) -> u16 {
    let mut raw = RawWs::open(app, "/echo").await;
    raw.write(bytes).await;
    let code = raw.expect_close().await;
    raw.expect_eof().await;
    code
}

on_both_transports! {
    async fn protocol_errors_close_with_1002(app, _tag) {
        // An unmasked client frame.
        assert_eq!(close_code_for(&app, &[0x81, 0x02, b'h', b'i']).await, 1002);
        // RSV1, RSV2, RSV3 without an extension.
        for rsv in [0x40, 0x20, 0x10] {
            assert_eq!(
                close_code_for(&app, &masked_frame(0x81 | rsv, b"hi")).await,
                1002
            );
        }
        // Reserved opcodes, data and control.
        for opcode in [0x3, 0x7, 0xB, 0xF] {
            assert_eq!(
                close_code_for(&app, &masked_frame(0x80 | opcode, b"")).await,
                1002
            );
        }
        // A control frame over 125 bytes, and a fragmented control frame.
        assert_eq!(
            close_code_for(&app, &masked_frame(0x89, &[0; 126])).await,
            1002
        );
        assert_eq!(
            close_code_for(&app, &masked_frame(0x09, b"frag")).await,
            1002
        );
        // A continuation with no message started; a new message inside a fragmented one.
        assert_eq!(close_code_for(&app, &masked_frame(0x80, b"x")).await, 1002);
        let mut bytes = masked_frame(0x01, b"a");
        bytes.extend(masked_frame(0x81, b"b"));
        assert_eq!(close_code_for(&app, &bytes).await, 1002);
        // Close frames: a 1-byte payload, and codes that may not be sent.
        assert_eq!(
            close_code_for(&app, &masked_frame(0x88, &[0x03])).await,
            1002
        );
        for code in [0u16, 999, 1004, 1005, 1006, 1015, 2999, 5000] {
            let frame = masked_frame(0x88, &code.to_be_bytes());
            assert_eq!(
                close_code_for(&app, &frame).await,
                1002,
                "close code {code}"
            );
        }
        app.stop().await;
    }

    async fn invalid_utf8_closes_with_1007_as_soon_as_it_is_seen(app, _tag) {
        // In a whole text frame.
        assert_eq!(
            close_code_for(&app, &masked_frame(0x81, b"ok \xff")).await,
            1007
        );
        // In a close reason.
        assert_eq!(
            close_code_for(&app, &masked_frame(0x88, b"\x03\xe8\xff")).await,
            1007
        );

        // In the first fragment: the server must not wait for the rest of the message.
        let mut raw = RawWs::open(&app, "/echo").await;
        raw.frame(
            0x01,
            b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80",
        )
        .await;
        assert_eq!(raw.expect_close().await, 1007);

        // In the first bytes of a frame whose payload has not all arrived.
        let mut raw = RawWs::open(&app, "/echo").await;
        let frame = masked_frame(
            0x81,
            b"\xff and then many more bytes that never arrive ......",
        );
        raw.write(&frame[..12]).await;
        assert_eq!(raw.expect_close().await, 1007);

        // A code point split across fragments is fine.
        let mut raw = RawWs::open(&app, "/echo").await;
        raw.frame(0x01, b"\xe2\x82").await;
        raw.frame(0x80, b"\xac").await;
        let echo = raw.read_frame().await;
        assert_eq!((echo.opcode, echo.payload.as_slice()), (1, "€".as_bytes()));
        drop(raw);
        app.stop().await;
    }

    async fn too_big_closes_with_1009_before_the_payload_arrives(app, _tag) {
        // The header alone announces 2000 bytes > 1024.
        let frame = masked_frame(0x82, &[0; 2000]);
        assert_eq!(close_code_for(&app, &frame[..8]).await, 1009);
        // Fragments that add up past the limit.
        let mut bytes = masked_frame(0x02, &[0; 600]);
        bytes.extend(masked_frame(0x80, &[0; 600]));
        assert_eq!(close_code_for(&app, &bytes).await, 1009);
        app.stop().await;
    }

    async fn a_frame_sent_with_the_handshake_is_answered_at_once(app, _tag) {
        // The frame is in the same write as the request: the server reads it along with
        // the handshake and must not wait for another frame to handle it.
        let mut raw = RawWs::open_sending(&app, "/echo", &masked_frame(0x81, b"early")).await;
        let echo = raw.read_frame().await;
        assert_eq!((echo.opcode, echo.payload.as_slice()), (1, &b"early"[..]));
        drop(raw);
        app.stop().await;
    }

    async fn fragments_are_reassembled_with_control_frames_between(app, _tag) {
        let mut raw = RawWs::open(&app, "/echo").await;
        raw.frame(0x01, b"Hel").await;
        raw.frame(0x89, b"mid").await;
        raw.frame(0x00, b"lo, ").await;
        raw.frame(0x80, b"world").await;
        let pong = raw.read_frame().await;
        assert_eq!((pong.opcode, pong.payload.as_slice()), (0xA, &b"mid"[..]));
        let echo = raw.read_frame().await;
        assert_eq!(
            (echo.fin, echo.opcode, echo.payload.as_slice()),
            (true, 1, &b"Hello, world"[..])
        );
        // Byte by byte works too.
        for byte in masked_frame(0x82, &[1, 2, 3]) {
            raw.write(&[byte]).await;
        }
        let echo = raw.read_frame().await;
        assert_eq!((echo.opcode, echo.payload), (2, vec![1, 2, 3]));
        drop(raw);
        app.stop().await;
    }

    async fn closing_handshake_from_the_client(app, tag) {
        let mut raw = RawWs::open(&app, &format!("/closing?key=raw-close-{tag}")).await;
        raw.frame(0x88, b"\x03\xe8bye").await;
        let reply = raw.read_frame().await;
        assert_eq!(reply.close_code(), 1000, "the server echoes the code");
        raw.expect_eof().await;
        assert_eq!(journal::wait(&format!("raw-close-{tag}"), 1).await, ["close 1000 bye"]);

        // An empty close frame: answered with an empty one; the app sees 1005.
        let mut raw = RawWs::open(&app, &format!("/closing?key=raw-empty-{tag}")).await;
        raw.frame(0x88, b"").await;
        let reply = raw.read_frame().await;
        assert_eq!((reply.opcode, reply.payload.len()), (8, 0));
        raw.expect_eof().await;
        assert_eq!(journal::wait(&format!("raw-empty-{tag}"), 1).await, ["close 1005 "]);
        drop(raw);
        app.stop().await;
    }

    async fn protocol_errors_reach_the_close_handler_with_their_code(app, tag) {
        let mut raw = RawWs::open(&app, &format!("/closing?key=raw-1002-{tag}")).await;
        raw.write(&[0x81, 0x01, b'x']).await;
        assert_eq!(raw.expect_close().await, 1002);
        let lines = journal::wait(&format!("raw-1002-{tag}"), 1).await;
        assert!(lines[0].starts_with("close 1002 "), "{lines:?}");
        drop(raw);
        app.stop().await;
    }
}
