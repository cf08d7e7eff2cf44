//! Spare buffers, one of each kind per worker thread, so that busy sockets do not allocate
//! per message and idle sockets hold no buffer (uWebSockets shares one receive buffer per
//! event loop for the same reasons).
//!
//! A socket takes a buffer when it reads (or queues a frame) with none in hand, and gives it
//! back as soon as it is empty again. A buffer that still shares its memory with bytes handed
//! out (a received message a handler kept) is returned all the same: `BytesMut` reuses the
//! memory once those are dropped, and allocates afresh if they are not.

use std::cell::Cell;

use bytes::BytesMut;

/// The size of a fresh buffer.
const SIZE: usize = 8 * 1024;

/// Buffers larger than this (grown for a big message) are not kept.
const MAX_KEPT: usize = 256 * 1024;

thread_local! {
    static READ: Cell<Option<BytesMut>> = const { Cell::new(None) };
    static WRITE: Cell<Option<BytesMut>> = const { Cell::new(None) };
    #[cfg(feature = "tls")]
    static TLS_IN: Cell<Option<BytesMut>> = const { Cell::new(None) };
    #[cfg(feature = "tls")]
    static TLS_OUT: Cell<Option<BytesMut>> = const { Cell::new(None) };
}

/// Which pool.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// Read buffers.
    Read,
    /// The send queue's encoding buffer.
    Write,
    /// TLS ciphertext read and not processed yet.
    #[cfg(feature = "tls")]
    TlsIncoming,
    /// TLS ciphertext to send.
    #[cfg(feature = "tls")]
    TlsOutgoing,
}

/// An empty buffer with room for at least `SIZE / 2` bytes: this thread's spare, or a new one.
pub(crate) fn take(kind: Kind) -> BytesMut {
    let spare = match kind {
        Kind::Read => READ.take(),
        Kind::Write => WRITE.take(),
        #[cfg(feature = "tls")]
        Kind::TlsIncoming => TLS_IN.take(),
        #[cfg(feature = "tls")]
        Kind::TlsOutgoing => TLS_OUT.take(),
    };
    let mut buf = spare.unwrap_or_default();
    if buf.capacity() < SIZE / 2 {
        buf.reserve(SIZE);
    }
    buf
}

/// Gives an emptied buffer back (dropping it if this thread already has a spare).
pub(crate) fn give_back(kind: Kind, mut buf: BytesMut) {
    if buf.capacity() == 0 || buf.capacity() > MAX_KEPT {
        return;
    }
    buf.clear();
    match kind {
        Kind::Read => READ.set(Some(buf)),
        Kind::Write => WRITE.set(Some(buf)),
        #[cfg(feature = "tls")]
        Kind::TlsIncoming => TLS_IN.set(Some(buf)),
        #[cfg(feature = "tls")]
        Kind::TlsOutgoing => TLS_OUT.set(Some(buf)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_returned_buffer_is_reused() {
        let buf = take(Kind::Read);
        let ptr = buf.as_ptr();
        give_back(Kind::Read, buf);
        let again = take(Kind::Read);
        assert_eq!(again.as_ptr(), ptr);
        assert!(again.is_empty() && again.capacity() >= SIZE / 2);
        // The other pool is separate.
        assert_ne!(take(Kind::Write).as_ptr(), ptr);
    }

    #[test]
    fn huge_buffers_are_not_kept() {
        give_back(Kind::Write, BytesMut::with_capacity(MAX_KEPT + 1));
        assert!(take(Kind::Write).capacity() <= MAX_KEPT);
    }
}
