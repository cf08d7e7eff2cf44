//! The accept loop: takes connections off a listener (TCP, Unix, or TCP with TLS on top),
//! counts them against [`max_connections`](crate::ServerConfig::max_connections), and gives
//! each a task of its own ([`conn`](super::conn)), so a slow TLS handshake or a silent client
//! never holds up the next accept.
//!
//! Running out of file descriptors (`EMFILE`/`ENFILE`) is the accept error a busy server
//! meets: the pending connection stays in the kernel's backlog, so retrying at once would
//! spin a core. The loop backs off (doubling from 10 ms to 1 s) and keeps the sockets it has
//! working; it logs the first failure of a streak and how long the streak lasted.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, UnixListener};
use tokio::sync::watch;

use super::conn::{self, Protocols};
use super::dispatch::ConnService;
use super::{ConnectionHold, Phase};
use crate::middleware::Inner;
use crate::routing::RouteTable;
use crate::{Addr, Server, ServerConfig};

/// What the server accepts connections on.
pub(super) enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
    #[cfg(feature = "tls")]
    Tls(TcpListener, crate::TlsConfig),
}

/// How many connections are open, against the configured limit.
#[derive(Debug)]
pub(crate) struct Capacity {
    open: AtomicUsize,
    max: usize,
}

/// One connection's place in the [`Capacity`]; given back when dropped.
#[derive(Debug)]
pub(crate) struct Slot(Arc<Capacity>);

impl Capacity {
    /// A slot, or `None` when the server is full.
    fn take(self: &Arc<Self>) -> Option<Slot> {
        let taken = self
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < self.max).then_some(open + 1)
            });
        taken.is_ok().then(|| Slot(Arc::clone(self)))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

pub(super) struct AcceptLoop {
    pub(super) listener: Listener,
    pub(super) protocols: Arc<Protocols>,
    pub(super) table: Arc<RouteTable>,
    /// The application's middleware around the table, if it has any.
    pub(super) app: Option<Inner>,
    pub(super) config: ServerConfig,
    pub(super) server: Server,
    pub(super) stop: watch::Receiver<Phase>,
}

/// Backoff after a failed accept.
const FIRST_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

impl AcceptLoop {
    pub(super) async fn run(mut self) {
        let capacity = self.config.max_connections.map(|max| {
            Arc::new(Capacity {
                open: AtomicUsize::new(0),
                max,
            })
        });
        let mut failing: Option<(Instant, Duration)> = None;
        loop {
            let accepted = tokio::select! {
                biased;
                _ = self.stop.wait_for(|phase| *phase != Phase::Running) => break,
                accepted = accept(&self.listener) => accepted,
            };
            let (io, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    let (since, backoff) = match failing {
                        None => {
                            tracing::warn!(target: "hyperbun::server", "accept failed: {e}; backing off until it succeeds");
                            (Instant::now(), FIRST_BACKOFF)
                        }
                        Some((since, backoff)) => (since, (backoff * 2).min(MAX_BACKOFF)),
                    };
                    failing = Some((since, backoff));
                    tokio::select! {
                        biased;
                        _ = self.stop.wait_for(|phase| *phase != Phase::Running) => break,
                        () = tokio::time::sleep(backoff) => continue,
                    }
                }
            };
            if let Some((since, _)) = failing.take() {
                tracing::warn!(target: "hyperbun::server", failed_for = ?since.elapsed(), "accepting connections again");
            }
            let (hold, over_capacity) = match &capacity {
                None => (ConnectionHold::default(), false),
                Some(capacity) => match capacity.take() {
                    Some(slot) => (ConnectionHold::of_slot(slot), false),
                    None => (ConnectionHold::default(), true),
                },
            };
            self.spawn_connection(io, peer, hold, over_capacity);
        }
        if let Listener::Unix(listener) = &self.listener {
            if let Some(path) = listener
                .local_addr()
                .ok()
                .as_ref()
                .and_then(|a| a.as_pathname())
            {
                let _ = std::fs::remove_file(path);
            }
        }
        drop(self.listener);
        tracing::info!(target: "hyperbun::server", local_addr = %self.server.local_addr(), "stopped accepting; finishing in-flight requests");
    }

    fn spawn_connection(
        &self,
        io: Io,
        remote_addr: Addr,
        hold: ConnectionHold,
        over_capacity: bool,
    ) {
        let service = ConnService {
            table: Arc::clone(&self.table),
            app: self.app.clone(),
            server: self.server.clone(),
            remote_addr,
            hold,
            streams: None,
            body_limit: self.config.max_request_body_size,
            over_capacity,
        };
        let protocols = Arc::clone(&self.protocols);
        let stop = self.stop.clone();
        match io {
            Io::Tcp(stream) => {
                #[cfg(feature = "tls")]
                if let Listener::Tls(_, tls) = &self.listener {
                    let config = tls.server_config(protocols.http2_enabled());
                    tokio::spawn(conn::serve_tls(protocols, config, stream, service, stop));
                    return;
                }
                tokio::spawn(conn::serve_cleartext(protocols, stream, service, stop));
            }
            Io::Unix(stream) => {
                tokio::spawn(conn::serve_cleartext(protocols, stream, service, stop));
            }
        }
    }
}

/// An accepted stream.
enum Io {
    Tcp(tokio::net::TcpStream),
    Unix(tokio::net::UnixStream),
}

async fn accept(listener: &Listener) -> io::Result<(Io, Addr)> {
    match listener {
        Listener::Tcp(listener) => accept_tcp(listener).await,
        #[cfg(feature = "tls")]
        Listener::Tls(listener, _) => accept_tcp(listener).await,
        Listener::Unix(listener) => {
            let (stream, peer) = listener.accept().await?;
            Ok((Io::Unix(stream), Addr::from_unix(&peer)))
        }
    }
}

async fn accept_tcp(listener: &TcpListener) -> io::Result<(Io, Addr)> {
    let (stream, peer) = listener.accept().await?;
    let _ = stream.set_nodelay(true);
    Ok((Io::Tcp(stream), Addr::Tcp(peer)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_server_hands_out_no_slot_until_one_is_given_back() {
        let capacity = Arc::new(Capacity {
            open: AtomicUsize::new(0),
            max: 2,
        });
        let first = capacity.take().expect("room for the first");
        let _second = capacity.take().expect("room for the second");
        assert!(capacity.take().is_none(), "full at two");
        drop(first);
        assert!(
            capacity.take().is_some(),
            "a slot given back is taken again"
        );
    }
}
