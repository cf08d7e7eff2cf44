//! [`TlsStream`]: a server's TLS connection over TCP, on rustls's *unbuffered* API, from the
//! handshake to the last WebSocket frame.
//!
//! Why not tokio-rustls: its stream keeps rustls's buffered connection, which holds a 4 KiB
//! receive buffer for as long as the connection lives, allocates a `Vec` for every record
//! it encrypts, and can only be written by one task through `&mut`. A server with ten
//! thousand idle `wss://` sockets pays the buffer ten thousand times. Here the connection's
//! buffers hold memory only while they hold bytes (the thread's spare buffers serve the
//! reads and writes, as for plain sockets, see [`spare`](crate::ws::spare)), records are
//! encrypted straight into the outgoing buffer, and the stream works through `&self`, so the
//! same value serves hyper (as `AsyncRead + AsyncWrite`, for HTTP and the upgrade) and then the
//! socket's driver (as a [`Transport`](crate::ws::transport::Transport)), with no wrapper in
//! between.
//!
//! It lives next to the transports because a socket is its main user; the server makes one
//! per accepted TLS connection ([`TlsStream::accept`]) and hands it to hyper.
//!
//! The rules of the unbuffered API, kept here: the bytes `process_tls_records` reports as
//! done are discarded before it runs again; handshake records are encoded in order into the
//! outgoing buffer and written before anything encrypted after them; and plaintext is taken
//! whole by [`TlsStream::poll_write_vectored`] (encrypted at once), so a short TCP write only
//! leaves ciphertext behind, which [`poll_flush`](TlsStream::poll_flush) (or the next write)
//! sends.

use std::cell::RefCell;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};

use bytes::{Buf, BytesMut};
use rustls::server::UnbufferedServerConnection;
use rustls::unbuffered::{ConnectionState, EncodeError, EncryptError, UnbufferedStatus};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::sync::lock;
use crate::ws::spare;

/// The most plaintext encrypted in one write: four full records.
const MAX_WRITE: usize = 64 * 1024;

/// What TLS adds to each record, at most (header, explicit nonce or content type, tag).
const RECORD_OVERHEAD: usize = 64;

/// The largest plaintext of one record.
const MAX_RECORD: usize = 16 * 1024;

thread_local! {
    /// Where a vectored write's slices are joined before they are encrypted as one.
    static GATHER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// A TLS connection over TCP, usable through `&self` by one task at a time (the lock is
/// never contended: hyper's task, then the socket's driver).
pub(crate) struct TlsStream {
    tcp: TcpStream,
    state: Mutex<State>,
}

struct State {
    conn: UnbufferedServerConnection,
    /// Ciphertext read and not processed yet: between reads, at most part of a record.
    incoming: BytesMut,
    /// Decrypted data not taken yet (a reader with a small buffer, or records that came in
    /// while writing).
    plaintext: BytesMut,
    /// Ciphertext to send: handshake messages, and records the socket did not take yet.
    outgoing: BytesMut,
    /// The peer sent `close_notify`, or closed the connection.
    eof: bool,
    /// Our `close_notify` is queued.
    close_sent: bool,
}

/// Where processing stopped.
enum Step {
    /// Nothing more to do without more ciphertext.
    NeedData,
    /// The handshake is done and nothing is pending.
    Traffic,
    /// The peer closed.
    Eof,
}

impl std::fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsStream").finish_non_exhaustive()
    }
}

