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
}
