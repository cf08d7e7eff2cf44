//! One connection's task, from accepted to closed: find out which HTTP it speaks (ALPN on
//! TLS; on cleartext, whether it opens with HTTP/2's preface), serve it with hyper's HTTP/1.1
//! or HTTP/2 connection, and stop it gracefully when the server stops (the abort at the end
//! of the grace period drops it).
//!
//! What a client could use to hold a connection without sending requests is bounded by
//! [`header_read_timeout`](crate::ServerConfig::header_read_timeout): the TLS handshake, the
//! first bytes of a cleartext connection, and (hyper bounds HTTP/1.1 itself: its timer runs
//! whenever it waits for a request head, idle keep-alive included) an HTTP/2 connection with
//! no stream open. HTTP/2 has no such timer in hyper, so [`Streams`] counts the streams in
//! use (requests being answered, WebSockets), and a connection that had none, and began or
//! ended none, for a whole period gets a graceful `GOAWAY`: between one and two periods of
//! idleness, like an idle HTTP/1.1 keep-alive connection. A connection accepted past
//! [`max_connections`](crate::ServerConfig::max_connections) lives only long enough to be
//! told `503`.

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::sync::watch;

use super::dispatch::ConnService;
use super::Phase;
use crate::replay::Replay;
#[cfg(feature = "tls")]
use crate::ws::tls::TlsStream;
use crate::{Addr, ServerConfig};

/// Each stream of an HTTP/2 connection may hold this much data the server has not read.
const H2_STREAM_WINDOW: u32 = 256 * 1024;

/// The smallest read buffer hyper's HTTP/1.1 accepts, and so the least
/// `max_request_header_size` can mean.
const MIN_HEADER_LIMIT: usize = 8 * 1024;

/// How long a connection past `max_connections` may take to be told `503`.
const OVER_CAPACITY_LINGER: Duration = Duration::from_secs(5);

/// The HTTP/1.1 and HTTP/2 settings of a server, built once.
pub(super) struct Protocols {
    http1: http1::Builder,
    http2: Option<http2::Builder<TokioExecutor>>,
    /// For the TLS handshake and the first bytes of a cleartext connection.
    handshake_timeout: Option<Duration>,
}

impl Protocols {
    pub(super) fn new(config: &ServerConfig) -> Self {
        let header_limit = config.max_request_header_size.max(MIN_HEADER_LIMIT);
        let mut http1 = http1::Builder::new();
        http1
            .timer(TokioTimer::new())
            .header_read_timeout(config.header_read_timeout)
            .keep_alive(config.keep_alive)
            .max_buf_size(header_limit);
        let http2 = config.http2.then(|| {
            let streams = config.http2_max_concurrent_streams.max(1);
            let mut http2 = http2::Builder::new(TokioExecutor::new());
            http2
                .timer(TokioTimer::new())
                .enable_connect_protocol()
                .max_concurrent_streams(streams)
                .initial_stream_window_size(H2_STREAM_WINDOW)
                // Room for every stream's window: one stream whose reader is slow cannot
                // take the window the others need.
                .initial_connection_window_size(H2_STREAM_WINDOW.saturating_mul(streams))
                .max_header_list_size(u32::try_from(header_limit).unwrap_or(u32::MAX));
            http2
        });
        Protocols {
            http1,
            http2,
            handshake_timeout: config.header_read_timeout,
        }
    }

    pub(super) fn http2_enabled(&self) -> bool {
        self.http2.is_some()
    }
}

/// Which HTTP a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    Http1,
    Http2,
}

/// Serves a TCP or Unix connection without TLS: HTTP/1.1, or HTTP/2 with prior knowledge.
pub(super) async fn serve_cleartext<IO>(
    protocols: Arc<Protocols>,
    mut io: IO,
    service: ConnService,
    mut stop: watch::Receiver<Phase>,
) where
    IO: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    if !protocols.http2_enabled() {
        return serve(&protocols, Version::Http1, io, service, stop).await;
    }
    let peer = service.remote_addr.clone();
    let sniffed = tokio::select! {
        sniffed = within(protocols.handshake_timeout, sniff(&mut io)) => sniffed,
        _ = stop.wait_for(|phase| *phase != Phase::Running) => return,
    };
    match sniffed {
        Some(Ok((version, prefix))) => {
            serve(&protocols, version, Replay::new(prefix, io), service, stop).await;
        }
        Some(Err(e)) => {
            tracing::debug!(target: "hyperbun::server", %peer, "connection failed before its first request: {e}");
        }
        None => {
            tracing::debug!(target: "hyperbun::server", %peer, "connection sent nothing in time; closed");
        }
    }
}

/// Serves a TCP connection with TLS: HTTP/2 when ALPN chose `h2`, HTTP/1.1 otherwise.
#[cfg(feature = "tls")]
pub(super) async fn serve_tls(
    protocols: Arc<Protocols>,
    config: Arc<rustls::ServerConfig>,
    io: tokio::net::TcpStream,
    service: ConnService,
    mut stop: watch::Receiver<Phase>,
) {
    let peer = service.remote_addr.clone();
    let handshake = tokio::select! {
        handshake = within(protocols.handshake_timeout, TlsStream::accept(io, config)) => handshake,
        _ = stop.wait_for(|phase| *phase != Phase::Running) => return,
    };
    let tls = match handshake {
        Some(Ok(tls)) => tls,
        Some(Err(e)) => {
            tracing::debug!(target: "hyperbun::server", %peer, "TLS handshake failed: {e}");
            return;
        }
        None => {
            tracing::debug!(target: "hyperbun::server", %peer, "TLS handshake timed out");
            return;
        }
    };
    let version = if tls.is_h2() && protocols.http2_enabled() {
        Version::Http2
    } else {
        Version::Http1
    };
    serve(&protocols, version, tls, service, stop).await;
}

