//! [`Replay`]: a stream with a few bytes put back in front of it.
//!
//! A cleartext connection may speak HTTP/1.1 or open with HTTP/2's preface (prior knowledge);
//! the only way to tell is to read its first bytes. Peeking would leave them in the kernel,
//! but tokio has no peek for Unix sockets and a peek that returns half a preface cannot wait
//! for the rest without spinning; so the accept path reads them, and this wrapper gives them
//! back to whoever reads next (hyper). It lives at the crate root because both ends need
//! it: the server wraps the stream, and the WebSocket upgrade unwraps it again
//! ([`into_parts`](Replay::into_parts)), so an upgraded TCP or Unix connection still gets
//! the socket's own fast transport.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// `io`, read after `prefix`.
#[derive(Debug)]
pub(crate) struct Replay<IO> {
    prefix: Bytes,
    io: IO,
}

impl<IO> Replay<IO> {
    pub(crate) fn new(prefix: Bytes, io: IO) -> Self {
        Replay { prefix, io }
    }

    /// The stream, and what of the prefix has not been read yet (normally nothing: hyper
    /// reads the whole request head before an upgrade).
    pub(crate) fn into_parts(self) -> (IO, Bytes) {
        (self.io, self.prefix)
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Replay<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.prefix.is_empty() {
            return Pin::new(&mut this.io).poll_read(cx, buf);
        }
        let n = this.prefix.len().min(buf.remaining());
        buf.put_slice(&this.prefix[..n]);
        this.prefix.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Replay<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn the_prefix_is_read_before_the_stream() {
        let (mut client, server) = tokio::io::duplex(64);
        client.write_all(b" world").await.unwrap();
        drop(client);
        let mut replay = Replay::new(Bytes::from_static(b"hello"), server);
        let mut all = String::new();
        replay.read_to_string(&mut all).await.unwrap();
        assert_eq!(all, "hello world");
    }

    #[tokio::test]
    async fn a_small_read_buffer_takes_the_prefix_in_pieces() {
        let (_client, server) = tokio::io::duplex(64);
        let mut replay = Replay::new(Bytes::from_static(b"abcdef"), server);
        let mut two = [0; 2];
        replay.read_exact(&mut two).await.unwrap();
        assert_eq!(&two, b"ab");
        let (_, rest) = replay.into_parts();
        assert_eq!(rest, "cdef");
    }
}
