//! Time as the host gives it.
//!
//! The engine never reads a clock. Every entry point takes `now: Instant`, a
//! count of microseconds since an epoch the host chooses (boot, the start of a
//! simulation, ...). `now` must never go backwards between calls on the same
//! connection (debug-asserted; in release builds an earlier `now` is treated as
//! the latest one seen).

use core::fmt;
use core::ops::{Add, AddAssign, Sub};
pub use core::time::Duration;

/// A point in time: microseconds since a host-defined epoch.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Instant(u64);

impl Instant {
    /// The epoch itself.
    pub const ZERO: Instant = Instant(0);
    /// A time later than any the engine will reach (used as "never").
    pub const MAX: Instant = Instant(u64::MAX);

    /// An instant `micros` microseconds after the epoch.
    pub const fn from_micros(micros: u64) -> Self {
        Instant(micros)
    }
    /// An instant `millis` milliseconds after the epoch.
    pub const fn from_millis(millis: u64) -> Self {
        Instant(millis.saturating_mul(1000))
    }
    /// An instant `secs` seconds after the epoch.
    pub const fn from_secs(secs: u64) -> Self {
        Instant(secs.saturating_mul(1_000_000))
    }
    /// Microseconds since the epoch.
    pub const fn as_micros(self) -> u64 {
        self.0
    }
    /// Milliseconds since the epoch (truncated).
    pub const fn as_millis(self) -> u64 {
        self.0 / 1000
    }
    /// `self - earlier`, or zero when `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0))
    }
}

/// A `u64` as two 32-bit halves: 4-byte aligned, so that a small struct
/// holding one packs without padding.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, Debug)]
pub(crate) struct Split64([u32; 2]);

impl Split64 {
    pub(crate) const fn new(v: u64) -> Self {
        Split64([v as u32, (v >> 32) as u32])
    }

    pub(crate) const fn get(self) -> u64 {
        ((self.0[1] as u64) << 32) | self.0[0] as u64
    }
}

/// An [`Instant`] in a [`Split64`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct PackedInstant(Split64);

impl PackedInstant {
    pub(crate) const fn new(t: Instant) -> Self {
        PackedInstant(Split64::new(t.0))
    }

    pub(crate) const fn get(self) -> Instant {
        Instant(self.0.get())
    }
}

/// An `Option<Instant>` in 8 bytes instead of 16, 4-byte aligned:
/// `Instant::MAX`, the time the engine never reaches (the "never" of its
/// timers), stands for `None`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct OptInstant(PackedInstant);

impl OptInstant {
    pub(crate) const NONE: OptInstant = OptInstant(PackedInstant::new(Instant::MAX));

    pub(crate) const fn some(t: Instant) -> Self {
        OptInstant(PackedInstant::new(t))
    }

    pub(crate) fn get(self) -> Option<Instant> {
        let t = self.0.get();
        (t != Instant::MAX).then_some(t)
    }
}

impl Default for OptInstant {
    fn default() -> Self {
        OptInstant::NONE
    }
}

/// A time at or before a connection's latest `now`, in 32 bits instead of
/// 64 (issue 17, W3): read back against that `now` ([`Stamp::at`]).
///
/// - A recent time (younger than 2^30 µs, about 18 minutes, when last
///   written) keeps its microseconds modulo 2^31 (bit 31 clear): exact.
/// - An older one keeps its milliseconds modulo 2^31 (bit 31 set): exact
///   to the millisecond, as Linux keeps such times in jiffies; one older
///   than 2^30 ms (about 12.4 days) reads as that old.
///
/// The connection calls [`Stamp::renew`] on each of its stamps whenever
/// its `now` crosses a multiple of 2^30 µs ([`Stamp::crosses`]): between
/// two such crossings `now` moves less than 2^30 µs, so a recent stamp is
/// never 2^31 µs old when read, and the readings are exact.
/// `u32::MAX` is [`Stamp::NONE`], the absent time.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct Stamp(u32);

