//! [`Addr`]: where a server listens and where a connection comes from, over TCP or a Unix
//! domain socket.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

/// The address of a listener or of a peer: a TCP socket address, or a Unix domain socket.
///
/// [`Server::local_addr`](crate::Server::local_addr),
/// [`WebSocket::remote_addr`](crate::WebSocket::remote_addr) and the
/// [`RemoteAddr`](crate::RemoteAddr) extractor return it. It prints as the socket address
/// (`127.0.0.1:3000`) for TCP, and as `unix:PATH` for a Unix socket, or `unix` for a peer
/// that did not bind a path (the usual case: clients of a Unix socket are unnamed).
///
/// # Examples
///
/// ```
/// use hyperbun::Addr;
///
/// let tcp = Addr::Tcp("127.0.0.1:3000".parse().unwrap());
/// assert_eq!(tcp.to_string(), "127.0.0.1:3000");
/// assert_eq!(tcp.port(), Some(3000));
///
/// let peer = Addr::Unix(None);
/// assert_eq!(peer.to_string(), "unix");
/// assert_eq!(peer.ip(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Addr {
    /// A TCP address.
    Tcp(SocketAddr),
    /// A Unix domain socket: its path, if it has one.
    Unix(Option<Arc<Path>>),
    /// Not known: a [`Router`](crate::Router) served by another server as a tower service,
    /// which did not put the peer's address (a `std::net::SocketAddr` or a
    /// [`RemoteAddr`](crate::RemoteAddr)) in the request's extensions.
    Unknown,
}

impl Addr {
    /// The TCP socket address, if this is one.
    #[must_use]
    pub fn tcp(&self) -> Option<SocketAddr> {
        match self {
            Addr::Tcp(addr) => Some(*addr),
            Addr::Unix(_) | Addr::Unknown => None,
        }
    }

    /// The IP address, for TCP.
    #[must_use]
    pub fn ip(&self) -> Option<IpAddr> {
        self.tcp().map(|addr| addr.ip())
    }

    /// The port, for TCP.
    #[must_use]
    pub fn port(&self) -> Option<u16> {
        self.tcp().map(|addr| addr.port())
    }

    /// The socket's path, for a Unix domain socket that has one.
    #[must_use]
    pub fn unix_path(&self) -> Option<&Path> {
        match self {
            Addr::Unix(path) => path.as_deref(),
            Addr::Tcp(_) | Addr::Unknown => None,
        }
    }

    /// True for a Unix domain socket.
    #[must_use]
    pub fn is_unix(&self) -> bool {
        matches!(self, Addr::Unix(_))
    }

    /// A Unix socket address as tokio reports it.
    pub(crate) fn from_unix(addr: &tokio::net::unix::SocketAddr) -> Self {
        Addr::Unix(addr.as_pathname().map(Arc::from))
    }
}

impl From<SocketAddr> for Addr {
    fn from(addr: SocketAddr) -> Self {
        Addr::Tcp(addr)
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Addr::Tcp(addr) => addr.fmt(f),
            Addr::Unix(Some(path)) => write!(f, "unix:{}", path.display()),
            Addr::Unix(None) => f.write_str("unix"),
            Addr::Unknown => f.write_str("unknown"),
        }
    }
}
