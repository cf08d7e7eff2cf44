//! How many WebSockets each IP address holds open, for
//! [`ServerConfig::max_websockets_per_ip`](crate::ServerConfig::max_websockets_per_ip).
//!
//! The [`Server`](crate::Server) handle owns the count (only when a limit is set; without one
//! nothing here runs); an upgrade takes a [`PeerSlot`] before its hook runs, and the slot is
//! held by the socket's driver next to its registration, so the count drops exactly when the
//! connection ends, whichever way it ends (closed, refused by the hook, upgrade never
//! completed, panic).
//!
//! One `Mutex<HashMap<IpAddr, usize>>`, not shards like the [registry](crate::ws::registry):
//! it is touched twice per upgrade (admit and release), never per message, and an upgrade
//! already costs a TCP handshake, an HTTP request and a task, so a short lock is noise beside
//! it. The lock is never held across an `.await`. An address leaves the map when its last
//! socket closes, so the map holds only addresses with open sockets.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use crate::sync::lock;
use crate::{Addr, UpgradeError};

/// Open WebSockets per IP address, against a limit.
#[derive(Debug)]
pub(crate) struct Peers {
    limit: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

impl Peers {
    pub(crate) fn new(limit: usize) -> Self {
        Peers {
            limit,
            open: Mutex::default(),
        }
    }

    /// Counts one more socket from `addr`, or refuses it when its IP already holds the
    /// limit. Unix-socket peers have no IP and are not counted.
    pub(crate) fn admit(self: &Arc<Self>, addr: &Addr) -> Result<PeerSlot, UpgradeError> {
        let Some(ip) = addr.ip() else {
            return Ok(PeerSlot::default());
        };
        // `::ffff:1.2.3.4` is the IPv4 peer `1.2.3.4` on a dual-stack listener.
        let ip = ip.to_canonical();
        let mut open = lock(&self.open);
        let count = open.entry(ip).or_insert(0);
        if *count >= self.limit {
            if *count == 0 {
                open.remove(&ip);
            }
            drop(open);
            tracing::debug!(target: "hyperbun::rejection", %ip, limit = self.limit, "429: too many WebSockets from one address");
            return Err(UpgradeError::TooManyFromAddress { limit: self.limit });
        }
        *count += 1;
        Ok(PeerSlot(Some(Box::new((Arc::clone(self), ip)))))
    }

    fn release(&self, ip: IpAddr) {
        let mut open = lock(&self.open);
        if let Some(count) = open.get_mut(&ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&ip);
            }
        }
    }

    /// How many sockets `ip` holds (for tests).
    #[cfg(test)]
    fn count(&self, ip: IpAddr) -> usize {
        lock(&self.open).get(&ip).copied().unwrap_or(0)
    }
}

/// One socket counted against its IP's limit, until dropped. The default counts nothing (no
/// limit, or a Unix-socket peer).
#[derive(Debug, Default)]
pub(crate) struct PeerSlot(Option<Box<(Arc<Peers>, IpAddr)>>);

impl Drop for PeerSlot {
    fn drop(&mut self) {
        if let Some(held) = self.0.take() {
            let (peers, ip) = *held;
            peers.release(ip);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;

    fn tcp(addr: &str) -> Addr {
        Addr::Tcp(addr.parse::<SocketAddr>().unwrap())
    }

    #[test]
    fn counts_per_ip_and_releases_on_drop() {
        let peers = Arc::new(Peers::new(2));
        let a = peers.admit(&tcp("10.0.0.1:1000")).unwrap();
        let b = peers.admit(&tcp("10.0.0.1:1001")).unwrap();
        assert!(peers.admit(&tcp("10.0.0.1:1002")).is_err());
        // The IPv4-mapped form is the same peer.
        assert!(peers.admit(&tcp("[::ffff:10.0.0.1]:1003")).is_err());
        let other = peers.admit(&tcp("10.0.0.2:1000")).unwrap();
        drop(a);
        assert_eq!(peers.count("10.0.0.1".parse().unwrap()), 1);
        let c = peers.admit(&tcp("10.0.0.1:1004")).unwrap();
        drop((b, c, other));
        assert!(
            lock(&peers.open).is_empty(),
            "no entry outlives its sockets"
        );
    }

    #[test]
    fn unix_peers_and_a_zero_limit() {
        let peers = Arc::new(Peers::new(0));
        let unix = peers.admit(&Addr::Unix(None)).unwrap();
        assert!(unix.0.is_none(), "a Unix-socket peer is not counted");
        assert!(peers.admit(&tcp("10.0.0.1:1")).is_err());
        assert!(lock(&peers.open).is_empty());
    }

    #[test]
    fn refusal_is_429_with_retry_after() {
        use crate::IntoResponse;
        use http::{header, StatusCode};

        let response = UpgradeError::TooManyFromAddress { limit: 3 }.into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    }
}
