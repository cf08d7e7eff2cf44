//! Serving a [`Router`]: the ways to start a server (a port, a listener, a Unix socket,
//! each with or without TLS) and the binding they need. The accept loop is
//! [`accept`](super::accept); a connection's life is [`conn`](super::conn).

use std::io;
use std::path::Path;
use std::sync::Arc;

use std::net::SocketAddr;

use tokio::net::{TcpListener, ToSocketAddrs, UnixListener};

use super::accept::{AcceptLoop, Listener};
use super::conn::Protocols;
use super::dispatch;
use crate::{Addr, Router, Server};

impl Router {
    /// Binds `0.0.0.0:port` (every IPv4 interface, like Bun's `port` option) and serves until
    /// the server is [stopped](Server::stop), e.g. by a handler through its [`Server`].
    ///
    /// # Errors
    ///
    /// Fails if the port cannot be bound.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use hyperbun::prelude::*;
    ///
    /// #[get("/")]
    /// async fn index() -> &'static str {
    ///     "Hello"
    /// }
    ///
    /// #[tokio::main]
    /// async fn main() -> std::io::Result<()> {
    ///     hyperbun::router![index].serve(3000).await
    /// }
    /// ```
    pub async fn serve(self, port: u16) -> io::Result<()> {
        let server = self.bind(("0.0.0.0", port)).await?;
        server.stopped().await;
        Ok(())
    }

    /// Binds `addr` and starts serving in the background; returns the [`Server`] handle.
    ///
    /// # Errors
    ///
    /// Fails if the address cannot be bound.
    pub async fn bind(self, addr: impl ToSocketAddrs) -> io::Result<Server> {
        let listener = self.bind_listener(addr).await?;
        self.listen(listener)
    }

    /// Serves on an already bound listener in the background (bind port 0 for tests) and
    /// returns the [`Server`] handle. Must be called inside a tokio runtime.
    ///
    /// # Errors
    ///
    /// Fails if the listener's local address cannot be read.
    ///
    /// # Examples
    ///
    /// ```
    /// use hyperbun::prelude::*;
    ///
    /// #[get("/")]
    /// async fn index() -> &'static str {
    ///     "Hello"
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let server = hyperbun::router![index].listen(listener)?;
    /// println!("listening on {}", server.local_addr());
    /// server.stop().await;
    /// # Ok(())
    /// # }
    /// ```
    pub fn listen(self, listener: TcpListener) -> io::Result<Server> {
        let local_addr = Addr::Tcp(listener.local_addr()?);
        self.start(Listener::Tcp(listener), local_addr)
    }

    /// Binds `0.0.0.0:port` and serves HTTPS and WSS on it until the server is
    /// [stopped](Server::stop), like [`serve`](Self::serve) with Bun's `tls` option. ALPN
    /// offers HTTP/2 (`h2`, unless [`ServerConfig::http2`](crate::ServerConfig::http2) is off)
    /// and HTTP/1.1; WebSockets work over both. Keep a clone of `tls` to
    /// [reload](crate::TlsConfig::reload_from_pem_files) its certificate while the server runs.
    ///
    /// # Errors
    ///
    /// Fails if the port cannot be bound. (A certificate or key that cannot be loaded has
    /// already failed when the [`TlsConfig`](crate::TlsConfig) was made, naming the file.)
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use hyperbun::prelude::*;
    /// use hyperbun::TlsConfig;
    ///
    /// #[get("/")]
    /// async fn index() -> &'static str {
    ///     "Hello over TLS"
    /// }
    ///
    /// #[tokio::main]
    /// async fn main() -> std::io::Result<()> {
    ///     let tls = TlsConfig::from_pem_files("cert.pem", "key.pem")?;
    ///     hyperbun::router![index].serve_tls(8443, tls).await
    /// }
    /// ```
    #[cfg(feature = "tls")]
    pub async fn serve_tls(self, port: u16, tls: crate::TlsConfig) -> io::Result<()> {
        let server = self.bind_tls(("0.0.0.0", port), tls).await?;
        server.stopped().await;
        Ok(())
    }

    /// Binds `addr` and serves HTTPS and WSS in the background, as
    /// [`serve_tls`](Self::serve_tls) does; returns the [`Server`] handle.
    ///
    /// # Errors
    ///
    /// Fails if the address cannot be bound.
    #[cfg(feature = "tls")]
    pub async fn bind_tls(
        self,
        addr: impl ToSocketAddrs,
        tls: crate::TlsConfig,
    ) -> io::Result<Server> {
        let listener = self.bind_listener(addr).await?;
        self.listen_tls(listener, tls)
    }

