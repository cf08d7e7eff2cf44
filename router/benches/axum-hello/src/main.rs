//! `examples/hello.rs` written with axum: the same three routes, the same responses.
//!
//!   GET  /            → {"message":"Hello, world!"}
//!   GET  /users/{id}  → user <id>   (id: u64; 400 otherwise)
//!   POST /echo        → the JSON body, echoed
//!
//! Listens on 0.0.0.0:$PORT (default 3000) on a multi-thread tokio runtime, with TCP_NODELAY
//! on every connection, as hyperbun does. HTTP/1.1 and HTTP/2 with prior knowledge; with
//! TLS_CERT and TLS_KEY naming PEM files, HTTPS instead (HTTP/1.1 and HTTP/2 by ALPN), as
//! hyperbun's `serve_tls`.
//!
//! HELLO_LAYERS=none|noop|cors-trace (default cors-trace) adds the same middleware as the
//! hyperbun example: nothing, tower's `Identity`, or tower-http's CORS (any origin, method and
//! header) inside its `TraceLayer`.

use std::io;
use std::path::Path as FsPath;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Path;
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use axum::{Json, Router};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower_http::cors::{Any, CorsLayer};
use tower_http::trace::TraceLayer;

async fn index() -> Json<Value> {
    Json(json!({ "message": "Hello, world!" }))
}

async fn user(Path(id): Path<u64>) -> String {
    format!("user {id}")
}

async fn echo(Json(body): Json<Value>) -> Json<Value> {
    Json(body)
}

#[tokio::main]
async fn main() -> io::Result<()> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let app = Router::new()
        .route("/", get(index))
        .route("/users/{id}", get(user))
        .route("/echo", post(echo));
    let app = match std::env::var("HELLO_LAYERS").as_deref() {
        Ok("none") => app,
        Ok("noop") => app.layer(tower::layer::util::Identity::new()),
        Ok("cors-trace") | Err(_) => {
            let cors = CorsLayer::new()
                .allow_origin(Any)
                .allow_methods(Any)
                .allow_headers(Any);
            app.layer(cors).layer(TraceLayer::new_for_http())
        }
        Ok(other) => {
            eprintln!("HELLO_LAYERS={other:?}: expected none, noop or cors-trace");
            std::process::exit(2);
        }
    };
    let listener = TcpListener::bind(("0.0.0.0", port)).await?;
    match (std::env::var_os("TLS_CERT"), std::env::var_os("TLS_KEY")) {
        (Some(cert), Some(key)) => {
            let tls = tls_acceptor(cert.as_ref(), key.as_ref())?;
            serve_tls(listener, tls, app).await
        }
        _ => {
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            axum::serve(listener, app).await
        }
    }
}

/// axum's "low-level rustls" pattern: accept, TLS handshake, then hyper-util's auto builder
/// (HTTP/1.1 or HTTP/2) serving the router, one task per connection.
async fn serve_tls(listener: TcpListener, tls: TlsAcceptor, app: Router) -> io::Result<()> {
    loop {
        let tcp = match listener.accept().await {
            Ok((tcp, _)) => tcp,
            Err(e) => {
                // As `axum::serve` does: e.g. EMFILE, wait for a file descriptor to free up.
                eprintln!("accept error: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let (tls, service) = (tls.clone(), TowerToHyperService::new(app.clone()));
        tokio::spawn(async move {
            let Ok(stream) = tls.accept(tcp).await else {
                return;
            };
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// The certificate chain and key from PEM files, with the provider, protocol versions and
/// ALPN list hyperbun's `TlsConfig` uses.
fn tls_acceptor(cert: &FsPath, key: &FsPath) -> io::Result<TlsAcceptor> {
    let invalid = |what: &FsPath, e: &dyn std::fmt::Display| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{}: {e}", what.display()),
        )
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|e| invalid(cert, &e))?;
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| invalid(key, &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(cert, &e))?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| invalid(key, &e))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
