//! Verb's "WebSocket Secure" example: HTTPS and WSS on one port, HTTP/2 on, so one listener
//! serves browsers, curl and WebSocket clients over TLS.
//!
//! Run it:   cargo run --example tls                       (PORT to change; default 8443)
//!           CERT=cert.pem KEY=key.pem cargo run --example tls   (your certificate and key)
//! Try it:   curl -k https://localhost:8443/              → {"message":"Hello, world!"}
//!           curl -k -w ' %{http_version}\n' https://localhost:8443/users/42   → user 42 2
//!           open https://localhost:8443/ in a browser, accept the certificate (compare the
//!           fingerprint), then in its console:
//!           ws = new WebSocket("wss://localhost:8443/"); ws.onmessage = (e) => console.log(e.data)
//!                                                        → Secure WebSocket connected!
//!
//! Protocol: a WebSocket on `/` (over an HTTP/1.1 upgrade or an HTTP/2 extended CONNECT)
//! sends `Secure WebSocket connected!` on open and `Secure echo: M` for each text message M
//! (binary messages come back as they are). Every other request to `/`, and the rest of the
//! routes, are the hello example's (`examples/hello.rs`, included as a module, so its tests
//! run with these too).
//!
//! Without `CERT` and `KEY` it makes a self-signed certificate for `localhost` and
//! `127.0.0.1` at start, and prints its SHA-256 fingerprint in `openssl x509 -fingerprint
//! -sha256` format: a browser or `curl -k` will not verify it, and the fingerprint is how to
//! tell, when accepting it anyway, that it is this server's. Such a certificate lives as long
//! as the process; for anything else use a real one.

use std::ffi::OsString;
use std::io;

use hyperbun::prelude::*;
use hyperbun::TlsConfig;

/// The hello example's routes (and its tests), and through it `common.rs` (a file may be
/// included only once).
#[path = "hello.rs"]
#[allow(dead_code)]
mod hello;

use hello::common;

/// The socket on `/`.
struct Secure;

#[websocket("/", per_message_deflate = true)]
impl Secure {
    fn open(ws: &mut WebSocket) {
        ws.send("Secure WebSocket connected!");
    }

    fn message(ws: &mut WebSocket, msg: Message) {
        match msg {
            Message::Text(text) => ws.send(format!("Secure echo: {text}")),
            binary => ws.send(binary),
        };
    }
}

/// `/`: the socket for a WebSocket handshake (an HTTP/1.1 `Upgrade`, or HTTP/2's extended
/// `CONNECT`), the hello example's greeting for anything else.
#[get("/")]
async fn index(server: Server, req: Request) -> Response {
    if !hyperbun::ws::is_websocket_request(&req) {
        return hello::index().await.into_response();
    }
    match server.upgrade::<Secure>(req, HeaderMap::new(), ()) {
        Ok(switching) => switching,
        Err(e) => e.into_response(),
    }
}

#[tokio::main]
async fn main() -> io::Result<()> {
    let port = common::setup("info", 8443);
    let (tls, self_signed) = certificate(std::env::var_os("CERT"), std::env::var_os("KEY"))?;
    if let Some(der) = self_signed {
        println!("self-signed certificate for localhost, 127.0.0.1");
        println!("sha256 Fingerprint={}", fingerprint(&der));
    }
    println!("serving https://localhost:{port}/ and wss://localhost:{port}/ (HTTP/2 on)");
    app().serve_tls(port, tls).await
}

/// The routes, shared by `main` and the tests below.
fn app() -> Router {
    hyperbun::router![index, hello::user, hello::echo].config(ServerConfig::default().http2(true))
}

/// The certificate from the PEM files `cert` and `key`, or, when neither is given, a
/// self-signed one made now, returned (DER) too so that its fingerprint can be shown.
fn certificate(
    cert: Option<OsString>,
    key: Option<OsString>,
) -> io::Result<(TlsConfig, Option<Vec<u8>>)> {
    match (cert, key) {
        (Some(cert), Some(key)) => Ok((TlsConfig::from_pem_files(cert, key)?, None)),
        (None, None) => {
            let (tls, der) = self_signed()?;
            Ok((tls, Some(der)))
        }
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "set both CERT and KEY (PEM files), or neither for a self-signed certificate",
        )),
    }
}

