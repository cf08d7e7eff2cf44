//! What a WebSocket runs on: any byte stream.
//!
//! The driver and the send queue talk to the connection through [`Transport`], a small trait
//! whose methods take `&self`, because two kinds of task write: the connection's own driver,
//! and publishers, which write a subscriber's queue straight to its socket when it has grown
//! large instead of waiting for the driver to be scheduled.
//!
//! - Plain TCP and Unix domain sockets implement it directly on tokio's readiness API, which
//!   works through `&self`: the driver waits for readiness and reads or `writev`s without
//!   locking, and a publisher on any thread may `try_write_vectored` (one `writev`, never a
//!   wait). This is the fast path hyperbun was built on, unchanged: a socket keeps them inline
//!   in [`Stream`], so they cost no allocation and no virtual call.
//! - The server's own TLS stream ([`tls`](crate::ws::tls)) works through `&self` too, and is
//!   used as itself; its driver alone writes (encrypting is not something a publisher should
//!   do on the subscriber's behalf while the driver may be doing the same).
//! - Any other stream (`AsyncRead + AsyncWrite`: a stream from middleware, an in-memory
//!   duplex in tests) is wrapped in [`Exclusive`]: a mutex only the driver's task ever takes,
//!   so it is never contended. Publishers do not write to such a stream; they queue and wake
//!   the driver, which writes the batch. (Polling someone else's stream from a publisher
//!   would replace the driver's waker with the publisher's and could leave the driver asleep.)

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::{pin, Pin};
use std::sync::Mutex;
use std::task::{ready, Context, Poll, Waker};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, Interest};
use tokio::net::{TcpStream, UnixStream};

use crate::sync::lock;
use crate::ws::spare;

/// The read buffer's growth when less than half of it is left.
const READ_CHUNK: usize = 8 * 1024;

/// Returns an empty read buffer's memory to this thread's spare: a socket waiting for input
/// holds none.
fn give_back_if_empty(buf: &mut BytesMut) {
    if buf.is_empty() && buf.capacity() > 0 {
        spare::give_back(spare::Kind::Read, std::mem::take(buf));
    }
}

/// Gives an empty read buffer this thread's spare, and a nearly full one more room.
fn ensure_room(buf: &mut BytesMut) {
    if buf.capacity() == 0 {
        *buf = spare::take(spare::Kind::Read);
    } else if buf.capacity() - buf.len() < READ_CHUNK / 2 {
        buf.reserve(READ_CHUNK);
    }
}

/// A connection's byte stream, shared by its driver and the tasks that publish to it.
pub(crate) trait Transport: Send + Sync + 'static {
    /// Reads into `buf`, which holds memory only while it holds bytes: an empty one gets this
    /// thread's spare buffer (see [`spare`](crate::ws::spare)) when there is something to read,
    /// and gives it back when nothing came, so a socket waiting for input holds no buffer.
    /// `Ok(0)` is the end of the stream.
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut BytesMut) -> Poll<io::Result<usize>>;

    /// Writes some of `bufs`; the driver's task only.
    fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>>;

    /// The driver's write when it has no waker at hand (right after a handler): what the
    /// stream takes now, `WouldBlock` if nothing; the driver polls with its waker before it
    /// sleeps.
    fn write_now(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self.poll_write_vectored(&mut Context::from_waker(Waker::noop()), bufs) {
            Poll::Ready(result) => result,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    /// True when written bytes may wait inside the stream (a TLS record) until
    /// [`poll_flush`](Self::poll_flush).
    fn buffers_writes(&self) -> bool {
        false
    }

    /// Pushes out what the stream buffers itself (a TLS record); the driver's task only.
    fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let _ = cx;
        Poll::Ready(Ok(()))
    }

    /// A write from a task other than the driver's, without waiting and without
    /// registering a wake-up: `WouldBlock` when the stream is full, or when this transport
    /// only lets its driver write (the default).
    fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let _ = bufs;
        Err(io::ErrorKind::WouldBlock.into())
    }

    /// Ends the write side (after a flush), so the peer reads EOF behind our close frame.
    fn poll_shutdown(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
}

/// tokio's readiness-based sockets: TCP and Unix domain streams share one implementation.
macro_rules! readiness_transport {
    ($stream:ty) => {
        impl Transport for $stream {
            fn poll_read(
                &self,
                cx: &mut Context<'_>,
                buf: &mut BytesMut,
            ) -> Poll<io::Result<usize>> {
                loop {
                    // Readiness first: a socket with nothing to read takes no buffer (and
                    // gives back the one it took when readiness turned out to be stale).
                    if self.poll_read_ready(cx)?.is_pending() {
                        give_back_if_empty(buf);
                        return Poll::Pending;
                    }
                    ensure_room(buf);
                    // A read that does not fill the space offered drained the socket, so
                    // readiness is cleared on the spot: the next wait goes straight to the
                    // reactor instead of costing a `read` that only returns `EAGAIN`.
                    let offered = buf.capacity() - buf.len();
                    let mut got = 0;
                    let result = self.try_io(Interest::READABLE, || {
                        let n = self.try_read_buf(buf)?;
                        got = n;
                        if n > 0 && n < offered {
                            Err(io::ErrorKind::WouldBlock.into())
                        } else {
                            Ok(n)
                        }
                    });
                    match result {
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock && got > 0 => {
                            return Poll::Ready(Ok(got))
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        other => return Poll::Ready(other),
                    }
                }
            }

            fn poll_write_vectored(
                &self,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                loop {
                    ready!(self.poll_write_ready(cx))?;
                    match self.try_write_vectored(bufs) {
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        other => return Poll::Ready(other),
                    }
                }
            }

            fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
                <$stream>::try_write_vectored(self, bufs)
            }

            fn write_now(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
                <$stream>::try_write_vectored(self, bufs)
            }

            fn poll_shutdown(&self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                // tokio offers this only through `&mut`, and the stream is shared.
                Poll::Ready(socket2::SockRef::from(self).shutdown(std::net::Shutdown::Write))
            }
        }
    };
}

