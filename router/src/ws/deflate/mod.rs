//! permessage-deflate (RFC 7692): the route's settings ([`PerMessageDeflate`]), the
//! negotiation (`negotiate`) and the compressor and decompressor (`codec`).
//!
//! The deflate implementation is [zlib-rs](https://github.com/trifectatechfoundation/zlib-rs),
//! a pure-Rust port of zlib: maintained, as fast as zlib-ng, and with a safe API that takes
//! the window size, memory level and strategy. Those three are what permessage-deflate needs:
//! window and memory level give uWebSockets' (and Bun's) compressor sizes, and a peer that
//! limits our window to 256 bytes (`server_max_window_bits=8`, which zlib cannot compress
//! with) gets run-length matches only, which are valid in any window.

pub(crate) mod codec;
pub(crate) mod negotiate;

/// permessage-deflate for a socket route (Bun's `perMessageDeflate`): off by default, like
/// Bun; `true` means a [shared](Compressor::Shared) compressor and decompressor.
///
/// With a shared compressor every message is compressed on its own (no context kept
/// between messages, so no memory per socket), and a message published to a topic is
/// compressed once for all its subscribers. A dedicated compressor keeps each socket's
/// context (better ratios on similar messages, at the memory of its size per socket) and
/// compresses every message per socket.
///
/// Messages shorter than [`min_size`](Self::min_size) are sent uncompressed even when asked
/// to compress; control frames are never compressed.
///
/// # Examples
///
/// ```
/// use hyperbun::{Compressor, Decompressor, PerMessageDeflate, SocketOptions};
///
/// // `#[websocket("/ws", per_message_deflate = true)]` is the same as:
/// let shared = SocketOptions::new().per_message_deflate(true);
///
/// // A 32 KB compressor per socket, a shared decompressor, nothing under 64 bytes compressed.
/// let tuned = SocketOptions::new().per_message_deflate(
///     PerMessageDeflate::new()
///         .compress(Compressor::Dedicated32K)
///         .decompress(Decompressor::Shared)
///         .min_size(64),
/// );
/// # let _ = (shared, tuned);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PerMessageDeflate {
    pub(crate) compress: Compressor,
    pub(crate) decompress: Decompressor,
    pub(crate) min_size: usize,
}

impl Default for PerMessageDeflate {
    fn default() -> Self {
        Self::new()
    }
}

impl PerMessageDeflate {
    /// A shared compressor and decompressor; messages of every size compressed when asked.
    #[must_use]
    pub fn new() -> Self {
        PerMessageDeflate {
            compress: Compressor::Shared,
            decompress: Decompressor::Shared,
            min_size: 0,
        }
    }

    /// How this side compresses what it sends (default [`Compressor::Shared`]).
    #[must_use]
    pub fn compress(mut self, compressor: Compressor) -> Self {
        self.compress = compressor;
        self
    }

    /// How this side inflates what it receives (default [`Decompressor::Shared`]).
    /// [`Decompressor::Disabled`] turns the extension off: a peer may send compressed
    /// messages whenever it is negotiated.
    #[must_use]
    pub fn decompress(mut self, decompressor: Decompressor) -> Self {
        self.decompress = decompressor;
        self
    }

    /// Messages shorter than this many bytes are sent uncompressed (default 0).
    #[must_use]
    pub fn min_size(mut self, bytes: usize) -> Self {
        self.min_size = bytes;
        self
    }

    /// The compressor setting.
    #[must_use]
    pub fn get_compress(&self) -> Compressor {
        self.compress
    }

    /// The decompressor setting.
    #[must_use]
    pub fn get_decompress(&self) -> Decompressor {
        self.decompress
    }

    /// The minimum size of a compressed message.
    #[must_use]
    pub fn get_min_size(&self) -> usize {
        self.min_size
    }

    /// What the negotiation asks for, or `None` when the extension is off.
    pub(crate) fn policy(&self) -> Option<negotiate::Policy> {
        if self.decompress == Decompressor::Disabled {
            return None;
        }
        let (server_context_takeover, server_window_bits) = match self.compress {
            Compressor::Disabled | Compressor::Shared => (false, 15),
            dedicated => (true, dedicated.window_and_memory().0),
        };
        let (client_context_takeover, client_window_bits) = match self.decompress {
            Decompressor::Disabled | Decompressor::Shared => (false, 15),
            Decompressor::Dedicated(size) => (true, size.window_bits()),
        };
        Some(negotiate::Policy {
            server_context_takeover,
            server_window_bits,
            client_context_takeover,
            client_window_bits,
        })
    }
}

/// `per_message_deflate = true` is [`PerMessageDeflate::new`]; `false` turns it off.
impl From<bool> for PerMessageDeflate {
    fn from(on: bool) -> Self {
        if on {
            PerMessageDeflate::new()
        } else {
            PerMessageDeflate::new()
                .compress(Compressor::Disabled)
                .decompress(Decompressor::Disabled)
        }
    }
}

/// How a socket compresses what it sends: Bun's (uWebSockets') compressor settings. A
/// dedicated compressor's size is its memory per socket; the window it uses follows from it
/// (3 KB: 512-byte window … 256 KB: 32 KiB window).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Compressor {
    /// Never compress (received compressed messages are still inflated).
    Disabled,
    /// One compressor per thread, reset for every message: no memory per socket, and a
    /// published message is compressed once for all subscribers.
    Shared,
    /// 3 KB per socket (512-byte window).
    Dedicated3K,
    /// 4 KB per socket (512-byte window).
    Dedicated4K,
    /// 8 KB per socket (1 KiB window).
    Dedicated8K,
    /// 16 KB per socket (2 KiB window).
    Dedicated16K,
    /// 32 KB per socket (4 KiB window).
    Dedicated32K,
    /// 64 KB per socket (8 KiB window).
    Dedicated64K,
    /// 128 KB per socket (16 KiB window).
    Dedicated128K,
    /// 256 KB per socket (32 KiB window), Bun's `"dedicated"`.
    Dedicated256K,
}

