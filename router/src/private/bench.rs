//! A harness for `benches/hub.rs`: sockets over a transport that takes every byte, and a
//! topic hub to subscribe them to. Not part of the public API.

use std::io::{self, IoSlice};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use bytes::BytesMut;

use crate::ws::frame::OpCode;
use crate::ws::idle::IdleState;
use crate::ws::pubsub::{self, Slot};
use crate::ws::shared::SocketShared;
use crate::ws::transport::{Stream, Transport};
use crate::ws::SocketOptions;

/// A transport whose writes take every byte and whose reads never end.
#[derive(Debug, Default)]
pub(crate) struct NullTransport;

fn total(bufs: &[IoSlice<'_>]) -> usize {
    bufs.iter().map(|b| b.len()).sum()
}

impl Transport for NullTransport {
    fn poll_read(&self, _cx: &mut Context<'_>, _buf: &mut BytesMut) -> Poll<io::Result<usize>> {
        Poll::Pending
    }

    fn poll_write_vectored(
        &self,
        _cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(total(bufs)))
    }

    fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        Ok(total(bufs))
    }

    fn poll_shutdown(&self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// The default options, for every socket made here.
fn options() -> &'static SocketOptions {
    static OPTIONS: OnceLock<SocketOptions> = OnceLock::new();
    OPTIONS.get_or_init(SocketOptions::default)
}

/// A socket's shared state over a [`NullTransport`], with the default options.
pub(crate) fn null_socket() -> Arc<SocketShared> {
    let options = options();
    let idle = IdleState::new(options.idle_timeout, options.send_pings, 0);
    Arc::new(SocketShared::new(
        Stream::Other(Box::new(NullTransport)),
        idle,
        options,
        None,
    ))
}

/// One socket with the default options, over a transport that takes every byte.
#[derive(Clone)]
pub struct Socket(Arc<SocketShared>);

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("buffered", &self.0.buffered())
            .finish()
    }
}

impl Default for Socket {
    fn default() -> Self {
        Self::new()
    }
}

impl Socket {
    /// A new open socket.
    #[must_use]
    pub fn new() -> Self {
        Socket(null_socket())
    }

    /// `n` new sockets.
    #[must_use]
    pub fn many(n: usize) -> Vec<Self> {
        (0..n).map(|_| Self::new()).collect()
    }

    /// Writes everything queued (the transport takes it all); returns the bytes that were
    /// queued.
    pub fn drain(&self) -> usize {
        let queued = self.0.buffered();
        self.0.flush_now().expect("a null transport never fails");
        assert_eq!(self.0.buffered(), 0, "a null transport takes everything");
        queued
    }
}

/// Where a socket is in a topic, from [`Hub::subscribe`], for [`Hub::unsubscribe`].
#[derive(Debug, Clone, Copy)]
pub struct Subscription(Slot);

/// A topic hub, as a server has one.
#[derive(Debug, Default)]
pub struct Hub(pubsub::Hub);

impl Hub {
    /// An empty hub.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Subscribes `socket` to `topic`, which it is not subscribed to (the caller keeps
    /// track, as a connection does); returns what [`unsubscribe`](Self::unsubscribe) takes.
    pub fn subscribe(&self, topic: &str, socket: &Socket) -> Subscription {
        Subscription(self.0.subscribe(topic, &socket.0))
    }

    /// Unsubscribes `socket` from `topic`, which `subscription` came from; false if it was
    /// not subscribed.
    pub fn unsubscribe(&self, topic: &str, socket: &Socket, subscription: Subscription) -> bool {
        self.0.unsubscribe(topic, &socket.0, subscription.0)
    }

    /// How many sockets are subscribed to `topic`.
    #[must_use]
    pub fn subscriber_count(&self, topic: &str) -> usize {
        self.0.subscriber_count(topic)
    }

    /// Publishes a text frame to `topic`, uncompressed, to every subscriber ([`drain`]
    /// the subscribers to see what they got).
    ///
    /// [`drain`]: Socket::drain
    pub fn publish_text(&self, topic: &str, text: &str) {
        self.0
            .publish(topic, OpCode::Text, text.as_bytes(), None, false);
    }
}
