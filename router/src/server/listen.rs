//! Serving a [`Router`]: binding TCP ports and Unix sockets, the accept loop, and each
//! connection's task (HTTP/1.1 through hyper, graceful shutdown, the abort at the end of the
//! grace period). What a request does once it arrives is [`dispatch`](super::dispatch).

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, ToSocketAddrs, UnixListener};
use tokio::sync::watch;

use super::dispatch::ConnService;
use super::Phase;
use crate::routing::RouteTable;
use crate::{Addr, Router, Server, ServerConfig};

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
        let listener = TcpListener::bind(addr).await?;
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
        Ok(self.start(Listener::Tcp(listener), local_addr))
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
        Ok(self.start(Listener::Unix(listener), local_addr))
    }

    /// Starts the accept loop in the background.
    fn start(self, listener: Listener, local_addr: Addr) -> Server {
        let server = Server::new(local_addr.clone(), &self.config);
        tracing::info!(target: "hyperbun::server", %local_addr, routes = self.table.routes().len(), "listening");
        let http = http1_builder(&self.config);
        let accept = AcceptLoop {
            listener,
            http,
            table: self.table,
            config: self.config,
            stop: server.stop_receiver(),
            server: server.clone(),
        };
        tokio::spawn(accept.run());
        server
    }
}

/// What the server accepts connections on.
enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

fn http1_builder(config: &ServerConfig) -> Arc<http1::Builder> {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .keep_alive(config.keep_alive);
    Arc::new(http)
}

struct AcceptLoop {
    listener: Listener,
    http: Arc<http1::Builder>,
    table: Arc<RouteTable>,
    config: ServerConfig,
    server: Server,
    stop: watch::Receiver<Phase>,
}

impl AcceptLoop {
    async fn run(mut self) {
        loop {
            let accepted = tokio::select! {
                biased;
                _ = self.stop.wait_for(|phase| *phase != Phase::Running) => break,
                accepted = accept(&self.listener) => accepted,
            };
            match accepted {
                Ok(Accepted::Tcp(stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    self.spawn_connection(stream, Addr::Tcp(peer));
                }
                Ok(Accepted::Unix(stream, peer)) => self.spawn_connection(stream, peer),
                Err(e) => {
                    // Out of file descriptors and similar: back off instead of spinning.
                    tracing::warn!(target: "hyperbun::server", "accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
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

    fn spawn_connection<IO>(&self, stream: IO, peer: Addr)
    where
        IO: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let service = ConnService {
            table: Arc::clone(&self.table),
            server: self.server.clone(),
            remote_addr: peer.clone(),
            body_limit: self.config.max_request_body_size,
        };
        let http = Arc::clone(&self.http);
        let mut stop = self.stop.clone();
        tokio::spawn(async move {
            let conn = http
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            tokio::pin!(conn);
            let finished = tokio::select! {
                result = conn.as_mut() => Some(result),
                _ = stop.wait_for(|phase| *phase != Phase::Running) => None,
            };
            let result = match finished {
                Some(result) => result,
                None => {
                    conn.as_mut().graceful_shutdown();
                    tokio::select! {
                        result = conn.as_mut() => result,
                        // The grace period is over: the request in flight is dropped.
                        _ = stop.wait_for(|phase| *phase == Phase::Aborting) => Ok(()),
                    }
                }
            };
            if let Err(e) = result {
                tracing::debug!(target: "hyperbun::server", %peer, "connection ended with an error: {e}");
            }
            drop(stop);
        });
    }
}

/// An accepted connection and its peer.
enum Accepted {
    Tcp(tokio::net::TcpStream, std::net::SocketAddr),
    Unix(tokio::net::UnixStream, Addr),
}

async fn accept(listener: &Listener) -> io::Result<Accepted> {
    match listener {
        Listener::Tcp(listener) => {
            let (stream, peer) = listener.accept().await?;
            Ok(Accepted::Tcp(stream, peer))
        }
        Listener::Unix(listener) => {
            let (stream, peer) = listener.accept().await?;
            Ok(Accepted::Unix(stream, Addr::from_unix(&peer)))
        }
    }
}