impl Compressor {
    /// zlib's window bits and memory level for this setting (the shared one uses zlib's
    /// defaults).
    pub(crate) fn window_and_memory(self) -> (u8, u8) {
        match self {
            Compressor::Dedicated3K => (9, 1),
            Compressor::Dedicated4K => (9, 2),
            Compressor::Dedicated8K => (10, 3),
            Compressor::Dedicated16K => (11, 4),
            Compressor::Dedicated32K => (12, 5),
            Compressor::Dedicated64K => (13, 6),
            Compressor::Dedicated128K => (14, 7),
            Compressor::Disabled | Compressor::Shared | Compressor::Dedicated256K => (15, 8),
        }
    }
}

/// How a socket inflates what it receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Decompressor {
    /// permessage-deflate off.
    Disabled,
    /// One decompressor per thread: the peer is asked not to keep context between messages
    /// (`client_no_context_takeover`), so no memory per socket.
    Shared,
    /// A decompressor per socket that keeps context between messages, with the window the
    /// peer is asked to stay within (when its offer lets us ask).
    Dedicated(DecompressorSize),
}

/// The window of a dedicated decompressor (Bun's decompressor sizes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum DecompressorSize {
    /// A 512-byte window.
    B512,
    /// A 1 KiB window.
    K1,
    /// A 2 KiB window.
    K2,
    /// A 4 KiB window.
    K4,
    /// An 8 KiB window.
    K8,
    /// A 16 KiB window.
    K16,
    /// A 32 KiB window (the largest deflate has).
    #[default]
    K32,
}

impl DecompressorSize {
    /// zlib's window bits for this size.
    pub(crate) fn window_bits(self) -> u8 {
        match self {
            DecompressorSize::B512 => 9,
            DecompressorSize::K1 => 10,
            DecompressorSize::K2 => 11,
            DecompressorSize::K4 => 12,
            DecompressorSize::K8 => 13,
            DecompressorSize::K16 => 14,
            DecompressorSize::K32 => 15,
        }
    }
}

/// How one connection compresses what it sends, once permessage-deflate is agreed.
pub(crate) struct Sender {
    min_size: usize,
    /// The window of the compressed form (the agreed `server_max_window_bits`, or smaller).
    window_bits: u8,
    /// The connection's own compressor when it keeps context between messages; `None` uses
    /// the thread's shared compressor, so a published message's compressed form is the same
    /// for every connection with the same window and is made once.
    dedicated: Option<std::sync::Mutex<codec::Compressor>>,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("min_size", &self.min_size)
            .field("window_bits", &self.window_bits)
            .field("dedicated", &self.dedicated.is_some())
            .finish()
    }
}

impl Sender {
    /// The sender for a connection that agreed `agreed`, or `None` if this route never
    /// compresses.
    pub(crate) fn new(settings: &PerMessageDeflate, agreed: &negotiate::Agreed) -> Option<Self> {
        if settings.compress == Compressor::Disabled {
            return None;
        }
        let (window_bits, mem_level) = settings.compress.window_and_memory();
        let window_bits = window_bits.min(agreed.server_max_window_bits);
        let dedicated = (settings.compress != Compressor::Shared
            && !agreed.server_no_context_takeover)
            .then(|| std::sync::Mutex::new(codec::Compressor::new(window_bits, mem_level, true)));
        Some(Sender {
            min_size: settings.min_size,
            window_bits,
            dedicated,
        })
    }

    /// Whether a message of `len` bytes is compressed when the sender asks for it.
    pub(crate) fn wants(&self, len: usize) -> bool {
        len >= self.min_size
    }

    /// The window of the shared compressed form this connection can take, or `None` if it
    /// compresses with its own context.
    pub(crate) fn shared_window(&self) -> Option<u8> {
        self.dedicated.is_none().then_some(self.window_bits)
    }

    /// The connection's own compressor, if it keeps context.
    pub(crate) fn dedicated(&self) -> Option<&std::sync::Mutex<codec::Compressor>> {
        self.dedicated.as_ref()
    }
}

/// How one connection inflates what it receives.
#[derive(Debug)]
pub(crate) enum Receiver {
    /// The thread's shared decompressor (the peer does not keep context).
    Shared,
    /// The connection's own decompressor, keeping context between messages.
    Dedicated(Box<codec::Decompressor>),
}

impl Receiver {
    /// The receiver for a connection that agreed `agreed`.
    pub(crate) fn new(settings: &PerMessageDeflate, agreed: &negotiate::Agreed) -> Self {
        match settings.decompress {
            Decompressor::Dedicated(_) if !agreed.client_no_context_takeover => {
                Receiver::Dedicated(Box::new(codec::Decompressor::new(
                    agreed.client_max_window_bits,
                    true,
                )))
            }
            _ => Receiver::Shared,
        }
    }

    /// Inflates one message into `out`, failing past `limit` bytes.
    pub(crate) fn inflate(
        &mut self,
        payload: &[u8],
        limit: usize,
        out: &mut bytes::BytesMut,
    ) -> Result<(), codec::InflateFailure> {
        match self {
            Receiver::Shared => {
                codec::with_shared_decompressor(|d| d.decompress(payload, limit, out))
            }
            Receiver::Dedicated(d) => d.decompress(payload, limit, out),
        }
    }
}