/// `future`, or `None` when `timeout` passes first.
async fn within<F: Future>(timeout: Option<Duration>, future: F) -> Option<F::Output> {
    match timeout {
        Some(timeout) => tokio::time::timeout(timeout, future).await.ok(),
        None => Some(future.await),
    }
}

/// HTTP/2's connection preface: what a client with prior knowledge sends first.
const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Reads until the bytes either differ from the preface (HTTP/1.1; no request line can
/// start with `PRI `) or are the whole of it, and returns them to be replayed.
async fn sniff<IO: AsyncRead + Unpin>(io: &mut IO) -> std::io::Result<(Version, Bytes)> {
    let mut seen = [0; PREFACE.len()];
    let mut filled = 0;
    loop {
        let n = io.read(&mut seen[filled..]).await?;
        filled += n;
        let version = if seen[..filled] != PREFACE[..filled] || n == 0 {
            // Not the preface, or the client closed: HTTP/1.1 answers (or sees the end).
            Version::Http1
        } else if filled == PREFACE.len() {
            Version::Http2
        } else {
            continue;
        };
        return Ok((version, Bytes::copy_from_slice(&seen[..filled])));
    }
}

/// Serves `io` with hyper until the connection ends, or the server stops (gracefully: the
/// request in flight is answered, keep-alive ends, HTTP/2 sends `GOAWAY`), or the grace
/// period ends (dropped).
async fn serve<IO>(
    protocols: &Protocols,
    version: Version,
    io: IO,
    service: ConnService,
    stop: watch::Receiver<Phase>,
) where
    IO: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let peer = service.remote_addr.clone();
    let over_capacity = service.over_capacity;
    let served = match (version, &protocols.http2) {
        (Version::Http2, Some(http2)) => {
            let mut service = service;
            let idle = protocols.handshake_timeout.map(|period| {
                let streams = Arc::new(Streams::default());
                service.streams = Some(Arc::clone(&streams));
                (streams, period)
            });
            let conn = http2.serve_connection(TokioIo::new(io), service);
            let limits = Limits {
                over_capacity,
                idle,
            };
            until_stopped(conn, stop, limits, |conn| conn.graceful_shutdown()).await
        }
        _ => {
            let conn = protocols
                .http1
                .serve_connection(TokioIo::new(io), service)
                .with_upgrades();
            let limits = Limits {
                over_capacity,
                idle: None,
            };
            until_stopped(conn, stop, limits, |conn| conn.graceful_shutdown()).await
        }
    };
    if let Err(e) = served {
        log_end(&peer, &e);
    }
}

/// What ends a connection early.
struct Limits {
    /// Accepted past `max_connections`: dropped after [`OVER_CAPACITY_LINGER`].
    over_capacity: bool,
    /// HTTP/2: its streams, and the period after which a connection without any is closed.
    idle: Option<(Arc<Streams>, Duration)>,
}

async fn until_stopped<C>(
    conn: C,
    mut stop: watch::Receiver<Phase>,
    limits: Limits,
    graceful_shutdown: impl FnOnce(Pin<&mut C>),
) -> hyper::Result<()>
where
    C: Future<Output = hyper::Result<()>>,
{
    let mut conn = pin!(conn);
    let idle = async {
        match &limits.idle {
            Some((streams, period)) => streams.idle_for(*period).await,
            None => std::future::pending().await,
        }
    };
    let finished = tokio::select! {
        result = conn.as_mut() => Some(result),
        _ = stop.wait_for(|phase| *phase != Phase::Running) => None,
        () = idle => None,
        () = tokio::time::sleep(OVER_CAPACITY_LINGER), if limits.over_capacity => return Ok(()),
    };
    if let Some(result) = finished {
        return result;
    }
    graceful_shutdown(conn.as_mut());
    tokio::select! {
        result = conn.as_mut() => result,
        // The grace period is over: the request in flight is dropped.
        _ = stop.wait_for(|phase| *phase == Phase::Aborting) => Ok(()),
    }
}

/// The streams of an HTTP/2 connection that are in use: requests until their response is
/// ready, and WebSockets until they close.
#[derive(Debug, Default)]
pub(crate) struct Streams {
    open: AtomicUsize,
    /// Streams begun plus streams ended: unchanged over a period means nothing happened.
    events: AtomicUsize,
}

impl Streams {
    /// Counts a stream until the guard drops.
    pub(crate) fn begin(self: &Arc<Self>) -> OpenStream {
        self.open.fetch_add(1, Ordering::Relaxed);
        self.events.fetch_add(1, Ordering::Relaxed);
        OpenStream(Arc::clone(self))
    }

    /// Resolves once no stream was open, begun or ended for a whole `period`.
    async fn idle_for(&self, period: Duration) {
        let mut seen = self.events.load(Ordering::Relaxed);
        loop {
            tokio::time::sleep(period).await;
            let now = self.events.load(Ordering::Relaxed);
            if now == seen && self.open.load(Ordering::Relaxed) == 0 {
                return;
            }
            seen = now;
        }
    }
}

/// One stream in use (see [`Streams`]); a clone counts another.
#[derive(Debug)]
pub(crate) struct OpenStream(Arc<Streams>);

impl Clone for OpenStream {
    fn clone(&self) -> Self {
        self.0.begin()
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
        self.0.events.fetch_add(1, Ordering::Relaxed);
    }
}

fn log_end(peer: &Addr, e: &hyper::Error) {
    tracing::debug!(target: "hyperbun::server", %peer, "connection ended with an error: {e}");
}
