//! Every open socket of a server, for the three things that must reach all of them: the idle
//! sweeper, [`Server::stop`](crate::Server::stop) and its grace deadline, and the count
//! ([`Server::pending_websockets`](crate::Server::pending_websockets)).
//!
//! The sockets are spread over [`SHARDS`] slabs, each behind its own lock, and a socket
//! picks its slab round-robin when it opens. So sockets opening and closing on many cores
//! rarely meet on one lock, and a walk over every socket (a sweep, a stop) holds one slab's
//! lock at a time, never the whole registry's.
//!
//! # The idle sweeper
//!
//! Idle timeouts are kept for every socket by one task instead of a timer per socket, as
//! uWebSockets does (see [`idle`](crate::ws::idle)): every [`TICK`](idle::TICK) it advances
//! the registry's clock and wakes the sockets that have been silent too long. It starts with
//! the first socket that has a timeout, holds the registry weakly, and ends once the server
//! is stopping and no socket is left.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

use crate::sync::lock;
use crate::ws::idle;
use crate::ws::shared::SocketShared;

/// Slabs of sockets: enough that opening and closing sockets on different threads rarely
/// share one.
pub(crate) const SHARDS: usize = 16;

/// The open sockets of one server.
pub(crate) struct Registry {
    shards: Box<[Mutex<Slots<Arc<SocketShared>>>]>,
    /// Where the next socket goes.
    next: AtomicUsize,
    /// Open sockets, over all shards.
    len: AtomicUsize,
    /// The sweeper's clock, in ticks since it started (see `ws::idle`).
    clock: AtomicU32,
    sweeper_started: AtomicBool,
    /// The server is stopping: sockets registered from now on close at once.
    stopping: AtomicBool,
}

impl Default for Registry {
    fn default() -> Self {
        Registry {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            next: AtomicUsize::new(0),
            len: AtomicUsize::new(0),
            clock: AtomicU32::new(0),
            sweeper_started: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
        }
    }
}

impl Registry {
    /// How many sockets are open.
    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    /// The idle sweeper's clock.
    pub(crate) fn clock(&self) -> u32 {
        self.clock.load(Ordering::Relaxed)
    }

    /// Adds an open socket until the returned key is [removed](Self::remove). A socket
    /// registered after [`stop_all`](Self::stop_all) is told to stop at once.
    pub(crate) fn insert(self: &Arc<Self>, socket: Arc<SocketShared>) -> Key {
        if socket.idle.is_timed() {
            self.start_sweeper();
        }
        let shard = self.next.fetch_add(1, Ordering::Relaxed) % SHARDS;
        let slot = lock(&self.shards[shard]).insert(Arc::clone(&socket));
        let slot = u32::try_from(slot).expect("fewer than 2^32 open sockets");
        self.len.fetch_add(1, Ordering::Relaxed);
        if self.stopping.load(Ordering::Acquire) {
            stop(&socket);
        }
        Key {
            shard: shard as u32,
            slot,
        }
    }

    /// Removes a socket added with [`insert`](Self::insert).
    pub(crate) fn remove(&self, key: Key) {
        if lock(&self.shards[key.shard as usize])
            .remove(key.slot as usize)
            .is_some()
        {
            self.len.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Asks every socket to close with `1001`.
    pub(crate) fn stop_all(&self) {
        self.stopping.store(true, Ordering::Release);
        self.for_each(|socket| stop(socket));
    }

    /// Ends every socket at once (the grace period is over): no closing handshake, handlers
    /// still waiting are cancelled, and `close` runs.
    pub(crate) fn abort_all(&self) {
        self.for_each(|socket| {
            socket.aborting.store(true, Ordering::Release);
            socket.wake();
        });
    }

    /// Runs `f` on every socket, one shard's lock at a time.
    fn for_each(&self, mut f: impl FnMut(&Arc<SocketShared>)) {
        for shard in &*self.shards {
            lock(shard).iter().for_each(&mut f);
        }
    }

    /// Starts the idle sweeper, once per registry.
    fn start_sweeper(self: &Arc<Self>) {
        if self.sweeper_started.swap(true, Ordering::AcqRel) {
            return;
        }
        tokio::spawn(sweep(Arc::downgrade(self)));
    }
}

/// Asks one socket's driver to close with `1001` (the server is stopping), as a
/// [`SocketHandle`](crate::SocketHandle) asks it with its own code.
fn stop(socket: &SocketShared) {
    socket.request_close(1001, "server shutting down");
    socket.wake();
}

/// The idle sweeper (see the module docs).
async fn sweep(registry: Weak<Registry>) {
    let mut ticks = tokio::time::interval(idle::TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let Some(registry) = registry.upgrade() else {
            return;
        };
        let now = registry
            .clock
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_add(1);
        registry.for_each(|socket| {
            if socket.idle.sweep(now) {
                socket.wake();
            }
        });
        if registry.len() == 0 && registry.stopping.load(Ordering::Acquire) {
            return;
        }
    }
}

/// Where a socket is in the registry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Key {
    shard: u32,
    /// Sockets are file descriptors, far fewer than 2^32 per process.
    slot: u32,
}

/// A slab: values in reusable slots, addressed by the key `insert` returned.
struct Slots<T> {
    slots: Vec<Option<T>>,
    free: Vec<usize>,
}

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Slots {
            slots: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T> Slots<T> {
    fn insert(&mut self, value: T) -> usize {
        if let Some(key) = self.free.pop() {
            self.slots[key] = Some(value);
            key
        } else {
            self.slots.push(Some(value));
            self.slots.len() - 1
        }
    }

    fn remove(&mut self, key: usize) -> Option<T> {
        let value = self.slots.get_mut(key)?.take()?;
        self.free.push(key);
        Some(value)
    }

    fn iter(&self) -> impl Iterator<Item = &T> {
        self.slots.iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_reuse_freed_keys() {
        let mut slots = Slots::default();
        let a = slots.insert("a");
        let b = slots.insert("b");
        assert_eq!(slots.remove(a), Some("a"));
        assert_eq!(slots.remove(a), None, "removed once");
        assert_eq!(slots.insert("c"), a);
        assert_eq!(slots.iter().copied().collect::<Vec<_>>(), ["c", "b"]);
        assert_eq!(slots.remove(b), Some("b"));
    }
}