readiness_transport!(TcpStream);
readiness_transport!(UnixStream);

/// A socket's transport, stored inline: TCP and Unix streams as themselves (no allocation,
/// no virtual call on the hot path), anything else boxed.
pub(crate) enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
    Other(Box<dyn Transport>),
}

impl Stream {
    /// Any `AsyncRead + AsyncWrite` stream, driven by its socket's task alone.
    pub(crate) fn other<S>(stream: S) -> Self
    where
        S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        Stream::Other(Box::new(Exclusive::new(stream)))
    }
}

/// Runs `$call` with `$s` bound to whichever stream it is.
macro_rules! each {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            Stream::Tcp($s) => $call,
            Stream::Unix($s) => $call,
            Stream::Other(boxed) => {
                let $s = &**boxed;
                $call
            }
        }
    };
}

impl Transport for Stream {
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut BytesMut) -> Poll<io::Result<usize>> {
        each!(self, s => Transport::poll_read(s, cx, buf))
    }

    fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        each!(self, s => Transport::poll_write_vectored(s, cx, bufs))
    }

    fn write_now(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        each!(self, s => Transport::write_now(s, bufs))
    }

    fn buffers_writes(&self) -> bool {
        matches!(self, Stream::Other(boxed) if boxed.buffers_writes())
    }

    fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(self, s => Transport::poll_flush(s, cx))
    }

    fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        each!(self, s => Transport::try_write_vectored(s, bufs))
    }

    fn poll_shutdown(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(self, s => Transport::poll_shutdown(s, cx))
    }
}

/// The server's TLS stream, as itself: it works through `&self` already (see
/// [`tls`](crate::ws::tls)). Its driver alone writes, like [`Exclusive`]'s.
#[cfg(feature = "tls")]
impl Transport for crate::ws::tls::TlsStream {
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut BytesMut) -> Poll<io::Result<usize>> {
        let polled = self.poll_read_bytes(cx, buf);
        if polled.is_pending() {
            give_back_if_empty(buf);
        }
        polled
    }

    fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        crate::ws::tls::TlsStream::poll_write_vectored(self, cx, bufs)
    }

    fn buffers_writes(&self) -> bool {
        true
    }

    fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        crate::ws::tls::TlsStream::poll_flush(self, cx)
    }

    fn poll_shutdown(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        crate::ws::tls::TlsStream::poll_shutdown(self, cx)
    }
}

/// Any `AsyncRead + AsyncWrite` stream, written by its driver only (see the module docs).
pub(crate) struct Exclusive<S>(Mutex<S>);

impl<S> Exclusive<S> {
    pub(crate) fn new(stream: S) -> Self {
        Exclusive(Mutex::new(stream))
    }
}

impl<S> Transport for Exclusive<S>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut BytesMut) -> Poll<io::Result<usize>> {
        // No readiness to ask first: offer a buffer, and give it back if nothing came.
        ensure_room(buf);
        let mut stream = lock(&self.0);
        // `read_buf` is stateless between polls: a fresh one per poll is one `poll_read`.
        let polled = pin!(stream.read_buf(buf)).poll(cx);
        if polled.is_pending() {
            give_back_if_empty(buf);
        }
        polled
    }

    fn buffers_writes(&self) -> bool {
        true
    }

    fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *lock(&self.0)).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *lock(&self.0)).poll_flush(cx)
    }

    fn poll_shutdown(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *lock(&self.0)).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::future::poll_fn;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn an_exclusive_stream_reads_writes_and_shuts_down() {
        let (near, mut far) = tokio::io::duplex(64);
        let transport = Exclusive::new(near);
        let written = poll_fn(|cx| {
            transport.poll_write_vectored(cx, &[IoSlice::new(b"ab"), IoSlice::new(b"cd")])
        })
        .await
        .unwrap();
        assert!(written >= 2, "wrote {written}");
        poll_fn(|cx| transport.poll_shutdown(cx)).await.unwrap();
        let mut got = Vec::new();
        far.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, &b"abcd"[..written]);

        far.write_all(b"hello").await.unwrap();
        let mut buf = BytesMut::with_capacity(16);
        let n = poll_fn(|cx| transport.poll_read(cx, &mut buf))
            .await
            .unwrap();
        assert_eq!(&buf[..n], b"hello");
        assert_eq!(
            transport
                .try_write_vectored(&[IoSlice::new(b"x")])
                .unwrap_err()
                .kind(),
            io::ErrorKind::WouldBlock,
            "only the driver writes to an exclusive stream"
        );
    }
}
