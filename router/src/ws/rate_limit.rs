//! Per-socket message rate limits: [`RateLimit`], the setting, and [`TokenBucket`], one
//! socket's count, kept by its driver.
//!
//! A token bucket: it holds at most `burst` tokens, gains `per_second` tokens a second,
//! continuously, and each complete message (after reassembly, before the `message` handler)
//! takes one. A message that finds the bucket empty is over the limit.
//!
//! Tokens are counted in integers, in billionths of a token, so a nanosecond of waiting earns
//! exactly `per_second` units: no floating point, no rounding drift, and no overflow however
//! long a socket was idle (the refill saturates and is capped at `burst`).
//!
//! Time is read by the driver, once per read that holds at least one message
//! (`tokio::time::Instant::now()`, a vDSO `clock_gettime`, about 30 ns), and shared by every
//! message of that read: no clock call per message, and none at all for a socket without a
//! limit. The idle sweeper's clock is not used: it ticks every 250 ms, and only while some
//! socket has an idle timeout, which is too coarse for a rate of more than a few messages a
//! second.

use std::time::Duration;

use tokio::time::Instant;

/// Units per token: one token is a billion units, so `per_second` units accrue per nanosecond.
const UNIT: u64 = 1_000_000_000;

/// A per-socket limit on how many messages a client may send: `per_second` on average, and
/// at most `burst` at once (Verb's "implement rate limiting for messages"; Bun has no such
/// option). Set it with [`SocketOptions::rate_limit`](crate::SocketOptions::rate_limit) or
/// `rate_limit = …` in [`#[websocket]`](crate::websocket).
///
/// Only text and binary messages count, each once, however many frames it came in; pings,
/// pongs and close frames do not. What happens to a message over the limit is the
/// [`RateLimitAction`]: by default the socket is closed with `1008` (policy violation).
///
/// # Examples
///
/// ```
/// use hyperbun::prelude::*;
///
/// struct Chat;
///
/// // 20 messages a second on average, 50 at once; past that, drop and warn.
/// #[websocket("/chat", rate_limit = RateLimit::per_second(20).burst(50).on_exceed(RateLimitAction::Drop))]
/// impl Chat {
///     fn message(ws: &mut WebSocket, msg: Message) {
///         ws.send(msg);
///     }
///     fn rate_limited(ws: &mut WebSocket, _msg: Message) {
///         ws.send("slow down");
///     }
/// }
/// # let _ = hyperbun::router![Chat];
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    per_second: u32,
    burst: u32,
    action: RateLimitAction,
}

/// What becomes of a message over a socket's [`RateLimit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum RateLimitAction {
    /// Close the socket with `1008` and the reason `"rate limit exceeded"`; the message and
    /// any that came with it are not handled (the default).
    #[default]
    Close,
    /// Drop the message: the `rate_limited` handler runs with it instead of `message`, so the
    /// application can warn the client, and the socket stays open.
    Drop,
}

impl RateLimit {
    /// `messages` a second on average, with a burst of as many (change it with
    /// [`burst`](Self::burst)). A rate of `0` is invalid: building the router panics,
    /// naming the socket.
    #[must_use]
    pub const fn per_second(messages: u32) -> Self {
        RateLimit {
            per_second: messages,
            burst: messages,
            action: RateLimitAction::Close,
        }
    }

    /// How many messages may arrive at once, the bucket's size (default: the rate, one
    /// second's worth). A fresh socket starts with a full bucket. A burst of `0` is invalid:
    /// building the router panics, naming the socket.
    #[must_use]
    pub const fn burst(mut self, messages: u32) -> Self {
        self.burst = messages;
        self
    }

    /// What to do with a message over the limit (default [`RateLimitAction::Close`]).
    #[must_use]
    pub const fn on_exceed(mut self, action: RateLimitAction) -> Self {
        self.action = action;
        self
    }

    /// The [rate](Self::per_second), in messages a second.
    #[must_use]
    pub const fn get_per_second(&self) -> u32 {
        self.per_second
    }

    /// The [burst](Self::burst).
    #[must_use]
    pub const fn get_burst(&self) -> u32 {
        self.burst
    }

    /// The [action](Self::on_exceed) taken past the limit.
    #[must_use]
    pub const fn get_on_exceed(&self) -> RateLimitAction {
        self.action
    }

    /// Why this limit cannot work, if it cannot.
    pub(crate) fn validate(&self) -> Result<(), &'static str> {
        if self.per_second == 0 {
            return Err(
                "RateLimit::per_second(0): the rate must be at least 1 message a second; \
                 for no limit, leave `rate_limit` out",
            );
        }
        if self.burst == 0 {
            return Err(
                "RateLimit::burst(0): the burst must be at least 1 message, or no \
                 message would ever be accepted",
            );
        }
        Ok(())
    }
}