    /// Serves HTTPS and WSS on an already bound listener in the background, as
    /// [`serve_tls`](Self::serve_tls) does; returns the [`Server`] handle. Must be called
    /// inside a tokio runtime. Each connection's TLS handshake runs in the connection's own
    /// task, bounded by [`header_read_timeout`](crate::ServerConfig::header_read_timeout).
    ///
    /// # Errors
    ///
    /// Fails if the listener's local address cannot be read.
    #[cfg(feature = "tls")]
    pub fn listen_tls(self, listener: TcpListener, tls: crate::TlsConfig) -> io::Result<Server> {
        let local_addr = Addr::Tcp(listener.local_addr()?);
        self.start(Listener::Tls(listener, tls), local_addr)
    }

    /// Binds a Unix domain socket at `path` and serves until the server is
    /// [stopped](Server::stop), like [`serve`](Self::serve) (Bun's `unix` option): for a
    /// server behind a proxy on the same machine, with no port to manage and the file
    /// system's permissions for access control.
    ///
    /// # Errors
    ///
    /// Fails, naming the path, if it cannot be bound: its directory is missing or not
    /// writable, or something already exists there (a stale socket from a process that did
    /// not stop cleanly is not removed for you: delete it first).
    pub async fn serve_unix(self, path: impl AsRef<Path>) -> io::Result<()> {
        let server = self.listen_unix(path)?;
        server.stopped().await;
        Ok(())
    }

    /// Binds a Unix domain socket at `path` and serves it in the background; returns the
    /// [`Server`] handle, whose [`local_addr`](Server::local_addr) is
    /// [`Addr::Unix`]. Requests see the peer as [`Addr::Unix`] (clients of a Unix socket are
    /// normally unnamed). The socket file is removed when the server stops. Must be called
    /// inside a tokio runtime.
    ///
    /// # Errors
    ///
    /// As for [`serve_unix`](Self::serve_unix).
    ///
    /// # Examples
    ///
    /// ```
    /// use hyperbun::prelude::*;
    ///
    /// #[get("/")]
    /// async fn index(RemoteAddr(peer): RemoteAddr) -> String {
    ///     format!("hello, {peer}")
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let path = std::env::temp_dir().join(format!("hyperbun-doc-{}.sock", std::process::id()));
    /// let server = hyperbun::router![index].listen_unix(&path)?;
    /// assert_eq!(server.local_addr().unix_path(), Some(path.as_path()));
    /// server.stop().await;
    /// assert!(!path.exists(), "removed on stop");
    /// # Ok(())
    /// # }
    /// ```
    pub fn listen_unix(self, path: impl AsRef<Path>) -> io::Result<Server> {
        let path = path.as_ref();
        let listener = UnixListener::bind(path).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot listen on the Unix socket {}: {e}", path.display()),
            )
        })?;
        let local_addr = Addr::Unix(Some(Arc::from(path)));
        self.start(Listener::Unix(listener), local_addr)
    }

    /// Starts the accept loop (and the backplane, if any) in the background; a backplane
    /// whose settings are wrong is an error naming the setting.
    fn start(self, listener: Listener, local_addr: Addr) -> io::Result<Server> {
        let server = Server::new(local_addr.clone(), &self.config);
        server.start_backplane(&self.config)?;
        tracing::info!(target: "hyperbun::server", %local_addr, routes = self.table.routes().len(), "listening");
        let accept = AcceptLoop {
            listener,
            protocols: Arc::new(Protocols::new(&self.config)),
            app: dispatch::app(&self, &server),
            table: self.table,
            config: self.config,
            stop: server.stop_receiver(),
            server: server.clone(),
        };
        tokio::spawn(accept.run());
        Ok(server)
    }

    /// Binds a TCP listener as [`ServerConfig::reuse_port`] says.
    async fn bind_listener(&self, addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        if !self.config.reuse_port {
            return TcpListener::bind(addr).await;
        }
        let mut last = None;
        for addr in tokio::net::lookup_host(addr).await? {
            match bind_reuse_port(addr) {
                Ok(listener) => return Ok(listener),
                Err(e) => last = Some(e),
            }
        }
        Err(last
            .unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to bind")))
    }
}

/// A listener with `SO_REUSEPORT` (and `SO_REUSEADDR`, as tokio's `bind` sets), so other
/// processes that set it too can bind the same port.
fn bind_reuse_port(addr: SocketAddr) -> io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    TcpListener::from_std(socket.into())
}