impl Stamp {
    /// No time.
    pub(crate) const NONE: Stamp = Stamp(u32::MAX);
    const COARSE: u32 = 1 << 31;
    const LOW: u32 = Self::COARSE - 1;
    /// A stamp older than this many µs when renewed turns coarse.
    const FINE_AGE: u64 = 1 << 30;
    /// The oldest a coarse stamp reads, in ms.
    const MAX_AGE_MS: u64 = 1 << 30;

    /// `t`, written at a `now` no earlier than `t` and less than 2^30 µs
    /// after it.
    #[inline(always)]
    pub(crate) const fn new(t: Instant) -> Stamp {
        Stamp(t.0 as u32 & Self::LOW)
    }

    /// Whether this is [`Stamp::NONE`].
    #[inline(always)]
    pub(crate) const fn is_none(self) -> bool {
        self.0 == u32::MAX
    }

    /// The time, read at `now`: the connection's latest time.
    #[inline]
    pub(crate) fn at(self, now: Instant) -> Instant {
        if self.0 & Self::COARSE == 0 {
            let age = (now.0 as u32).wrapping_sub(self.0) & Self::LOW;
            Instant(now.0.saturating_sub(u64::from(age)))
        } else {
            let ms = now.0 / 1000;
            let age = (ms as u32).wrapping_sub(self.0) & Self::LOW;
            Instant(ms.saturating_sub(u64::from(age)).saturating_mul(1000))
        }
    }

    /// Microseconds from the stamp to `now` (the connection's latest
    /// time), `None` for [`Stamp::NONE`]: `now - at(now)`, a few
    /// instructions for a recent stamp (the hot paths' case).
    #[inline(always)]
    pub(crate) fn elapsed(self, now: Instant) -> Option<u64> {
        if self.0 & Self::COARSE == 0 {
            Some(u64::from((now.0 as u32).wrapping_sub(self.0) & Self::LOW))
        } else if self.is_none() {
            None
        } else {
            Some(now.0.saturating_sub(self.at(now).0))
        }
    }

    /// The time read at `now`, `None` for [`Stamp::NONE`].
    #[inline]
    pub(crate) fn get(self, now: Instant) -> Option<Instant> {
        (!self.is_none()).then(|| self.at(now))
    }

    /// Whether a connection whose latest time moves from `old` to `now`
    /// must renew its stamps.
    #[inline(always)]
    pub(crate) const fn crosses(old: Instant, now: Instant) -> bool {
        (old.0 ^ now.0) >> 30 != 0
    }

    /// `Stamp::new(Instant::ZERO).renew(Instant::ZERO, now)`, in a few
    /// instructions for the common cases (a new connection's first time).
    #[inline]
    pub(crate) fn epoch(now: Instant) -> Stamp {
        if now.0 < Self::FINE_AGE {
            Stamp(0)
        } else if now.0 / 1000 < Self::MAX_AGE_MS {
            Stamp(Self::COARSE)
        } else {
            Stamp::new(Instant::ZERO).renew(Instant::ZERO, now)
        }
    }

    /// The stamp read at `old`, written again for `now` (no earlier).
    pub(crate) fn renew(self, old: Instant, now: Instant) -> Stamp {
        if self.is_none() {
            return self;
        }
        let t = self.at(old);
        if now.0.saturating_sub(t.0) < Self::FINE_AGE {
            return Stamp::new(t);
        }
        let ms = (t.0 / 1000).max((now.0 / 1000).saturating_sub(Self::MAX_AGE_MS));
        // Bit 31 set; u32::MAX stays NONE's (1 ms earlier instead).
        Stamp((ms as u32 | Self::COARSE).min(u32::MAX - 1))
    }
}

/// Converts a duration to whole microseconds, saturating at `u64::MAX`.
pub(crate) fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, rhs: Duration) -> Instant {
        Instant(self.0.saturating_add(micros(rhs)))
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, rhs: Duration) {
        *self = *self + rhs;
    }
}