/// One socket's bucket (see the module docs).
#[derive(Debug)]
pub(crate) struct TokenBucket {
    /// Tokens, in [`UNIT`]s; at most `capacity`.
    units: u64,
    /// When `units` was last refilled.
    last: Instant,
    /// `per_second`: units gained per nanosecond.
    rate: u64,
    /// `burst` in units (at most `u32::MAX * 10^9`, below `u64::MAX`).
    capacity: u64,
}

impl TokenBucket {
    /// A full bucket for `limit`, as of `now`.
    pub(crate) fn new(limit: &RateLimit, now: Instant) -> Self {
        let capacity = u64::from(limit.burst) * UNIT;
        TokenBucket {
            units: capacity,
            last: now,
            rate: u64::from(limit.per_second),
            capacity,
        }
    }

    /// Adds what the time since the last refill earned, up to the burst.
    pub(crate) fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last);
        if elapsed == Duration::ZERO {
            return;
        }
        self.last = now;
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let earned = nanos.saturating_mul(self.rate);
        self.units = self.units.saturating_add(earned).min(self.capacity);
    }

    /// Takes a token for one message; false when the bucket is empty.
    pub(crate) fn take(&mut self) -> bool {
        match self.units.checked_sub(UNIT) {
            Some(left) => {
                self.units = left;
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(limit: RateLimit) -> (TokenBucket, Instant) {
        let start = Instant::now();
        (TokenBucket::new(&limit, start), start)
    }

    fn take_all(bucket: &mut TokenBucket) -> u32 {
        let mut n = 0;
        while bucket.take() {
            n += 1;
        }
        n
    }

    #[test]
    fn starts_full_with_the_burst_and_no_more() {
        let (mut b, _) = bucket(RateLimit::per_second(10).burst(25));
        assert_eq!(take_all(&mut b), 25);
        assert!(!b.take());
        let (mut b, _) = bucket(RateLimit::per_second(7));
        assert_eq!(take_all(&mut b), 7, "the burst defaults to the rate");
    }

    #[test]
    fn refills_continuously_at_the_rate() {
        let (mut b, start) = bucket(RateLimit::per_second(100).burst(100));
        assert_eq!(take_all(&mut b), 100);
        // 100/s is one every 10 ms: 9.999 ms earns nothing whole, 10 ms earns one.
        b.refill(start + Duration::from_micros(9_999));
        assert!(!b.take());
        b.refill(start + Duration::from_millis(10));
        assert!(b.take());
        assert!(!b.take());
        // Fractions add up across refills: 4 refills of 2.5 ms make one more token.
        for quarter in 1..=4 {
            b.refill(start + Duration::from_millis(10) + Duration::from_micros(2_500 * quarter));
        }
        assert!(b.take());
        assert!(!b.take());
        // Half a second at 100/s: 50 tokens.
        b.refill(start + Duration::from_millis(520));
        assert_eq!(take_all(&mut b), 50);
    }

    #[test]
    fn caps_at_the_burst_and_never_overflows_after_a_long_idle() {
        let (mut b, start) = bucket(RateLimit::per_second(u32::MAX).burst(u32::MAX));
        assert!(b.take());
        // Years of idling at the largest rate: saturates, capped at the burst.
        b.refill(start + Duration::from_secs(100 * 365 * 24 * 3600));
        assert_eq!(b.units, u64::from(u32::MAX) * UNIT);
        let (mut b, start) = bucket(RateLimit::per_second(5).burst(3));
        assert_eq!(take_all(&mut b), 3);
        b.refill(start + Duration::from_secs(3600));
        assert_eq!(
            take_all(&mut b),
            3,
            "an hour idle still allows only the burst"
        );
    }

    #[test]
    fn time_going_backwards_changes_nothing() {
        let (mut b, start) = bucket(RateLimit::per_second(1000).burst(1));
        assert!(b.take());
        b.refill(start + Duration::from_millis(5));
        assert!(b.take());
        b.refill(start);
        assert!(!b.take());
    }

    #[test]
    fn zero_rate_or_burst_is_invalid() {
        assert!(RateLimit::per_second(1).validate().is_ok());
        assert!(RateLimit::per_second(0)
            .validate()
            .unwrap_err()
            .contains("per_second(0)"));
        assert!(RateLimit::per_second(5)
            .burst(0)
            .validate()
            .unwrap_err()
            .contains("burst(0)"));
        let limit = RateLimit::per_second(5).on_exceed(RateLimitAction::Drop);
        assert_eq!(limit.get_on_exceed(), RateLimitAction::Drop);
        assert_eq!(limit.get_burst(), 5);
        assert_eq!(
            RateLimit::per_second(5).get_on_exceed(),
            RateLimitAction::Close
        );
    }
}