/// A self-signed certificate for `localhost` and `127.0.0.1`; returns the config and the
/// certificate (DER).
fn self_signed() -> io::Result<(TlsConfig, Vec<u8>)> {
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let made = rcgen::generate_simple_self_signed(names).map_err(io::Error::other)?;
    let key = made.signing_key.serialize_pem();
    let tls = TlsConfig::from_pem(made.cert.pem().as_bytes(), key.as_bytes())?;
    Ok((tls, made.cert.der().to_vec()))
}

/// The SHA-256 of `der` as `openssl x509 -fingerprint -sha256` prints it: uppercase hex
/// bytes separated by colons.
fn fingerprint(der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    let hex: Vec<String> = digest.as_ref().iter().map(|b| format!("{b:02X}")).collect();
    hex.join(":")
}

#[cfg(test)]
mod tests {
    use hyperbun::client::ClientBuilder;
    use hyperbun::http::Version;
    use hyperbun::prelude::*;
    use hyperbun_tests::{
        client_config_trusting, https_get, scratch_dir, start_tls, within, HttpsConn, TestCert,
    };

    /// The socket's whole protocol, over an HTTP/1.1 upgrade or HTTP/2.
    async fn talk(url: &str, client: ClientBuilder) {
        let mut ws = client
            .connect()
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        let greeting = within("greeting", ws.recv()).await.unwrap().unwrap();
        assert_eq!(greeting.as_text(), Some("Secure WebSocket connected!"));
        for text in ["hello", "über ☕"] {
            ws.send(text).await.unwrap();
            let echo = within("echo", ws.recv()).await.unwrap().unwrap();
            assert_eq!(
                echo.as_text(),
                Some(format!("Secure echo: {text}").as_str())
            );
        }
        ws.send_binary(&[1, 2, 3]).await.unwrap();
        let echo = within("echo", ws.recv()).await.unwrap().unwrap();
        assert_eq!(echo.as_bytes(), &[1, 2, 3][..]);
        ws.close(1000, "done").await.unwrap();
    }

    #[tokio::test]
    async fn wss_greets_and_echoes_over_http1_and_http2_next_to_the_hello_routes() {
        let cert = TestCert::new();
        let dir = scratch_dir("example-tls");
        let (cert_file, key_file) = cert.write_files(&dir);
        // CERT and KEY, as `main` reads them.
        let (tls, self_signed) =
            super::certificate(Some(cert_file.into()), Some(key_file.into())).expect("loads");
        assert_eq!(self_signed, None);
        let (server, addr) = start_tls(super::app(), tls).await;
        let url = format!("wss://127.0.0.1:{}/", addr.port());

        let client = ClientBuilder::new(&url).tls_config(cert.client_config());
        talk(&url, client.clone().per_message_deflate(true)).await;
        talk(&url, client.http2(true)).await;

        // HTTP on the same port, as ALPN chooses.
        let mut h2 = HttpsConn::connect(addr, cert.client_config_alpn(&[b"h2"])).await;
        let (version, reply) = h2.get("/").await;
        assert_eq!(version, Version::HTTP_2);
        assert_eq!(reply.json::<Value>(), json!({ "message": "Hello, world!" }));
        assert_eq!(h2.get("/users/42").await.1.text(), "user 42");
        let (version, reply) = https_get(addr, cert.client_config(), "/users/7").await;
        assert_eq!((version, reply.text()), (Version::HTTP_11, "user 7"));

        server.stop().await;
        std::fs::remove_dir_all(dir).ok();
    }

    #[tokio::test]
    async fn without_cert_and_key_it_serves_the_self_signed_certificate_it_made() {
        let (tls, self_signed) = super::certificate(None, None).expect("self-signed");
        let der = self_signed.expect("the certificate, to print its fingerprint");
        let (server, addr) = start_tls(super::app(), tls).await;
        // A client that trusts it alone (as a person who checked the fingerprint would)
        // verifies it for `localhost`, and it is the certificate the fingerprint is of.
        let mut conn = HttpsConn::connect(addr, client_config_trusting(&der, &[b"h2"])).await;
        assert_eq!(conn.peer_cert.as_ref(), der.as_slice());
        assert_eq!(conn.get("/users/1").await.1.text(), "user 1");
        server.stop().await;

        let error = super::certificate(Some("cert.pem".into()), None).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    }

    #[test]
    fn the_fingerprint_is_in_openssl_format() {
        // SHA-256("abc"), FIPS 180-2's test vector.
        assert_eq!(
            super::fingerprint(b"abc"),
            "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:\
             B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD"
        );
    }
}