/// `a - b` is the time from `b` to `a`, or zero when `b` is later (it
/// saturates, as [`Instant::saturating_duration_since`]; it never panics).
impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_duration_since(rhs)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}s", self.0 / 1_000_000, self.0 % 1_000_000)
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        let t = Instant::from_secs(5);
        assert_eq!(
            t + Duration::from_millis(1500),
            Instant::from_micros(6_500_000)
        );
        assert_eq!(Instant::MAX + Duration::from_secs(1), Instant::MAX);
        assert_eq!(
            Instant::from_secs(1) - Instant::from_secs(2),
            Duration::ZERO
        );
        assert_eq!(
            Instant::from_secs(3) - Instant::from_secs(1),
            Duration::from_secs(2)
        );
        assert_eq!(Instant::from_millis(1234).as_millis(), 1234);
    }

    /// What a connection does with a stamp: written at `t`, renewed at
    /// every crossing as `now` moves through `steps`, read at the end.
    fn carried(t: Instant, steps: &[u64]) -> (Stamp, Instant) {
        let mut s = Stamp::new(t);
        let mut now = t;
        for d in steps {
            let next = Instant(now.0 + d);
            if Stamp::crosses(now, next) {
                s = s.renew(now, next);
            }
            now = next;
        }
        (s, now)
    }

    #[test]
    fn a_stamp_reads_back_exactly_while_recent_and_to_the_millisecond_after() {
        let t = Instant::from_micros(5_000_123_456);
        // Recent: exact, across a crossing or none.
        let (s, now) = carried(t, &[1, 999_999_999]);
        assert_eq!(s.at(now), t);
        assert_eq!(Stamp::new(now).at(now), now);
        // Hours later, in steps or in one jump: the millisecond.
        let ms = Instant::from_millis(t.as_millis());
        for steps in [&[3_600_000_000u64 * 3][..], &[600_000_000; 18][..]] {
            let (s, now) = carried(t, steps);
            assert_eq!(s.at(now), ms, "{steps:?}");
            assert_ne!(ms, t);
            assert_eq!(
                now - s.at(now),
                Duration::from_micros(3 * 3_600_000_000 + 456)
            );
        }
        // Older than 2^30 ms (about 12.4 days): reads as that old.
        let (s, now) = carried(t, &[20 * 86_400_000_000]);
        assert_eq!((now - s.at(now)).as_millis(), 1 << 30);
        for now in [0, 1 << 30, 1 << 40, 1 << 50, u64::MAX] {
            let now = Instant(now);
            assert_eq!(
                Stamp::epoch(now),
                Stamp::new(Instant::ZERO).renew(Instant::ZERO, now)
            );
        }
        // NONE stays NONE.
        assert_eq!(Stamp::NONE.renew(t, Instant(t.0 << 2)), Stamp::NONE);
        assert_eq!(Stamp::NONE.get(t), None);
        assert_eq!(Stamp::new(t).get(t), Some(t));
    }

    proptest::proptest! {
        /// Any walk of `now`, small steps and jumps: a stamp reads back as
        /// its time while that is less than 2^30 µs old, else as its
        /// millisecond (or, past 2^30 ms, as that old).
        #[test]
        fn a_stamp_carried_through_any_walk(
            t in 0u64..1 << 50,
            steps in proptest::collection::vec(
                proptest::prop_oneof![0u64..1 << 20, 0u64..1 << 31, 0u64..1 << 42],
                0..40,
            ),
        ) {
            let t = Instant(t);
            let (s, now) = carried(t, &steps);
            let r = s.at(now);
            let age = now.0 - t.0;
            let ms = Instant::from_millis(t.as_millis());
            if age < 1 << 30 {
                proptest::prop_assert_eq!(r, t);
            } else if age < (1u64 << 30) * 1000 {
                // Exact until the first crossing after it turned old.
                proptest::prop_assert!(r == t || r == ms, "{:?} {:?}", r, t);
            } else if r != t && r != ms {
                // Saturated at a crossing, then up to 2^30 µs more.
                let read_age_ms = now.0 / 1000 - r.0 / 1000;
                proptest::prop_assert!(
                    (1 << 30..=(1 << 30) + (1 << 30) / 1000 + 1).contains(&read_age_ms),
                    "{}", read_age_ms
                );
            }
        }
    }
}