fn tls_error(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

impl TlsStream {
    /// Runs the server side of the handshake on `tcp`.
    pub(crate) async fn accept(
        tcp: TcpStream,
        config: Arc<rustls::ServerConfig>,
    ) -> io::Result<TlsStream> {
        let conn = UnbufferedServerConnection::new(config).map_err(tls_error)?;
        let stream = TlsStream {
            tcp,
            state: Mutex::new(State {
                conn,
                incoming: BytesMut::new(),
                plaintext: BytesMut::new(),
                outgoing: BytesMut::new(),
                eof: false,
                close_sent: false,
            }),
        };
        std::future::poll_fn(|cx| stream.poll_handshake(cx)).await?;
        Ok(stream)
    }

    fn poll_handshake(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut state = lock(&self.state);
        loop {
            let step = state.process_into_plaintext()?;
            ready!(state.poll_send(cx, &self.tcp))?;
            match step {
                Step::Traffic => return Poll::Ready(Ok(())),
                Step::Eof => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the client closed the connection during the TLS handshake",
                    )))
                }
                Step::NeedData => {
                    if ready!(state.poll_receive(cx, &self.tcp))? == 0 {
                        return Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into()));
                    }
                }
            }
        }
    }

    /// Whether ALPN chose HTTP/2.
    pub(crate) fn is_h2(&self) -> bool {
        lock(&self.state).conn.alpn_protocol() == Some(b"h2")
    }

    /// Decrypted data into `buf`; `Ok(0)` at the end of the stream. An empty `buf` takes a
    /// spare buffer only when there is something to put in it.
    pub(crate) fn poll_read_bytes(
        &self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<usize>> {
        let mut state = lock(&self.state);
        let before = buf.len();
        if !state.plaintext.is_empty() {
            if buf.capacity() == 0 {
                *buf = spare::take(spare::Kind::Read);
            }
            buf.extend_from_slice(&state.plaintext);
            state.plaintext = BytesMut::new();
        }
        loop {
            if buf.len() > before {
                return Poll::Ready(Ok(buf.len() - before));
            }
            if state.eof {
                return Poll::Ready(Ok(0));
            }
            let step = state.process(buf)?;
            // Whatever the handshake layer has to say (a key update, a ticket) goes out now;
            // a full socket does not hold up reading.
            if let Poll::Ready(Err(e)) = state.poll_send(cx, &self.tcp) {
                return Poll::Ready(Err(e));
            }
            if buf.len() > before {
                continue;
            }
            if matches!(step, Step::Eof) {
                state.eof = true;
                continue;
            }
            if ready!(state.poll_receive(cx, &self.tcp))? == 0 {
                // The peer closed without `close_notify`: the end, as browsers treat it.
                state.eof = true;
            }
        }
    }

    /// Encrypts the whole of `bufs` (up to [`MAX_WRITE`] bytes) and writes what the socket
    /// takes; the rest of the ciphertext waits for [`poll_flush`](Self::poll_flush) or the
    /// next write. Pending only while earlier ciphertext is still waiting.
    pub(crate) fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let mut state = lock(&self.state);
        ready!(state.poll_send(cx, &self.tcp))?;
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        if total == 0 {
            return Poll::Ready(Ok(0));
        }
        let taken = match bufs.iter().find(|b| !b.is_empty()) {
            Some(first) if first.len() >= total.min(MAX_WRITE) => {
                let n = first.len().min(MAX_WRITE);
                state.encrypt(&first[..n])?;
                n
            }
            _ => GATHER.with_borrow_mut(|gather| {
                gather.clear();
                for buf in bufs {
                    let room = MAX_WRITE - gather.len();
                    gather.extend_from_slice(&buf[..buf.len().min(room)]);
                    if gather.len() == MAX_WRITE {
                        break;
                    }
                }
                state.encrypt(gather).map(|()| gather.len())
            })?,
        };
        // Out now if the socket takes it; otherwise it waits, and the caller flushes.
        let _ = state.poll_send(cx, &self.tcp);
        Poll::Ready(Ok(taken))
    }

    /// Writes the ciphertext that is waiting.
    pub(crate) fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        lock(&self.state).poll_send(cx, &self.tcp)
    }

    /// Sends `close_notify` (once), flushes, and ends the TCP write side.
    pub(crate) fn poll_shutdown(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut state = lock(&self.state);
        if !state.close_sent {
            state.close_sent = true;
            state.queue_close_notify()?;
        }
        ready!(state.poll_send(cx, &self.tcp))?;
        Poll::Ready(socket2::SockRef::from(&self.tcp).shutdown(std::net::Shutdown::Write))
    }
}

