//! Idle timeouts for every socket of a server from one sweeper task, as uWebSockets does,
//! instead of a timer per socket: a socket records the sweeper's clock when it reads (one
//! atomic store, no clock call), and the sweeper, every [`TICK`], flags the sockets that have
//! been silent too long and wakes their drivers. An idle socket thus costs no timer entry and
//! no timer memory.
//!
//! Deadlines are counted in ticks and checked with "more than": a socket is pinged after more
//! than half its timeout of silence and closed after more than all of it, so never early and
//! at most one tick late.

use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};
use std::time::Duration;

/// The sweeper's period.
pub(crate) const TICK: Duration = Duration::from_millis(250);

/// Nothing due.
const QUIET: u8 = 0;
/// Silent past half the timeout: the driver sends a ping.
const PING_DUE: u8 = 1;
/// The ping is out; waiting for the deadline.
const PINGED: u8 = 2;
/// Silent past the timeout: the driver closes the socket.
const EXPIRED: u8 = 3;

/// What the sweeper asks of a driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdleAction {
    Nothing,
    Ping,
    Close,
}

/// One socket's idle bookkeeping, shared by its driver and the sweeper.
#[derive(Debug)]
pub(crate) struct IdleState {
    /// The clock when the socket last read something.
    last_read: AtomicU32,
    state: AtomicU8,
    /// The timeout in ticks; 0 = no timeout.
    timeout: u32,
    /// Ticks of silence before the ping; 0 = no pings.
    ping_after: u32,
}

impl IdleState {
    pub(crate) fn new(timeout: Duration, send_pings: bool, now: u32) -> Self {
        let tick = TICK.as_millis();
        let timeout = u32::try_from(timeout.as_millis().div_ceil(tick)).unwrap_or(u32::MAX);
        IdleState {
            last_read: AtomicU32::new(now),
            state: AtomicU8::new(QUIET),
            timeout,
            ping_after: if send_pings { timeout / 2 } else { 0 },
        }
    }

    /// True when the socket has a timeout, i.e. the sweeper must look at it.
    pub(crate) fn is_timed(&self) -> bool {
        self.timeout > 0
    }

    /// The socket read something at clock `now`.
    pub(crate) fn touch(&self, now: u32) {
        self.last_read.store(now, Ordering::Relaxed);
        if self.state.load(Ordering::Relaxed) != QUIET {
            self.state.store(QUIET, Ordering::Relaxed);
        }
    }

    /// The sweeper's check at clock `now`; true when the driver must be woken.
    pub(crate) fn sweep(&self, now: u32) -> bool {
        if self.timeout == 0 {
            return false;
        }
        let silent = now.wrapping_sub(self.last_read.load(Ordering::Relaxed));
        let state = self.state.load(Ordering::Relaxed);
        if silent > self.timeout && state != EXPIRED {
            self.state.store(EXPIRED, Ordering::Relaxed);
            return true;
        }
        if self.ping_after > 0 && silent > self.ping_after && state == QUIET {
            self.state.store(PING_DUE, Ordering::Relaxed);
            return true;
        }
        false
    }

    /// What the driver must do now that it was woken.
    pub(crate) fn take_action(&self) -> IdleAction {
        match self.state.load(Ordering::Relaxed) {
            PING_DUE => {
                self.state.store(PINGED, Ordering::Relaxed);
                IdleAction::Ping
            }
            EXPIRED => IdleAction::Close,
            _ => IdleAction::Nothing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pings_after_half_closes_after_all_never_early() {
        // 1 s = 4 ticks: ping after more than 2 ticks of silence, close after more than 4.
        let idle = IdleState::new(Duration::from_secs(1), true, 10);
        assert!(!idle.sweep(11));
        assert!(!idle.sweep(12));
        assert!(idle.sweep(13));
        assert_eq!(idle.take_action(), IdleAction::Ping);
        assert!(!idle.sweep(14));
        assert_eq!(idle.take_action(), IdleAction::Nothing);
        assert!(idle.sweep(15));
        assert_eq!(idle.take_action(), IdleAction::Close);
        assert!(!idle.sweep(16), "woken once");
    }

    #[test]
    fn reading_resets_and_no_pings_means_close_only() {
        let idle = IdleState::new(Duration::from_secs(1), false, 0);
        assert!(!idle.sweep(4));
        idle.touch(4);
        assert!(!idle.sweep(8));
        assert!(idle.sweep(9));
        assert_eq!(idle.take_action(), IdleAction::Close);
        let off = IdleState::new(Duration::ZERO, true, 0);
        assert!(!off.is_timed());
        assert!(!off.sweep(1_000));
    }

    #[test]
    fn clock_wraps() {
        let idle = IdleState::new(Duration::from_secs(1), false, u32::MAX - 1);
        assert!(!idle.sweep(2));
        assert!(idle.sweep(3));
    }
}
