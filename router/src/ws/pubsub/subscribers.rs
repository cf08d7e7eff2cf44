//! A topic's subscribers: a dense list for the fan-out, and a slot table for leaving.
//!
//! A publish walks the list; a subscribe pushes onto it; an unsubscribe swaps the last
//! subscriber into the leaver's place. To find that place without a search or a hash probe,
//! every subscriber gets a *slot* when it joins, which its socket keeps: the slot table maps
//! a slot to the subscriber's place in the list, and the one write a swap needs fixes the
//! moved subscriber's entry. Free slots are chained through the table itself. So joining and
//! leaving cost O(1) whatever the topic's size, and the fan-out reads one dense array.

use std::sync::Arc;

use crate::ws::shared::SocketShared;

/// Where a subscriber is in its topic: handed out by [`Hub::subscribe`](super::Hub::subscribe),
/// kept by the socket, and given back to [`Hub::unsubscribe`](super::Hub::unsubscribe).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slot(u32);

/// The end of [`Subscribers::free`]'s list.
const NO_SLOT: u32 = u32::MAX;

/// A subscriber and its slot.
struct Member {
    socket: Arc<SocketShared>,
    slot: u32,
}

/// A topic's subscribers: dense, for the fan-out, and where each slot's subscriber is, for
/// leaving.
pub(super) struct Subscribers {
    members: Vec<Member>,
    /// From a slot to its subscriber's index in `members`; a free slot holds the next free
    /// slot instead (or [`NO_SLOT`]).
    slots: Vec<u32>,
    /// The first free slot, or [`NO_SLOT`]. Every free slot is below `slots.len()`.
    free: u32,
}

impl Default for Subscribers {
    fn default() -> Self {
        Subscribers {
            members: Vec::new(),
            slots: Vec::new(),
            free: NO_SLOT,
        }
    }
}

impl Subscribers {
    /// Adds `socket` (which is not here already) and returns its slot.
    pub(super) fn insert(&mut self, socket: &Arc<SocketShared>) -> Slot {
        let place = u32::try_from(self.members.len()).expect("fewer than 2^32 subscribers");
        let slot = if self.free == NO_SLOT {
            let slot = u32::try_from(self.slots.len()).expect("fewer than 2^32 subscribers");
            assert!(slot != NO_SLOT, "fewer than 2^32 subscribers");
            self.slots.push(place);
            slot
        } else {
            let slot = self.free;
            self.free = std::mem::replace(&mut self.slots[slot as usize], place);
            slot
        };
        self.members.push(Member {
            socket: Arc::clone(socket),
            slot,
        });
        Slot(slot)
    }

    /// Removes `socket` from `slot` and returns it (for the caller to drop after the lock);
    /// `None` if it is not there. The last subscriber takes its place.
    pub(super) fn remove(
        &mut self,
        socket: &Arc<SocketShared>,
        slot: Slot,
    ) -> Option<Arc<SocketShared>> {
        let Slot(slot) = slot;
        let place = *self.slots.get(slot as usize)? as usize;
        // A free slot holds no place, but its next-free link may look like one: the member
        // there must name this slot and be this socket.
        let member = self.members.get(place)?;
        if member.slot != slot || !Arc::ptr_eq(&member.socket, socket) {
            return None;
        }
        let gone = self.members.swap_remove(place);
        if let Some(moved) = self.members.get(place) {
            // `place` came from a `u32`.
            self.slots[moved.slot as usize] = place as u32;
        }
        if slot as usize + 1 == self.slots.len() {
            // Every free slot is below this one, so below the new length too.
            self.slots.pop();
        } else {
            self.slots[slot as usize] = self.free;
            self.free = slot;
        }
        // Give back what a crowd left behind, halving at a quarter full: amortized O(1).
        if self.members.capacity() > 64 && self.members.len() < self.members.capacity() / 4 {
            let half = self.members.capacity() / 2;
            self.members.shrink_to(half);
            self.slots.shrink_to(half);
        }
        Some(gone.socket)
    }

    /// How many subscribers there are.
    pub(super) fn len(&self) -> usize {
        self.members.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The subscribers, in fan-out order.
    pub(super) fn sockets(&self) -> impl Iterator<Item = &Arc<SocketShared>> {
        self.members.iter().map(|member| &member.socket)
    }

    /// The list's capacity (what a crowd that left may still hold).
    #[cfg(test)]
    pub(super) fn capacity(&self) -> usize {
        self.members.capacity()
    }

    /// Checks that the slots and the free list agree with the list.
    #[cfg(test)]
    pub(super) fn check(&self) {
        let mut free = vec![false; self.slots.len()];
        let mut next = self.free;
        while next != NO_SLOT {
            assert!(!std::mem::replace(&mut free[next as usize], true), "a loop");
            next = self.slots[next as usize];
        }
        for (i, member) in self.members.iter().enumerate() {
            let slot = member.slot as usize;
            assert!(!free[slot], "slot {slot} of {i} is free");
            assert_eq!(self.slots[slot] as usize, i, "place of slot {slot}");
        }
        let used = free.iter().filter(|free| !**free).count();
        assert_eq!(used, self.members.len(), "every other slot is free");
    }
}