impl State {
    /// Processes the ciphertext held: decrypts records into `out` (an empty one takes a
    /// spare buffer first), encodes handshake messages into `outgoing`, and discards what is
    /// done.
    fn process(&mut self, out: &mut BytesMut) -> io::Result<Step> {
        let State {
            conn,
            incoming,
            outgoing,
            ..
        } = self;
        loop {
            let UnbufferedStatus { mut discard, state } = conn.process_tls_records(incoming);
            let step = match state.map_err(tls_error)? {
                ConnectionState::ReadTraffic(mut traffic) => {
                    while let Some(record) = traffic.next_record() {
                        let record = record.map_err(tls_error)?;
                        discard += record.discard;
                        if out.capacity() == 0 {
                            *out = spare::take(spare::Kind::Read);
                        }
                        out.extend_from_slice(record.payload);
                    }
                    None
                }
                ConnectionState::EncodeTlsData(mut encode) => {
                    let mut need = 1024;
                    loop {
                        let start = outgoing.len();
                        outgoing.resize(start + need, 0);
                        match encode.encode(&mut outgoing[start..]) {
                            Ok(n) => {
                                outgoing.truncate(start + n);
                                break;
                            }
                            Err(EncodeError::InsufficientSize(size)) => {
                                outgoing.truncate(start);
                                need = size.required_size;
                            }
                            Err(e) => {
                                outgoing.truncate(start);
                                return Err(io::Error::new(io::ErrorKind::InvalidData, e));
                            }
                        }
                    }
                    None
                }
                // Sent in order by `poll_send`, before anything encrypted later.
                ConnectionState::TransmitTlsData(transmit) => {
                    transmit.done();
                    None
                }
                ConnectionState::BlockedHandshake => Some(Step::NeedData),
                ConnectionState::WriteTraffic(_) => Some(Step::Traffic),
                ConnectionState::PeerClosed | ConnectionState::Closed => Some(Step::Eof),
                _ => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "unexpected TLS state (early data is not accepted)",
                    ))
                }
            };
            incoming.advance(discard);
            if let Some(step) = step {
                if incoming.is_empty() && incoming.capacity() > 0 {
                    spare::give_back(spare::Kind::TlsIncoming, std::mem::take(incoming));
                }
                return Ok(step);
            }
        }
    }

    /// [`process`](Self::process), keeping what it decrypts in `plaintext`.
    fn process_into_plaintext(&mut self) -> io::Result<Step> {
        let mut plaintext = std::mem::take(&mut self.plaintext);
        let step = self.process(&mut plaintext);
        self.plaintext = plaintext;
        step
    }

    /// Encrypts `data` into `outgoing`, behind any handshake message still to send.
    fn encrypt(&mut self, data: &[u8]) -> io::Result<()> {
        let records = data.len().div_ceil(MAX_RECORD).max(1);
        let mut room = data.len() + records * RECORD_OVERHEAD;
        loop {
            self.process_into_plaintext()?;
            let State {
                conn,
                incoming,
                outgoing,
                ..
            } = self;
            if outgoing.capacity() == 0 {
                *outgoing = spare::take(spare::Kind::TlsOutgoing);
            }
            let start = outgoing.len();
            outgoing.resize(start + room, 0);
            let UnbufferedStatus { discard, state } = conn.process_tls_records(incoming);
            let encrypted = match state.map_err(tls_error)? {
                ConnectionState::WriteTraffic(mut traffic) => {
                    traffic.encrypt(data, &mut outgoing[start..])
                }
                _ => {
                    outgoing.truncate(start);
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "TLS: cannot send application data in this state",
                    ));
                }
            };
            incoming.advance(discard);
            match encrypted {
                Ok(n) => {
                    outgoing.truncate(start + n);
                    return Ok(());
                }
                Err(EncryptError::InsufficientSize(size)) => {
                    outgoing.truncate(start);
                    room = size.required_size;
                }
                Err(e) => {
                    outgoing.truncate(start);
                    return Err(io::Error::new(io::ErrorKind::InvalidData, e));
                }
            }
        }
    }

    fn queue_close_notify(&mut self) -> io::Result<()> {
        self.process_into_plaintext()?;
        let State {
            conn,
            incoming,
            outgoing,
            ..
        } = self;
        let start = outgoing.len();
        outgoing.resize(start + RECORD_OVERHEAD, 0);
        let UnbufferedStatus { discard, state } = conn.process_tls_records(incoming);
        let queued = match state.map_err(tls_error)? {
            ConnectionState::WriteTraffic(mut traffic) => {
                traffic.queue_close_notify(&mut outgoing[start..])
            }
            // Closed already, or the handshake never finished: nothing to say.
            _ => Ok(0),
        };
        incoming.advance(discard);
        match queued {
            Ok(n) => {
                outgoing.truncate(start + n);
                Ok(())
            }
            Err(e) => {
                outgoing.truncate(start);
                Err(io::Error::new(io::ErrorKind::InvalidData, e))
            }
        }
    }

    /// Writes `outgoing` until it is empty (`Ready`) or the socket is full (`Pending`, with
    /// a wake-up for when it has room).
    fn poll_send(&mut self, cx: &mut Context<'_>, tcp: &TcpStream) -> Poll<io::Result<()>> {
        while !self.outgoing.is_empty() {
            match tcp.try_write(&self.outgoing) {
                Ok(n) => self.outgoing.advance(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    ready!(tcp.poll_write_ready(cx))?;
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        if self.outgoing.capacity() > 0 {
            spare::give_back(spare::Kind::TlsOutgoing, std::mem::take(&mut self.outgoing));
        }
        Poll::Ready(Ok(()))
    }

    /// Reads ciphertext into `incoming`; `Ok(0)` at EOF.
    fn poll_receive(&mut self, cx: &mut Context<'_>, tcp: &TcpStream) -> Poll<io::Result<usize>> {
        loop {
            ready!(tcp.poll_read_ready(cx))?;
            if self.incoming.capacity() - self.incoming.len() < 4096 {
                if self.incoming.capacity() == 0 {
                    self.incoming = spare::take(spare::Kind::TlsIncoming);
                } else {
                    self.incoming.reserve(MAX_RECORD + RECORD_OVERHEAD);
                }
            }
            match tcp.try_read_buf(&mut self.incoming) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                other => return Poll::Ready(other),
            }
        }
    }
}

impl AsyncRead for TlsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.into_ref().get_ref();
        {
            let mut state = lock(&this.state);
            if !state.plaintext.is_empty() {
                let n = state.plaintext.len().min(buf.remaining());
                buf.put_slice(&state.plaintext[..n]);
                state.plaintext.advance(n);
                if state.plaintext.is_empty() {
                    state.plaintext = BytesMut::new();
                }
                return Poll::Ready(Ok(()));
            }
        }
        let mut got = BytesMut::new();
        ready!(this.poll_read_bytes(cx, &mut got))?;
        let n = got.len().min(buf.remaining());
        buf.put_slice(&got[..n]);
        if n < got.len() {
            let mut state = lock(&this.state);
            let rest = got.split_off(n);
            // Nothing else was decrypted meanwhile: the lock was released only between calls.
            state.plaintext = rest;
        } else {
            spare::give_back(spare::Kind::Read, got);
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for TlsStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.into_ref()
            .get_ref()
            .poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.into_ref().get_ref().poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.into_ref().get_ref().poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.into_ref().get_ref().poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::future::poll_fn;

    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;
    use tokio_rustls::client::TlsStream as ClientTls;

    use super::*;

    fn provider() -> Arc<rustls::crypto::CryptoProvider> {
        Arc::new(rustls::crypto::ring::default_provider())
    }

    /// A server config for `localhost`, and a client config that trusts it.
    fn configs() -> (Arc<rustls::ServerConfig>, Arc<rustls::ClientConfig>) {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert");
        let der: CertificateDer<'static> = cert.cert.der().clone();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.signing_key.serialize_der()));
        let server = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![der.clone()], key)
            .unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(der).unwrap();
        let client = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        (Arc::new(server), Arc::new(client))
    }

    /// A server `TlsStream` and a tokio-rustls client, connected over 127.0.0.1.
    async fn pair() -> (TlsStream, ClientTls<TcpStream>) {
        let (server_config, client_config) = configs();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            TlsStream::accept(tcp, server_config)
                .await
                .expect("server handshake")
        });
        let tcp = TcpStream::connect(addr).await.unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let client = tokio_rustls::TlsConnector::from(client_config)
            .connect(name, tcp)
            .await
            .expect("client handshake");
        (server.await.unwrap(), client)
    }

    async fn read_exactly(server: &TlsStream, len: usize) -> Vec<u8> {
        let mut all = Vec::new();
        while all.len() < len {
            let mut buf = BytesMut::new();
            let n = poll_fn(|cx| server.poll_read_bytes(cx, &mut buf))
                .await
                .unwrap();
            assert!(n > 0, "EOF after {} of {len} bytes", all.len());
            all.extend_from_slice(&buf);
        }
        all
    }

    fn pattern(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    #[tokio::test]
    async fn messages_larger_than_a_record_arrive_whole_both_ways() {
        let (server, mut client) = pair().await;
        let up = pattern(200 * 1024, 1);
        let writer = {
            let up = up.clone();
            tokio::spawn(async move {
                client.write_all(&up).await.unwrap();
                client.flush().await.unwrap();
                client
            })
        };
        assert_eq!(read_exactly(&server, up.len()).await, up);
        let mut client = writer.await.unwrap();

        // Down: several slices per write, joined and encrypted as one.
        let down = pattern(300 * 1024, 7);
        let reader = tokio::spawn(async move {
            let mut got = vec![0; 300 * 1024];
            client.read_exact(&mut got).await.unwrap();
            got
        });
        let mut sent = 0;
        while sent < down.len() {
            let end = (sent + 5000).min(down.len());
            let mid = (sent + end) / 2;
            let slices = [
                IoSlice::new(&down[sent..mid]),
                IoSlice::new(&down[mid..end]),
            ];
            sent += poll_fn(|cx| server.poll_write_vectored(cx, &slices))
                .await
                .unwrap();
        }
        poll_fn(|cx| server.poll_flush(cx)).await.unwrap();
        assert_eq!(reader.await.unwrap(), down);
    }

    #[tokio::test]
    async fn ciphertext_a_full_socket_did_not_take_is_sent_by_flush() {
        let (server, mut client) = pair().await;
        let down = pattern(4 * 1024 * 1024, 3);
        // The client reads nothing yet: the socket fills and ciphertext waits in the stream.
        let mut sent = 0;
        let mut waited = false;
        while sent < down.len() {
            let end = (sent + MAX_WRITE).min(down.len());
            let slice = [IoSlice::new(&down[sent..end])];
            match poll_fn(|cx| Poll::Ready(server.poll_write_vectored(cx, &slice))).await {
                Poll::Ready(n) => sent += n.unwrap(),
                Poll::Pending => {
                    waited = true;
                    break;
                }
            }
        }
        assert!(waited, "4 MiB without a reader should fill the socket");
        let reader = tokio::spawn(async move {
            let mut got = vec![0; sent];
            client.read_exact(&mut got).await.unwrap();
            got
        });
        poll_fn(|cx| server.poll_flush(cx)).await.unwrap();
        assert_eq!(reader.await.unwrap(), down[..sent]);
    }

    #[tokio::test]
    async fn records_that_arrive_a_byte_at_a_time_are_put_together() {
        let (server_config, client_config) = configs();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let tls = TlsStream::accept(tcp, server_config)
                .await
                .expect("handshake");
            read_exactly(&tls, 3000).await
        });
        // The client's TLS by hand, so each byte of ciphertext can go out on its own.
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        tcp.set_nodelay(true).unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let mut conn = rustls::ClientConnection::new(client_config, name).unwrap();
        let mut inbound = vec![0; 64 * 1024];
        while conn.is_handshaking() {
            while conn.wants_write() {
                let mut out = Vec::new();
                conn.write_tls(&mut out).unwrap();
                tcp.write_all(&out).await.unwrap();
            }
            if conn.is_handshaking() && conn.wants_read() {
                let n = tcp.read(&mut inbound).await.unwrap();
                conn.read_tls(&mut &inbound[..n]).unwrap();
                conn.process_new_packets().unwrap();
            }
        }
        let message = pattern(3000, 9);
        std::io::Write::write_all(&mut conn.writer(), &message).unwrap();
        let mut out = Vec::new();
        while conn.wants_write() {
            conn.write_tls(&mut out).unwrap();
        }
        for byte in out {
            tcp.write_all(&[byte]).await.unwrap();
            tokio::task::yield_now().await;
        }
        assert_eq!(server.await.unwrap(), message);
    }

    #[tokio::test]
    async fn shutdown_sends_close_notify_and_the_peers_is_the_end() {
        let (server, mut client) = pair().await;
        // The peer's close_notify: the server reads the end of the stream.
        client.write_all(b"last words").await.unwrap();
        client.shutdown().await.unwrap();
        assert_eq!(read_exactly(&server, 10).await, b"last words");
        let mut buf = BytesMut::new();
        let n = poll_fn(|cx| server.poll_read_bytes(cx, &mut buf))
            .await
            .unwrap();
        assert_eq!(n, 0, "close_notify is the end");
        // Ours: the client sees a clean end (tokio-rustls reports a missing close_notify as
        // an error).
        poll_fn(|cx| server.poll_shutdown(cx)).await.unwrap();
        let mut rest = Vec::new();
        client.read_to_end(&mut rest).await.expect("a clean end");
        assert!(rest.is_empty());
    }

    #[tokio::test]
    async fn an_idle_stream_holds_no_buffer() {
        let (server, mut client) = pair().await;
        client.write_all(b"ping").await.unwrap();
        assert_eq!(read_exactly(&server, 4).await, b"ping");
        let slices = [IoSlice::new(b"pong")];
        poll_fn(|cx| server.poll_write_vectored(cx, &slices))
            .await
            .unwrap();
        poll_fn(|cx| server.poll_flush(cx)).await.unwrap();
        let mut pong = [0; 4];
        client.read_exact(&mut pong).await.unwrap();
        let state = lock(&server.state);
        assert_eq!(state.incoming.capacity(), 0);
        assert_eq!(state.outgoing.capacity(), 0);
        assert_eq!(state.plaintext.capacity(), 0);
    }
}
